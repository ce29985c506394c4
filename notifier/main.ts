import { join } from 'node:path';
import express from 'express';
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
import { SmtpMailTransport } from './adapters/smtp-transport.js';
import { EmailNotifier } from './app/email-notifier.js';
import { Notifier } from './app/notifier.js';
import { SecretSealer } from './app/signing.js';
import { readNotifierConfig } from './config.js';
import { emailRouter } from './http/email-routes.js';
import { notifierRouter } from './http/routes.js';
import { notifierApi } from './http/openapi.js';
import type { ApiDocumentPart } from '../platform/openapi.js';

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
  /** The webhook and e-mail APIs; mount it on the process's express app. */
  readonly router: express.Router;
  /** What the router serves, for the process's `/openapi.json`. */
  readonly api: ApiDocumentPart;
  isReady(): boolean;
  /** Stops the fan-out and every delivery worker (pending deliveries resume after restart), closes the outbox. */
  close(): Promise<void>;
}

/** Partitions of `webhook.events`: how many accounts' events a worker can have in flight in separate batches. */
const EVENT_PARTITIONS = 8;

/** Partitions of `email.alerts`: one, so each subscription's progress is a single offset. */
const EMAIL_ALERT_PARTITIONS = 1;

/**
 * The notifier stage's composition root: signed webhooks to downstream systems, and alert e-mails to analysts
 * when VIGIL_SMTP_URL is set. Its outbox is an embedded
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
  const mailTransport =
    config.email === undefined
      ? undefined
      : new SmtpMailTransport({
          url: config.email.smtpUrl.reveal(),
          from: config.email.from,
          timeoutMs: config.email.timeoutMs,
          maxConnections: 2,
        });
  let notifier: Notifier | undefined;
  let email: EmailNotifier | undefined;
  try {
    await outbox.ensureTopics([
      { topic: OutboxTopics.webhookEvents, partitions: EVENT_PARTITIONS },
      { topic: OutboxTopics.webhookEndpoints, partitions: 1 },
      { topic: OutboxTopics.webhookAttempts, partitions: 1 },
      { topic: OutboxTopics.emailAlerts, partitions: EMAIL_ALERT_PARTITIONS },
      { topic: OutboxTopics.emailSubscriptions, partitions: 1 },
      { topic: OutboxTopics.emailDeliveries, partitions: 1 },
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
    if (config.email === undefined || mailTransport === undefined)
      logger.info('e-mail notifications off: VIGIL_SMTP_URL is not set');
    else
      email = await EmailNotifier.start(
        {
          source: deps.bus,
          outbox,
          alertCodec: await createCodec<FraudAlert>(deps.registry, Topics.fraudAlerts),
          transport: mailTransport,
          secretKey: config.secretKey.reveal(),
          clock: deps.clock,
          logger,
          metrics: deps.metrics,
        },
        config.email,
      );
  } catch (error) {
    await email?.close();
    await notifier?.close();
    transport.close();
    mailTransport?.close();
    await outbox.close();
    throw error;
  }
  const running = notifier;
  const mailing = email;
  const watch = { metrics: deps.metrics, clock: deps.clock, stuckAfterMs: config.stuckAfterMs };
  const health = ConsumerHealth.watch(running.fanOutSubscription(), config.groupId, watch);
  const emailHealth =
    mailing === undefined || config.email === undefined
      ? undefined
      : ConsumerHealth.watch(mailing.fanOutSubscription(), config.email.groupId, watch);
  const router = express.Router();
  router.use(notifierRouter({ notifier: running, authenticator: deps.authenticator, logger }));
  router.use(emailRouter({ email: mailing, authenticator: deps.authenticator, logger }));
  return {
    router,
    api: notifierApi,
    isReady: () =>
      !running.isClosed() &&
      !health.isStuck() &&
      (mailing === undefined || (!mailing.isClosed() && !(emailHealth?.isStuck() ?? false))),
    close: async () => {
      await mailing?.close();
      await running.close();
      transport.close();
      mailTransport?.close();
      await outbox.close();
    },
  };
}
