/**
 * Distributed mode: stages as their own processes over Kafka, e.g. `npm run service -- scoring`. Every stage is
 * a Kafka consumer group, so starting more processes of a stage splits its partitions between them. The stage
 * code is the same as in the embedded default; only the adapters built here differ. Several stages may share a
 * process (`npm run service -- ledger-sink dashboards`) where they must share chDB's one data directory.
 */
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Router } from 'express';
import { startDashboards } from '../dashboards/main.js';
import { startIngest } from '../ingest/main.js';
import { startLedgerSink } from '../ledger-sink/main.js';
import { startNotifier } from '../notifier/main.js';
import { ApiKeyAuthenticator, ManagedKeyTable, parseApiKeys } from '../platform/auth.js';
import { OidcTokenVerifier } from '../platform/oidc.js';
import { createClickHouseClient } from '../platform/clickhouse.js';
import { systemClock } from '../platform/clock.js';
import { describeError } from '../platform/errors.js';
import { LogCustomerKeyStore } from '../platform/log-customer-key-store.js';
import { startHttpServer } from '../platform/http-server.js';
import type { ApiDocumentPart } from '../platform/openapi.js';
import { readRateLimitConfig } from '../platform/rate-limit.js';
import type { Bus } from '../platform/bus.js';
import { KafkaBus } from '../platform/kafka/kafka-bus.js';
import { NamespacedBus } from '../platform/namespaced-bus.js';
import { type Logger, createLogger } from '../platform/logger.js';
import { MetricsRegistry } from '../platform/metrics.js';
import { startApiKeyFeed } from '../schemas/api-keys.js';
import { topicSpecs } from '../schemas/partitions.js';
import { PersonalDataTopics } from '../schemas/topics.js';
import { EmbeddedSchemaRegistry, HttpSchemaRegistry, type SchemaRegistry } from '../schemas/registry.js';
import { startScoring } from '../scoring/main.js';
import { preparedRulesOf } from '../scoring/adapters/rules-file.js';
import { checkCandidate } from '../scoring/adapters/model-candidates.js';
import { modelCandidatesDirOf } from '../scoring/config.js';
import { type ServiceConfig, type StageName, readServiceConfig } from './config.js';

/** A customer's data key gets a new version this often, as in the embedded default, so retention can end old ones. */
const CUSTOMER_KEY_ROTATE_AFTER_MS = 30 * 86_400_000;
/** How often dashboards destroys key versions past retention. */
const PERSONAL_DATA_SWEEP_MS = 60 * 60_000;
/** How long a tombstone on `customer.keys` stays readable after compaction (it holds no key). */
const CUSTOMER_KEYS_DELETE_RETENTION_MS = 86_400_000;

interface RunningStage {
  readonly router?: Router;
  /** What the router serves, for this service's `/openapi.json`. */
  readonly api?: ApiDocumentPart;
  isReady(): boolean;
  close(): Promise<void>;
}

async function main(): Promise<void> {
  const env = process.env;
  const config: ServiceConfig = readServiceConfig(process.argv.slice(2), env);
  const name = config.stages.join('+');
  const logger = createLogger({ level: config.logLevel, fields: { service: `vigil-${name}` } });
  const metrics = new MetricsRegistry();
  // Configured keys, plus the keys admins manage through /v1/api-keys (every process reads them: see below).
  const managedKeys = new ManagedKeyTable();
  // People sign in at the bank's OpenID provider (VIGIL_OIDC_ISSUER) and present its access tokens.
  const authenticator = new ApiKeyAuthenticator(
    parseApiKeys(config.apiKeys),
    { table: managedKeys, nowMs: () => systemClock.nowMs() },
    config.oidc === undefined ? undefined : new OidcTokenVerifier(config.oidc, systemClock),
  );
  const registry: SchemaRegistry = config.schemaRegistryUrl
    ? new HttpSchemaRegistry(config.schemaRegistryUrl)
    : new EmbeddedSchemaRegistry();
  const kafka = await KafkaBus.connect({
    brokers: config.kafkaBrokers,
    clientId: config.kafkaClientId,
    ...(config.kafkaTls !== undefined ? { tls: config.kafkaTls } : {}),
    ...(config.kafkaSasl !== undefined ? { sasl: config.kafkaSasl } : {}),
    replicationFactor: config.kafkaReplicationFactor,
    logger,
  });
  const bus: Bus = config.kafkaNamespace === undefined ? kafka : new NamespacedBus(kafka, config.kafkaNamespace);
  await bus.ensureTopics(topicSpecs(config.partitions));
  const apiKeys = await startApiKeyFeed(bus, registry, managedKeys, systemClock);
  // Serve no request before the managed keys are in: a feed's valid key must never be refused at start.
  await apiKeys.loaded;
  const clickhouse: ClickHouseClient | undefined = config.clickhouseUrl
    ? createClickHouseClient(config.clickhouseUrl, config.clickhouseDatabase)
    : undefined;
  const common = (stage: StageName) => ({
    bus,
    registry,
    metrics,
    clock: systemClock,
    env,
    logger: logger.child({ stage }),
  });
  // Shared by the scoring and dashboards stages (a shared volume when they run apart): dashboards checks a candidate
  // where scoring will load it.
  const modelCandidatesDir = modelCandidatesDirOf(env, config.dataDir);
  // Ingest seals personal fields and dashboards opens and erases them: both fold the one customer.keys topic.
  const customerKeys =
    config.personalData !== undefined && config.stages.some((stage) => stage === 'ingest' || stage === 'dashboards')
      ? await LogCustomerKeyStore.open({
          bus,
          topic: PersonalDataTopics.customerKeys,
          masterKey: config.personalData.masterKey,
          compaction: {
            lagMs: config.personalData.compactionLagMs,
            deleteRetentionMs: CUSTOMER_KEYS_DELETE_RETENTION_MS,
          },
          rotateAfterMs: CUSTOMER_KEY_ROTATE_AFTER_MS,
          clock: systemClock,
          logger: logger.child({ component: 'customer-keys' }),
        })
      : undefined;
  if (customerKeys === undefined && config.stages.some((stage) => stage === 'ingest' || stage === 'dashboards'))
    logger.warn('personal data is not sealed: VIGIL_PERSONAL_DATA_MASTER_KEY is not set (SECURITY.md)');
  const retentionSweep = startRetentionSweep(customerKeys, config, logger);
  const dataDir = (stage: StageName) => (config.stages.length === 1 ? config.dataDir : join(config.dataDir, stage));

  const stages: Array<{ name: StageName; stage: RunningStage }> = [];
  const attachments: Array<(server: Server) => void> = [];
  for (const stageName of config.stages) {
    switch (stageName) {
      case 'ingest':
        stages.push({
          name: stageName,
          stage: await startIngest({
            ...common(stageName),
            authenticator,
            dataDir: dataDir(stageName),
            ...(customerKeys !== undefined ? { customerKeys } : {}),
            idempotency:
              config.idempotencyStore === 'claims'
                ? { store: 'claims', partitions: config.partitions }
                : { store: 'journal' },
          }),
        });
        break;
      case 'scoring':
        stages.push({
          name: stageName,
          stage: await startScoring({
            ...common(stageName),
            dataDir: dataDir(stageName),
            modelCandidatesDir,
            ...(clickhouse !== undefined ? { clickhouse } : {}),
          }),
        });
        break;
      case 'ledger-sink':
        stages.push({
          name: stageName,
          stage: await startLedgerSink({ ...common(stageName), clickhouse: clickhouse! }),
        });
        break;
      case 'dashboards': {
        const dashboards = await startDashboards({
          ...common(stageName),
          clickhouse: clickhouse!,
          authenticator,
          apiKeys,
          ...(customerKeys !== undefined ? { customerKeys } : {}),
          prepareRules: preparedRulesOf,
          checkModelCandidate: (version) => checkCandidate(modelCandidatesDir, version),
        });
        attachments.push((server) => dashboards.attach(server));
        stages.push({ name: stageName, stage: dashboards });
        break;
      }
      case 'notifier':
        stages.push({
          name: stageName,
          stage: await startNotifier({ ...common(stageName), authenticator, dataDir: dataDir(stageName) }),
        });
        break;
    }
  }

  const http = await startHttpServer({
    port: config.httpPort,
    host: config.httpHost,
    routers: stages.flatMap(({ stage }) => (stage.router ? [stage.router] : [])),
    // Each service documents exactly the routes of the stages it runs.
    api: stages.flatMap(({ stage }) => (stage.api ? [stage.api] : [])),
    checks: [
      ...stages.map(({ name: stageName, stage }) => ({ name: stageName, isReady: () => stage.isReady() })),
      { name: 'api-keys', isReady: () => apiKeys.isLoaded() },
      ...(customerKeys !== undefined ? [{ name: 'customer-keys', isReady: () => customerKeys.isHealthy() }] : []),
    ],
    metrics,
    authenticator,
    logger,
    rateLimit: readRateLimitConfig(env),
  });
  for (const attach of attachments) attach(http.server);
  logger.info('service started', {
    stages: config.stages,
    url: http.url,
    brokers: config.kafkaBrokers,
    namespace: config.kafkaNamespace,
  });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    (async () => {
      await http.close();
      for (const { stage } of stages) await stage.close(); // each commits what it processed
      clearInterval(retentionSweep);
      await customerKeys?.close();
      await apiKeys.subscription.close();
      await bus.close();
      await clickhouse?.close();
    })().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('error while stopping', { error: describeError(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/**
 * Retention of personal values (SECURITY.md): in a process running dashboards, destroys key versions past
 * VIGIL_PERSONAL_DATA_RETENTION_DAYS at start and every hour. Every dashboards replica sweeps; two sweeping at once
 * write the same records.
 */
function startRetentionSweep(
  customerKeys: LogCustomerKeyStore | undefined,
  config: ServiceConfig,
  logger: Logger,
): NodeJS.Timeout | undefined {
  const retentionMs = (config.personalData?.retentionDays ?? 0) * 86_400_000;
  if (customerKeys === undefined || retentionMs === 0 || !config.stages.includes('dashboards')) return undefined;
  const sweep = async (): Promise<void> => {
    try {
      const destroyed = await customerKeys.destroyExpired(systemClock.nowMs(), retentionMs);
      if (destroyed > 0) logger.info('personal data past retention erased', { keyVersions: destroyed, retentionMs });
    } catch (error) {
      logger.error('personal-data retention sweep failed; it runs again within the hour', {
        error: describeError(error),
      });
    }
  };
  void sweep();
  const timer = setInterval(() => void sweep(), PERSONAL_DATA_SWEEP_MS);
  timer.unref();
  return timer;
}

main().catch((error: unknown) => {
  createLogger().error('failed to start', { error: describeError(error) });
  process.exit(1);
});
