import { setTimeout as sleep } from 'node:timers/promises';
import type { Bus, BusRecord, RecordBatch, Subscription } from '../../platform/bus.js';
import type { Clock } from '../../platform/clock.js';
import { ErrorCategory, VigilError, describeError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { Counter } from '../../platform/metrics.js';
import { OutboxTopics } from '../../schemas/topics.js';
import { type DeliveryOutcome, WebhookHeaders, type WebhookEventType } from '../../schemas/webhooks.js';
import { type AttemptResult, type RetryPolicy, nextStep, outcomeOf } from '../domain/delivery-policy.js';
import type { EndpointRecord } from '../domain/endpoints.js';
import type { WebhookTransport } from '../ports.js';
import type { AttemptLog } from './attempt-log.js';
import { EventHeaders } from './fan-out.js';
import { signatureHeader } from './signing.js';

export interface EndpointWorkerDeps {
  readonly outbox: Bus;
  readonly transport: WebhookTransport;
  readonly attempts: AttemptLog;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policy: RetryPolicy;
  /** Accounts (keys) delivered to at once; each key's events stay in order. */
  readonly concurrency: number;
  /** In [0, 1), for backoff jitter. */
  readonly random: () => number;
  readonly attemptsTotal: Counter;
  /**
   * Called once when a receiver's answers mean the endpoint must stop (410 Gone, or too many failures in a row):
   * records the endpoint as disabled. The worker stops delivering by itself; the caller closes it afterwards.
   */
  readonly disable: (reason: 'gone' | 'failing') => Promise<void>;
}

/** Thrown inside the worker when it must stop delivering (closing, or the endpoint was disabled). */
class WorkerStopped extends VigilError {
  constructor(endpointId: string) {
    super('NOTIFIER_CLOSED', `deliveries to endpoint ${endpointId} stopped`, {
      category: ErrorCategory.unavailable,
      retriable: true,
    });
  }
}

/** The consumer group that holds an endpoint's delivery cursor on `webhook.events`. */
export function endpointGroupId(endpointId: string): string {
  return `webhook-endpoint-${endpointId}`;
}

/**
 * Delivers `webhook.events` to one endpoint: its own consumer group on the outbox, so its cursor is committed
 * only past events that were delivered (or given up after the retry period) — a `kill -9` re-sends at most the
 * batch in flight, with the same event ids. Within a batch, events of different accounts go out concurrently
 * and each account's events strictly in order; an event being retried holds back the later events of its
 * account (and the next batch), which is what "in order per endpoint and key" costs.
 */
export class EndpointWorker {
  private readonly abort = new AbortController();
  private readonly replays = new Set<Promise<void>>();
  private stopped: Promise<void> | undefined;
  private expireCreatedBeforeMs = Number.NEGATIVE_INFINITY;

  private constructor(
    private readonly deps: EndpointWorkerDeps,
    private readonly endpoint: EndpointRecord,
    private readonly secret: string,
    private subscription: Subscription | undefined,
  ) {}

  /**
   * Starts delivering. A `fresh` endpoint starts at the current end of the outbox and commits that position
   * before this resolves, so events written after registration are never skipped, even across a crash. Events
   * created before `expireCreatedBeforeMs` (a re-enabled endpoint's backlog older than the retry period) are
   * recorded `expired` without an attempt; replay can still send them.
   */
  static async start(
    deps: EndpointWorkerDeps,
    endpoint: EndpointRecord,
    secret: string,
    fresh: boolean,
    options: { readonly expireCreatedBeforeMs?: number } = {},
  ): Promise<EndpointWorker> {
    const worker = new EndpointWorker(deps, endpoint, secret, undefined);
    worker.expireCreatedBeforeMs = options.expireCreatedBeforeMs ?? Number.NEGATIVE_INFINITY;
    const subscription = await deps.outbox.subscribe(
      { groupId: endpointGroupId(endpoint.id), topics: [OutboxTopics.webhookEvents], startFrom: 'latest' },
      (batch) => worker.deliverBatch(batch),
    );
    worker.subscription = subscription;
    if (fresh) await subscription.commit();
    return worker;
  }

  /** Events behind this endpoint's cursor, for the lag metric. */
  lag(): number {
    return this.subscription?.progress().lag ?? 0;
  }

  /**
   * Re-sends `records` (already selected by the caller) in the background, each account in order, with the
   * same retries; attempts are marked `replay`. Resolves when the replay has been started.
   */
  replay(records: readonly BusRecord[]): void {
    const run = this.deliverInLanes(records, true).catch((error: unknown) => {
      if (!(error instanceof WorkerStopped))
        this.deps.logger.error('webhook replay failed', { endpointId: this.endpoint.id, error: describeError(error) });
    });
    this.replays.add(run);
    void run.finally(() => this.replays.delete(run));
  }

  /** Stops delivering: pending waits end now, the batch in flight is left uncommitted (re-sent after restart). */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.abort.abort();
      await this.subscription?.close();
      await Promise.all([...this.replays]);
    })();
    return this.stopped;
  }

  private async deliverBatch(batch: RecordBatch): Promise<void> {
    const wanted = new Set<string>(this.endpoint.events);
    await this.deliverInLanes(
      batch.records.filter((record) => wanted.has(record.headers[EventHeaders.type] ?? '')),
      false,
    );
  }

  private async deliverInLanes(records: readonly BusRecord[], replay: boolean): Promise<void> {
    const lanes = new Map<string, BusRecord[]>();
    for (const record of records) {
      const key = record.key ?? '';
      let lane = lanes.get(key);
      if (lane === undefined) lanes.set(key, (lane = []));
      lane.push(record);
    }
    const queue = [...lanes.values()];
    const runLanes = async (): Promise<void> => {
      for (let lane = queue.shift(); lane !== undefined; lane = queue.shift())
        for (const record of lane) await this.deliverOne(record, replay);
    };
    const runners = Array.from({ length: Math.min(this.deps.concurrency, queue.length) }, runLanes);
    const results = await Promise.allSettled(runners);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  }

  /** Sends one event until it is delivered or given up; throws WorkerStopped when the worker must stop. */
  private async deliverOne(record: BusRecord, replay: boolean): Promise<void> {
    const { clock, policy, attempts, transport } = this.deps;
    const signal = this.abort.signal;
    const eventId = record.headers[EventHeaders.id] ?? '';
    const eventType = (record.headers[EventHeaders.type] ?? '') as WebhookEventType;
    const firstAttemptAtMs = clock.nowMs();
    if (!replay && Number(record.headers[EventHeaders.createdAtMs]) < this.expireCreatedBeforeMs) {
      const stale: AttemptResult = {
        kind: 'error',
        message: 'older than the retry period when the endpoint was re-enabled',
      };
      await this.record(eventId, eventType, 0, 'expired', stale, firstAttemptAtMs, firstAttemptAtMs, replay);
      return;
    }
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw new WorkerStopped(this.endpoint.id);
      const startedAtMs = clock.nowMs();
      let result: AttemptResult;
      try {
        const response = await transport.send(
          {
            url: this.endpoint.url,
            body: record.value,
            headers: {
              [WebhookHeaders.signature]: signatureHeader(this.secret, Math.floor(startedAtMs / 1000), record.value),
              [WebhookHeaders.eventId]: eventId,
              [WebhookHeaders.eventType]: eventType,
              [WebhookHeaders.attempt]: String(attempt),
            },
          },
          signal,
        );
        result = { kind: 'response', status: response.status };
      } catch (error) {
        if (signal.aborted) throw new WorkerStopped(this.endpoint.id);
        result = { kind: 'error', message: error instanceof Error ? error.message : String(error) };
      }
      const outcome = outcomeOf(result);
      const nowMs = clock.nowMs();
      await this.record(eventId, eventType, attempt, outcome, result, startedAtMs, nowMs, replay);
      const step = nextStep(
        policy,
        outcome,
        attempt,
        firstAttemptAtMs,
        nowMs,
        // A replay's failures neither count towards disabling nor are disabled by the live run's count.
        replay ? 0 : attempts.consecutiveFailures(this.endpoint.id),
        this.deps.random(),
      );
      switch (step.kind) {
        case 'done':
          return;
        case 'give-up':
          await this.record(eventId, eventType, attempt, 'expired', result, nowMs, nowMs, replay);
          this.deps.logger.warn('webhook event given up after the retry period', {
            endpointId: this.endpoint.id,
            eventId,
            attempts: attempt,
          });
          return;
        case 'disable':
          this.abort.abort();
          await this.deps.disable(step.reason);
          throw new WorkerStopped(this.endpoint.id);
        case 'retry':
          try {
            await sleep(step.afterMs, undefined, { signal });
          } catch {
            throw new WorkerStopped(this.endpoint.id);
          }
      }
    }
  }

  private async record(
    eventId: string,
    eventType: WebhookEventType,
    attempt: number,
    outcome: DeliveryOutcome,
    result: AttemptResult,
    startedAtMs: number,
    endedAtMs: number,
    replay: boolean,
  ): Promise<void> {
    this.deps.attemptsTotal.inc({ outcome });
    await this.deps.attempts.record(this.endpoint.id, {
      eventId,
      eventType,
      attempt,
      outcome,
      status: result.kind === 'response' ? result.status : null,
      error:
        result.kind === 'error'
          ? result.message
          : outcome === 'delivered'
            ? null
            : `receiver answered ${result.status}`,
      attemptedAt: new Date(startedAtMs).toISOString(),
      durationMs: endedAtMs - startedAtMs,
      replay,
    });
  }
}
