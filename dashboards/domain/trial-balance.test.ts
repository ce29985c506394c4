import type { Account } from '../../schemas/generated/types.js';
import { moneyView } from './money.js';
import { type LedgerFigures, chartForQuery, findingsOf, trialBalanceOf } from './trial-balance.js';

const account = (accountId: string, type: Account['type'], extra: Partial<Account> = {}): Account => ({
  accountId,
  type,
  currency: 'EUR',
  overdraftLimitMinor: null,
  scheme: null,
  updatedBy: 'admin:test',
  updatedAtMs: 1,
  ...extra,
});

const eur = (minor: bigint) => moneyView(minor, 'EUR');

/** A ledger that reconciles: nothing on suspense, FX position as its legs, clearing explained. */
const clean: LedgerFigures = {
  byTypeAndCurrency: [
    { type: 'SETTLEMENT', currency: 'EUR', accounts: 1, entries: 2, debitsMinor: 700n, creditsMinor: 200n },
    { type: 'CUSTOMER', currency: 'EUR', accounts: 3, entries: 4, debitsMinor: 200n, creditsMinor: 700n },
  ],
  currencies: [{ currency: 'EUR', entries: 6, debitsMinor: 900n, creditsMinor: 900n }],
  unbalanced: [],
  largest: [{ accountId: 'nostro', currency: 'EUR', netMinor: -500n, entries: 2 }],
  checked: [
    { accountId: 'alice', currency: 'EUR', netMinor: -100n, entries: 1 },
    { accountId: 'susp', currency: 'EUR', netMinor: 0n, entries: 2 },
    { accountId: 'fx:EUR', currency: 'EUR', netMinor: 40n, entries: 1 },
  ],
  fxLegs: [{ currency: 'EUR', netMinor: 40n }],
  clearing: [{ accountId: 'clr', currency: 'EUR', balanceMinor: 10n, schemeFlowsMinor: 30n, settlementsMinor: -20n }],
  bypassed: [],
};
const chart: Account[] = [
  account('nostro', 'SETTLEMENT'),
  account('alice', 'CUSTOMER', { overdraftLimitMinor: 100n }),
  account('susp', 'SUSPENSE'),
  account('clr', 'CLEARING', { scheme: 'SEPA_CT' }),
];

describe('trial balance', () => {
  it('given a ledger that reconciles, when built, then each type shows its balance on its normal side and nothing is found', () => {
    const report = trialBalanceOf(clean, chart);
    expect(report).toMatchObject({ balanced: true, reconciled: true, findings: [] });
    // Types in the order of the Avro enum; settlement is debit-normal, so a debit balance is positive there.
    expect(report.lines).toEqual([
      {
        type: 'customer',
        normalSide: 'credit',
        currency: 'EUR',
        accounts: 3,
        entries: 4,
        debits: eur(200n),
        credits: eur(700n),
        net: eur(500n),
        normalBalance: eur(500n),
      },
      {
        type: 'settlement',
        normalSide: 'debit',
        currency: 'EUR',
        accounts: 1,
        entries: 2,
        debits: eur(700n),
        credits: eur(200n),
        net: eur(-500n),
        normalBalance: eur(500n),
      },
    ]);
    expect(report.accounts).toEqual([
      {
        accountId: 'nostro',
        type: 'settlement',
        normalSide: 'debit',
        balance: eur(-500n),
        normalBalance: eur(500n),
        entries: 2,
      },
    ]);
    expect(report.clearing).toEqual([
      {
        accountId: 'clr',
        scheme: 'SEPA_CT',
        currency: 'EUR',
        balance: eur(10n),
        schemeFlows: eur(30n),
        settlements: eur(-20n),
        unexplained: eur(0n),
      },
    ]);
  });

  it('lists errors before warnings, each code once per thing it concerns', () => {
    const faulty: LedgerFigures = {
      ...clean,
      currencies: [{ currency: 'EUR', entries: 7, debitsMinor: 900n, creditsMinor: 901n }],
      unbalanced: [{ transactionId: 'tx-1', currency: 'EUR', imbalanceMinor: 1n }],
      checked: [
        { accountId: 'susp', currency: 'EUR', netMinor: 3n, entries: 3 },
        { accountId: 'alice', currency: 'EUR', netMinor: -101n, entries: 2 },
        { accountId: 'fx:EUR', currency: 'EUR', netMinor: 40n, entries: 1 },
      ],
      fxLegs: [{ currency: 'EUR', netMinor: 41n }],
      clearing: [
        { accountId: 'clr', currency: 'EUR', balanceMinor: 11n, schemeFlowsMinor: 30n, settlementsMinor: -20n },
      ],
      bypassed: [{ scheme: 'SEPA_CT', currency: 'EUR', transactions: 2, grossMinor: 50n }],
    };
    const findings = findingsOf(faulty, [...chart, account('clr-2', 'CLEARING')]);
    expect(findings.map((f) => [f.code, f.severity])).toEqual([
      ['CURRENCY_NOT_BALANCED', 'error'],
      ['TRANSACTION_NOT_BALANCED', 'error'],
      ['BEYOND_OVERDRAFT_LIMIT', 'error'],
      ['FX_POSITION_MISMATCH', 'error'],
      ['CLEARING_UNEXPLAINED', 'error'],
      ['SUSPENSE_NOT_CLEARED', 'warning'],
      ['CLEARING_BYPASSED', 'warning'],
      ['CLEARING_WITHOUT_SCHEME', 'warning'],
    ]);
    expect(findings[2]).toEqual({
      code: 'BEYOND_OVERDRAFT_LIMIT',
      severity: 'error',
      message: 'alice stands at -1.01 EUR on its credit side, beyond its overdraft limit of 1.00',
      accountType: 'customer',
      currency: 'EUR',
      accountId: 'alice',
      transactionId: null,
      scheme: null,
      figures: { normalBalance: eur(-101n), overdraftLimit: eur(100n), beyondLimit: eur(1n) },
    });
    expect(trialBalanceOf(faulty, chart)).toMatchObject({ balanced: false, reconciled: false });
  });

  it('holds a debit-normal account with a policy to its own side: a settlement account may go 1.00 into credit', () => {
    const nostro = account('nostro', 'SETTLEMENT', { overdraftLimitMinor: 100n });
    const at = (netMinor: bigint): LedgerFigures => ({
      ...clean,
      checked: [{ accountId: 'nostro', currency: 'EUR', netMinor, entries: 1 }],
      fxLegs: [],
    });
    expect(findingsOf(at(100n), [nostro])).toEqual([]);
    expect(findingsOf(at(101n), [nostro]).map((f) => [f.code, f.figures['normalBalance']])).toEqual([
      ['BEYOND_OVERDRAFT_LIMIT', eur(-101n)],
    ]);
    // Without a policy the account is unlimited: nothing is found however far it goes.
    expect(findingsOf(at(10_000n), [account('nostro', 'SETTLEMENT')])).toEqual([]);
  });

  it('binds the chart for the SQL: typed accounts without customers or fx: ids, checked, settlement and clearing ids', () => {
    expect(
      chartForQuery([
        ...chart,
        account('bob', 'CUSTOMER'),
        account('fx:USD', 'SUSPENSE'),
        account('clr-2', 'CLEARING'),
        account('t2', 'SETTLEMENT', { scheme: 'TARGET2', overdraftLimitMinor: 0n }),
      ]),
    ).toEqual({
      typedIds: ['nostro', 'susp', 'clr', 'clr-2', 't2'],
      types: ['SETTLEMENT', 'SUSPENSE', 'CLEARING', 'CLEARING', 'SETTLEMENT'],
      checkedIds: ['alice', 'susp', 't2'],
      settlementIds: ['nostro', 't2'],
      clearingIds: ['clr'],
      clearingSchemes: ['SEPA_CT'],
    });
  });
});
