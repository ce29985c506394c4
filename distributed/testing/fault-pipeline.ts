import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client as ElasticsearchClient } from '@elastic/elasticsearch';
import kafkajs from 'kafkajs';
import { apiClient, waitFor } from '../../embedded/testing.js';
import { committedLag } from '../../ledger-sink/testing/outage-harness.js';
import {
  type StoredView,
  readAuditIds,
  readStoredLedger,
  suiteExpectation,
  suiteViolations,
} from '../../ledger-sink/testing/suite-oracle.js';
import type { Bus, BusRecord } from '../../platform/bus.js';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { KafkaBus } from '../../platform/kafka/kafka-bus.js';
import { silentLogger } from '../../platform/logger.js';
import { NamespacedBus } from '../../platform/namespaced-bus.js';
import type { LedgerIntegrity } from '../../schemas/api.js';
import { createCodec } from '../../schemas/codec.js';
import {
  connectTestElasticsearch,
  deleteAuditIndices,
  uniqueAuditPrefix,
} from '../../schemas/elasticsearch/test-helpers.js';
import type { ScoredTransaction } from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import {
  type ServiceOptions,
  type ServiceProcess,
  consumerLag,
  deleteTestNamespace,
  readNamespacedTopic,
  startService,
  stopService,
} from '../processes.js';

/**
 * The distributed pipeline of the fault suite's e2e tests: ingest, scoring and ledger-sink + dashboards as child
 * processes (distributed/main.ts) on Kafka (VIGIL_KAFKA_BROKERS, default the local broker) and Elasticsearch, in a
 * Kafka namespace of the run's own (VIGIL_KAFKA_NAMESPACE: `<namespace>.tx.raw`, …, its groups likewise) and an
 * audit index prefix of its own, so nothing of another run is touched; `close()` deletes both. Plus what every
 * such test checks once its fault is cleared: the drain, the decisions on tx.scored, and the suite oracle over
 * the stored ledger and the audit index (ledger-sink/testing/suite-oracle.ts).
 */
export class FaultPipeline {
  readonly brokers = (process.env.VIGIL_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  readonly namespace: string;
  readonly keys: { readonly ingest: string; readonly compliance: string; readonly admin: string };
  private readonly dataDir: string;
  private readonly auditPrefix: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly services: ServiceProcess[] = [];
  private elasticsearch: ElasticsearchClient | undefined;
  private namespacedBus: Bus | undefined;

  /** `name` (e.g. `fault2`) prefixes the namespace, keys, index prefix and data directory; `partitions` per topic. */
  constructor(name: string, partitions: number) {
    this.namespace = `vigil-${name}-${randomUUID().slice(0, 8)}`;
    this.keys = {
      ingest: `${name}-ingest-key-0123456789`,
      compliance: `${name}-compliance-key-0123456789`,
      admin: `${name}-admin-key-0123456789`,
    };
    this.dataDir = mkdtempSync(join(tmpdir(), `vigil-${name}-`));
    this.auditPrefix = uniqueAuditPrefix(name);
    this.env = {
      ...process.env,
      VIGIL_KAFKA_BROKERS: this.brokers.join(','),
      VIGIL_KAFKA_NAMESPACE: this.namespace,
      VIGIL_API_KEYS: Object.entries(this.keys)
        .map(([role, key]) => `${role}:${key}`)
        .join(','),
      VIGIL_TOKENIZATION_KEY: `${name}-tokenization-key-0123456789abcdef`,
      VIGIL_HTTP_HOST: '127.0.0.1',
      VIGIL_HTTP_PORT: '0',
      VIGIL_PARTITIONS: String(partitions),
      VIGIL_LOG_LEVEL: 'info',
      VIGIL_ELASTICSEARCH_URL: process.env.VIGIL_TEST_ELASTICSEARCH_URL ?? 'http://127.0.0.1:9200',
      VIGIL_ELASTICSEARCH_AUDIT_PREFIX: this.auditPrefix,
    };
  }

  /** The test's own view of the namespace's topics (opened by `open()`). */
  get bus(): Bus {
    if (this.namespacedBus === undefined) throw new Error('FaultPipeline.open() has not run');
    return this.namespacedBus;
  }

  /** Connects the test's own Elasticsearch and Kafka clients (call from beforeAll). */
  async open(): Promise<void> {
    this.elasticsearch = await connectTestElasticsearch();
    const kafka = await KafkaBus.connect({
      brokers: this.brokers,
      clientId: `${this.namespace}-test`,
      logger: silentLogger,
    });
    this.namespacedBus = new NamespacedBus(kafka, this.namespace);
  }

  /** Stops every service still running, deletes the namespace, the audit indices and the data directory. */
  async close(): Promise<void> {
    await Promise.all(this.services.map((s) => stopService(s)));
    await this.namespacedBus?.close();
    await deleteTestNamespace(this.brokers, this.namespace).catch(() => undefined);
    if (this.elasticsearch !== undefined) {
      await deleteAuditIndices(this.elasticsearch, this.auditPrefix).catch(() => undefined);
      await this.elasticsearch.close();
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Ledger-sink and dashboards in one process (they share chDB's data directory); `extra` env. */
  startSink(extra: Record<string, string> = {}): Promise<ServiceProcess> {
    return this.start(['ledger-sink', 'dashboards'], {
      VIGIL_CLICKHOUSE_URL: `embedded:${this.chdbPath()}`,
      VIGIL_DATA_DIR: join(this.dataDir, 'sink'),
      ...extra,
    });
  }

  /**
   * An ingest process. `replica` makes it one of several: its VIGIL_INGEST_INSTANCE_ID (the claims it makes and its
   * decisions group are named after it, so replicas on one host must not share the host-name default) and a data
   * directory of its own (a restart with the same name resumes it); `extra` env, e.g. the idempotency store.
   */
  startIngest(replica?: string, extra: Record<string, string> = {}): Promise<ServiceProcess> {
    if (replica === undefined)
      return this.start(['ingest'], { VIGIL_DATA_DIR: join(this.dataDir, 'ingest'), ...extra });
    return this.start(['ingest'], {
      VIGIL_DATA_DIR: join(this.dataDir, `ingest-${replica}`),
      VIGIL_INGEST_INSTANCE_ID: replica,
      ...extra,
    });
  }

  /**
   * A scoring process on the run's scoring data directory (a restart resumes from its snapshot); `extra` env, and
   * `options.preload` for a planted fault.
   */
  startScoring(extra: Record<string, string> = {}, options: ServiceOptions = {}): Promise<ServiceProcess> {
    return this.start(['scoring'], { VIGIL_DATA_DIR: join(this.dataDir, 'scoring'), ...extra }, options);
  }

  /**
   * Waits until the sink has stored `transactions` distinct decisions and posted (or held) every one it must,
   * scoring's member lag is 0 and ledger-sink's committed lag on tx.scored is 0; resolves with the milliseconds it
   * took. Fails after `boundMs`.
   */
  async waitUntilDrained(
    sink: ServiceProcess,
    scoring: ServiceProcess,
    transactions: number,
    boundMs: number,
  ): Promise<number> {
    const started = Date.now();
    const compliance = apiClient(sink.url, this.keys.compliance);
    await waitFor(
      'every decision stored and posted, and every lag 0',
      async () => {
        const report = (await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body;
        const holds = report.openHolds + report.postedHolds + report.voidedHolds;
        if (report.distinctDecisions < transactions || report.postedTransactions < report.postableDecisions)
          return undefined;
        if (holds < report.heldDecisions) return undefined;
        if ((await consumerLag(scoring, this.keys.admin)) !== 0) return undefined;
        return (await committedLag(this.bus, Topics.transactionsScored, 'ledger-sink')) === 0 ? true : undefined;
      },
      boundMs,
      500,
    );
    return Date.now() - started;
  }

  /** Every record of `topic` in the namespace up to its current end, in offset order within each partition. */
  async readTopic(topic: string): Promise<BusRecord[]> {
    return readNamespacedTopic(this.brokers, this.namespace, topic, await this.bus.endOffsets(topic));
  }

  /**
   * Sets one config of a topic in the namespace (a full AlterConfigs: the topic's other overrides are reset, so
   * only for topics created without any, such as tx.raw and tx.scored).
   */
  async setTopicConfig(topic: string, name: string, value: string): Promise<void> {
    const admin = new kafkajs.Kafka({
      brokers: [...this.brokers],
      clientId: `${this.namespace}-config`,
      logLevel: kafkajs.logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: kafkajs.ConfigResourceTypes.TOPIC,
            name: `${this.namespace}.${topic}`,
            configEntries: [{ name, value }],
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
  }

  /** Each topic's `max.message.bytes` in the namespace, as the broker reports it. */
  async maxMessageBytes(topics: readonly string[]): Promise<number[]> {
    const admin = new kafkajs.Kafka({
      brokers: [...this.brokers],
      clientId: `${this.namespace}-config`,
      logLevel: kafkajs.logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: topics.map((topic) => ({
          type: kafkajs.ConfigResourceTypes.TOPIC,
          name: `${this.namespace}.${topic}`,
          configNames: ['max.message.bytes'],
        })),
      });
      return topics.map((topic) => {
        const resource = resources.find((r) => r.resourceName === `${this.namespace}.${topic}`);
        return Number(resource?.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue);
      });
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Every decision on tx.scored (re-decided copies included), decoded, and each transaction's first decision:
   * the one ledger-sink stores (an account's records are on one partition, read in offset order). Records for
   * which `skip` is true (poison a test planted) are left out undecoded.
   */
  async readDecisions(skip: (record: BusRecord) => boolean = () => false): Promise<{
    records: Array<{ record: BusRecord; decision: ScoredTransaction }>;
    first: Map<string, ScoredTransaction>;
  }> {
    const codec = await createCodec<ScoredTransaction>(new EmbeddedSchemaRegistry(), Topics.transactionsScored);
    const records: Array<{ record: BusRecord; decision: ScoredTransaction }> = [];
    const first = new Map<string, ScoredTransaction>();
    for (const record of await this.readTopic(Topics.transactionsScored)) {
      if (skip(record)) continue;
      const decision = await codec.decode(record.value);
      const id = decision.transaction.transactionId;
      if (!first.has(id)) first.set(id, decision);
      records.push({ record, decision });
    }
    return { records, first };
  }

  /**
   * The suite oracle over what is stored, run after stopping `sink` (chDB's data directory is one process's):
   * the violations read without and with FINAL (both must be empty), and — its negative control — those reported
   * when one posting stored twice and one lost decision are planted in the plain view. `expected` comes from the
   * first decision of each transaction; `acknowledged` from what ingest acknowledged to clients. `stored` is the
   * plain view with the audit ids, for a test's own planted faults.
   */
  async checkLedger(
    sink: ServiceProcess,
    acknowledged: ReadonlySet<string>,
    firstDecisions: ReadonlyMap<string, ScoredTransaction>,
  ): Promise<{
    sinkExitCode: number | null;
    plain: string[];
    final: string[];
    planted: string[];
    posted: number;
    auditDocuments: number;
    stored: StoredView;
  }> {
    const sinkExitCode = await stopService(sink);
    const clickhouse = createClickHouseClient(`embedded:${this.chdbPath()}`);
    try {
      const expected = { ...suiteExpectation([...firstDecisions.values()]), acknowledged };
      const auditIds = await readAuditIds(this.elasticsearch!, this.auditPrefix);
      const plain = await readStoredLedger(clickhouse, false);
      const final = await readStoredLedger(clickhouse, true);
      const { view } = plain;
      const doubled = view.legs.find((leg) => leg.transactionId === view.legs[0]!.transactionId)!;
      return {
        sinkExitCode,
        plain: suiteViolations({ ...view, auditIds }, expected),
        final: suiteViolations({ ...final.view, auditIds }, expected),
        planted: suiteViolations(
          { ...view, legs: [...view.legs, doubled], decisionIds: view.decisionIds.slice(1), auditIds },
          expected,
        ),
        posted: new Set(final.view.legs.map((leg) => leg.transactionId)).size,
        auditDocuments: auditIds.length,
        stored: { ...view, auditIds },
      };
    } finally {
      await clickhouse.close();
    }
  }

  private async start(
    stages: string[],
    extra: Record<string, string>,
    options: ServiceOptions = {},
  ): Promise<ServiceProcess> {
    const service = await startService(stages, { ...this.env, ...extra }, options);
    this.services.push(service);
    return service;
  }

  private chdbPath(): string {
    return join(this.dataDir, 'chdb');
  }
}

/** The first word of each violation line (its kind), as the negative controls compare them. */
export function violationKinds(violations: readonly string[]): string[] {
  return violations.map((v) => v.split(':')[0]!);
}
