import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Bus, Subscription } from '../../platform/bus.js';
import type { Clock } from '../../platform/clock.js';
import { ValidationError, VigilError, describeError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { MetricsRegistry } from '../../platform/metrics.js';
import type { Codec } from '../../schemas/codec.js';
import type { FraudAlert } from '../../schemas/generated/types.js';
import type { EmailSubscriptionView } from '../../schemas/notifications.js';
import type { EmailConfig } from '../config.js';
import {
  type EmailSubscriptionRecord,
  emailSubscriptionView,
  ended,
  parseEmailSubscriptionRequest,
} from '../domain/email.js';
import type { MailTransport } from '../ports.js';
import { EmailDeliveryLog } from './email-delivery-log.js';
import { startEmailFanOut } from './email-fan-out.js';
import { EmailSubscriptionStore } from './email-subscription-store.js';
import { EmailWorker } from './email-worker.js';

export interface EmailNotifierDeps {
  readonly source: Bus;
  readonly outbox: Bus;
  readonly alertCodec: Codec<FraudAlert>;
  readonly transport: MailTransport;
  /** Keys the unsubscribe tokens (domain-separated from its other use). */
  readonly secretKey: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly random?: () => number;
}

/** Settled mails read back on start: far more than can be in flight at a crash. */
const DELIVERY_TAIL_RECORDS = 10_000;

/**
 * E-mail notifications: subscriptions registered by admins, alerts copied from `fraud.alerts` to the outbox,
 * one worker per active subscription (immediate mails and digests), unsubscribe by token. Like the webhooks,
 * everything it must not forget is on the outbox log before it is acknowledged.
 */
export class EmailNotifier {
  private readonly workers = new Map<string, EmailWorker>();
  private readonly stopping = new Set<Promise<void>>();
  private fanOut: Subscription | undefined;
  private closed = false;

  private constructor(
    private readonly deps: EmailNotifierDeps,
    private readonly config: EmailConfig,
    private readonly store: EmailSubscriptionStore,
    private readonly deliveries: EmailDeliveryLog,
  ) {}

  /** Reads subscriptions and recent mails back from the outbox, starts a worker per active subscription. */
  static async start(deps: EmailNotifierDeps, config: EmailConfig): Promise<EmailNotifier> {
    const store = await EmailSubscriptionStore.open(deps.outbox);
    const deliveries = await EmailDeliveryLog.open(deps.outbox, DELIVERY_TAIL_RECORDS);
    const notifier = new EmailNotifier(deps, config, store, deliveries);
    try {
      for (const subscription of store.list())
        if (subscription.status === 'active') await notifier.startWorker(subscription, false);
      notifier.registerMetrics();
      notifier.fanOut = await startEmailFanOut(
        {
          source: deps.source,
          outbox: deps.outbox,
          alertCodec: deps.alertCodec,
          anyActive: () => notifier.workers.size > 0,
          logger: deps.logger,
          counters: {
            written: deps.metrics.counter('vigil_email_alerts_written_total', 'Alerts written to the e-mail outbox'),
            undecodable: deps.metrics.counter(
              'vigil_email_source_undecodable_total',
              'Alerts skipped for e-mail because they do not decode (dead-lettered by dashboards)',
            ),
          },
        },
        config.groupId,
      );
    } catch (error) {
      await notifier.close();
      throw error;
    }
    deps.logger.info('e-mail notifications on', {
      smtpServer: config.smtpServer,
      subscriptions: store.list().length,
      active: notifier.workers.size,
    });
    return notifier;
  }

  /** The fan-out subscription, for the stuck-consumer monitor. */
  fanOutSubscription(): Subscription {
    return this.fanOut!;
  }

  /** Registers a subscription; throws ValidationError with every problem, EMAIL_SUBSCRIPTION_EXISTS for a duplicate. */
  async create(body: unknown): Promise<EmailSubscriptionView> {
    this.assertOpen();
    const { request, problems } = parseEmailSubscriptionRequest(body, this.config);
    if (request === undefined) throw new ValidationError('invalid e-mail subscription', problems);
    const existing = this.store.list().find((s) => s.status === 'active' && s.email === request.email);
    if (existing !== undefined)
      throw new VigilError('EMAIL_SUBSCRIPTION_EXISTS', `${request.email} is already subscribed as ${existing.id}`);
    const record: EmailSubscriptionRecord = {
      id: `es_${randomBytes(12).toString('base64url')}`,
      ...request,
      status: 'active',
      createdAtMs: this.deps.clock.nowMs(),
      endedAtMs: null,
    };
    // The cursors first, then the registration: once `create` resolves, no alert after this moment is skipped.
    await this.startWorker(record, true);
    await this.store.put(record);
    this.deps.logger.info('e-mail subscription created', { subscriptionId: record.id });
    return emailSubscriptionView(record);
  }

  list(): EmailSubscriptionView[] {
    return this.store.list().map(emailSubscriptionView);
  }

  get(id: string): EmailSubscriptionView {
    return emailSubscriptionView(this.require(id));
  }

  async remove(id: string): Promise<void> {
    this.assertOpen();
    this.require(id);
    await this.stopWorker(id);
    await this.store.remove(id);
    this.deliveries.forget(id);
    this.deps.logger.info('e-mail subscription deleted', { subscriptionId: id });
  }

  /** The subscription an unsubscribe token names, or EMAIL_UNSUBSCRIBE_TOKEN_INVALID. */
  subscriptionOfToken(token: unknown): EmailSubscriptionView {
    return emailSubscriptionView(this.verifyToken(token));
  }

  /**
   * Ends the subscription a token names (idempotent: an ended one stays as it is). Nothing is mailed to it
   * afterwards: its worker is stopped before this resolves, a mail in flight excepted.
   */
  async unsubscribe(token: unknown): Promise<EmailSubscriptionView> {
    this.assertOpen();
    const subscription = this.verifyToken(token);
    if (subscription.status !== 'active') return emailSubscriptionView(subscription);
    const record = ended(subscription, 'unsubscribed', this.deps.clock.nowMs());
    await this.store.put(record);
    await this.stopWorker(record.id);
    this.deps.logger.info('e-mail subscription ended by its unsubscribe link', { subscriptionId: record.id });
    return emailSubscriptionView(record);
  }

  isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fanOut?.close();
    await Promise.all([...this.workers.keys()].map((id) => this.stopWorker(id)));
    await Promise.all([...this.stopping]);
  }

  /** `<id>.<HMAC-SHA256(key, "vigil-unsubscribe" ‖ id), base64url>`: unguessable without the key, nothing to store. */
  unsubscribeToken(id: string): string {
    return `${id}.${createHmac('sha256', this.deps.secretKey).update(`vigil-unsubscribe\u0000${id}`).digest('base64url')}`;
  }

  private verifyToken(token: unknown): EmailSubscriptionRecord {
    const invalid = () =>
      new VigilError(
        'EMAIL_UNSUBSCRIBE_TOKEN_INVALID',
        'this unsubscribe link is not valid (or its subscription was deleted)',
      );
    if (typeof token !== 'string' || token.length > 200) throw invalid();
    const id = token.slice(0, token.indexOf('.'));
    const subscription = this.store.get(id);
    const given = Buffer.from(token);
    const expected = Buffer.from(this.unsubscribeToken(id));
    if (subscription === undefined || given.length !== expected.length || !timingSafeEqual(given, expected))
      throw invalid();
    return subscription;
  }

  private async startWorker(subscription: EmailSubscriptionRecord, fresh: boolean): Promise<void> {
    const { deps, config } = this;
    const from = /<([^>]+)>\s*$/.exec(config.from)?.[1] ?? config.from;
    const worker = await EmailWorker.start(
      {
        outbox: deps.outbox,
        transport: deps.transport,
        deliveries: this.deliveries,
        clock: deps.clock,
        logger: deps.logger,
        policy: config.policy,
        digestMaxAlerts: config.digestMaxAlerts,
        random: deps.random ?? Math.random,
        consoleUrl: `${config.publicUrl}/`,
        unsubscribeUrl: `${config.publicUrl}/v1/notifications/unsubscribe?token=${encodeURIComponent(this.unsubscribeToken(subscription.id))}`,
        messageIdDomain: from.slice(from.lastIndexOf('@') + 1),
        mailsTotal: deps.metrics.counter('vigil_email_mails_total', 'Alert mails by kind and outcome'),
        suspend: () => this.suspend(subscription.id),
      },
      subscription,
      fresh,
    );
    this.workers.set(subscription.id, worker);
  }

  private async stopWorker(id: string): Promise<void> {
    const worker = this.workers.get(id);
    this.workers.delete(id);
    await worker?.stop();
  }

  /** Called from inside the subscription's own worker; its stop is not awaited here (it waits for this call). */
  private async suspend(id: string): Promise<void> {
    const subscription = this.store.get(id);
    if (subscription === undefined || subscription.status !== 'active') return;
    await this.store.put(ended(subscription, 'suspended', this.deps.clock.nowMs()));
    this.deps.logger.error('e-mail subscription suspended: the relay refused its mails too often in a row', {
      subscriptionId: id,
      refusals: this.deliveries.refusalsInARow(id),
    });
    const worker = this.workers.get(id);
    this.workers.delete(id);
    if (worker !== undefined) {
      const stop = worker.stop().catch((error: unknown) =>
        this.deps.logger.error('stopping a suspended e-mail worker failed', {
          subscriptionId: id,
          error: describeError(error),
        }),
      );
      this.stopping.add(stop);
      void stop.finally(() => this.stopping.delete(stop));
    }
  }

  private registerMetrics(): void {
    const { metrics } = this.deps;
    metrics.gauge('vigil_email_subscriptions_active', 'E-mail subscriptions receiving mails', () => this.workers.size);
    metrics.gauge(
      'vigil_email_subscriptions_suspended',
      'E-mail subscriptions suspended after refusals in a row: an operator must look',
      () => this.store.list().filter((s) => s.status === 'suspended').length,
    );
    metrics.gauge('vigil_email_digest_pending_alerts', 'Alerts waiting for their digest, over all subscriptions', () =>
      [...this.workers.values()].reduce((sum, w) => sum + w.pendingDigestAlerts(), 0),
    );
  }

  private require(id: string): EmailSubscriptionRecord {
    const subscription = this.store.get(id);
    if (subscription === undefined)
      throw new VigilError('EMAIL_SUBSCRIPTION_NOT_FOUND', `no e-mail subscription ${id}`);
    return subscription;
  }

  private assertOpen(): void {
    if (this.closed) throw new VigilError('NOTIFIER_CLOSED', 'the notifier is shutting down');
  }
}
