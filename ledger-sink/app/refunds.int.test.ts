import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { RecordBatch } from '../../platform/bus.js';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { ManualClock } from '../../platform/clock.js';
import { silentLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { ClickHouseTables } from '../../schemas/clickhouse.js';
import { type Codec, createCodec } from '../../schemas/codec.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import type { AnalystLabel, LabelValue, ScoredTransaction, Transaction } from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import { ClickHouseLedgerStore } from '../adapters/clickhouse-store.js';
import type { TransactionLedger } from '../domain/holds.js';
import type { LedgerStore } from '../ports.js';
import { batchOf, capturingBus, scoredTransaction } from '../testing/fixtures.js';
import { LedgerBatchHandler } from './ledger-writer.js';

// Refunds after a reversal, and beyond what their payment still holds, through the real batch handler on chDB: they
// book nothing and their decision row says why (issue 13); the payer never nets above zero on a payment.
const dataDir = mkdtempSync(join(tmpdir(), 'vigil-refunds-'));
const registry = new EmbeddedSchemaRegistry();
const START_MS = 1_764_300_000_000;
const MERCHANT = 'merchant-refunds-1';
let client: ClickHouseClient;
let chdb: ClickHouseLedgerStore;
let scoredCodec: Codec<ScoredTransaction>;
let labelCodec: Codec<AnalystLabel>;

beforeAll(async () => {
  client = createClickHouseClient(`embedded:${dataDir}`);
  chdb = new ClickHouseLedgerStore(client, { lookupChunkIds: 2 }); // 2: the lookups must also work in chunks
  await chdb.ensureSchema();
  scoredCodec = await createCodec(registry, Topics.transactionsScored);
  labelCodec = await createCodec(registry, Topics.analystLabels);
}, 120_000);

afterAll(async () => {
  await client.close();
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(async () => {
  for (const table of Object.values(ClickHouseTables))
    await client.command({ query: `TRUNCATE TABLE IF EXISTS ${table}` });
});

async function handlerOn(store: LedgerStore) {
  const clock = new ManualClock(START_MS);
  const handler = new LedgerBatchHandler({
    store,
    scoredCodec,
    labelCodec,
    deadLetters: await DeadLetterWriter.create(capturingBus(), registry, 'ledger-sink', clock),
    logger: silentLogger,
    metrics: new MetricsRegistry(),
    clock,
  });
  return { handler, clock };
}

let fingerprints = 0;
/** A same-currency EUR card transaction from `payer` to {@link MERCHANT}, decided `decision`. */
function card(
  transactionId: string,
  kind: Transaction['kind'],
  amountMinor: bigint,
  payerAccountId: string,
  more: Partial<Transaction> = {},
  decision: ScoredTransaction['decision'] = 'APPROVE',
): ScoredTransaction {
  fingerprints += 1;
  return scoredTransaction(
    0,
    {
      transactionId,
      fingerprint: `refund-${fingerprints}`.padEnd(64, '0'),
      kind,
      amountMinor,
      currency: 'EUR',
      settlement: null,
      payerAccountId,
      payeeAccountId: MERCHANT,
      ...more,
    },
    { decision },
  );
}
const refund = (id: string, amountMinor: bigint, payer: string, of: string, decision?: ScoredTransaction['decision']) =>
  card(id, 'REFUND', amountMinor, payer, { originalTransactionId: of }, decision);

const decided = (...items: readonly ScoredTransaction[]): RecordBatch =>
  batchOf(
    Topics.transactionsScored,
    items.map((s) => scoredCodec.encode(s)),
  );
const verdict = (transactionId: string, label: LabelValue, payerAccountId: string, atMs: number): RecordBatch =>
  batchOf(Topics.analystLabels, [
    labelCodec.encode({
      transactionId,
      label,
      labelledBy: label === 'FRAUD' ? 'chargeback' : 'ana',
      labelledAtMs: atMs,
      transactionEventTimeMs: START_MS,
      payerAccountId,
      cardToken: null,
      terminalId: null,
      note: null,
    }),
  ]);

/** What the payer nets in EUR on the ledger (credits positive). */
async function net(accountId: string): Promise<bigint> {
  const [account] = await chdb.accountBalances([accountId]);
  return account?.balances.find((b) => b.currency === 'EUR')?.postedMinor ?? 0n;
}

/** The not-posted reason of each decision stored for `ids` ('' when it booked or holds), code only. */
async function reasons(...ids: string[]): Promise<Record<string, string>> {
  const rows = await (
    await client.query({
      query: `SELECT transaction_id, unposted_reason FROM ${ClickHouseTables.decisions} WHERE transaction_id IN {ids:Array(String)} ORDER BY transaction_id`,
      query_params: { ids },
      format: 'JSONEachRow',
    })
  ).json<{ transaction_id: string; unposted_reason: string }>();
  return Object.fromEntries(rows.map((r) => [r.transaction_id, r.unposted_reason.split(':')[0]!]));
}

/** Entry ids booked for `ids`, sorted. */
async function bookedOf(...ids: string[]): Promise<string[]> {
  const rows = await (
    await client.query({
      query: `SELECT entry_id FROM ${ClickHouseTables.ledgerEntries} WHERE transaction_id IN {ids:Array(String)} ORDER BY entry_id`,
      query_params: { ids },
      format: 'JSONEachRow',
    })
  ).json<{ entry_id: string }>();
  return rows.map((r) => r.entry_id);
}

/** A store whose ledgers leave out reversal legs: a planted fault the refund check must not survive. */
const reversalBlind = (inner: LedgerStore): LedgerStore =>
  Object.assign(Object.create(inner) as LedgerStore, {
    transactionLedgers: async (ids: readonly string[]): Promise<ReadonlyMap<string, TransactionLedger>> => {
      const ledgers = await inner.transactionLedgers(ids);
      return new Map(
        [...ledgers].map(([id, l]) => [
          id,
          { ...l, entries: l.entries.filter((e) => e.reversesEntryId === ''), captures: l.captures },
        ]),
      );
    },
  });

describe('refunds through the batch handler on chDB', () => {
  it('given a purchase charged back, when its refund arrives (and again), then it books nothing and its decision says REFUND_AFTER_REVERSAL', async () => {
    const { handler } = await handlerOn(chdb);
    await handler.handle(decided(card('buy-1', 'PURCHASE', 1_999n, 'payer-1')));
    await handler.handle(verdict('buy-1', 'FRAUD', 'payer-1', START_MS + 10));
    expect(await net('payer-1')).toBe(0n);
    const batch = decided(refund('ref-1', 1_999n, 'payer-1', 'buy-1'));
    expect(await handler.handle(batch)).toMatchObject({
      postedTransactions: 0,
      entriesWritten: 0,
      decisionsWritten: 1,
      notPosted: 1,
      refundsRefused: 1,
      deadLettered: 0,
    });
    // Redelivered: the stored refusal governs, nothing more is written.
    expect(await handler.handle(batch)).toMatchObject({
      entriesWritten: 0,
      decisionsWritten: 0,
      duplicates: 1,
      refundsRefused: 0,
    });
    expect(await reasons('buy-1', 'ref-1')).toEqual({ 'buy-1': '', 'ref-1': 'REFUND_AFTER_REVERSAL' });
    expect(await bookedOf('ref-1')).toEqual([]);
    expect(await net('payer-1')).toBe(0n);
  }, 120_000);

  it('given refunds in sequence and two in one batch, then each counts against the others and none pays back more than was paid', async () => {
    const { handler } = await handlerOn(chdb);
    await handler.handle(decided(card('buy-2', 'PURCHASE', 5_000n, 'payer-2')));
    await handler.handle(decided(refund('ref-2a', 3_000n, 'payer-2', 'buy-2')));
    await handler.handle(decided(refund('ref-2b', 2_500n, 'payer-2', 'buy-2')));
    // In one batch, in log order: the first fits what is left, the second no longer does.
    const both = await handler.handle(
      decided(refund('ref-2c', 1_500n, 'payer-2', 'buy-2'), refund('ref-2d', 600n, 'payer-2', 'buy-2')),
    );
    expect(both).toMatchObject({ postedTransactions: 1, refundsRefused: 1, decisionsWritten: 2 });
    await handler.handle(decided(refund('ref-2e', 500n, 'payer-2', 'buy-2')));
    expect(await reasons('ref-2a', 'ref-2b', 'ref-2c', 'ref-2d', 'ref-2e')).toEqual({
      'ref-2a': '',
      'ref-2b': 'REFUND_EXCEEDS_PAYMENT',
      'ref-2c': '',
      'ref-2d': 'REFUND_EXCEEDS_PAYMENT',
      'ref-2e': '',
    });
    expect(await net('payer-2')).toBe(0n);
    // A chargeback now finds nothing left: the payer stays at 0.
    await handler.handle(verdict('buy-2', 'FRAUD', 'payer-2', START_MS + 10));
    expect(await net('payer-2')).toBe(0n);
    // A payment and its refund in one batch: the payment counts, in log order; a refund before its payment does not.
    await handler.handle(
      decided(
        refund('ref-3a', 100n, 'payer-3', 'buy-3'),
        card('buy-3', 'PURCHASE', 700n, 'payer-3'),
        refund('ref-3b', 700n, 'payer-3', 'buy-3'),
      ),
    );
    expect(await reasons('ref-3a', 'ref-3b')).toEqual({ 'ref-3a': 'REFUND_EXCEEDS_PAYMENT', 'ref-3b': '' });
    expect(await net('payer-3')).toBe(0n);
  }, 120_000);

  it('given an authorisation refunded in part and charged back, then a later refund naming it is refused and the payer nets 0', async () => {
    const { handler } = await handlerOn(chdb);
    await handler.handle(decided(card('auth-4', 'AUTHORIZATION', 10_000n, 'payer-4')));
    await handler.handle(decided(card('cap-4', 'CAPTURE', 6_000n, 'payer-4', { originalTransactionId: 'auth-4' })));
    await handler.handle(decided(refund('ref-4a', 2_000n, 'payer-4', 'auth-4')));
    await handler.handle(verdict('auth-4', 'FRAUD', 'payer-4', START_MS + 10));
    expect(await bookedOf('cap-4')).toEqual(['cap-4/0', 'cap-4/1', 'cap-4/r0', 'cap-4/r1']);
    await handler.handle(decided(refund('ref-4b', 1n, 'payer-4', 'auth-4'), refund('ref-4c', 1n, 'payer-4', 'cap-4')));
    expect(await reasons('ref-4a', 'ref-4b', 'ref-4c')).toEqual({
      'ref-4a': '',
      'ref-4b': 'REFUND_AFTER_REVERSAL',
      'ref-4c': 'REFUND_AFTER_REVERSAL',
    });
    expect(await net('payer-4')).toBe(0n);
  }, 120_000);

  it("given a refund held for review, when its payment is charged back before the refund's GENUINE verdict, then its hold is voided, not posted", async () => {
    const { handler } = await handlerOn(chdb);
    await handler.handle(decided(card('buy-5', 'PURCHASE', 1_000n, 'payer-5')));
    await handler.handle(decided(refund('ref-5', 1_000n, 'payer-5', 'buy-5', 'REVIEW')));
    expect(await reasons('ref-5')).toEqual({ 'ref-5': '' });
    await handler.handle(verdict('buy-5', 'FRAUD', 'payer-5', START_MS + 10));
    await handler.handle(verdict('ref-5', 'GENUINE', 'payer-5', START_MS + 20));
    const resolutions = await (
      await client.query({
        query: `SELECT transaction_id, resolution, cause, resolved_by FROM ${ClickHouseTables.ledgerHoldResolutions}`,
        format: 'JSONEachRow',
      })
    ).json<Record<string, string>>();
    expect(resolutions).toEqual([
      { transaction_id: 'ref-5', resolution: 'VOIDED', cause: 'GENUINE', resolved_by: 'REFUND_AFTER_REVERSAL' },
    ]);
    expect(await bookedOf('ref-5')).toEqual([]);
    expect(await net('payer-5')).toBe(0n);
  }, 120_000);

  it('given a refund refused while its payment was held for review, when the payment posts and the refund is redelivered, then it stays refused', async () => {
    const { handler } = await handlerOn(chdb);
    await handler.handle(decided(card('buy-6', 'PURCHASE', 1_000n, 'payer-6', {}, 'REVIEW')));
    const late = decided(refund('ref-6', 400n, 'payer-6', 'buy-6'));
    await handler.handle(late);
    await handler.handle(verdict('buy-6', 'GENUINE', 'payer-6', START_MS + 10));
    expect(await handler.handle(late)).toMatchObject({ entriesWritten: 0, duplicates: 1 });
    expect(await reasons('ref-6')).toEqual({ 'ref-6': 'REFUND_EXCEEDS_PAYMENT' });
    expect(await net('payer-6')).toBe(-1_000n);
  }, 120_000);

  it('negative control: a store blind to reversal legs lets the refund after a chargeback through, and the payer nets above zero', async () => {
    const { handler } = await handlerOn(reversalBlind(chdb));
    await handler.handle(decided(card('buy-7', 'PURCHASE', 1_999n, 'payer-7')));
    await handler.handle(verdict('buy-7', 'FRAUD', 'payer-7', START_MS + 10));
    await handler.handle(decided(refund('ref-7', 1_999n, 'payer-7', 'buy-7')));
    expect(await reasons('ref-7')).toEqual({ 'ref-7': '' });
    expect(await net('payer-7')).toBe(1_999n);
  }, 120_000);
});
