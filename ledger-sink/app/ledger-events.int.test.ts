import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { RecordBatch } from '../../platform/bus.js';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { ManualClock } from '../../platform/clock.js';
import { EmbeddedLog } from '../../platform/embedded-log/embedded-log.js';
import { silentLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { ClickHouseTables } from '../../schemas/clickhouse.js';
import { type Codec, createCodec } from '../../schemas/codec.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import type {
  AnalystLabel,
  LabelValue,
  LedgerEvent,
  ScoredTransaction,
  Transaction,
} from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { HeaderNames, Topics } from '../../schemas/topics.js';
import { ClickHouseLedgerStore } from '../adapters/clickhouse-store.js';
import { bookingOf } from '../domain/postings.js';
import { batchOf, capturingBus, scoredTransaction } from '../testing/fixtures.js';
import { LedgerEventFeed } from './ledger-events.js';
import { LedgerBatchHandler } from './ledger-writer.js';

// ledger-sink over chDB publishing on a real embedded log: exactly the expected ledger events per cause, the same
// ones again for a redelivered batch, and what the produce costs a 2,000-transaction batch.
const dataDir = mkdtempSync(join(tmpdir(), 'vigil-ledger-events-'));
const registry = new EmbeddedSchemaRegistry();
const START_MS = 1_764_300_000_000;
let client: ClickHouseClient;
let store: ClickHouseLedgerStore;
let log: EmbeddedLog;
let scoredCodec: Codec<ScoredTransaction>;
let labelCodec: Codec<AnalystLabel>;
let eventCodec: Codec<LedgerEvent>;

beforeAll(async () => {
  client = createClickHouseClient(`embedded:${join(dataDir, 'chdb')}`);
  store = new ClickHouseLedgerStore(client, { lookupChunkIds: 1000 });
  await store.ensureSchema();
  scoredCodec = await createCodec(registry, Topics.transactionsScored);
  labelCodec = await createCodec(registry, Topics.analystLabels);
  eventCodec = await createCodec(registry, Topics.ledgerEvents);
}, 120_000);

afterAll(async () => {
  await client.close();
  rmSync(dataDir, { recursive: true, force: true });
});

let logs = 0;
beforeEach(async () => {
  for (const table of Object.values(ClickHouseTables))
    await client.command({ query: `TRUNCATE TABLE IF EXISTS ${table}` });
  logs += 1;
  log = await EmbeddedLog.open({ dir: join(dataDir, `log-${logs}`) });
  await log.ensureTopics([{ topic: Topics.ledgerEvents, partitions: 4 }]);
});

afterEach(() => log.close());

async function handler(options: { publishes?: boolean; expiryPolicy?: 'void' | 'post' } = {}) {
  const clock = new ManualClock(START_MS);
  const metrics = new MetricsRegistry();
  const handle = new LedgerBatchHandler({
    store,
    scoredCodec,
    labelCodec,
    deadLetters: await DeadLetterWriter.create(capturingBus(), registry, 'ledger-sink', clock),
    logger: silentLogger,
    metrics,
    clock,
    holds: { reviewTimeoutMs: 60_000, expiryPolicy: options.expiryPolicy ?? 'void', authorizationTimeoutMs: 60_000 },
    ...(options.publishes === false
      ? {}
      : { events: new LedgerEventFeed({ producer: log.producer(), codec: eventCodec, metrics }) }),
  });
  return { handler: handle, clock };
}

/** Every event on `ledger.events`, per partition in offset order, with its key and type header. */
async function published(): Promise<Array<{ key: string | null; header: string | undefined; event: LedgerEvent }>> {
  const out: Array<{ key: string | null; header: string | undefined; event: LedgerEvent }> = [];
  const ends = await log.endOffsets(Topics.ledgerEvents);
  for (const [partition, end] of ends.entries())
    for (const record of end === 0 ? [] : await log.read(Topics.ledgerEvents, partition, 0, end))
      out.push({
        key: record.key,
        header: record.headers[HeaderNames.ledgerEventType],
        event: await eventCodec.decode(record.value),
      });
  return out;
}

/** Every published record's value, hex. */
async function publishedBytes(): Promise<string[]> {
  return (await published()).map(({ event }) => eventCodec.encode(event).toString('hex'));
}

/** What `after` holds beyond `before`, as a sorted multiset difference. */
function added(before: readonly string[], after: readonly string[]): string[] {
  const left = [...after];
  for (const item of before) left.splice(left.indexOf(item), 1);
  return left.sort();
}

/** Type, transaction, cause and who, sorted: what an oracle compares. */
const summary = (events: ReadonlyArray<{ event: LedgerEvent }>): string[] =>
  events
    .map(
      ({ event: e }) =>
        `${e.type} ${e.transactionId} ${e.kind} ${e.cause}${e.causedBy === null ? '' : ` by ${e.causedBy}`}` +
        `${e.capturesTransactionId === null ? '' : ` captures ${e.capturesTransactionId}`}` +
        `${e.refundsTransactionId === null ? '' : ` refunds ${e.refundsTransactionId}`}`,
    )
    .sort();

/** The oracle: each expected line exactly once, nothing else. Returns what is wrong, [] when nothing. */
function mismatches(actual: readonly string[], expected: readonly string[]): string[] {
  const left = [...expected];
  const wrong: string[] = [];
  for (const line of actual) {
    const at = left.indexOf(line);
    if (at === -1) wrong.push(`unexpected: ${line}`);
    else left.splice(at, 1);
  }
  return [...wrong, ...left.map((line) => `missing: ${line}`)];
}

let fingerprints = 0;
function tx(
  transactionId: string,
  kind: Transaction['kind'],
  payerAccountId: string,
  decision: ScoredTransaction['decision'] = 'APPROVE',
  more: Partial<Transaction> = {},
): ScoredTransaction {
  fingerprints += 1;
  return scoredTransaction(
    0,
    {
      transactionId,
      fingerprint: `ev-${fingerprints}`.padEnd(64, '0'),
      kind,
      amountMinor: 10_000n,
      currency: 'EUR',
      settlement: null,
      payerAccountId,
      payeeAccountId: 'merchant-ev',
      ...more,
    },
    { decision },
  );
}

const decided = (...items: readonly ScoredTransaction[]): RecordBatch =>
  batchOf(
    Topics.transactionsScored,
    items.map((s) => scoredCodec.encode(s)),
  );

const verdicts = (...items: ReadonlyArray<[ScoredTransaction, LabelValue, string, number]>): RecordBatch =>
  batchOf(
    Topics.analystLabels,
    items.map(([s, label, labelledBy, atMs]) =>
      labelCodec.encode({
        transactionId: s.transaction.transactionId,
        label,
        labelledBy,
        labelledAtMs: atMs,
        transactionEventTimeMs: s.transaction.eventTimeMs,
        payerAccountId: s.transaction.payerAccountId,
        cardToken: null,
        terminalId: null,
        note: null,
      }),
    ),
  );

describe('ledger events over chDB and the embedded log', () => {
  it('announces exactly one event per booking: approve, review → genuine, fraud reversal, capture, refund, expiry', async () => {
    const { handler: h, clock } = await handler({ expiryPolicy: 'post' });
    const buy = tx('buy-1', 'PURCHASE', 'payer-a');
    const reviewed = tx('rev-1', 'TRANSFER', 'payer-b', 'REVIEW');
    const stolen = tx('buy-2', 'PURCHASE', 'payer-c');
    const auth = tx('auth-1', 'AUTHORIZATION', 'payer-d');
    const capture = tx('cap-1', 'CAPTURE', 'payer-d', 'APPROVE', { originalTransactionId: 'auth-1' });
    const refund = tx('ref-1', 'REFUND', 'payer-a', 'APPROVE', { originalTransactionId: 'buy-1', amountMinor: 2_500n });
    const declined = tx('dec-1', 'PURCHASE', 'payer-e', 'DECLINE');
    const forgotten = tx('rev-2', 'PURCHASE', 'payer-f', 'REVIEW');

    await h.handle(decided(buy, reviewed, stolen, auth, declined, forgotten));
    await h.handle(decided(capture, refund));
    clock.advance(1_000);
    await h.handle(verdicts([reviewed, 'GENUINE', 'analyst:ana', START_MS + 500]));
    await h.handle(verdicts([stolen, 'FRAUD', 'chargeback', START_MS + 600]));
    clock.advance(120_000);
    await h.expireHolds(100);

    const events = await published();
    expect(mismatches(summary(events), EXPECTED)).toEqual([]);
    // Keyed and headed for consumers that route or skip without decoding.
    expect(events.every(({ key, event }) => key === event.payerAccountId)).toBe(true);
    expect(events.every(({ header, event }) => header === event.type)).toBe(true);
    const reversal = events.find((e) => e.event.type === 'REVERSED')!.event;
    expect(reversal.legs.map((l) => [l.entryId, l.amountMinor, l.reversesEntryId])).toEqual([
      ['buy-2/r0', 10_000n, 'buy-2/0'],
      ['buy-2/r1', -10_000n, 'buy-2/1'],
    ]);
    const posted = events.find((e) => e.event.transactionId === 'rev-1')!.event;
    expect(posted.bookedAtMs).toBe(START_MS + 1_000);
  }, 120_000);

  it('given batches redelivered (decisions and verdicts), then each announces the same events again, byte for byte', async () => {
    const { handler: h } = await handler();
    const buy = tx('buy-9', 'PURCHASE', 'payer-g');
    const reviewed = tx('rev-9', 'PURCHASE', 'payer-g', 'REVIEW');
    const decisions = decided(buy, reviewed);
    const labels = verdicts(
      [reviewed, 'GENUINE', 'analyst:bo', START_MS + 1],
      [buy, 'FRAUD', 'analyst:bo', START_MS + 2],
    );
    // A redelivery comes before its partition's next batch, so it finds the stored state its first try left.
    const seen: string[][] = [await publishedBytes()];
    for (const batch of [decisions, decisions, labels, labels]) {
      await h.handle(batch);
      seen.push(await publishedBytes());
    }
    const [decided1, decided2, labelled1, labelled2] = [1, 2, 3, 4].map((i) => added(seen[i - 1]!, seen[i]!));
    expect(decided2).toEqual(decided1);
    expect(labelled2).toEqual(labelled1);
    expect(summary(await published())).toEqual([
      'POSTED buy-9 PURCHASE APPROVED',
      'POSTED buy-9 PURCHASE APPROVED',
      'POSTED rev-9 PURCHASE GENUINE_VERDICT by analyst:bo',
      'POSTED rev-9 PURCHASE GENUINE_VERDICT by analyst:bo',
      'REVERSED buy-9 PURCHASE FRAUD_VERDICT by analyst:bo',
      'REVERSED buy-9 PURCHASE FRAUD_VERDICT by analyst:bo',
    ]);
  }, 120_000);

  it('given a FRAUD verdict on an authorisation, then the reversal of a capture booked later is announced too', async () => {
    const { handler: h } = await handler();
    const auth = tx('auth-7', 'AUTHORIZATION', 'payer-h');
    const early = tx('cap-7a', 'CAPTURE', 'payer-h', 'APPROVE', {
      originalTransactionId: 'auth-7',
      amountMinor: 4_000n,
    });
    const late = tx('cap-7b', 'CAPTURE', 'payer-h', 'APPROVE', {
      originalTransactionId: 'auth-7',
      amountMinor: 3_000n,
    });
    await h.handle(decided(auth, early));
    await h.handle(verdicts([auth, 'FRAUD', 'analyst:cy', START_MS + 10]));
    // Booked after the verdict: the authorisation's stored FRAUD reaches it when it settles the authorisation.
    await h.handle(decided(late));
    const events = await published();
    expect(
      mismatches(
        [...new Set(summary(events))],
        [
          'POSTED cap-7a CAPTURE CAPTURE captures auth-7',
          'POSTED cap-7b CAPTURE CAPTURE captures auth-7',
          'REVERSED cap-7a CAPTURE FRAUD_VERDICT by analyst:cy captures auth-7',
          'REVERSED cap-7b CAPTURE FRAUD_VERDICT by analyst:cy captures auth-7',
        ],
      ),
    ).toEqual([]);
    // Settling announces every capture the authorisation's FRAUD reached, so cap-7a's reversal comes again (at least
    // once): byte for byte the same event, which receivers de-duplicate by its id.
    const bytes = await publishedBytes();
    const again = events.filter((e) => e.event.transactionId === 'cap-7a' && e.event.type === 'REVERSED');
    expect(again.length).toBe(2);
    expect(new Set(bytes.filter((_, i) => again.includes(events[i]!))).size).toBe(1);
  }, 120_000);

  describe('the oracle can fail', () => {
    it('catches a planted missing event and a planted duplicate', () => {
      expect(mismatches(EXPECTED.slice(1), EXPECTED)).toEqual([`missing: ${EXPECTED[0]}`]);
      expect(mismatches([...EXPECTED, EXPECTED[2]!], EXPECTED)).toEqual([`unexpected: ${EXPECTED[2]}`]);
    });

    it('catches a redelivery that announces nothing', async () => {
      const { handler: h } = await handler();
      const batch = decided(tx('buy-8', 'PURCHASE', 'payer-h'));
      await h.handle(batch);
      const { handler: forgetful } = await handler({ publishes: false });
      await forgetful.handle(batch);
      expect(
        mismatches(summary(await published()), ['POSTED buy-8 PURCHASE APPROVED', 'POSTED buy-8 PURCHASE APPROVED']),
      ).toEqual(['missing: POSTED buy-8 PURCHASE APPROVED']);
    }, 120_000);
  });

  it('measures what publishing costs a batch of 2,000 mixed decisions (informational, not asserted)', async () => {
    const items = Array.from({ length: 2000 }, (_, i) => scoredTransaction(i));
    const batch = decided(...items);
    const booked = items.filter((s) => bookingOf(s.decision, s.transaction.kind) === 'post').length;
    const seconds: Record<'with' | 'without', number[]> = { with: [], without: [] };
    // Alternating rounds on empty tables, so neither side gets only the warm (or the cold) runs.
    for (let round = 0; round < ROUNDS; round += 1)
      for (const side of ['without', 'with'] as const) {
        for (const table of Object.values(ClickHouseTables))
          await client.command({ query: `TRUNCATE TABLE IF EXISTS ${table}` });
        const { handler: h } = await handler({ publishes: side === 'with' });
        const started = performance.now();
        const report = await h.handle(batch);
        seconds[side].push((performance.now() - started) / 1000);
        expect(report.postedTransactions).toBe(booked);
      }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;
    const announced = (await published()).length;
    console.log(
      `ledger-sink, 2000 decisions per batch, median of ${ROUNDS}: without ledger.events ${Math.round(2000 / median(seconds.without))} tx/s, ` +
        `with ${Math.round(2000 / median(seconds.with))} tx/s (${announced / ROUNDS} events per batch)`,
    );
    expect(announced).toBe(ROUNDS * booked);
  }, 300_000);
});

/** Rounds per side of the A/B measurement. */
const ROUNDS = 5;

const EXPECTED: readonly string[] = [
  'POSTED buy-1 PURCHASE APPROVED',
  'POSTED buy-2 PURCHASE APPROVED',
  'POSTED cap-1 CAPTURE CAPTURE captures auth-1',
  'POSTED ref-1 REFUND REFUND refunds buy-1',
  'POSTED rev-1 TRANSFER GENUINE_VERDICT by analyst:ana',
  'POSTED rev-2 PURCHASE HOLD_EXPIRY',
  'REVERSED buy-2 PURCHASE FRAUD_VERDICT by chargeback',
];
