import { join } from 'node:path';
import type express from 'express';
import type { ApiKeyAuthenticator } from '../platform/auth.js';
import type { Bus } from '../platform/bus.js';
import type { Clock } from '../platform/clock.js';
import type { Env } from '../platform/config.js';
import { ConsumerHealth } from '../platform/consumer-health.js';
import { EmbeddedLog } from '../platform/embedded-log/embedded-log.js';
import type { Logger } from '../platform/logger.js';
import type { MetricsRegistry } from '../platform/metrics.js';
import { createCodec } from '../schemas/codec.js';
import type { FraudAlert, LedgerEvent, ScoredTransaction } from '../schemas/generated/types.js';
import type { SchemaRegistry } from '../schemas/registry.js';
import { OutboxTopics, Topics } from '../schemas/topics.js';
import { HttpWebhookTransport } from './adapters/http-transport.js';
import { Notifier } from './app/notifier.js';
import { SecretSealer } from './app/signing.js';
import { readNotifierConfig } from './config.js';
import { notifierRouter } from './http/routes.js';

export interface NotifierDeps {
  /** The pipeline's bus: decisions and alerts are read from it. */
  readonly bus: Bus;
  readonly registry: SchemaRegistry;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly clock: Clock;
  readonly authenticator: ApiKeyAuthenticator;
  readonly env: Env;
  /** The notifier's own directory: its outbox log lives in `<dataDir>/outbox`. */
  readonly dataDir: string;
}

export interface NotifierStage {
  /** The webhook admin API; mount it on the process's express app. */
  readonly router: express.Router;
  isReady(): boolean;
  /** Stops the fan-out and every delivery worker (pending deliveries resume after restart), closes the outbox. */
  close(): Promise<void>;
}

/** Partitions of `webhook.events`: how many accounts' events a worker can have in flight in separate batches. */
const EVENT_PARTITIONS = 8;

/**
 * The notifier stage's composition root: signed webhooks to downstream systems. Its outbox is an embedded
 * durable log on local disk in both modes (so in distributed mode it runs as one instance with a persistent
 * volume); its input is the pipeline's bus. Throws ConfigError on bad config.
 */
export async function startNotifier(deps: NotifierDeps): Promise<NotifierStage> {
  const config = readNotifierConfig(deps.env);
  const logger = deps.logger.child({ stage: 'notifier' });
  const outbox = await EmbeddedLog.open({
    dir: join(deps.dataDir, 'outbox'),
    logger: logger.child({ component: 'outbox' }),
    clock: deps.clock,
  });
  const transport = new HttpWebhookTransport({
    allowedTargets: config.allowedTargets,
    timeoutMs: config.timeoutMs,
    maxResponseBytes: config.maxResponseBytes,
    userAgent: 'Vigil-Webhooks/1',
  });
  let notifier: Notifier | undefined;
  try {
    await outbox.ensureTopics([
      { topic: OutboxTopics.webhookEvents, partitions: EVENT_PARTITIONS },
      { topic: OutboxTopics.webhookEndpoints, partitions: 1 },
      { topic: OutboxTopics.webhookAttempts, partitions: 1 },
    ]);
    notifier = await Notifier.start(
      {
        source: deps.bus,
        outbox,
        scoredCodec: await createCodec<ScoredTransaction>(deps.registry, Topics.transactionsScored),
        alertCodec: await createCodec<FraudAlert>(deps.registry, Topics.fraudAlerts),
        ledgerCodec: await createCodec<LedgerEvent>(deps.registry, Topics.ledgerEvents),
        transport,
        sealer: new SecretSealer(config.secretKey.reveal()),
        clock: deps.clock,
        logger,
        metrics: deps.metrics,
      },
      config,
    );
  } catch (error) {
    await notifier?.close();
    transport.close();
    await outbox.close();
    throw error;
  }
  const running = notifier;
  const health = ConsumerHealth.watch(running.fanOutSubscription(), config.groupId, {
    metrics: deps.metrics,
    clock: deps.clock,
    stuckAfterMs: config.stuckAfterMs,
  });
  return {
    router: notifierRouter({ notifier: running, authenticator: deps.authenticator, logger }),
    isReady: () => !running.isClosed() && !health.isStuck(),
    close: async () => {
      await running.close();
      transport.close();
      await outbox.close();
    },
  };
}
