import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import type { TrialBalanceFinding } from '../../schemas/api.js';
import { ClickHouseTables, clickhouseTableStatements } from '../../schemas/clickhouse.js';
import type { Account, Channel, Transaction } from '../../schemas/generated/types.js';
import { moneyView } from '../domain/money.js';
import { trialBalance } from './trial-balance.js';
// The trial balance reads what ledger-sink writes: every leg is posted by ledger-sink's own postings and written
// by its real writer (never a re-typed copy of its rows), so this test crosses the stage boundary on purpose.
// eslint-disable-next-line no-restricted-imports
import { ClickHouseLedgerStore } from '../../ledger-sink/adapters/clickhouse-store.js';
// eslint-disable-next-line no-restricted-imports
import { postingsFor } from '../../ledger-sink/domain/postings.js';
// eslint-disable-next-line no-restricted-imports
import type { PostedEntry } from '../../ledger-sink/ports.js';
// eslint-disable-next-line no-restricted-imports
import { scoredTransaction } from '../../ledger-sink/testing/fixtures.js';

// chDB binds one data directory per process: one temp directory for this file, removed after it.
const dataDir = mkdtempSync(join(tmpdir(), 'vigil-trial-balance-'));
let clickhouse: ClickHouseClient;
let store: ClickHouseLedgerStore;

const account = (
  accountId: string,
  type: Account['type'],
  extra: Partial<Pick<Account, 'overdraftLimitMinor' | 'scheme' | 'currency'>> = {},
): Account => ({
  accountId,
  type,
  currency: 'EUR',
  overdraftLimitMinor: null,
  scheme: null,
  updatedBy: 'admin:test',
  updatedAtMs: 1,
  ...extra,
});

/** The chart: a SEPA clearing account, the TARGET2 settlement account, a suspense account, a customer with a limit. */
const chart: Account[] = [
  account('clr-sepa', 'CLEARING', { scheme: 'SEPA_CT' }),
  account('settle-t2', 'SETTLEMENT', { scheme: 'TARGET2' }),
  account('susp-1', 'SUSPENSE'),
  account('alice', 'CUSTOMER', { overdraftLimitMinor: 10_000n }),
  account('shop', 'MERCHANT'),
];

let seq = 0;

interface Booking {
  readonly id: string;
  readonly payer: string;
  readonly payee: string;
  readonly amountMinor: bigint;
  readonly currency?: string;
  readonly channel?: Channel;
  readonly scheme?: string;
  readonly settlement?: Transaction['settlement'];
}

/** Approves and books a transaction as ledger-sink does: its decision, and the legs of its real postings. */
async function book(b: Booking): Promise<void> {
  const scored = scoredTransaction(
    (seq += 1),
    {
      transactionId: b.id,
      channel: b.channel ?? (b.scheme === undefined ? 'CARD' : 'SEPA'),
      kind: b.channel === 'CARD' || (b.channel === undefined && b.scheme === undefined) ? 'PURCHASE' : 'TRANSFER',
      payerAccountId: b.payer,
      payeeAccountId: b.payee,
      amountMinor: b.amountMinor,
      currency: b.currency ?? 'EUR',
      settlement: b.settlement ?? null,
      bankTransfer: b.scheme === undefined ? null : { scheme: b.scheme, endToEndId: null, remittanceInfo: null },
    },
    { decision: 'APPROVE' },
  );
  await store.insertDecisions([{ scored, storedAtMs: scored.scoredAtMs + 5 }]);
  await store.insertEntries(
    postingsFor(scored.transaction).map((e) => ({
      ...e,
      fingerprint: scored.transaction.fingerprint,
      reversesEntryId: '',
      capturesTransactionId: '',
      refundsTransactionId: '',
    })),
  );
}

/** A leg written as it is, bypassing the postings: how a fault is planted. */
const leg = (
  transactionId: string,
  index: number,
  accountId: string,
  amountMinor: bigint,
  entryType: PostedEntry['entryType'] = 'PRINCIPAL',
  currency = 'EUR',
): PostedEntry => ({
  entryId: `${transactionId}/${index}`,
  transactionId,
  leg: index,
  accountId,
  amountMinor,
  currency,
  entryType,
  fingerprint: `fp-${transactionId}`,
  eventTimeMs: 1_764_000_000_000,
  postedAtMs: 1_764_000_000_100,
  reversesEntryId: '',
  capturesTransactionId: '',
  refundsTransactionId: '',
});

const eur = (minor: bigint) => moneyView(minor, 'EUR');
const usd = (minor: bigint) => moneyView(minor, 'USD');
const codes = (findings: readonly TrialBalanceFinding[]) => findings.map((f) => f.code);

beforeAll(async () => {
  clickhouse = createClickHouseClient(`embedded:${dataDir}`);
  for (const statement of clickhouseTableStatements()) await clickhouse.command({ query: statement });
  store = new ClickHouseLedgerStore(clickhouse);
}, 60_000);

afterAll(async () => {
  await clickhouse?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/**
 * The clean ledger every test starts from: a card purchase, an outgoing and an incoming SEPA transfer through the
 * SEPA clearing account, the settlement of its net over TARGET2, and a cross-currency payment (EUR → USD).
 */
beforeEach(async () => {
  for (const table of Object.values(ClickHouseTables))
    await clickhouse.command({ query: `TRUNCATE TABLE IF EXISTS ${table}` });
  await book({ id: 't-card', payer: 'alice', payee: 'shop', amountMinor: 3_000n });
  await book({ id: 't-sepa-out', payer: 'alice', payee: 'clr-sepa', amountMinor: 5_000n, scheme: 'SEPA_CT' });
  await book({ id: 't-sepa-in', payer: 'clr-sepa', payee: 'bob', amountMinor: 2_000n, scheme: 'SEPA_CT' });
  await book({ id: 't-settle', payer: 'clr-sepa', payee: 'settle-t2', amountMinor: 3_000n, scheme: 'TARGET2' });
  await book({
    id: 't-fx',
    payer: 'alice',
    payee: 'us-shop',
    amountMinor: 1_200n,
    currency: 'USD',
    settlement: { amountMinor: 1_000n, currency: 'EUR' },
  });
}, 60_000);

describe('trial balance over chDB', () => {
  it('given a clean ledger, lists debits and credits per account type and currency, and finds nothing', async () => {
    const report = await trialBalance(clickhouse, chart, 3);
    expect(report.balanced).toBe(true);
    expect(report.reconciled).toBe(true);
    expect(report.findings).toEqual([]);
    const line = (
      type: string,
      currency: string,
      accounts: number,
      entries: number,
      debits: bigint,
      credits: bigint,
    ) => {
      const money = currency === 'EUR' ? eur : usd;
      const side = ['settlement', 'clearing', 'suspense'].includes(type) ? 'debit' : 'credit';
      const net = credits - debits;
      return {
        type,
        normalSide: side,
        currency,
        accounts,
        entries,
        debits: money(debits),
        credits: money(credits),
        net: money(net),
        normalBalance: money(side === 'credit' ? net : -net),
      };
    };
    expect(report.lines).toEqual([
      // alice −30.00 −50.00 −10.00, bob +20.00; us-shop was never set: a customer.
      line('customer', 'EUR', 2, 4, 9_000n, 2_000n),
      line('customer', 'USD', 1, 1, 0n, 1_200n),
      line('merchant', 'EUR', 1, 1, 0n, 3_000n),
      line('settlement', 'EUR', 1, 1, 0n, 3_000n),
      line('clearing', 'EUR', 1, 3, 5_000n, 5_000n),
      line('fx_position', 'EUR', 1, 1, 0n, 1_000n),
      line('fx_position', 'USD', 1, 1, 1_200n, 0n),
    ]);
    expect(report.currencies).toEqual([
      { currency: 'EUR', entries: 10, debits: eur(14_000n), credits: eur(14_000n), total: eur(0n) },
      { currency: 'USD', entries: 2, debits: usd(1_200n), credits: usd(1_200n), total: usd(0n) },
    ]);
    expect(report.accounts).toEqual([
      {
        accountId: 'alice',
        type: 'customer',
        normalSide: 'credit',
        balance: eur(-9_000n),
        normalBalance: eur(-9_000n),
        entries: 3,
      },
      {
        accountId: 'settle-t2',
        type: 'settlement',
        normalSide: 'debit',
        balance: eur(3_000n),
        normalBalance: eur(-3_000n),
        entries: 1,
      },
      {
        accountId: 'shop',
        type: 'merchant',
        normalSide: 'credit',
        balance: eur(3_000n),
        normalBalance: eur(3_000n),
        entries: 1,
      },
    ]);
    expect(report.clearing).toEqual([
      {
        accountId: 'clr-sepa',
        scheme: 'SEPA_CT',
        currency: 'EUR',
        balance: eur(0n),
        schemeFlows: eur(3_000n),
        settlements: eur(-3_000n),
        unexplained: eur(0n),
      },
    ]);
  });

  it('fx: accounts are FX positions whatever the chart says', async () => {
    const report = await trialBalance(clickhouse, [...chart, account('fx:EUR', 'SUSPENSE')], 3);
    expect(report.lines.filter((l) => l.currency === 'EUR').map((l) => l.type)).toEqual([
      'customer',
      'merchant',
      'settlement',
      'clearing',
      'fx_position',
    ]);
    expect(report.findings).toEqual([]);
  });

  it('finds a currency that does not sum to zero and the transaction that unbalanced it', async () => {
    await store.insertEntries([leg('x-lopsided', 0, 'bob', 5n)]);
    const report = await trialBalance(clickhouse, chart, 3);
    expect(report.balanced).toBe(false);
    expect(report.findings).toEqual([
      expect.objectContaining({
        code: 'CURRENCY_NOT_BALANCED',
        severity: 'error',
        currency: 'EUR',
        figures: { total: eur(5n), debits: eur(14_000n), credits: eur(14_005n) },
      }),
      expect.objectContaining({
        code: 'TRANSACTION_NOT_BALANCED',
        severity: 'error',
        currency: 'EUR',
        transactionId: 'x-lopsided',
        figures: { imbalance: eur(5n) },
      }),
    ]);
  });

  it('finds a suspense account that holds money', async () => {
    await book({ id: 'x-parked', payer: 'alice', payee: 'susp-1', amountMinor: 500n });
    const report = await trialBalance(clickhouse, chart, 3);
    expect(report.balanced).toBe(true);
    expect(report.findings).toEqual([
      {
        code: 'SUSPENSE_NOT_CLEARED',
        severity: 'warning',
        message: 'suspense account susp-1 holds 5.00 EUR; it should be cleared to zero',
        accountType: 'suspense',
        currency: 'EUR',
        accountId: 'susp-1',
        transactionId: null,
        scheme: null,
        figures: { balance: eur(500n), entries: 1 },
      },
    ]);
  });

  it('finds an account beyond its overdraft limit, not one exactly at it; in another currency the limit is 0', async () => {
    // alice stands at −90.00 EUR against a limit of 100.00: −100.00 is still within it.
    await book({ id: 'x-to-limit', payer: 'alice', payee: 'shop', amountMinor: 1_000n });
    expect((await trialBalance(clickhouse, chart, 3)).findings).toEqual([]);
    await book({ id: 'x-beyond', payer: 'alice', payee: 'shop', amountMinor: 1n });
    await book({ id: 'x-usd', payer: 'alice', payee: 'us-shop', amountMinor: 1n, currency: 'USD' });
    const report = await trialBalance(clickhouse, chart, 3);
    expect(report.findings).toEqual([
      expect.objectContaining({
        code: 'BEYOND_OVERDRAFT_LIMIT',
        accountId: 'alice',
        accountType: 'customer',
        currency: 'EUR',
        figures: { normalBalance: eur(-10_001n), overdraftLimit: eur(10_000n), beyondLimit: eur(1n) },
      }),
      expect.objectContaining({
        code: 'BEYOND_OVERDRAFT_LIMIT',
        accountId: 'alice',
        currency: 'USD',
        figures: { normalBalance: usd(-1n), overdraftLimit: usd(0n), beyondLimit: usd(1n) },
      }),
    ]);
  });

  it('finds an FX position that differs from what the FX legs imply', async () => {
    // An FX leg booked on a customer instead of fx:EUR: balanced, but the position misses it.
    await store.insertEntries([leg('x-fx-misbooked', 0, 'alice', -500n), leg('x-fx-misbooked', 1, 'bob', 500n, 'FX')]);
    const report = await trialBalance(clickhouse, chart, 3);
    expect(report.balanced).toBe(true);
    expect(report.findings).toEqual([
      expect.objectContaining({
        code: 'FX_POSITION_MISMATCH',
        severity: 'error',
        accountType: 'fx_position',
        accountId: 'fx:EUR',
        currency: 'EUR',
        figures: { position: eur(1_000n), impliedByFxLegs: eur(1_500n), difference: eur(-500n) },
      }),
    ]);
  });

  it('finds money on a clearing account from outside its scheme, and scheme payments that bypass clearing', async () => {
    await book({ id: 'x-card-via-sepa', payer: 'alice', payee: 'clr-sepa', amountMinor: 700n });
    await book({ id: 'x-direct', payer: 'bob', payee: 'ext-payee', amountMinor: 800n, scheme: 'SEPA_CT' });
    const report = await trialBalance(clickhouse, chart, 3);
    expect(report.clearing).toEqual([
      {
        accountId: 'clr-sepa',
        scheme: 'SEPA_CT',
        currency: 'EUR',
        balance: eur(700n),
        schemeFlows: eur(3_000n),
        settlements: eur(-3_000n),
        unexplained: eur(700n),
      },
    ]);
    expect(report.findings).toEqual([
      expect.objectContaining({
        code: 'CLEARING_UNEXPLAINED',
        severity: 'error',
        accountId: 'clr-sepa',
        scheme: 'SEPA_CT',
        currency: 'EUR',
        figures: { balance: eur(700n), schemeFlows: eur(3_000n), settlements: eur(-3_000n), unexplained: eur(700n) },
      }),
      expect.objectContaining({
        code: 'CLEARING_BYPASSED',
        severity: 'warning',
        scheme: 'SEPA_CT',
        currency: 'EUR',
        figures: { transactions: 1, gross: eur(800n) },
      }),
    ]);
  });

  it('finds a clearing account with no scheme to reconcile against', async () => {
    const report = await trialBalance(clickhouse, [...chart, account('clr-unknown', 'CLEARING')], 3);
    expect(codes(report.findings)).toEqual(['CLEARING_WITHOUT_SCHEME']);
    expect(report.findings[0]).toMatchObject({ accountId: 'clr-unknown', severity: 'warning' });
  });

  it('sums beyond Int64 exactly (Int128), in every figure', async () => {
    const big = 2n ** 62n;
    await store.insertEntries([leg('x-big-1', 0, 'carol', -big), leg('x-big-1', 1, 'dave', big)]);
    await store.insertEntries([leg('x-big-2', 0, 'carol', -big), leg('x-big-2', 1, 'dave', big)]);
    await store.insertEntries([leg('x-big-3', 0, 'carol', -big), leg('x-big-3', 1, 'dave', big)]);
    const report = await trialBalance(clickhouse, chart, 1);
    expect(report.currencies[0]).toMatchObject({ debits: eur(3n * big + 14_000n), total: eur(0n) });
    expect(report.accounts).toEqual([expect.objectContaining({ accountId: 'carol', balance: eur(-3n * big) })]);
    expect(report.findings).toEqual([]);
  });
});
