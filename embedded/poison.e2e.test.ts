import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemorySampler, committedLag } from '../ledger-sink/testing/outage-harness.js';
import { readStoredLedger, suiteExpectation, suiteViolations } from '../ledger-sink/testing/suite-oracle.js';
import type { Bus, BusRecord } from '../platform/bus.js';
import { createClickHouseClient } from '../platform/clickhouse.js';
import { silentLogger } from '../platform/logger.js';
import type { IngestBatchResponse, LedgerIntegrity } from '../schemas/api.js';
import { createCodec } from '../schemas/codec.js';
import type { DeadLetter, ScoredTransaction } from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import { TrafficSimulator } from '../simulator/generator.js';
import { type EmbeddedPipeline, startEmbeddedPipeline } from './pipeline.js';
import {
  type ObservedDeadLetter,
  type PlantedPoison,
  apiClient,
  deadLetterViolations,
  metricSum,
  waitFor,
} from './testing.js';

/**
 * Fault 6 of the suite: poison records written straight onto the embedded log, among good transactions sent
 * through ingest. On tx.raw (read by scoring) and on tx.scored (read by ledger-sink and by the dashboards' live
 * statistics), four kinds each: a bad magic byte, a truncated Avro body, an unknown schema id, and an oversized
 * record (5 MiB, over the 4 MiB a consumer batch may hold, so it is handed over alone; its body is not a record).
 *
 * Oracle, once everything drained: each poison record dead-lettered exactly once by each stage that reads its
 * topic, naming topic/partition/offset with its reason and original bytes (deadLetterViolations), and nothing else
 * dead-lettered; every good transaction acknowledged = decided = posted exactly once and balanced (the suite
 * oracle, with and without FINAL; embedded mode has no search index); every consumer's lag 0 within
 * DRAIN_BOUND_MS; the heap after a full collection within HEAP_GROWTH_BOUND_MIB of what it was before the poison.
 */
const keys = {
  ingest: 'poison-ingest-key-0123456789',
  compliance: 'poison-compliance-key-0123456789',
  admin: 'poison-admin-key-0123456789',
};
const N = 1000;
const BATCH = 100;
const OVERSIZED_BYTES = 5 * 1024 * 1024;
const DRAIN_BOUND_MS = 180_000;
const HEAP_GROWTH_BOUND_MIB = 64;

/** The four poison kinds, made from a good record of the topic so each fails at one place only. */
function poisonFrom(good: Buffer): Array<{ kind: string; bytes: Buffer; code: string }> {
  const badMagic = Buffer.from(good);
  badMagic[0] = 1;
  const unknownSchema = Buffer.from(good);
  unknownSchema.writeUInt32BE(999_999, 1);
  const oversized = Buffer.alloc(OVERSIZED_BYTES, 0xff);
  good.copy(oversized, 0, 0, 5);
  return [
    { kind: 'bad magic byte', bytes: badMagic, code: 'BAD_MAGIC_BYTE' },
    { kind: 'truncated Avro', bytes: Buffer.from(good.subarray(0, good.length - 9)), code: 'CORRUPT_BODY' },
    { kind: 'unknown schema id', bytes: unknownSchema, code: 'UNKNOWN_SCHEMA_ID' },
    { kind: 'oversized', bytes: oversized, code: 'CORRUPT_BODY' },
  ];
}

/** Which stages read each topic, and so dead-letter what they cannot decode. */
const readers: Record<string, readonly string[]> = {
  [Topics.transactionsRaw]: ['scoring'],
  [Topics.transactionsScored]: ['ledger-sink', 'dashboards'],
};

describe('fault 6: poison records among good ones (embedded)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-poison-'));
  let pipeline: EmbeddedPipeline | undefined;

  afterAll(async () => {
    await pipeline?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('dead-letters each poison record with its place and reason, keeps going, and decides and posts every good one', async () => {
    pipeline = await startEmbeddedPipeline({
      env: {
        VIGIL_DATA_DIR: dataDir,
        VIGIL_HTTP_PORT: '0',
        VIGIL_SIMULATOR_TPS: '0',
        VIGIL_API_KEYS: Object.entries(keys)
          .map(([role, key]) => `${role}:${key}`)
          .join(','),
      },
      logger: silentLogger,
    });
    const { bus, url } = pipeline;
    const simulator = new TrafficSimulator({
      seed: 31,
      startTimeMs: Date.now() - 3 * 86_400_000,
      customers: 200,
      terminals: 200,
      meanTxPerCustomerPerDay: 12,
      fraudScale: 3,
    });
    const requests = simulator.take(N).map((s) => s.request);
    const ingest = apiClient(url, keys.ingest);
    const compliance = apiClient(url, keys.compliance);
    const acknowledged = new Set<string>();
    const send = async (batch: number): Promise<void> => {
      const response = await ingest.post<IngestBatchResponse>(
        '/v1/transactions/batch',
        requests.slice(batch * BATCH, (batch + 1) * BATCH),
      );
      expect(response.status).toBe(200);
      for (const r of response.body.results) if (r.status === 'accepted') acknowledged.add(r.transactionId!);
    };

    // Good traffic first, so each topic has a good record to make poison from and the stages are mid-stream.
    await send(0);
    const firstScored = await waitFor('a first decision on tx.scored', () =>
      firstRecord(bus, Topics.transactionsScored),
    );
    const firstRaw = (await firstRecord(bus, Topics.transactionsRaw))!;
    const heapBefore = MemorySampler.settled();

    // Each poison record between two good batches, keyed like a good one so it shares its partition.
    const planted: PlantedPoison[] = [];
    const schedule = [
      ...poisonFrom(firstRaw.value).map((p) => ({ ...p, topic: Topics.transactionsRaw, key: firstRaw.key })),
      ...poisonFrom(firstScored.value).map((p) => ({ ...p, topic: Topics.transactionsScored, key: firstScored.key })),
    ];
    for (let batch = 1; batch < N / BATCH; batch++) {
      const poison = schedule[batch - 1];
      if (poison !== undefined) {
        const [at] = await bus.producer().send(poison.topic, [{ key: poison.key, value: poison.bytes }]);
        planted.push({
          topic: poison.topic,
          partition: at!.partition,
          offset: at!.offset,
          bytes: poison.bytes,
          expectedCodes: Object.fromEntries(readers[poison.topic]!.map((stage) => [stage, poison.code])),
        });
      }
      await send(batch);
    }
    for (const poison of schedule.slice(N / BATCH - 1)) {
      const [at] = await bus.producer().send(poison.topic, [{ key: poison.key, value: poison.bytes }]);
      planted.push({
        topic: poison.topic,
        partition: at!.partition,
        offset: at!.offset,
        bytes: poison.bytes,
        expectedCodes: Object.fromEntries(readers[poison.topic]!.map((stage) => [stage, poison.code])),
      });
    }
    const plantedAt = Date.now();
    expect(acknowledged.size).toBe(N);
    expect(planted.length).toBe(8);
    const expectedLetters = planted.reduce((n, p) => n + Object.keys(p.expectedCodes).length, 0);

    await waitFor(
      'every good transaction decided and posted, every poison record dead-lettered, every lag 0',
      async () => {
        const report = (await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body;
        if (report.distinctDecisions < N || report.postedTransactions < report.postableDecisions) return undefined;
        if (report.openHolds + report.postedHolds + report.voidedHolds < report.heldDecisions) return undefined;
        if (sum(await bus.endOffsets(Topics.deadLetters)) < expectedLetters) return undefined;
        const metrics = await (
          await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${keys.admin}` } })
        ).text();
        return metricSum(metrics, 'vigil_consumer_lag') === 0 &&
          (await committedLag(bus, Topics.transactionsScored, 'ledger-sink')) === 0
          ? true
          : undefined;
      },
      DRAIN_BOUND_MS,
      250,
    );
    const drainMs = Date.now() - plantedAt;
    const heapAfter = MemorySampler.settled();

    // The dead letters, decoded, against what was planted; and the negative control: one stage's dead letter for
    // one poison record removed from the checker's view is reported as missing.
    const registry = new EmbeddedSchemaRegistry();
    const letterCodec = await createCodec<DeadLetter>(registry, Topics.deadLetters);
    const observed: ObservedDeadLetter[] = [];
    for (const record of await readAll(bus, Topics.deadLetters))
      observed.push({ letter: await letterCodec.decode(record.value), headers: record.headers });
    expect(observed.length).toBe(expectedLetters);
    expect(deadLetterViolations(planted, observed)).toEqual([]);
    const dropped = observed.findIndex((o) => o.letter.sourceTopic === Topics.transactionsRaw);
    const missing = observed[dropped]!.letter;
    expect(
      deadLetterViolations(
        planted,
        observed.filter((_, i) => i !== dropped),
      ),
    ).toEqual([
      `scoring ${missing.sourceTopic}/${missing.sourcePartition}/${missing.sourceOffset}: 0 dead letters, expected 1`,
    ]);

    // What scoring decided for the good transactions: every one once at least (first occurrence governs).
    const scoredCodec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    const poisonPlaces = new Set(planted.map((p) => `${p.topic}/${p.partition}/${p.offset}`));
    const firstDecisions = new Map<string, ScoredTransaction>();
    let scoredRecords = 0;
    for (const record of await readAll(bus, Topics.transactionsScored)) {
      if (poisonPlaces.has(`${record.topic}/${record.partition}/${record.offset}`)) continue;
      const decision = await scoredCodec.decode(record.value);
      scoredRecords += 1;
      if (!firstDecisions.has(decision.transaction.transactionId))
        firstDecisions.set(decision.transaction.transactionId, decision);
    }
    expect(new Set(firstDecisions.keys())).toEqual(acknowledged);

    // The ledger, read by the test once the pipeline has let go of chDB's data directory.
    await pipeline.close();
    pipeline = undefined;
    const clickhouse = createClickHouseClient(`embedded:${join(dataDir, 'clickhouse')}`);
    try {
      const expected = { ...suiteExpectation([...firstDecisions.values()]), acknowledged };
      let posted = 0;
      for (const wantFinal of [false, true]) {
        const { view } = await readStoredLedger(clickhouse, wantFinal);
        expect(suiteViolations(view, expected)).toEqual([]);
        posted = new Set(view.legs.map((leg) => leg.transactionId)).size;
        // Negative control, planted in the checker's view: one posting stored twice and one decision lost.
        const doubled = view.legs.find((leg) => leg.transactionId === view.legs[0]!.transactionId)!;
        expect(
          suiteViolations(
            { ...view, legs: [...view.legs, doubled], decisionIds: view.decisionIds.slice(1) },
            expected,
          ).map((v) => v.split(':')[0]),
        ).toEqual([
          'acknowledged without a decision',
          'entries posted more than once',
          'transactions whose legs do not sum to zero in a currency',
        ]);
      }
      const growthMiB = heapAfter.heapMiB - heapBefore.heapMiB;
      expect(growthMiB).toBeLessThan(HEAP_GROWTH_BOUND_MIB);
      process.stdout.write(
        `fault 6 (embedded): ${N} sent, ${acknowledged.size} acknowledged, ${firstDecisions.size} decided ` +
          `(${scoredRecords - firstDecisions.size} duplicates on tx.scored), ${posted} posted; ${planted.length} poison records, ` +
          `${observed.length} dead letters; drained ${(drainMs / 1000).toFixed(1)} s after the last poison; ` +
          `heap ${heapBefore.heapMiB.toFixed(1)} -> ${heapAfter.heapMiB.toFixed(1)} MiB\n`,
      );
    } finally {
      await clickhouse.close();
    }
  }, 600_000);
});

function sum(values: readonly number[]): number {
  return values.reduce((total, n) => total + n, 0);
}

/** The record at offset 0 of the first partition that has one, or undefined while the topic is empty. */
async function firstRecord(bus: Bus, topic: string): Promise<BusRecord | undefined> {
  const ends = await bus.endOffsets(topic);
  const partition = ends.findIndex((end) => end > 0);
  return partition < 0 ? undefined : (await bus.read(topic, partition, 0, 1))[0];
}

/** Every record of every partition of `topic`, partition by partition in offset order. */
async function readAll(bus: Bus, topic: string): Promise<BusRecord[]> {
  const records: BusRecord[] = [];
  for (const [partition, end] of (await bus.endOffsets(topic)).entries())
    for (let offset = 0; offset < end;) {
      const page = await bus.read(topic, partition, offset, 1000);
      records.push(...page);
      offset = page[page.length - 1]!.offset + 1;
    }
  return records;
}
