/**
 * Fault 10 of the suite over chDB: two real LedgerBatchHandlers, each with its own ClickHouseLedgerStore, handle the
 * same records — a member that stalled past its session timeout after it looked at what is stored (the zombie), and
 * the partition's new owner. Gates on the zombie's store calls order the two exactly (no sleeps): the zombie stalls
 * after its look-up or just before its insert, the owner handles everything, then the zombie wakes and writes what
 * it decided from its stale look-up. The insert-once entries of tables.sql must store each row once whatever the
 * order; with them off (the negative control) the same orders post twice.
 */
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
import { type AnalystLabel, LabelValue, type ScoredTransaction } from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import { ClickHouseLedgerStore } from '../adapters/clickhouse-store.js';
import { ClickHouseLedgerReader } from '../testing/clickhouse-ledger-reader.js';
import { batchOf, capturingBus, scoredTransaction } from '../testing/fixtures.js';
import { GatedLedgerStore } from '../testing/gated-ledger-store.js';
import { readStoredLedger, suiteExpectation, suiteViolations } from '../testing/suite-oracle.js';
import { postingsFor } from '../domain/postings.js';
import { LedgerBatchHandler } from './ledger-writer.js';

// chDB binds one data directory per process: one for this file, as one ClickHouse both members write to.
const dataDir = mkdtempSync(join(tmpdir(), 'vigil-zombie-'));
const registry = new EmbeddedSchemaRegistry();
const clock = new ManualClock(1_764_100_000_000);
let client: ClickHouseClient;
let reader: ClickHouseLedgerReader;
let scoredCodec: Codec<ScoredTransaction>;
let labelCodec: Codec<AnalystLabel>;

beforeAll(async () => {
  client = createClickHouseClient(`embedded:${dataDir}`);
  reader = new ClickHouseLedgerReader(client);
  await new ClickHouseLedgerStore(client).ensureSchema();
  scoredCodec = await createCodec(registry, Topics.transactionsScored);
  labelCodec = await createCodec(registry, Topics.analystLabels);
});

afterAll(async () => {
  await client.close();
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(async () => {
  for (const table of Object.values(ClickHouseTables))
    await client.command({ query: `TRUNCATE TABLE IF EXISTS ${table}` });
});

/** One member's handler over its own store on the shared chDB; `insertOnce: false` is the negative control. */
async function member(insertOnce: boolean): Promise<{ handler: LedgerBatchHandler; store: GatedLedgerStore }> {
  const store = new GatedLedgerStore(new ClickHouseLedgerStore(client, { lookupChunkIds: 1000, insertOnce }));
  const bus = capturingBus();
  const handler = new LedgerBatchHandler({
    store,
    scoredCodec,
    labelCodec,
    deadLetters: await DeadLetterWriter.create(bus, registry, 'ledger-sink', clock),
    logger: silentLogger,
    metrics: new MetricsRegistry(),
    clock,
  });
  return { handler, store };
}

/**
 * 14 decisions (scoredTransaction 1–14): 5 booked, one of them cross-currency (4 legs), the others 2 legs — 12
 * entries; one REVIEW hold and 6 authorisation holds, 2 legs each; 2 declined. Each has a decision row.
 */
const items: readonly ScoredTransaction[] = Array.from({ length: 14 }, (_, i) => scoredTransaction(i + 1));
const expected = suiteExpectation(items);
const EXPECTED = { entries: 12, postedTransactions: 5, decisions: 14, holdLegs: 14, heldTransactions: 7 };

/** Records `from`..`to` (inclusive) of the partition, at their own offsets. */
const records = (from: number, to: number): RecordBatch =>
  batchOf(
    Topics.transactionsScored,
    items.slice(from, to + 1).map((s) => scoredCodec.encode(s)),
    { firstOffset: from, keys: items.slice(from, to + 1).map((s) => s.transaction.payerAccountId) },
  );

/** What the ledger holds, counted, and the suite oracle read with and without FINAL. */
async function ledger() {
  const counts = await reader.counts();
  const holds = await reader.holdCounts();
  const plain = await readStoredLedger(client, false);
  const final = await readStoredLedger(client, true);
  return {
    counts: {
      entries: counts.entries,
      postedTransactions: counts.postedTransactions,
      decisions: counts.decisions,
      holdLegs: holds.holdLegs,
      heldTransactions: holds.heldTransactions,
    },
    resolutions: holds.resolutions,
    violations: suiteViolations(plain.view, expected),
    violationsFinal: suiteViolations(final.view, expected),
    imbalances: await reader.imbalances(),
  };
}

/**
 * The zombie handles `zombieBatch` and stalls at `stall`; while it stalls the owner handles `ownerBatches` in turn;
 * then the zombie wakes and finishes. Both handlers must resolve: a zombie notices nothing by itself.
 */
async function zombieRace(options: {
  readonly insertOnce: boolean;
  readonly zombieBatch: RecordBatch;
  readonly ownerBatches: readonly RecordBatch[];
  readonly stall: 'after the look-up' | 'before the entries insert';
}): Promise<void> {
  const zombie = await member(options.insertOnce);
  const owner = await member(options.insertOnce);
  const gate =
    options.stall === 'after the look-up'
      ? zombie.store.pause('storedFingerprints', 'after')
      : zombie.store.pause('insertEntries', 'before');
  const zombieDone = zombie.handler.handle(options.zombieBatch);
  await gate.reached;
  for (const batch of options.ownerBatches) await owner.handler.handle(batch);
  gate.open();
  await zombieDone;
}

describe('fault 10: a zombie member and the new owner write the same records to chDB', () => {
  it('given one ledger-sink alone, then the counts the races below must reproduce exactly', async () => {
    const { handler } = await member(true);
    await handler.handle(records(0, 13));
    const stored = await ledger();
    expect(stored.counts).toEqual(EXPECTED);
    expect(stored.violations).toEqual([]);
    expect(stored.violationsFinal).toEqual([]);
    expect(stored.imbalances).toEqual([]);
  }, 60_000);

  type Range = readonly [from: number, to: number];
  type Stall = 'after the look-up' | 'before the entries insert';
  /** Each race, and what the same race stores with plain inserts (the negative control): what is written twice. */
  const races: Array<[stall: Stall, what: string, zombie: Range, owner: Range[], plain: Partial<typeof EXPECTED>]> = [
    ['after the look-up', 'the same batch', [0, 13], [[0, 13]], { entries: 24, decisions: 28, holdLegs: 28 }],
    // The zombie's decisions and holds land before it stalls (the four inserts run together); the owner repairs the
    // missing entries, which the zombie then writes again.
    ['before the entries insert', 'the same batch', [0, 13], [[0, 13]], { entries: 24 }],
    [
      'after the look-up',
      'other boundaries (zombie 0-9, owner 0-5, 6-13)',
      [0, 9],
      [
        [0, 5],
        [6, 13],
      ],
      { entries: 22, decisions: 24, holdLegs: 22 },
    ],
    [
      'before the entries insert',
      'other boundaries (zombie 4-13, owner 0-8, 9-13)',
      [4, 13],
      [
        [0, 8],
        [9, 13],
      ],
      { entries: 20 },
    ],
  ];

  it.each(races)(
    'given a zombie stalled %s over %s, when it wakes after the owner, then every row is stored once',
    async (stall, _what, zombie, owner) => {
      await zombieRace({
        insertOnce: true,
        zombieBatch: records(...zombie),
        ownerBatches: owner.map((range) => records(...range)),
        stall,
      });
      const stored = await ledger();
      expect(stored.counts).toEqual(EXPECTED);
      expect(stored.violations).toEqual([]);
      expect(stored.violationsFinal).toEqual([]);
      expect(stored.imbalances).toEqual([]);
    },
    60_000,
  );

  it.each(races)(
    'negative control: with plain inserts, a zombie stalled %s over %s writes twice and the oracle says so',
    async (stall, _what, zombie, owner, plain) => {
      await zombieRace({
        insertOnce: false,
        zombieBatch: records(...zombie),
        ownerBatches: owner.map((range) => records(...range)),
        stall,
      });
      const stored = await ledger();
      expect(stored.counts).toEqual({ ...EXPECTED, ...plain });
      expect(stored.violations).toContainEqual(
        expect.stringMatching(new RegExp(`^entries posted more than once: ${plain.entries! - EXPECTED.entries} `)),
      );
      expect(stored.violationsFinal).toEqual(stored.violations);
    },
    60_000,
  );

  /** Both members look before either writes; then both write at once (chDB runs their statements in turn). */
  async function bothLookThenWrite(insertOnce: boolean) {
    const a = await member(insertOnce);
    const b = await member(insertOnce);
    const gateA = a.store.pause('storedFingerprints', 'after');
    const gateB = b.store.pause('storedFingerprints', 'after');
    const doneA = a.handler.handle(records(0, 13));
    const doneB = b.handler.handle(records(0, 13));
    await Promise.all([gateA.reached, gateB.reached]);
    gateB.open();
    gateA.open();
    await Promise.all([doneA, doneB]);
    return ledger();
  }

  it('given both members looked before either wrote, when both write at once, then every row is stored once', async () => {
    const stored = await bothLookThenWrite(true);
    expect(stored.counts).toEqual(EXPECTED);
    expect(stored.violations).toEqual([]);
    expect(stored.violationsFinal).toEqual([]);
  }, 60_000);

  it('negative control: with plain inserts, both members looking before either wrote store everything twice', async () => {
    const stored = await bothLookThenWrite(false);
    expect(stored.counts).toEqual({ ...EXPECTED, entries: 24, decisions: 28, holdLegs: 28 });
    expect(stored.violations).toEqual([
      expect.stringMatching(/^decisions stored more than once: 14 /),
      expect.stringMatching(/^entries posted more than once: 12 /),
    ]);
  }, 60_000);

  /**
   * The REVIEW hold of transaction 4 is booked; then a GENUINE verdict on it reaches a zombie that read the ledger
   * (hold open) and stalled, and the owner, which posts the hold; then the zombie wakes and posts it from its stale
   * read: a second resolution and the hold's legs again, unless the inserts skip what is stored.
   */
  async function staleVerdict(insertOnce: boolean) {
    await (await member(true)).handler.handle(records(0, 13));
    const review = items[3]!;
    const genuine: AnalystLabel = {
      transactionId: review.transaction.transactionId,
      label: LabelValue.GENUINE,
      labelledBy: 'analyst-7',
      labelledAtMs: review.scoredAtMs + 60_000,
      transactionEventTimeMs: review.transaction.eventTimeMs,
      payerAccountId: review.transaction.payerAccountId,
      cardToken: null,
      terminalId: null,
      note: null,
    };
    const labels = batchOf(Topics.analystLabels, [labelCodec.encode(genuine)]);
    const zombie = await member(insertOnce);
    const owner = await member(insertOnce);
    // The zombie stops once it has read and decided, right before it writes: it read the hold open (a verdict batch
    // reads the ledger more than once — first to find refund holds whose payments it must lock — so a stop after the
    // first read would let it see the owner's posting and step aside).
    const gate = zombie.store.pause('insertHoldResolutions', 'before');
    const zombieDone = zombie.handler.handle(labels);
    await gate.reached;
    const ownerReport = await owner.handler.handle(labels);
    gate.open();
    const zombieReport = await zombieDone;
    return {
      outcomes: [ownerReport.outcomes.hold_posted, zombieReport.outcomes.hold_posted],
      holdLegs: (await reader.entriesOf(review.transaction.transactionId)).length,
      labels: (await reader.counts()).labels,
      stored: await ledger(),
      duplicatedEntries: (await reader.duplicatedEntryIds()).length,
    };
  }

  it('given a zombie that read an open hold for a GENUINE verdict, when it wakes after the owner posted the hold, then the hold ends once and its legs post once', async () => {
    const race = await staleVerdict(true);
    // Both believe they posted it (the zombie cannot tell); the ledger holds it once.
    expect(race.outcomes).toEqual([1, 1]);
    expect(race.holdLegs).toBe(2);
    expect(race.labels).toBe(1);
    expect(race.stored.resolutions).toBe(1);
    expect(race.stored.counts.entries).toBe(EXPECTED.entries + 2);
    expect(race.duplicatedEntries).toBe(0);
    expect(race.stored.imbalances).toEqual([]);
  }, 60_000);

  it('negative control: with plain inserts, the stale verdict ends the hold twice and posts its legs twice', async () => {
    const race = await staleVerdict(false);
    expect(race.outcomes).toEqual([1, 1]);
    expect(race.holdLegs).toBe(4);
    expect(race.labels).toBe(1);
    expect(race.stored.resolutions).toBe(2);
    expect(race.duplicatedEntries).toBe(2);
  }, 60_000);

  /** Eight stores insert the same legs and decisions at once: what the table holds afterwards, per table. */
  async function eightAtOnce(insertOnce: boolean) {
    const legs = items.flatMap((s) =>
      postingsFor(s.transaction, clock.nowMs()).map((e) => ({
        ...e,
        fingerprint: s.transaction.fingerprint,
        reversesEntryId: '',
        capturesTransactionId: '',
        refundsTransactionId: '',
      })),
    );
    const stores = Array.from(
      { length: 8 },
      () => new ClickHouseLedgerStore(client, { lookupChunkIds: 1000, insertOnce }),
    );
    await Promise.all(
      stores.flatMap((store) => [
        store.insertEntries(legs),
        store.insertDecisions(items.map((scored) => ({ scored, storedAtMs: clock.nowMs() }))),
      ]),
    );
    const counts = await reader.counts();
    return { legs: legs.length, entries: counts.entries, decisions: counts.decisions };
  }

  it('given eight stores inserting the same rows at once, then each row is stored once', async () => {
    const run = await eightAtOnce(true);
    expect(run.legs).toBe(32);
    expect(run).toMatchObject({ entries: 32, decisions: 14 });
    expect(await reader.duplicatedEntryIds()).toEqual([]);
  }, 60_000);

  it('negative control: with plain inserts, eight stores store eight copies', async () => {
    expect(await eightAtOnce(false)).toEqual({ legs: 32, entries: 256, decisions: 112 });
  }, 60_000);
});
