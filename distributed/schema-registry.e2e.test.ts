import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiClient, waitFor } from '../embedded/testing.js';
import type { Bus, BusRecord } from '../platform/bus.js';
import { KafkaBus } from '../platform/kafka/kafka-bus.js';
import { silentLogger } from '../platform/logger.js';
import { NamespacedBus } from '../platform/namespaced-bus.js';
import type { IngestBatchResponse, LedgerIntegrity } from '../schemas/api.js';
import { type Codec, createCodec } from '../schemas/codec.js';
import type { ScoredTransaction, Transaction } from '../schemas/generated/types.js';
import { HttpSchemaRegistry } from '../schemas/registry.js';
import { type Topic, Topics, valueSubject } from '../schemas/topics.js';
import { TrafficSimulator } from '../simulator/generator.js';
import {
  type ServiceProcess,
  consumerLag,
  deleteTestNamespace,
  readNamespacedTopic,
  startService,
  stopService,
} from './processes.js';

/**
 * Distributed mode with a real schema registry (VIGIL_SCHEMA_REGISTRY_URL): ingest, scoring and ledger-sink with
 * dashboards as three processes on Kafka, in a namespace of their own, every codec registered with and resolved
 * through the Apicurio Registry that `npm run services:up` starts (Confluent API), not the ids of
 * schemas/avro/ids.json. Oracle: every transaction acknowledged is decided and posted once, balanced; every record
 * on tx.raw and tx.scored carries the id the registry lists for its subject, and decodes through a fresh client of
 * the registry to exactly the acknowledged transactions. Negative control: the same records under an id the
 * registry does not have are reported unreadable, every one.
 */
const brokers = (process.env.VIGIL_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const registryUrl = process.env['VIGIL_TEST_SCHEMA_REGISTRY_URL'] ?? 'http://127.0.0.1:8085/apis/ccompat/v7';
const keys = {
  ingest: 'registry-ingest-key-0123456789',
  compliance: 'registry-compliance-key-0123456789',
  admin: 'registry-admin-key-0123456789',
};
const N = 200;
const DRAIN_BOUND_MS = 180_000;
const namespace = `vigil-registry-${randomUUID().slice(0, 8)}`;

/** The id the registry lists for the latest version of a topic's subject. */
async function registeredId(topic: Topic): Promise<number> {
  const response = await fetch(`${registryUrl}/subjects/${encodeURIComponent(valueSubject(topic))}/versions/latest`);
  if (!response.ok) throw new Error(`no ${valueSubject(topic)} in the registry (${response.status})`);
  return ((await response.json()) as { id: number }).id;
}

/**
 * One line per record that does not carry `id` or does not decode through the registry; the transaction ids read.
 */
async function readThroughRegistry<T>(
  records: readonly BusRecord[],
  id: number,
  codec: Codec<T>,
  transactionIdOf: (value: T) => string,
): Promise<{ violations: string[]; transactionIds: string[] }> {
  const violations: string[] = [];
  const transactionIds: string[] = [];
  for (const record of records) {
    const at = `${record.topic}/${record.partition}/${record.offset}`;
    if (record.value.readUInt32BE(1) !== id) violations.push(`${at}: schema id ${record.value.readUInt32BE(1)}`);
    try {
      transactionIds.push(transactionIdOf(await codec.decode(record.value)));
    } catch (error) {
      violations.push(`${at}: unreadable (${(error as { code?: string }).code ?? String(error)})`);
    }
  }
  return { violations, transactionIds };
}

describe('distributed mode with a Confluent-compatible schema registry (Apicurio)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-registry-'));
  const services: ServiceProcess[] = [];
  let bus: Bus;
  const env = {
    ...process.env,
    VIGIL_KAFKA_BROKERS: brokers.join(','),
    VIGIL_KAFKA_NAMESPACE: namespace,
    VIGIL_SCHEMA_REGISTRY_URL: registryUrl,
    VIGIL_API_KEYS: Object.entries(keys)
      .map(([role, key]) => `${role}:${key}`)
      .join(','),
    VIGIL_TOKENIZATION_KEY: 'registry-tokenization-key-0123456789abcdef',
    VIGIL_HTTP_HOST: '127.0.0.1',
    VIGIL_HTTP_PORT: '0',
    VIGIL_PARTITIONS: '3',
    VIGIL_LOG_LEVEL: 'info',
  };

  async function start(stages: string[], extra: Record<string, string>): Promise<ServiceProcess> {
    const service = await startService(stages, { ...env, ...extra });
    services.push(service);
    return service;
  }

  beforeAll(async () => {
    const reachable = await fetch(`${registryUrl}/subjects`).then(
      (r) => r.ok,
      () => false,
    );
    if (!reachable) throw new Error(`No schema registry answers at ${registryUrl}: run \`npm run services:up\``);
    const kafka = await KafkaBus.connect({ brokers, clientId: `${namespace}-test`, logger: silentLogger });
    bus = new NamespacedBus(kafka, namespace);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => stopService(s)));
    await bus?.close();
    await deleteTestNamespace(brokers, namespace).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);

  it('decides and posts every transaction once, every record framed with and read through the registry’s ids', async () => {
    const sink = await start(['ledger-sink', 'dashboards'], {
      VIGIL_CLICKHOUSE_URL: `embedded:${join(dataDir, 'chdb')}`,
      VIGIL_DATA_DIR: join(dataDir, 'sink'),
    });
    const scoring = await start(['scoring'], { VIGIL_DATA_DIR: join(dataDir, 'scoring') });
    const ingestService = await start(['ingest'], { VIGIL_DATA_DIR: join(dataDir, 'ingest') });

    const simulator = new TrafficSimulator({
      seed: 41,
      startTimeMs: Date.now() - 86_400_000,
      customers: 50,
      terminals: 50,
      meanTxPerCustomerPerDay: 12,
      fraudScale: 3,
    });
    const response = await apiClient(ingestService.url, keys.ingest).post<IngestBatchResponse>(
      '/v1/transactions/batch',
      simulator.take(N).map((s) => s.request),
    );
    expect(response.status).toBe(200);
    const acknowledged = new Set(
      response.body.results.filter((r) => r.status === 'accepted').map((r) => r.transactionId!),
    );
    expect(acknowledged.size).toBe(N);

    const compliance = apiClient(sink.url, keys.compliance);
    const report = await waitFor(
      'every transaction decided and posted, every lag 0',
      async () => {
        const integrity = (await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body;
        if (integrity.distinctDecisions < N || integrity.postedTransactions < integrity.postableDecisions)
          return undefined;
        if ((await consumerLag(scoring, keys.admin)) !== 0 || (await consumerLag(sink, keys.admin)) !== 0)
          return undefined;
        return integrity;
      },
      DRAIN_BOUND_MS,
      500,
    );
    expect(report).toMatchObject({
      distinctDecisions: N,
      duplicateEntries: 0,
      unbalancedTransactions: 0,
      declinedWithEntries: 0,
      decisionsWithoutEntries: 0,
      entriesWithoutDecisions: 0,
      conflicts: 0,
    });
    expect(report.postedTransactions).toBe(report.postableDecisions);

    // A client that has seen nothing: every writer schema comes from the registry by the id in the record.
    const reader = new HttpSchemaRegistry(registryUrl);
    const raw = await readNamespacedTopic(
      brokers,
      namespace,
      Topics.transactionsRaw,
      await bus.endOffsets(Topics.transactionsRaw),
    );
    const scored = await readNamespacedTopic(
      brokers,
      namespace,
      Topics.transactionsScored,
      await bus.endOffsets(Topics.transactionsScored),
    );
    const rawCodec = await createCodec<Transaction>(reader, Topics.transactionsRaw);
    const scoredCodec = await createCodec<ScoredTransaction>(reader, Topics.transactionsScored);
    const rawRead = await readThroughRegistry(
      raw,
      await registeredId(Topics.transactionsRaw),
      rawCodec,
      (t) => t.transactionId,
    );
    const scoredRead = await readThroughRegistry(
      scored,
      await registeredId(Topics.transactionsScored),
      scoredCodec,
      (s) => s.transaction.transactionId,
    );
    expect(rawRead.violations).toEqual([]);
    expect(scoredRead.violations).toEqual([]);
    expect(raw).toHaveLength(N);
    expect(new Set(rawRead.transactionIds)).toEqual(acknowledged);
    expect(new Set(scoredRead.transactionIds)).toEqual(acknowledged);

    // Negative control: the same records framed under an id the registry does not have.
    const missingId = 2_147_483_647;
    const reframed = raw.map((record) => {
      const value = Buffer.from(record.value);
      value.writeUInt32BE(missingId, 1);
      return { ...record, value };
    });
    const control = await readThroughRegistry(reframed, missingId, rawCodec, (t) => t.transactionId);
    expect(control.violations).toEqual(
      raw.map((r) => `${r.topic}/${r.partition}/${r.offset}: unreadable (UNKNOWN_SCHEMA_ID)`),
    );
    process.stdout.write(
      `schema registry (Kafka): ${N} sent, ${acknowledged.size} acknowledged, ${report.distinctDecisions} decided, ` +
        `${report.postedTransactions} posted; ${raw.length} tx.raw records under id ${await registeredId(Topics.transactionsRaw)}, ` +
        `${scored.length} tx.scored under id ${await registeredId(Topics.transactionsScored)}\n`,
    );
  }, 600_000);
});
