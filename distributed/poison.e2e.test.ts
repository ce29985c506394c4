import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client as ElasticsearchClient } from '@elastic/elasticsearch';
import kafkajs from 'kafkajs';
import {
  type ObservedDeadLetter,
  type PlantedPoison,
  apiClient,
  deadLetterViolations,
  waitFor,
} from '../embedded/testing.js';
import { scoredTransaction } from '../ledger-sink/testing/fixtures.js';
import { committedLag } from '../ledger-sink/testing/outage-harness.js';
import {
  readAuditIds,
  readStoredLedger,
  suiteExpectation,
  suiteViolations,
} from '../ledger-sink/testing/suite-oracle.js';
import type { Bus } from '../platform/bus.js';
import { createClickHouseClient } from '../platform/clickhouse.js';
import { KafkaBus } from '../platform/kafka/kafka-bus.js';
import { silentLogger } from '../platform/logger.js';
import { NamespacedBus } from '../platform/namespaced-bus.js';
import type { IngestBatchResponse, LedgerIntegrity } from '../schemas/api.js';
import { createCodec } from '../schemas/codec.js';
import {
  connectTestElasticsearch,
  deleteAuditIndices,
  uniqueAuditPrefix,
} from '../schemas/elasticsearch/test-helpers.js';
import type { DeadLetter, ScoredTransaction } from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { HeaderNames, Topics } from '../schemas/topics.js';
import { TrafficSimulator } from '../simulator/generator.js';
import {
  type ServiceProcess,
  consumerLag,
  deleteTestNamespace,
  readNamespacedTopic,
  residentMemoryMiB,
  startService,
  stopService,
} from './processes.js';

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
const brokers = (process.env.VIGIL_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const keys = {
  ingest: 'fault6-ingest-key-0123456789',
  compliance: 'fault6-compliance-key-0123456789',
  admin: 'fault6-admin-key-0123456789',
};
const N = 1000;
const BATCH = 100;
const DRAIN_BOUND_MS = 300_000;
const MEMORY_BOUND_MIB = 1536;
const namespace = `vigil-fault6-${randomUUID().slice(0, 8)}`;

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
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-fault6-'));
  const auditPrefix = uniqueAuditPrefix('fault6');
  const services: ServiceProcess[] = [];
  let es: ElasticsearchClient;
  let bus: Bus;
  const env = {
    ...process.env,
    VIGIL_KAFKA_BROKERS: brokers.join(','),
    VIGIL_KAFKA_NAMESPACE: namespace,
    VIGIL_API_KEYS: Object.entries(keys)
      .map(([role, key]) => `${role}:${key}`)
      .join(','),
    VIGIL_TOKENIZATION_KEY: 'fault6-tokenization-key-0123456789abcdef',
    VIGIL_HTTP_HOST: '127.0.0.1',
    VIGIL_HTTP_PORT: '0',
    VIGIL_PARTITIONS: '4',
    VIGIL_LOG_LEVEL: 'info',
    VIGIL_ELASTICSEARCH_URL: process.env.VIGIL_TEST_ELASTICSEARCH_URL ?? 'http://127.0.0.1:9200',
    VIGIL_ELASTICSEARCH_AUDIT_PREFIX: auditPrefix,
  };

  async function start(stages: string[], extra: Record<string, string>): Promise<ServiceProcess> {
    const service = await startService(stages, { ...env, ...extra });
    services.push(service);
    return service;
  }

  beforeAll(async () => {
    es = await connectTestElasticsearch();
    const kafka = await KafkaBus.connect({ brokers, clientId: `${namespace}-test`, logger: silentLogger });
    bus = new NamespacedBus(kafka, namespace);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => stopService(s)));
    await bus?.close();
    await deleteTestNamespace(brokers, namespace).catch(() => undefined);
    await deleteAuditIndices(es, auditPrefix).catch(() => undefined);
    await es?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);

  it('dead-letters each poison record with its place and reason, keeps going, and decides and posts every good one', async () => {
    const sink = await start(['ledger-sink', 'dashboards'], {
      VIGIL_CLICKHOUSE_URL: `embedded:${join(dataDir, 'chdb')}`,
      VIGIL_DATA_DIR: join(dataDir, 'sink'),
    });
    const scoring = await start(['scoring'], { VIGIL_DATA_DIR: join(dataDir, 'scoring') });
    const ingestService = await start(['ingest'], { VIGIL_DATA_DIR: join(dataDir, 'ingest') });

    const registry = new EmbeddedSchemaRegistry();
    const scoredCodec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    const rawCodec = await createCodec<ScoredTransaction['transaction']>(registry, Topics.transactionsRaw);
    const template = scoredTransaction(0);
    const limits = await maxMessageBytes([Topics.transactionsRaw, Topics.transactionsScored]);

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
    const letterRecords = await readNamespacedTopic(
      brokers,
      namespace,
      Topics.deadLetters,
      await bus.endOffsets(Topics.deadLetters),
    );
    for (const record of letterRecords)
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
    const firstDecisions = new Map<string, ScoredTransaction>();
    let scoredRecords = 0;
    const scoredOnTopic = await readNamespacedTopic(
      brokers,
      namespace,
      Topics.transactionsScored,
      await bus.endOffsets(Topics.transactionsScored),
    );
    for (const record of scoredOnTopic) {
      if (poisonPlaces.has(`${record.topic}/${record.partition}/${record.offset}`)) continue;
      const decision = await scoredCodec.decode(record.value);
      scoredRecords += 1;
      if (!firstDecisions.has(decision.transaction.transactionId))
        firstDecisions.set(decision.transaction.transactionId, decision);
    }
    expect(new Set(firstDecisions.keys())).toEqual(acknowledged);

    expect(await stopService(sink)).toBe(0);
    const clickhouse = createClickHouseClient(`embedded:${join(dataDir, 'chdb')}`);
    try {
      const expected = { ...suiteExpectation([...firstDecisions.values()]), acknowledged };
      const auditIds = await readAuditIds(es, auditPrefix);
      let posted = 0;
      for (const wantFinal of [false, true]) {
        const { view } = await readStoredLedger(clickhouse, wantFinal);
        expect(suiteViolations({ ...view, auditIds }, expected)).toEqual([]);
        posted = new Set(view.legs.map((leg) => leg.transactionId)).size;
      }
      for (const peak of peaks) expect(peak).toBeLessThan(MEMORY_BOUND_MIB);
      process.stdout.write(
        `fault 6 (Kafka): ${N} sent, ${acknowledged.size} acknowledged, ${firstDecisions.size} decided ` +
          `(${scoredRecords - firstDecisions.size} duplicates on tx.scored), ${posted} posted, ${auditIds.length} audit documents; ` +
          `${planted.length} poison records (oversized ${limits.map((l) => l - 700).join('/')} bytes), ${observed.length} dead letters, ${cut.length} cut; ` +
          `drained ${(drainMs / 1000).toFixed(1)} s after the last poison; peak RSS sink/scoring/ingest ${peaks.map((p) => p.toFixed(0)).join('/')} MiB\n`,
      );
    } finally {
      await clickhouse.close();
    }
  }, 900_000);
});

function sum(values: readonly number[]): number {
  return values.reduce((total, n) => total + n, 0);
}

/** Each topic's max.message.bytes under the namespace, as the broker reports it. */
async function maxMessageBytes(topics: readonly string[]): Promise<number[]> {
  const admin = new kafkajs.Kafka({
    brokers: [...brokers],
    clientId: `${namespace}-config`,
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((topic) => ({
        type: kafkajs.ConfigResourceTypes.TOPIC,
        name: `${namespace}.${topic}`,
        configNames: ['max.message.bytes'],
      })),
    });
    return topics.map((topic) => {
      const resource = resources.find((r) => r.resourceName === `${namespace}.${topic}`);
      return Number(resource?.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue);
    });
  } finally {
    await admin.disconnect();
  }
}
