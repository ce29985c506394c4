/**
 * The trial balance as a bank's finance team reads it: debits and credits per account type and currency, each
 * type's balance on its normal side, and the findings of the reconciliation checks. Pure: the figures come from
 * ClickHouse (queries/trial-balance.ts) as exact bigint minor units; the chart of accounts from the AccountTable.
 */
import type {
  TrialBalance,
  TrialBalanceFinding,
  TrialBalanceFindingCode as FindingCodeName,
  TrialBalanceLine,
} from '../../schemas/api.js';
import { type Account, AccountType } from '../../schemas/generated/types.js';
import {
  FX_POSITION_PREFIX,
  accountTypeName,
  effectiveAccountType,
  normalBalanceMinor,
  normalSides,
} from './accounts.js';
import { moneyView } from './money.js';

/**
 * What each reconciliation check finds (the `code` of a finding):
 * - CURRENCY_NOT_BALANCED (error): a currency whose legs do not sum to zero over the whole ledger.
 * - TRANSACTION_NOT_BALANCED (error): a transaction whose legs do not sum to zero in a currency.
 * - SUSPENSE_NOT_CLEARED (warning): a suspense account with a balance; suspense is for items being investigated
 *   and is cleared to zero.
 * - BEYOND_OVERDRAFT_LIMIT (error): an account with a balance policy whose balance on its normal side is below
 *   −limit (the limit in the account's currency; 0 in any other, as scoring's funds check counts it). Accounts
 *   without a policy are unlimited by definition and never found.
 * - FX_POSITION_MISMATCH (error): in a currency, the bank's FX position (`fx:<CCY>`'s legs in CCY) differs from the
 *   sum of every FX leg in CCY: an FX leg booked on another account, a principal leg on a position, or a position
 *   holding another currency.
 * - CLEARING_UNEXPLAINED (error): a clearing account's balance in a currency is not the sum of its scheme's
 *   transactions and of settlements (transactions with a leg on a settlement account): money of another scheme or
 *   of no scheme went through it.
 * - CLEARING_BYPASSED (warning): transactions of a scheme that has a clearing account were booked without a leg on
 *   any clearing account.
 * - CLEARING_WITHOUT_SCHEME (warning): a clearing account with no scheme, which nothing can be reconciled against.
 */
export const TrialBalanceFindingCode = {
  currencyNotBalanced: 'CURRENCY_NOT_BALANCED',
  transactionNotBalanced: 'TRANSACTION_NOT_BALANCED',
  suspenseNotCleared: 'SUSPENSE_NOT_CLEARED',
  beyondOverdraftLimit: 'BEYOND_OVERDRAFT_LIMIT',
  fxPositionMismatch: 'FX_POSITION_MISMATCH',
  clearingUnexplained: 'CLEARING_UNEXPLAINED',
  clearingBypassed: 'CLEARING_BYPASSED',
  clearingWithoutScheme: 'CLEARING_WITHOUT_SCHEME',
} as const satisfies Readonly<Record<string, FindingCodeName>>;

/** Most TRANSACTION_NOT_BALANCED findings one report lists. */
export const MAX_UNBALANCED_TRANSACTIONS = 100;

/** Every figure the trial balance is built from, as the ledger holds it (credit-positive minor units). */
export interface LedgerFigures {
  /** Per type (as the query classified accounts: see {@link chartForQuery}) and currency. */
  readonly byTypeAndCurrency: ReadonlyArray<{
    readonly type: AccountType;
    readonly currency: string;
    readonly accounts: number;
    readonly entries: number;
    /** Sum of the debit legs, ≥ 0. */
    readonly debitsMinor: bigint;
    /** Sum of the credit legs, ≥ 0. */
    readonly creditsMinor: bigint;
  }>;
  readonly currencies: ReadonlyArray<{
    readonly currency: string;
    readonly entries: number;
    readonly debitsMinor: bigint;
    readonly creditsMinor: bigint;
  }>;
  /** Transactions unbalanced in a currency, at most MAX_UNBALANCED_TRANSACTIONS. */
  readonly unbalanced: ReadonlyArray<{
    readonly transactionId: string;
    readonly currency: string;
    readonly imbalanceMinor: bigint;
  }>;
  /** The `top` largest balances by absolute value. */
  readonly largest: ReadonlyArray<AccountNet>;
  /** Per currency: every account the per-account checks look at ({@link chartForQuery} `checkedIds`, `fx:` ids). */
  readonly checked: ReadonlyArray<AccountNet>;
  /** Per currency: the sum of every FX leg, whichever account it is on. */
  readonly fxLegs: ReadonlyArray<{ readonly currency: string; readonly netMinor: bigint }>;
  /** Per clearing account with a scheme and currency: its balance split by where the legs came from. */
  readonly clearing: ReadonlyArray<{
    readonly accountId: string;
    readonly currency: string;
    readonly balanceMinor: bigint;
    readonly schemeFlowsMinor: bigint;
    readonly settlementsMinor: bigint;
  }>;
  /** Per scheme with a clearing account and currency: booked transactions with no leg on any clearing account. */
  readonly bypassed: ReadonlyArray<{
    readonly scheme: string;
    readonly currency: string;
    readonly transactions: number;
    /** The sum of their credit legs: the money that moved. */
    readonly grossMinor: bigint;
  }>;
}

export interface AccountNet {
  readonly accountId: string;
  readonly currency: string;
  readonly netMinor: bigint;
  readonly entries: number;
}

/** The chart of accounts as the trial balance's SQL needs it: parallel arrays, bound as query parameters. */
export interface ChartForQuery {
  /** Accounts set to a type other than the default (customer), and their types: the SQL's classification. */
  readonly typedIds: readonly string[];
  readonly types: readonly AccountType[];
  /** Accounts the per-account checks need balances of: any with a policy, and every suspense account. */
  readonly checkedIds: readonly string[];
  /** Settlement accounts: a transaction with a leg on one is a settlement. */
  readonly settlementIds: readonly string[];
  /** Clearing accounts with a scheme, and their schemes. */
  readonly clearingIds: readonly string[];
  readonly clearingSchemes: readonly string[];
}

/** Splits the chart into what the SQL binds. `fx:` ids are left out: the SQL classifies them by their prefix. */
export function chartForQuery(chart: readonly Account[]): ChartForQuery {
  const typed = chart.filter((a) => !a.accountId.startsWith(FX_POSITION_PREFIX) && a.type !== AccountType.CUSTOMER);
  const clearing = typed.filter((a) => a.type === AccountType.CLEARING && a.scheme !== null);
  return {
    typedIds: typed.map((a) => a.accountId),
    types: typed.map((a) => a.type),
    checkedIds: chart
      .filter((a) => a.overdraftLimitMinor !== null || effectiveAccountType(a.accountId, a) === AccountType.SUSPENSE)
      .map((a) => a.accountId),
    settlementIds: typed.filter((a) => a.type === AccountType.SETTLEMENT).map((a) => a.accountId),
    clearingIds: clearing.map((a) => a.accountId),
    clearingSchemes: clearing.map((a) => a.scheme!),
  };
}

/** Builds the report from the ledger's figures and the chart of accounts (every record, as the AccountTable holds it). */
export function trialBalanceOf(figures: LedgerFigures, accounts: readonly Account[]): TrialBalance {
  const chart = lookup(accounts);
  const typeOrder = Object.values(AccountType);
  const lines: TrialBalanceLine[] = [...figures.byTypeAndCurrency]
    .sort((a, b) => typeOrder.indexOf(a.type) - typeOrder.indexOf(b.type) || compare(a.currency, b.currency))
    .map((t) => {
      const net = t.creditsMinor - t.debitsMinor;
      return {
        type: accountTypeName(t.type),
        normalSide: normalSides[t.type],
        currency: t.currency,
        accounts: t.accounts,
        entries: t.entries,
        debits: moneyView(t.debitsMinor, t.currency),
        credits: moneyView(t.creditsMinor, t.currency),
        net: moneyView(net, t.currency),
        normalBalance: moneyView(normalBalanceMinor(net, normalSides[t.type]), t.currency),
      };
    });
  const findings = findingsOf(figures, accounts);
  const clearingSchemes = new Map(
    figures.clearing.map((c) => [c.accountId, chart(c.accountId)?.scheme ?? ''] as const),
  );
  return {
    balanced: figures.unbalanced.length === 0 && figures.currencies.every((c) => c.creditsMinor === c.debitsMinor),
    reconciled: findings.length === 0,
    lines,
    currencies: figures.currencies.map((c) => ({
      currency: c.currency,
      total: moneyView(c.creditsMinor - c.debitsMinor, c.currency),
      entries: c.entries,
      debits: moneyView(c.debitsMinor, c.currency),
      credits: moneyView(c.creditsMinor, c.currency),
    })),
    accounts: figures.largest.map((a) => {
      const type = effectiveAccountType(a.accountId, chart(a.accountId));
      return {
        accountId: a.accountId,
        type: accountTypeName(type),
        normalSide: normalSides[type],
        balance: moneyView(a.netMinor, a.currency),
        normalBalance: moneyView(normalBalanceMinor(a.netMinor, normalSides[type]), a.currency),
        entries: a.entries,
      };
    }),
    clearing: figures.clearing.map((c) => ({
      accountId: c.accountId,
      scheme: clearingSchemes.get(c.accountId) ?? '',
      currency: c.currency,
      balance: moneyView(c.balanceMinor, c.currency),
      schemeFlows: moneyView(c.schemeFlowsMinor, c.currency),
      settlements: moneyView(c.settlementsMinor, c.currency),
      unexplained: moneyView(unexplainedMinor(c), c.currency),
    })),
    findings,
  };
}

function lookup(accounts: readonly Account[]): (accountId: string) => Account | undefined {
  const byId = new Map(accounts.map((a) => [a.accountId, a] as const));
  return (accountId) => byId.get(accountId);
}

const unexplainedMinor = (c: LedgerFigures['clearing'][number]): bigint =>
  c.balanceMinor - c.schemeFlowsMinor - c.settlementsMinor;

/** Code-unit order, as `Array.prototype.sort` gives, so the order never depends on the locale. */
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Every finding of the checks in {@link TrialBalanceFindingCode}, errors first (in the order of the codes), then
 * warnings; within a code by account, currency and transaction.
 */
export function findingsOf(figures: LedgerFigures, accounts: readonly Account[]): TrialBalanceFinding[] {
  const chart = lookup(accounts);
  const findings: TrialBalanceFinding[] = [];
  const finding = (
    code: FindingCodeName,
    severity: TrialBalanceFinding['severity'],
    message: string,
    about: Partial<Omit<TrialBalanceFinding, 'code' | 'severity' | 'message' | 'figures'>>,
    figuresOf: TrialBalanceFinding['figures'],
  ): void => {
    findings.push({
      code,
      severity,
      message,
      accountType: about.accountType ?? null,
      currency: about.currency ?? null,
      accountId: about.accountId ?? null,
      transactionId: about.transactionId ?? null,
      scheme: about.scheme ?? null,
      figures: figuresOf,
    });
  };
  const C = TrialBalanceFindingCode;

  for (const c of figures.currencies) {
    const total = c.creditsMinor - c.debitsMinor;
    if (total !== 0n)
      finding(
        C.currencyNotBalanced,
        'error',
        `the legs in ${c.currency} sum to ${moneyView(total, c.currency).amount}, not zero`,
        { currency: c.currency },
        {
          total: moneyView(total, c.currency),
          debits: moneyView(c.debitsMinor, c.currency),
          credits: moneyView(c.creditsMinor, c.currency),
        },
      );
  }

  for (const u of figures.unbalanced)
    finding(
      C.transactionNotBalanced,
      'error',
      `the legs of transaction ${u.transactionId} in ${u.currency} sum to ${moneyView(u.imbalanceMinor, u.currency).amount}, not zero`,
      { currency: u.currency, transactionId: u.transactionId },
      { imbalance: moneyView(u.imbalanceMinor, u.currency) },
    );

  const checked = [...figures.checked].sort(
    (a, b) => compare(a.accountId, b.accountId) || compare(a.currency, b.currency),
  );
  for (const a of checked) {
    const account = chart(a.accountId);
    const type = effectiveAccountType(a.accountId, account);
    if (account?.overdraftLimitMinor === undefined || account.overdraftLimitMinor === null) continue;
    const limitMinor = a.currency === account.currency ? account.overdraftLimitMinor : 0n;
    const normal = normalBalanceMinor(a.netMinor, normalSides[type]);
    if (normal < -limitMinor)
      finding(
        C.beyondOverdraftLimit,
        'error',
        `${a.accountId} stands at ${moneyView(normal, a.currency).amount} ${a.currency} on its ${normalSides[type]} side, beyond its overdraft limit of ${moneyView(limitMinor, a.currency).amount}`,
        { accountType: accountTypeName(type), currency: a.currency, accountId: a.accountId },
        {
          normalBalance: moneyView(normal, a.currency),
          overdraftLimit: moneyView(limitMinor, a.currency),
          beyondLimit: moneyView(-limitMinor - normal, a.currency),
        },
      );
  }

  const positions = new Map<string, bigint>();
  for (const a of figures.checked)
    if (a.accountId === `${FX_POSITION_PREFIX}${a.currency}`) positions.set(a.currency, a.netMinor);
  const fxLegs = new Map(figures.fxLegs.map((f) => [f.currency, f.netMinor] as const));
  for (const currency of [...new Set([...positions.keys(), ...fxLegs.keys()])].sort(compare)) {
    const position = positions.get(currency) ?? 0n;
    const implied = fxLegs.get(currency) ?? 0n;
    if (position !== implied)
      finding(
        C.fxPositionMismatch,
        'error',
        `the FX position in ${currency} is ${moneyView(position, currency).amount}; the FX legs in ${currency} sum to ${moneyView(implied, currency).amount}`,
        { accountType: 'fx_position', currency, accountId: `${FX_POSITION_PREFIX}${currency}` },
        {
          position: moneyView(position, currency),
          impliedByFxLegs: moneyView(implied, currency),
          difference: moneyView(position - implied, currency),
        },
      );
  }

  for (const c of figures.clearing) {
    const unexplained = unexplainedMinor(c);
    const scheme = chart(c.accountId)?.scheme ?? null;
    if (unexplained !== 0n)
      finding(
        C.clearingUnexplained,
        'error',
        `${moneyView(unexplained, c.currency).amount} ${c.currency} on clearing account ${c.accountId} comes neither from scheme ${scheme} nor from a settlement`,
        { accountType: 'clearing', currency: c.currency, accountId: c.accountId, scheme },
        {
          balance: moneyView(c.balanceMinor, c.currency),
          schemeFlows: moneyView(c.schemeFlowsMinor, c.currency),
          settlements: moneyView(c.settlementsMinor, c.currency),
          unexplained: moneyView(unexplained, c.currency),
        },
      );
  }

  for (const a of checked) {
    const type = effectiveAccountType(a.accountId, chart(a.accountId));
    if (type === AccountType.SUSPENSE && a.netMinor !== 0n)
      finding(
        C.suspenseNotCleared,
        'warning',
        `suspense account ${a.accountId} holds ${moneyView(a.netMinor, a.currency).amount} ${a.currency}; it should be cleared to zero`,
        { accountType: 'suspense', currency: a.currency, accountId: a.accountId },
        { balance: moneyView(a.netMinor, a.currency), entries: a.entries },
      );
  }

  for (const b of figures.bypassed)
    finding(
      C.clearingBypassed,
      'warning',
      `${b.transactions} ${b.scheme} transaction(s) in ${b.currency} were booked without a leg on a clearing account`,
      { currency: b.currency, scheme: b.scheme },
      { transactions: b.transactions, gross: moneyView(b.grossMinor, b.currency) },
    );

  for (const a of [...accounts].sort((x, y) => compare(x.accountId, y.accountId)))
    if (effectiveAccountType(a.accountId, a) === AccountType.CLEARING && a.scheme === null)
      finding(
        C.clearingWithoutScheme,
        'warning',
        `clearing account ${a.accountId} has no scheme to be reconciled against`,
        { accountType: 'clearing', currency: a.currency, accountId: a.accountId },
        {},
      );

  return findings;
}
