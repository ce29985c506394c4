import { formatMinorUnits } from '../../schemas/currencies.js';
import type { Account, Decision, LedgerBalance, Transaction } from '../../schemas/generated/types.js';
import type { FiredRule } from './rules.js';

/**
 * The balance-policy check scoring applies before it approves a debit (README "Balance policies").
 *
 * An account is guarded when its latest chart-of-accounts record has an overdraft limit. For a guarded payer,
 *
 *     available(currency) = posted − pending holds − in flight + (limit, in the account's currency only)
 *
 * where posted and pending come from the ledger's latest balance (the highest version seen on `ledger.balances`;
 * the ledger only appends, so a higher version reflects a superset of rows) and in flight is the sum of debits
 * this guard let through that no balance has named as settled yet. A debit is covered iff it is at most the
 * available balance. Debits of one account are decided one after another in its partition's order, and each one
 * let through counts in flight at once, so two debits can never both spend the same money.
 *
 * Money is bigint minor units; ledger sign convention: credits positive, debits negative.
 */

export const INSUFFICIENT_FUNDS = 'INSUFFICIENT_FUNDS';

interface Debit {
  readonly amountMinor: bigint;
  readonly currency: string;
}

interface InFlightDebit extends Debit {
  readonly transactionId: string;
}

interface GuardedAccount {
  /**
   * The account's latest chart-of-accounts record; undefined while only its balances have arrived: policies and
   * balances come on two topics with no order between them, and a balance read first must not be lost.
   */
  policy: Account | undefined;
  version: bigint;
  /** Per currency: booked sum and open holds' debits, as the ledger last said. */
  balances: Map<string, { postedMinor: bigint; pendingDebitsMinor: bigint }>;
  /**
   * Debits let through and not yet settled by the ledger, by transaction id and fingerprint: a copy of an id with
   * other content (which the ledger will refuse as a conflict, having booked the first) adds to the first, never
   * replaces it; the same content decided again (a re-scored copy) replaces itself.
   */
  inFlight: Map<string, InFlightDebit>;
  /**
   * Ids the ledger named as settled lately, oldest first, at most {@link RECENTLY_SETTLED_LIMIT}: a debit decided
   * again after its settlement was applied (scoring re-deciding after a restart, while balances published since
   * its snapshot are applied first) is already in the balance and must not count in flight again, where no later
   * balance would ever settle it.
   */
  settled: Set<string>;
  /**
   * Authorisations this guard let through, with what their captures may still draw on without a check, oldest
   * first, at most {@link AUTHORIZATIONS_LIMIT}: the hold of one is already counted (in flight, then pending), so a
   * capture naming it is covered up to that much.
   */
  authorizations: Map<string, Debit>;
}

/** Settled ids remembered per guarded account; re-decisions come within a snapshot interval of their first one. */
export const RECENTLY_SETTLED_LIMIT = 10_000;

/**
 * Authorisations remembered per guarded account for their captures. One pushed out is forgotten conservatively: its
 * captures are then checked like any debit.
 */
export const AUTHORIZATIONS_LIMIT = 10_000;

function inFlightKey(tx: Pick<Transaction, 'transactionId' | 'fingerprint'>): string {
  return `${tx.transactionId}\u0000${tx.fingerprint}`;
}

/** JSON-safe copy of a guard (bigints as decimal strings), for scoring's snapshot. */
export interface FundsSnapshot {
  readonly accounts: ReadonlyArray<{
    /** Absent for an account whose balances arrived before its policy. */
    readonly policy?: Omit<Account, 'overdraftLimitMinor'> & { readonly overdraftLimitMinor: string | null };
    /** The account id, also when it has no policy yet (older snapshots: only in `policy`). */
    readonly accountId?: string;
    readonly version: string;
    readonly balances: ReadonlyArray<{ currency: string; postedMinor: string; pendingDebitsMinor: string }>;
    /** `fingerprint` is absent in snapshots written before in-flight debits were keyed by content. */
    readonly inFlight: ReadonlyArray<{
      transactionId: string;
      fingerprint?: string;
      amountMinor: string;
      currency: string;
    }>;
    /** Absent in snapshots written before settled ids were remembered. */
    readonly settled?: readonly string[];
    /** Absent in snapshots written before authorisations were remembered for their captures. */
    readonly authorizations?: ReadonlyArray<{ transactionId: string; amountMinor: string; currency: string }>;
  }>;
}

/** The payer's debit of `tx`, or undefined when it debits the payer nothing (a REFUND pays the payer back). */
export function payerDebit(tx: Transaction): Debit | undefined {
  if (tx.kind === 'REFUND') return undefined;
  return tx.settlement === null
    ? { amountMinor: tx.amountMinor, currency: tx.currency }
    : { amountMinor: tx.settlement.amountMinor, currency: tx.settlement.currency };
}

/** The authorisation a CAPTURE names as the hold it settles, or undefined. */
function authorizationCaptured(tx: Transaction): string | undefined {
  return tx.kind === 'CAPTURE' && tx.originalTransactionId !== null ? tx.originalTransactionId : undefined;
}

/** What of `debit` the authorisation `tx` captures still covers (0 when it names none this guard let through). */
function coveredByAuthorization(account: GuardedAccount, tx: Transaction, debit: Debit): bigint {
  const authorizationId = authorizationCaptured(tx);
  const left = authorizationId === undefined ? undefined : account.authorizations.get(authorizationId);
  if (left === undefined || left.currency !== debit.currency) return 0n;
  return left.amountMinor < debit.amountMinor ? left.amountMinor : debit.amountMinor;
}

export class FundsGuard {
  /**
   * Every account with a chart-of-accounts record or a balance; only those with a limit are checked. The ledger
   * publishes balances of policy accounts only, so this holds one entry per account an admin configured.
   */
  private readonly accounts = new Map<string, GuardedAccount>();

  /** Applies the latest policy record of an account (later calls win: they come in the topic's order). */
  setAccount(policy: Account): void {
    this.accountOf(policy.accountId).policy = policy;
  }

  /**
   * Applies a balance the ledger published: its settled debits leave in flight whatever its version (any balance
   * naming them reflects them, and so does every higher version), and its sums replace ours if its version is
   * higher. A balance of an account whose policy has not arrived yet is kept for when it does.
   */
  applyBalance(balance: LedgerBalance): void {
    const account = this.accountOf(balance.accountId);
    if (balance.settledTransactionIds.length > 0) {
      const settled = new Set(balance.settledTransactionIds);
      for (const [key, debit] of account.inFlight) if (settled.has(debit.transactionId)) account.inFlight.delete(key);
      for (const id of settled) {
        account.settled.delete(id);
        account.settled.add(id);
      }
      for (const id of account.settled) {
        if (account.settled.size <= RECENTLY_SETTLED_LIMIT) break;
        account.settled.delete(id);
      }
    }
    if (balance.version <= account.version) return;
    account.version = balance.version;
    account.balances = new Map(
      balance.balances.map((b) => [
        b.currency,
        { postedMinor: b.postedMinor, pendingDebitsMinor: b.pendingDebitsMinor },
      ]),
    );
  }

  /**
   * The INSUFFICIENT_FUNDS reason when `tx` debits a guarded payer beyond its available balance, else undefined. A
   * CAPTURE of an authorisation this guard let through is covered by that authorisation's hold, up to what the
   * authorisation still reserves (its earlier captures drew the rest); only what it captures beyond that, or a capture
   * naming an authorisation never let through, must fit the available balance.
   */
  check(tx: Transaction): FiredRule | undefined {
    const account = this.guarded(tx.payerAccountId);
    const debit = payerDebit(tx);
    if (!account || !debit) return undefined;
    const coveredMinor = coveredByAuthorization(account, tx, debit);
    if (coveredMinor === debit.amountMinor) return undefined;
    const { postedMinor, pendingDebitsMinor } = account.balances.get(debit.currency) ?? {
      postedMinor: 0n,
      pendingDebitsMinor: 0n,
    };
    let inFlightMinor = 0n;
    for (const d of account.inFlight.values()) if (d.currency === debit.currency) inFlightMinor += d.amountMinor;
    const policy = account.policy!;
    const limitMinor = debit.currency === policy.currency ? policy.overdraftLimitMinor! : 0n;
    const available = postedMinor - pendingDebitsMinor - inFlightMinor + limitMinor;
    if (debit.amountMinor - coveredMinor <= available) return undefined;
    const money = (minor: bigint): string => formatMinorUnits(minor, debit.currency);
    const covered = coveredMinor > 0n ? `, of which its authorisation covers ${money(coveredMinor)}` : '';
    return {
      code: INSUFFICIENT_FUNDS,
      action: 'DECLINE',
      risk: 1,
      description:
        `available balance ${money(available)} ${debit.currency} is less than the debit of ` +
        `${money(debit.amountMinor)} ${debit.currency}${covered} (posted ${money(postedMinor)}, pending holds ` +
        `${money(pendingDebitsMinor)}, in flight ${money(inFlightMinor)}, overdraft limit ${money(limitMinor)})`,
    };
  }

  /**
   * Counts `tx`'s debit in flight when `decision` lets it reach the ledger: an APPROVE books it, a REVIEW holds it,
   * an AUTHORIZATION places a hold (a hold counts against available) and is remembered for its captures. A CAPTURE
   * counts in full too and draws down what its authorisation covers, although its booking only lowers available by
   * what it captures beyond the hold it consumes: until the ledger says so, available is understated, never
   * overstated. Reserving the same content again replaces it, never
   * doubles; an id the ledger has already named settled is not reserved again. `redecided`: see the first line.
   */
  reserve(tx: Transaction, decision: Decision, redecided = false): void {
    // A debit decided again after a restart counts even when declined now: the run before may have approved it, and
    // the ledger books the first decision. The ledger settles every decision it handles, declines included.
    if (decision === 'DECLINE' && !redecided) return;
    const account = this.guarded(tx.payerAccountId);
    const debit = payerDebit(tx);
    if (!account || !debit || account.settled.has(tx.transactionId)) return;
    const key = inFlightKey(tx);
    // The same content decided again (a re-scored copy) replaces itself and draws on its authorisation once.
    const decidedBefore = account.inFlight.has(key);
    account.inFlight.set(key, { ...debit, transactionId: tx.transactionId });
    if (decision === 'DECLINE' || decidedBefore) return;
    if (tx.kind === 'AUTHORIZATION' && !account.authorizations.has(tx.transactionId)) {
      account.authorizations.set(tx.transactionId, debit);
      for (const id of account.authorizations.keys()) {
        if (account.authorizations.size <= AUTHORIZATIONS_LIMIT) break;
        account.authorizations.delete(id);
      }
    }
    const authorizationId = authorizationCaptured(tx);
    const coveredMinor = coveredByAuthorization(account, tx, debit);
    if (authorizationId !== undefined && coveredMinor > 0n) {
      const left = account.authorizations.get(authorizationId)!;
      account.authorizations.set(authorizationId, { ...left, amountMinor: left.amountMinor - coveredMinor });
    }
  }

  stats(): { guardedAccounts: number; inFlightDebits: number } {
    let guardedAccounts = 0;
    let inFlightDebits = 0;
    for (const account of this.accounts.values()) {
      if (account.policy?.overdraftLimitMinor != null) guardedAccounts += 1;
      inFlightDebits += account.inFlight.size;
    }
    return { guardedAccounts, inFlightDebits };
  }

  snapshot(): FundsSnapshot {
    return {
      accounts: [...this.accounts].map(([accountId, a]) => ({
        accountId,
        ...(a.policy === undefined
          ? {}
          : {
              policy: {
                ...a.policy,
                overdraftLimitMinor:
                  a.policy.overdraftLimitMinor === null ? null : a.policy.overdraftLimitMinor.toString(),
              },
            }),
        version: a.version.toString(),
        balances: [...a.balances].map(([currency, b]) => ({
          currency,
          postedMinor: b.postedMinor.toString(),
          pendingDebitsMinor: b.pendingDebitsMinor.toString(),
        })),
        inFlight: [...a.inFlight].map(([key, d]) => ({
          transactionId: d.transactionId,
          fingerprint: key.slice(d.transactionId.length + 1),
          amountMinor: d.amountMinor.toString(),
          currency: d.currency,
        })),
        settled: [...a.settled],
        authorizations: [...a.authorizations].map(([transactionId, d]) => ({
          transactionId,
          amountMinor: d.amountMinor.toString(),
          currency: d.currency,
        })),
      })),
    };
  }

  restore(snapshot: FundsSnapshot): void {
    this.accounts.clear();
    for (const a of snapshot.accounts) {
      const limit = a.policy?.overdraftLimitMinor ?? null;
      const accountId = a.accountId ?? a.policy?.accountId;
      if (accountId === undefined) continue;
      this.accounts.set(accountId, {
        policy:
          a.policy === undefined
            ? undefined
            : { ...a.policy, overdraftLimitMinor: limit === null ? null : BigInt(limit) },
        version: BigInt(a.version),
        balances: new Map(
          a.balances.map((b) => [
            b.currency,
            { postedMinor: BigInt(b.postedMinor), pendingDebitsMinor: BigInt(b.pendingDebitsMinor) },
          ]),
        ),
        inFlight: new Map(
          a.inFlight.map((d) => [
            inFlightKey({ transactionId: d.transactionId, fingerprint: d.fingerprint ?? '' }),
            { transactionId: d.transactionId, amountMinor: BigInt(d.amountMinor), currency: d.currency },
          ]),
        ),
        settled: new Set(a.settled ?? []),
        authorizations: new Map(
          (a.authorizations ?? []).map((d) => [
            d.transactionId,
            { amountMinor: BigInt(d.amountMinor), currency: d.currency },
          ]),
        ),
      });
    }
  }

  private guarded(accountId: string): GuardedAccount | undefined {
    const account = this.accounts.get(accountId);
    return account?.policy?.overdraftLimitMinor == null ? undefined : account;
  }

  private accountOf(accountId: string): GuardedAccount {
    let account = this.accounts.get(accountId);
    if (account === undefined)
      this.accounts.set(
        accountId,
        (account = {
          policy: undefined,
          version: -1n,
          balances: new Map(),
          inFlight: new Map(),
          settled: new Set(),
          authorizations: new Map(),
        }),
      );
    return account;
  }
}
