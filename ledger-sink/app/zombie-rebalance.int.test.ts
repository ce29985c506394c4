/**
 * Fault 10 with two real Kafka group members (shared broker, unique topic and group) writing to one ClickHouse (chDB,
 * as two ledger-sink processes share a ClickHouse server). Member A takes the partition's batch, looks at what is
 * stored and stalls with no heartbeat (its in-flight heartbeat off: a process paused by GC, swap or SIGSTOP beats
 * no more than it works); member B joins, the broker evicts A after its session timeout and hands the partition to
 * B, which handles and commits the batch. Then A wakes and writes what it decided from its stale look-up. The
 * insert-once tables keep the ledger exact; with plain inserts (the negative control) it is posted twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import type { RecordBatch } from '../../platform/bus.js';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { ManualClock } from '../../platform/clock.js';
import type { KafkaBus } from '../../platform/kafka/kafka-bus.js';
import { KafkaTestContext, requireBroker, waitFor } from '../../platform/kafka/test-helpers.js';
import { type Logger, silentLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { ClickHouseTables } from '../../schemas/clickhouse.js';
import { type Codec, createCodec } from '../../schemas/codec.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import type { AnalystLabel, ScoredTransaction } from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import { ClickHouseLedgerStore } from '../adapters/clickhouse-store.js';
import { ClickHouseLedgerReader } from '../testing/clickhouse-ledger-reader.js';
import { capturingBus, scoredTransaction } from '../testing/fixtures.js';
import { GatedLedgerStore } from '../testing/gated-ledger-store.js';
import { readStoredLedger, suiteExpectation, suiteViolations } from '../testing/suite-oracle.js';
import { LedgerBatchHandler } from './ledger-writer.js';

const SESSION_TIMEOUT_MS = 6000;
const dataDir = mkdtempSync(join(tmpdir(), 'vigil-zombie-kafka-'));
const registry = new EmbeddedSchemaRegistry();
const clock = new ManualClock(1_764_100_000_000);
let client: ClickHouseClient;
let reader: ClickHouseLedgerReader;
let scoredCodec: Codec<ScoredTransaction>;
let labelCodec: Codec<AnalystLabel>;

/** The decisions of zombie.int.test.ts: 12 entries of 5 booked transactions, 7 holds of 2 legs, 14 decisions. */
const items: readonly ScoredTransaction[] = Array.from({ length: 14 }, (_, i) => scoredTransaction(i + 1));
const EXPECTED = { entries: 12, decisions: 14, holdLegs: 14 };

beforeAll(async () => {
  await requireBroker();
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

/** Warnings a member logs, by message, so the test can see the zombie's commit refused. */
function warningRecorder(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger: Logger = { ...silentLogger, warn: (message) => void warnings.push(message), child: () => logger };
  return { logger, warnings };
}

async function handlerOver(store: GatedLedgerStore): Promise<LedgerBatchHandler> {
  const bus = capturingBus();
  return new LedgerBatchHandler({
    store,
    scoredCodec,
    labelCodec,
    deadLetters: await DeadLetterWriter.create(bus, registry, 'ledger-sink', clock),
    logger: silentLogger,
    metrics: new MetricsRegistry(),
    clock,
  });
}

/** The test's own topic stands for `tx.scored`, which the handler routes by name. */
const asScored = (batch: RecordBatch): RecordBatch => ({ ...batch, topic: Topics.transactionsScored });

async function committedOffset(bus: KafkaBus, group: string, topic: string): Promise<number> {
  await sleep(100); // paces the admin requests of a polling waitFor
  return (await bus.committedOffsets(group, topic))[0]!;
}

describe('fault 10 over Kafka: a member evicted mid-batch wakes after the new owner committed', () => {
  const ctx = new KafkaTestContext();
  afterEach(() => ctx.cleanup());

  async function zombieAfterRebalance(insertOnce: boolean) {
    const topic = ctx.topic('zombie');
    const group = ctx.group('zombie');
    const zombieLog = warningRecorder();
    const zombieBus = await ctx.bus({
      logger: zombieLog.logger,
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: 500,
      inFlightHeartbeatMs: 0,
    });
    await zombieBus.ensureTopics([{ topic, partitions: 1 }]);
    await zombieBus.producer().send(
      topic,
      items.map((s) => ({ key: s.transaction.payerAccountId, value: scoredCodec.encode(s) })),
    );

    const zombieStore = new GatedLedgerStore(new ClickHouseLedgerStore(client, { lookupChunkIds: 1000, insertOnce }));
    const stalled = zombieStore.pause('storedFingerprints', 'after');
    const zombieHandler = await handlerOver(zombieStore);
    let zombieCalls = 0;
    let zombieReturned = false;
    await zombieBus.subscribe({ groupId: group, topics: [topic], maxBatchRecords: items.length }, async (batch) => {
      zombieCalls += 1;
      await zombieHandler.handle(asScored(batch));
      zombieReturned = true;
    });
    await stalled.reached;

    const ownerBus = await ctx.bus({ sessionTimeoutMs: SESSION_TIMEOUT_MS, heartbeatIntervalMs: 500 });
    const ownerHandler = await handlerOver(
      new GatedLedgerStore(new ClickHouseLedgerStore(client, { lookupChunkIds: 1000, insertOnce })),
    );
    const ownerOffsets: number[] = [];
    await ownerBus.subscribe({ groupId: group, topics: [topic], maxBatchRecords: items.length }, async (batch) => {
      await ownerHandler.handle(asScored(batch));
      ownerOffsets.push(...batch.records.map((r) => r.offset));
    });
    await waitFor(
      async () => (await committedOffset(ownerBus, group, topic)) === items.length,
      'the new owner handled and committed the batch',
      60_000,
    );

    stalled.open();
    await waitFor(() => zombieReturned, 'the zombie woke and finished its handler call', 30_000);
    await waitFor(
      () => zombieLog.warnings.includes('kafka: offset commit failed; the batch may be redelivered'),
      "the zombie's commit refused",
      30_000,
    );
    const plain = await readStoredLedger(client, false);
    const final = await readStoredLedger(client, true);
    const counts = await reader.counts();
    return {
      zombieCalls,
      ownerOffsets,
      committed: await committedOffset(ownerBus, group, topic),
      counts: { entries: counts.entries, decisions: counts.decisions, holdLegs: (await reader.holdCounts()).holdLegs },
      violations: suiteViolations(plain.view, suiteExpectation(items)),
      violationsFinal: suiteViolations(final.view, suiteExpectation(items)),
      imbalances: await reader.imbalances(),
    };
  }

  it('given the zombie writes after the rebalance, then the ledger holds every row once', async () => {
    const run = await zombieAfterRebalance(true);
    expect(run.zombieCalls).toBe(1);
    expect(run.ownerOffsets).toEqual(items.map((_, i) => i));
    expect(run.committed).toBe(items.length);
    expect(run.counts).toEqual(EXPECTED);
    expect(run.violations).toEqual([]);
    expect(run.violationsFinal).toEqual([]);
    expect(run.imbalances).toEqual([]);
  }, 120_000);

  it('negative control: with plain inserts the zombie posts the whole batch a second time', async () => {
    const run = await zombieAfterRebalance(false);
    expect(run.zombieCalls).toBe(1);
    expect(run.ownerOffsets).toEqual(items.map((_, i) => i));
    expect(run.counts).toEqual({ entries: 24, decisions: 28, holdLegs: 28 });
    expect(run.violations).toEqual([
      expect.stringMatching(/^decisions stored more than once: 14 /),
      expect.stringMatching(/^entries posted more than once: 12 /),
    ]);
    expect(run.violationsFinal).toEqual(run.violations);
  }, 120_000);
});
