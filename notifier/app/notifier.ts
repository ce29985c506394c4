import { randomBytes } from 'node:crypto';
import type { Bus, BusRecord, Subscription } from '../../platform/bus.js';
import type { Clock } from '../../platform/clock.js';
import { ValidationError, VigilError, describeError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { MetricsRegistry } from '../../platform/metrics.js';
import type { Codec } from '../../schemas/codec.js';
import type { FraudAlert, LedgerEvent, ScoredTransaction } from '../../schemas/generated/types.js';
import { OutboxTopics } from '../../schemas/topics.js';
import type {
  WebhookDeliveryView,
  WebhookEndpointCreated,
  WebhookEndpointView,
  WebhookEventType,
  WebhookReplayAccepted,
} from '../../schemas/webhooks.js';
import type { RetryPolicy } from '../domain/delivery-policy.js';
import { type EndpointRecord, disabled, enabled, endpointView, parseEndpointRequest } from '../domain/endpoints.js';
import type { AllowedTarget } from '../domain/targets.js';
import type { WebhookTransport } from '../ports.js';
import { AttemptLog } from './attempt-log.js';
import { EndpointStore } from './endpoint-store.js';
import { EndpointWorker } from './endpoint-worker.js';
import { EventHeaders, startFanOut } from './fan-out.js';
import { type SecretSealer, newSigningSecret } from './signing.js';

export interface NotifierDeps {
  /** Where decisions, alerts and bookings come from (the pipeline's bus). */
  readonly source: Bus;
  /** The notifier's durable outbox: events, endpoints and attempts (see OutboxTopics). */
  readonly outbox: Bus;
  readonly scoredCodec: Codec<ScoredTransaction>;
  readonly alertCodec: Codec<FraudAlert>;
  readonly ledgerCodec: Codec<LedgerEvent>;
  readonly transport: WebhookTransport;
  readonly sealer: SecretSealer;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly random?: () => number;
}

export interface NotifierOptions {
  readonly groupId: string;
  readonly allowedTargets: readonly AllowedTarget[];
  readonly policy: RetryPolicy;
  readonly concurrencyPerEndpoint: number;
  /** Attempts listed per endpoint by `deliveries()`. */
  readonly attemptsKept: number;
  /** Most events one replay may re-send. */
  readonly maxReplayEvents: number;
}

/** How far past `to` a replay scans by append time: an event is appended at most this long after it happened. */
const REPLAY_APPEND_LAG_MS = 60 * 60 * 1000;

/**
 * The webhook service: endpoints registered by admins, events fanned out from the pipeline into the outbox,
 * one delivery worker per enabled endpoint, the attempt log and replays. Everything it must not forget is on
 * the outbox log before it is acknowledged: a registration before `create` resolves, an event before its source
 * record is committed, a delivery before the endpoint's cursor moves past it.
 */
export class Notifier {
  private readonly workers = new Map<string, EndpointWorker>();
  private readonly stopping = new Set<Promise<void>>();
  private wanted: ReadonlySet<WebhookEventType> = new Set();
  private fanOut: Subscription | undefined;
  private closed = false;

  private constructor(
    private readonly deps: NotifierDeps,
    private readonly options: NotifierOptions,
    private readonly store: EndpointStore,
    private readonly attempts: AttemptLog,
  ) {}

  /** Reads endpoints and the attempt tail back from the outbox, starts a worker per enabled endpoint and the fan-out. */
  static async start(deps: NotifierDeps, options: NotifierOptions): Promise<Notifier> {
    const store = await EndpointStore.open(deps.outbox);
    const attempts = await AttemptLog.open(deps.outbox, options.attemptsKept, options.attemptsKept * 50);
    const notifier = new Notifier(deps, options, store, attempts);
    try {
      for (const endpoint of store.list())
        if (endpoint.status === 'enabled') await notifier.startWorker(endpoint, false);
      notifier.refreshWanted();
      notifier.registerMetrics();
      notifier.fanOut = await startFanOut(
        {
          source: deps.source,
          outbox: deps.outbox,
          scoredCodec: deps.scoredCodec,
          alertCodec: deps.alertCodec,
          ledgerCodec: deps.ledgerCodec,
          wantedTypes: () => notifier.wanted,
          logger: deps.logger,
          counters: {
            written: deps.metrics.counter('vigil_webhook_events_written_total', 'Webhook events written to the outbox'),
            undecodable: deps.metrics.counter(
              'vigil_webhook_source_undecodable_total',
              'Source records skipped by the notifier because they do not decode (dead-lettered by their own stage)',
            ),
          },
        },
        options.groupId,
      );
    } catch (error) {
      await notifier.close();
      throw error;
    }
    deps.logger.info('notifier started', { endpoints: store.list().length, enabled: notifier.workers.size });
    return notifier;
  }

  /** The fan-out subscription, for the stuck-consumer monitor. */
  fanOutSubscription(): Subscription {
    return this.fanOut!;
  }

  /** Registers an endpoint; throws ValidationError with every problem of the request. Shows the secret once. */
  async create(body: unknown): Promise<WebhookEndpointCreated> {
    this.assertOpen();
    const { request, problems } = parseEndpointRequest(body, this.options.allowedTargets);
    if (request === undefined) throw new ValidationError('invalid webhook endpoint', problems);
    const id = `we_${randomBytes(12).toString('base64url')}`;
    const secret = newSigningSecret();
    const record: EndpointRecord = {
      id,
      url: request.url,
      events: request.events,
      description: request.description ?? null,
      status: 'enabled',
      disabledReason: null,
      createdAtMs: this.deps.clock.nowMs(),
      disabledAtMs: null,
      sealedSecret: this.deps.sealer.seal(id, secret),
    };
    // The cursor first, then the registration: once `create` resolves, no event after this moment is skipped.
    await this.startWorker(record, true);
    await this.store.put(record);
    this.refreshWanted();
    this.deps.logger.info('webhook endpoint created', { endpointId: id, url: record.url, events: record.events });
    return { ...endpointView(record), secret };
  }

  list(): WebhookEndpointView[] {
    return this.store.list().map(endpointView);
  }

  get(id: string): WebhookEndpointView {
    return endpointView(this.require(id));
  }

  async remove(id: string): Promise<void> {
    this.assertOpen();
    this.require(id);
    await this.stopWorker(id);
    await this.store.remove(id);
    this.refreshWanted();
    this.deps.logger.info('webhook endpoint deleted', { endpointId: id });
  }

  /**
   * Re-enables a disabled endpoint: its run of failures is cleared (durably) and deliveries resume from its
   * cursor, which never moved past an undelivered event — so the events written while it was disabled arrive,
   * in order per account, except those created longer than the retry period ago (recorded `expired`; replay
   * re-sends them). An endpoint already enabled is left as it is.
   */
  async enable(id: string): Promise<WebhookEndpointView> {
    this.assertOpen();
    const endpoint = this.require(id);
    if (endpoint.status === 'enabled') return endpointView(endpoint);
    const nowMs = this.deps.clock.nowMs();
    // The reset first: a worker started on the old run of failures would be disabled again by its first one.
    await this.attempts.resetStreak(id, nowMs);
    const record = enabled(endpoint);
    await this.store.put(record);
    await this.startWorker(record, false, nowMs - this.options.policy.retryPeriodMs);
    this.refreshWanted();
    this.deps.logger.info('webhook endpoint re-enabled', { endpointId: id, url: record.url });
    return endpointView(record);
  }

  deliveries(id: string, limit: number): WebhookDeliveryView[] {
    this.require(id);
    return this.attempts.deliveries(id, limit);
  }

  /**
   * Re-sends the endpoint's event types created in [fromMs, toMs], each account in order, marked as replays.
   * Throws WEBHOOK_REPLAY_TOO_LARGE (nothing sent) above maxReplayEvents, and for a disabled endpoint.
   */
  async replay(id: string, fromMs: number, toMs: number): Promise<WebhookReplayAccepted> {
    this.assertOpen();
    const endpoint = this.require(id);
    const worker = this.workers.get(id);
    if (worker === undefined || endpoint.status !== 'enabled')
      throw new VigilError(
        'WEBHOOK_ENDPOINT_DISABLED',
        `webhook endpoint ${id} is disabled; nothing is replayed to it`,
      );
    const wanted = new Set<string>(endpoint.events);
    const selected: BusRecord[] = [];
    for (const record of await this.eventsBetween(fromMs, toMs)) {
      if (!wanted.has(record.headers[EventHeaders.type] ?? '')) continue;
      selected.push(record);
      if (selected.length > this.options.maxReplayEvents)
        throw new VigilError(
          'WEBHOOK_REPLAY_TOO_LARGE',
          `more than ${this.options.maxReplayEvents} events between the two times; replay a shorter range`,
        );
    }
    worker.replay(selected);
    this.deps.logger.info('webhook replay started', { endpointId: id, fromMs, toMs, events: selected.length });
    return { endpointId: id, events: selected.length };
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

  private async startWorker(
    endpoint: EndpointRecord,
    fresh: boolean,
    expireCreatedBeforeMs = Number.NEGATIVE_INFINITY,
  ): Promise<void> {
    const { deps, options } = this;
    const secret = deps.sealer.open(endpoint.id, endpoint.sealedSecret);
    const worker = await EndpointWorker.start(
      {
        outbox: deps.outbox,
        transport: deps.transport,
        attempts: this.attempts,
        clock: deps.clock,
        logger: deps.logger,
        policy: options.policy,
        concurrency: options.concurrencyPerEndpoint,
        random: deps.random ?? Math.random,
        attemptsTotal: deps.metrics.counter('vigil_webhook_attempts_total', 'Webhook delivery attempts by outcome'),
        disable: (reason) => this.disable(endpoint.id, reason),
      },
      endpoint,
      secret,
      fresh,
      { expireCreatedBeforeMs },
    );
    this.workers.set(endpoint.id, worker);
  }

  private async stopWorker(id: string): Promise<void> {
    const worker = this.workers.get(id);
    this.workers.delete(id);
    await worker?.stop();
  }

  /**
   * Called from inside the endpoint's own worker: records the endpoint as disabled and raises the operator alert
   * (an error log line and `vigil_webhook_endpoints_disabled`). The worker is stopped afterwards, not awaited
   * here — it is waiting for this call to return.
   */
  private async disable(id: string, reason: 'gone' | 'failing'): Promise<void> {
    const endpoint = this.store.get(id);
    if (endpoint === undefined || endpoint.status === 'disabled') return;
    await this.store.put(disabled(endpoint, reason, this.deps.clock.nowMs()));
    this.refreshWanted();
    this.deps.logger.error('webhook endpoint disabled', {
      endpointId: id,
      url: endpoint.url,
      reason,
      consecutiveFailures: this.attempts.consecutiveFailures(id),
    });
    const worker = this.workers.get(id);
    this.workers.delete(id);
    if (worker !== undefined) {
      const stop = worker.stop().catch((error: unknown) =>
        this.deps.logger.error('stopping a disabled endpoint worker failed', {
          endpointId: id,
          error: describeError(error),
        }),
      );
      this.stopping.add(stop);
      void stop.finally(() => this.stopping.delete(stop));
    }
  }

  /** Outbox events whose createdAt lies in [fromMs, toMs], per partition in offset order. */
  private async eventsBetween(fromMs: number, toMs: number): Promise<BusRecord[]> {
    const { outbox } = this.deps;
    const found: BusRecord[] = [];
    const ends = await outbox.endOffsets(OutboxTopics.webhookEvents);
    for (const [partition, end] of ends.entries()) {
      // An event is appended after it happened, so nothing created at or after fromMs has an earlier append time.
      let offset = await firstOffsetAppendedAtOrAfter(outbox, partition, end, fromMs);
      scan: while (offset < end) {
        const records = await outbox.read(OutboxTopics.webhookEvents, partition, offset, Math.min(1000, end - offset));
        if (records.length === 0) break;
        for (const record of records) {
          if (record.timestampMs > toMs + REPLAY_APPEND_LAG_MS) break scan;
          const createdAtMs = Number(record.headers[EventHeaders.createdAtMs]);
          if (createdAtMs >= fromMs && createdAtMs <= toMs) found.push(record);
        }
        offset = records[records.length - 1]!.offset + 1;
        if (found.length > this.options.maxReplayEvents) break;
      }
    }
    return found;
  }

  /**
   * Event types written to the outbox: those of every endpoint, disabled ones included, so that an endpoint
   * re-enabled later finds the events it missed behind its cursor.
   */
  private refreshWanted(): void {
    this.wanted = new Set(this.store.list().flatMap((e) => e.events));
  }

  private registerMetrics(): void {
    const { metrics } = this.deps;
    metrics.gauge(
      'vigil_webhook_endpoints_disabled',
      'Webhook endpoints disabled (410 Gone or too many failures in a row): an operator must look',
      () => this.store.list().filter((e) => e.status === 'disabled').length,
    );
    metrics.gauge('vigil_webhook_endpoints_enabled', 'Webhook endpoints receiving deliveries', () => this.workers.size);
    metrics.gauge('vigil_webhook_pending_events', 'Outbox events not yet delivered, over all enabled endpoints', () =>
      [...this.workers.values()].reduce((sum, w) => sum + w.lag(), 0),
    );
  }

  private require(id: string): EndpointRecord {
    const endpoint = this.store.get(id);
    if (endpoint === undefined) throw new VigilError('WEBHOOK_NOT_FOUND', `no webhook endpoint ${id}`);
    return endpoint;
  }

  private assertOpen(): void {
    if (this.closed) throw new VigilError('NOTIFIER_CLOSED', 'the notifier is shutting down');
  }
}

/** Binary search over append times, which a single producer writes in non-decreasing order per partition. */
async function firstOffsetAppendedAtOrAfter(
  outbox: Bus,
  partition: number,
  end: number,
  atMs: number,
): Promise<number> {
  let low = 0;
  let high = end;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    const [record] = await outbox.read(OutboxTopics.webhookEvents, partition, middle, 1);
    if (record === undefined || record.timestampMs >= atMs) high = middle;
    else low = middle + 1;
  }
  return low;
}
