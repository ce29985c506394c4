import {
  type ObservedDeadLetter,
  type PlantedPoison,
  apiClient,
  deadLetterViolations,
  waitFor,
} from '../embedded/testing.js';
import { scoredTransaction } from '../ledger-sink/testing/fixtures.js';
import { committedLag } from '../ledger-sink/testing/outage-harness.js';
import type { IngestBatchResponse, LedgerIntegrity } from '../schemas/api.js';
import { createCodec } from '../schemas/codec.js';
import type { DeadLetter, ScoredTransaction } from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { HeaderNames, Topics } from '../schemas/topics.js';
import { TrafficSimulator } from '../simulator/generator.js';
import { consumerLag, residentMemoryMiB } from './processes.js';
import { FaultPipeline, violationKinds } from './testing/fault-pipeline.js';

/**
 * Fault 6 of the suite on Kafka: the embedded test's poison records (embedded/poison.e2e.test.ts) written straight
 * onto tx.raw and tx.scored of a distributed deployment in a namespace of its own, among good transactions sent
 * through the ingest process. Here "oversized" is a record 700 bytes under the topic's max.message.bytes (read from
 * the broker): the largest a producer can still write, whose dead letter — the record plus the reason — is over
 * that limit. Before the dead-letter writer cut such letters, the dead-letter write was refused for ever and the
 * partition stalled behind it (the issue's `RECORD_TOO_LARGE: sending … records to tx.dlq`).
 *
 * Oracle as in the embedded test, plus audit documents in Elasticsearch, each process's peak RSS under
 * MEMORY_BOUND_MIB, and the oversized records' letters shown cut (length and SHA-256 of the whole record kept).
 */
const N = 1000;
const BATCH = 100;
const DRAIN_BOUND_MS = 300_000;
const MEMORY_BOUND_MIB = 1536;

/** Which stages read each topic, and so dead-letter what they cannot decode. */
const readers: Record<string, readonly string[]> = {
  [Topics.transactionsRaw]: ['scoring'],
  [Topics.transactionsScored]: ['ledger-sink', 'dashboards'],
};

/** The four poison kinds, made from a good record of the topic so each fails at one place only. */
function poisonFrom(good: Buffer, oversizedBytes: number): Array<{ kind: string; bytes: Buffer; code: string }> {
  const badMagic = Buffer.from(good);
  badMagic[0] = 1;
  const unknownSchema = Buffer.from(good);
  unknownSchema.writeUInt32BE(999_999, 1);
  const oversized = Buffer.alloc(oversizedBytes, 0xff);
  good.copy(oversized, 0, 0, 5);
  return [
    { kind: 'bad magic byte', bytes: badMagic, code: 'BAD_MAGIC_BYTE' },
    { kind: 'truncated Avro', bytes: Buffer.from(good.subarray(0, good.length - 9)), code: 'CORRUPT_BODY' },
    { kind: 'unknown schema id', bytes: unknownSchema, code: 'UNKNOWN_SCHEMA_ID' },
    { kind: 'oversized', bytes: oversized, code: 'CORRUPT_BODY' },
  ];
}

describe('fault 6: poison records among good ones (distributed, Kafka)', () => {
  const pipeline = new FaultPipeline('fault6', 4);

  beforeAll(() => pipeline.open(), 60_000);
  afterAll(() => pipeline.close(), 120_000);

  it('dead-letters each poison record with its place and reason, keeps going, and decides and posts every good one', async () => {
    const { bus, keys } = pipeline;
    const sink = await pipeline.startSink();
    const scoring = await pipeline.startScoring();
    const ingestService = await pipeline.startIngest();

    const registry = new EmbeddedSchemaRegistry();
    const scoredCodec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    const rawCodec = await createCodec<ScoredTransaction['transaction']>(registry, Topics.transactionsRaw);
    const template = scoredTransaction(0);
    const limits = await pipeline.maxMessageBytes([Topics.transactionsRaw, Topics.transactionsScored]);

    const simulator = new TrafficSimulator({
      seed: 37,
      startTimeMs: Date.now() - 3 * 86_400_000,
      customers: 200,
      terminals: 200,
      meanTxPerCustomerPerDay: 12,
      fraudScale: 3,
    });
    const requests = simulator.take(N).map((s) => s.request);
    const poisonKey = requests[0]!.payer.accountId;
    const ingest = apiClient(ingestService.url, keys.ingest);
    const compliance = apiClient(sink.url, keys.compliance);
    const acknowledged = new Set<string>();
    const send = async (batch: number): Promise<void> => {
      const response = await ingest.post<IngestBatchResponse>(
        '/v1/transactions/batch',
        requests.slice(batch * BATCH, (batch + 1) * BATCH),
      );
      expect(response.status).toBe(200);
      for (const r of response.body.results) if (r.status === 'accepted') acknowledged.add(r.transactionId!);
    };

    // Each poison record between two good batches, keyed like a good one so it shares its partition.
    const schedule = [
      ...poisonFrom(rawCodec.encode(template.transaction), limits[0]! - 700).map((p) => ({
        ...p,
        topic: Topics.transactionsRaw,
      })),
      ...poisonFrom(scoredCodec.encode(template), limits[1]! - 700).map((p) => ({
        ...p,
        topic: Topics.transactionsScored,
      })),
    ];
    const planted: PlantedPoison[] = [];
    for (let batch = 0; batch < N / BATCH; batch++) {
      await send(batch);
      const poison = schedule[batch];
      if (poison === undefined) continue;
      const [at] = await bus.producer().send(poison.topic, [{ key: poisonKey, value: poison.bytes }]);
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
        if ((await consumerLag(scoring, keys.admin)) !== 0 || (await consumerLag(sink, keys.admin)) !== 0)
          return undefined;
        return (await committedLag(bus, Topics.transactionsScored, 'ledger-sink')) === 0 ? true : undefined;
      },
      DRAIN_BOUND_MS,
      500,
    );
    const drainMs = Date.now() - plantedAt;
    const peaks = [sink, scoring, ingestService].map((s) => residentMemoryMiB(s.child.pid)?.peakMiB ?? NaN);

    const letterCodec = await createCodec<DeadLetter>(registry, Topics.deadLetters);
    const observed: ObservedDeadLetter[] = [];
    for (const record of await pipeline.readTopic(Topics.deadLetters))
      observed.push({ letter: await letterCodec.decode(record.value), headers: record.headers });
    expect(observed.length).toBe(expectedLetters);
    expect(deadLetterViolations(planted, observed)).toEqual([]);
    // The oversized records' letters (one by scoring, two by the tx.scored readers) are the ones cut.
    const cut = observed.filter((o) => o.headers[HeaderNames.dlqOriginalLength] !== undefined);
    expect(cut.map((o) => `${o.letter.stage} ${o.letter.sourceTopic}`).sort()).toEqual([
      'dashboards tx.scored',
      'ledger-sink tx.scored',
      'scoring tx.raw',
    ]);
    // Negative control: one stage's letter for one poison record removed from the checker's view is reported.
    const dropped = observed.findIndex((o) => o.letter.stage === 'dashboards');
    const missing = observed[dropped]!.letter;
    expect(
      deadLetterViolations(
        planted,
        observed.filter((_, i) => i !== dropped),
      ),
    ).toEqual([
      `dashboards ${missing.sourceTopic}/${missing.sourcePartition}/${missing.sourceOffset}: 0 dead letters, expected 1`,
    ]);

    const poisonPlaces = new Set(planted.map((p) => `${p.topic}/${p.partition}/${p.offset}`));
    const decisions = await pipeline.readDecisions((record) =>
      poisonPlaces.has(`${record.topic}/${record.partition}/${record.offset}`),
    );
    const firstDecisions = decisions.first;
    expect(new Set(firstDecisions.keys())).toEqual(acknowledged);

    const ledger = await pipeline.checkLedger(sink, acknowledged, firstDecisions);
    expect(ledger.sinkExitCode).toBe(0);
    expect(ledger.plain).toEqual([]);
    expect(ledger.final).toEqual([]);
    expect(violationKinds(ledger.planted)).toEqual([
      'acknowledged without a decision',
      'entries posted more than once',
      'transactions whose legs do not sum to zero in a currency',
    ]);
    for (const peak of peaks) expect(peak).toBeLessThan(MEMORY_BOUND_MIB);
    process.stdout.write(
      `fault 6 (Kafka): ${N} sent, ${acknowledged.size} acknowledged, ${firstDecisions.size} decided ` +
        `(${decisions.records.length - firstDecisions.size} duplicates on tx.scored), ${ledger.posted} posted, ${ledger.auditDocuments} audit documents; ` +
        `${planted.length} poison records (oversized ${limits.map((l) => l - 700).join('/')} bytes), ${observed.length} dead letters, ${cut.length} cut; ` +
        `drained ${(drainMs / 1000).toFixed(1)} s after the last poison; peak RSS sink/scoring/ingest ${peaks.map((p) => p.toFixed(0)).join('/')} MiB\n`,
    );
  }, 900_000);
});

function sum(values: readonly number[]): number {
  return values.reduce((total, n) => total + n, 0);
}
