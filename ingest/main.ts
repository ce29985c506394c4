import type express from 'express';
import type { ApiKeyAuthenticator } from '../platform/auth.js';
import type { Bus } from '../platform/bus.js';
import type { Clock } from '../platform/clock.js';
import type { Env } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import type { MetricsRegistry } from '../platform/metrics.js';
import type { IngestResult } from '../schemas/api.js';
import { createCodec } from '../schemas/codec.js';
import { DeadLetterWriter } from '../schemas/dead-letter.js';
import type { AnalystLabel, ScoredTransaction, Transaction } from '../schemas/generated/types.js';
import type { SchemaRegistry } from '../schemas/registry.js';
import { IngestStateTopics, Topics } from '../schemas/topics.js';
import { ConfigError } from '../platform/errors.js';
import type { CustomerKeyStore } from '../platform/personal-data.js';
import { HmacPanTokenizer, sha256Hasher } from './adapters/crypto.js';
import { SealingPersonalDataProtector, devicePseudonymKey } from './adapters/personal-data.js';
import { StaticTokenizationKeyStore } from './adapters/static-key-store.js';
import { ClaimsIdempotencyStore } from './adapters/claims-idempotency-store.js';
import { FileIdempotencyStore } from './adapters/file-idempotency-store.js';
import { FileChannelFileStore } from './adapters/file-channel-file-store.js';
import { LogChargebackRecorder } from './adapters/chargeback-labels.js';
import { ChannelIntake } from './app/channel-intake.js';
import { DecisionWaiter } from './app/decision-waiter.js';
import { Ingestor } from './app/ingestor.js';
import { createIngestMetrics } from './app/metrics.js';
import { loadIngestConfig } from './config.js';
import { createIngestRouter } from './http/routes.js';
import type { IdempotencyStore, TokenizationKeyStore } from './ports.js';
import { ingestApi } from './http/openapi.js';
import type { ApiDocumentPart } from '../platform/openapi.js';

export interface IngestDeps {
  bus: Bus;
  registry: SchemaRegistry;
  authenticator: ApiKeyAuthenticator;
  logger: Logger;
  metrics: MetricsRegistry;
  clock: Clock;
  dataDir: string;
  env: Env;
  /**
   * Where the tokenisation keys come from when the environment sets none (the embedded default's file store);
   * keys set in the environment win.
   */
  tokenizationKeys?: TokenizationKeyStore;
  /**
   * The per-customer key store personal fields are sealed with (SECURITY.md, Personal data); without one they are
   * written as sent. The embedded default always hands one in (its file store); distributed mode its customer.keys
   * topic store when VIGIL_PERSONAL_DATA_MASTER_KEY is set.
   */
  customerKeys?: CustomerKeyStore;
  /**
   * Where ingest remembers accepted ids: `journal` (default), a file in `dataDir` — right for one process;
   * `claims`, the claims topic on `bus` shared by every ingest replica (distributed mode, VIGIL_IDEMPOTENCY_STORE),
   * created with `partitions` partitions.
   */
  idempotency?: { readonly store: 'journal' } | { readonly store: 'claims'; readonly partitions: number };
}

export interface IngestStage {
  router: express.Router;
  /** What the router serves, for the process's `/openapi.json`. */
  readonly api: ApiDocumentPart;
  isReady(): boolean;
  close(): Promise<void>;
  /** In-process entry (the embedded simulator, tests, bench); `submittedBy` names the feed, as for Ingestor.accept. */
  accept(
    requests: unknown[],
    source: 'API' | 'BATCH' | 'FILE' | 'WEBHOOK' | 'SIMULATOR',
    submittedBy: string | null,
  ): Promise<IngestResult[]>;
}

/**
 * The ingest stage's composition root: reads its config (throws ConfigError on a bad or missing key, e.g. no
 * tokenisation key in the environment and no key store handed in), opens the idempotency store (the journal in `dataDir`, or the claims topic), registers the tx.raw and tx.dlq schemas
 * and wires the HTTP routes. Topics are created by the caller (`bus.ensureTopics(topicSpecs(...))`).
 */
export async function startIngest(deps: IngestDeps): Promise<IngestStage> {
  const config = loadIngestConfig(deps.env);
  const keySet = config.tokenizationKeys;
  const keys =
    keySet !== undefined
      ? new StaticTokenizationKeyStore(keySet.keys, keySet.currentVersion, keySet.fingerprintKey)
      : deps.tokenizationKeys;
  if (keys === undefined)
    throw new ConfigError(
      'VIGIL_TOKENIZATION_KEY',
      undefined,
      'a tokenisation key: VIGIL_TOKENIZATION_KEY, or VIGIL_TOKENIZATION_KEYS with versions',
    );
  const logger = deps.logger;
  const metrics = createIngestMetrics(deps.metrics);
  const codec = await createCodec<Transaction>(deps.registry, Topics.transactionsRaw);
  const deadLetters = await DeadLetterWriter.create(deps.bus, deps.registry, 'ingest', deps.clock);
  const idempotency = deps.idempotency ?? { store: 'journal' };
  const store: IdempotencyStore =
    idempotency.store === 'claims'
      ? await ClaimsIdempotencyStore.open({
          bus: deps.bus,
          topic: IngestStateTopics.idempotencyClaims,
          partitions: idempotency.partitions,
          replica: config.instanceId,
          rules: { windowMs: config.idempotencyWindowMs, claimTimeoutMs: config.idempotencyClaimTimeoutMs },
          clock: deps.clock,
          logger,
        })
      : await FileIdempotencyStore.open(deps.dataDir, logger, {
          windowMs: config.idempotencyWindowMs,
          clock: deps.clock,
        });
  deps.metrics.gauge('vigil_ingest_idempotency_ids', 'Transaction ids held by the idempotency store', () =>
    store.size(),
  );

  const ingestor = new Ingestor({
    producer: deps.bus.producer(),
    codec,
    deadLetters,
    store,
    tokenizer: new HmacPanTokenizer(keys),
    hasher: sha256Hasher,
    ...(deps.customerKeys === undefined
      ? {}
      : {
          personalData: new SealingPersonalDataProtector(deps.customerKeys, devicePseudonymKey(keys.fingerprintKey())),
        }),
    clock: deps.clock,
    limits: config.limits,
    metrics,
    logger,
  });
  // Every decision, from the end of tx.scored, for callers of POST /v1/decisions; a group of its own per process.
  const decisions = new DecisionWaiter(
    await createCodec<ScoredTransaction>(deps.registry, Topics.transactionsScored),
    deps.clock,
  );
  const decisionsGroup = `ingest-decisions-${config.instanceId}`;
  const decisionFeed = await deps.bus.subscribe(
    { groupId: decisionsGroup, topics: [Topics.transactionsScored], startFrom: 'latest' },
    (batch) => decisions.observe(batch),
  );
  deps.metrics.gauge(
    'vigil_ingest_decision_waiters',
    'Callers of POST /v1/decisions waiting for their decision',
    () => decisions.waitingCount,
  );
  const channelFiles = await FileChannelFileStore.open(deps.dataDir, logger, {
    windowMs: config.idempotencyWindowMs,
    clock: deps.clock,
  });
  const channels = {
    intake: new ChannelIntake({
      ingestor,
      files: channelFiles,
      logger,
      itemsPerCall: config.maxBatchItems,
      // Gateways' chargebacks take the label path, as an analyst's FRAUD verdict does.
      chargebacks: new LogChargebackRecorder(
        deps.bus.producer(),
        await createCodec<AnalystLabel>(deps.registry, Topics.analystLabels),
        deps.clock,
      ),
    }),
    hasher: sha256Hasher,
    maxFileBytes: config.maxChannelFileBytes,
    spoolDir: config.channelSpoolDir,
  };
  const router = createIngestRouter({
    channels,
    decisions,
    decisionDeadlineMs: config.decisionDeadlineMs,
    clock: deps.clock,
    ingestor,
    authenticator: deps.authenticator,
    logger,
    metrics,
    maxBodyBytes: config.maxBodyBytes,
    maxBatchBodyBytes: config.maxBatchBodyBytes,
    maxBatchItems: config.maxBatchItems,
    ...(config.stripeWebhooks === undefined ? {} : { stripeWebhooks: config.stripeWebhooks }),
    ...(config.adyenWebhooks === undefined ? {} : { adyenWebhooks: config.adyenWebhooks }),
  });

  let closing: Promise<void> | undefined;
  logger.info('ingest started', {
    maxBatchItems: config.maxBatchItems,
    idempotencyStore: idempotency.store,
    idempotencyIds: store.size(),
    tokenizationKeyVersion: keys.current().version,
    personalData: deps.customerKeys === undefined ? 'written as sent' : 'sealed per customer',
  });
  return {
    router,
    api: ingestApi,
    isReady: () => closing === undefined && store.isHealthy() && channelFiles.isHealthy(),
    accept: (requests, source, submittedBy) =>
      ingestor.accept(
        requests.map((body) => ({ kind: 'parsed', body })),
        source,
        submittedBy,
      ),
    close: () =>
      (closing ??= (async () => {
        await ingestor.drain();
        await decisionFeed.close();
        await store.close();
        await channelFiles.close();
        logger.info('ingest stopped');
      })()),
  };
}
