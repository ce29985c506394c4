import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { clickhouseTableStatements } from '../../schemas/clickhouse.js';
import { sampleTransaction } from '../../schemas/fixtures.js';
import type { ScoredTransaction, TransactionKind } from '../../schemas/generated/types.js';
// Dashboards reads what ledger-sink writes: the rows go in through ledger-sink's real writer, never a re-typed copy.
// eslint-disable-next-line no-restricted-imports
import { ClickHouseLedgerStore } from '../../ledger-sink/adapters/clickhouse-store.js';
import { largeCashReport } from './reports.js';

/**
 * The large-cash and structuring report against the real ClickHouse engine (chDB): patterns are attributed to the
 * customer whose account receives (DEPOSIT) or gives (WITHDRAWAL) the cash, never to the bank's cash account, and
 * every currency is analysed against its own threshold.
 */
const DAY = 86_400_000;
const now = Date.UTC(2026, 11, 7, 12);

interface CashFixture {
  readonly id: string;
  readonly kind: TransactionKind;
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly payer: string;
  readonly payee: string;
  readonly customer: string | null;
  readonly daysAgo: number;
}

function scored(c: CashFixture): ScoredTransaction {
  const atMs = now - c.daysAgo * DAY;
  return {
    transaction: sampleTransaction({
      transactionId: c.id,
      fingerprint: `fp-${c.id}`,
      channel: 'CASH',
      kind: c.kind,
      amountMinor: c.amountMinor,
      currency: c.currency,
      payerAccountId: c.payer,
      payeeAccountId: c.payee,
      customerId: c.customer,
      card: null,
      eventTimeMs: atMs,
      receivedAtMs: atMs + 10,
    }),
    decision: 'APPROVE',
    score: 0.1,
    risk: 0.1,
    reasons: [],
    rulesFired: [],
    features: {},
    featureValues: null,
    reportingCurrency: 'EUR',
    unconvertedCurrency: null,
    modelVersion: 'model-test',
    rulesVersion: 'rules-test',
    scoredAtMs: atMs + 20,
  };
}

const deposit = (
  id: string,
  payee: string,
  customer: string | null,
  amountMinor: bigint,
  daysAgo: number,
  currency = 'USD',
): CashFixture => ({
  id,
  kind: 'DEPOSIT',
  amountMinor,
  currency,
  payer: 'branch-cash-7',
  payee,
  customer,
  daysAgo,
});

const fixtures: CashFixture[] = [
  // One customer, two accounts, three deposits of 9,500.00 USD in three days at a branch: a pattern of the customer.
  deposit('smurf-1', 'acc-smurf', 'cust-smurf', 950_000n, 3),
  deposit('smurf-2', 'acc-smurf', 'cust-smurf', 950_000n, 2),
  deposit('smurf-3', 'acc-smurf-savings', 'cust-smurf', 950_000n, 1),
  // The same accounts' deposits without a customer id: per account only two and one, no pattern.
  deposit('anon-1', 'acc-anon', null, 950_000n, 3),
  deposit('anon-2', 'acc-anon', null, 950_000n, 2),
  deposit('anon-3', 'acc-anon-savings', null, 950_000n, 1),
  // Three just-under deposits spread over eight days: never three within 7 days.
  deposit('slow-1', 'acc-slow', 'cust-slow', 950_000n, 9),
  deposit('slow-2', 'acc-slow', 'cust-slow', 950_000n, 5),
  deposit('slow-3', 'acc-slow', 'cust-slow', 950_000n, 1),
  // Withdrawals just under EUR's own threshold (5,000.00 here) by an account that names no customer.
  ...[4, 3, 2].map((daysAgo, i): CashFixture => ({
    id: `atm-${i}`,
    kind: 'WITHDRAWAL',
    amountMinor: 480_000n,
    currency: 'EUR',
    payer: 'acc-atm',
    payee: 'atm-cash-3',
    customer: null,
    daysAgo,
  })),
  // 6,000.00 is large in EUR (threshold 5,000) and ordinary in USD (threshold 10,000).
  deposit('big-eur', 'acc-big', 'cust-big', 600_000n, 1, 'EUR'),
  deposit('mid-usd', 'acc-big', 'cust-big', 600_000n, 1, 'USD'),
  // Cash in a currency without a threshold is listed as such, not analysed.
  deposit('yen-1', 'acc-yen', 'cust-yen', 990_000n, 1, 'JPY'),
];

const thresholds = new Map([
  ['EUR', 500_000n],
  ['USD', 1_000_000n],
]);
const query = { thresholds, bandPercent: 20, minTransactions: 3, fromMs: now - 31 * DAY, toMs: now, limit: 100 };

describe('largeCashReport (chDB)', () => {
  let dataDir: string;
  let clickhouse: ClickHouseClient;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-cash-report-'));
    clickhouse = createClickHouseClient(`embedded:${join(dataDir, 'chdb')}`);
    for (const statement of clickhouseTableStatements()) await clickhouse.command({ query: statement });
    await new ClickHouseLedgerStore(clickhouse).insertDecisions(
      fixtures.map((f) => ({ scored: scored(f), storedAtMs: now })),
    );
  });
  afterAll(async () => {
    await clickhouse?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('attributes structuring to the customer (or, without one, the account) on the customer side, per currency', async () => {
    const report = await largeCashReport(clickhouse, query);
    expect(report.currenciesWithoutThreshold).toEqual(['JPY']);
    expect(report.currencies.map((c) => [c.currency, c.threshold.amount])).toEqual([
      ['EUR', '5000.00'],
      ['USD', '10000.00'],
    ]);
    const [eur, usd] = report.currencies;
    expect(usd!.structuring.map((p) => [p.customerId, p.customerAccountIds, p.kind, p.transactionsIn7Days])).toEqual([
      ['cust-smurf', ['acc-smurf', 'acc-smurf-savings'], 'DEPOSIT', 3],
    ]);
    expect(usd!.structuring[0]!.windowTotal).toEqual({ amount: '28500.00', amountMinor: '2850000', currency: 'USD' });
    expect([...usd!.structuring[0]!.transactionIds].sort()).toEqual(['smurf-1', 'smurf-2', 'smurf-3']);
    expect(eur!.structuring.map((p) => [p.customerId, p.customerAccountIds, p.kind, p.transactionsIn7Days])).toEqual([
      [null, ['acc-atm'], 'WITHDRAWAL', 3],
    ]);
    expect(eur!.largeTransactions.map((t) => [t.transactionId, t.customerAccountId])).toEqual([['big-eur', 'acc-big']]);
    expect(usd!.largeTransactions).toEqual([]);
  });

  it('negative controls: a fourth transaction required finds nothing; the bank’s cash account never appears', async () => {
    const stricter = await largeCashReport(clickhouse, { ...query, minTransactions: 4 });
    expect(stricter.currencies.flatMap((c) => c.structuring)).toEqual([]);
    // Attributed to the payer, all nine USD deposits would be one "customer": the branch's cash account.
    const report = await largeCashReport(clickhouse, { ...query, minTransactions: 1 });
    const subjects = report.currencies.flatMap((c) => c.structuring.flatMap((p) => p.customerAccountIds));
    expect(subjects).not.toContain('branch-cash-7');
    expect(subjects).not.toContain('atm-cash-3');
  });
});
