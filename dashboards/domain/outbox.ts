import type { LiveDroppedMessage } from '../../schemas/api.js';
/**
 * The per-client send policy of the live alert stream, kept pure so it can be specified on plain data.
 *
 * The socket's own buffer (`ws.bufferedAmount`) is only written to while it is under `highWaterBytes`; above
 * that, alerts wait here, in a queue of at most `capacity` messages. When the queue is full the OLDEST alert
 * is dropped (analysts care most about what is happening now; the history is on `GET /v1/alerts`) and
 * counted. Once the client drains below the mark it first gets `{type:'dropped', count}`, then the queue.
 * Stats are a snapshot, so only the latest one is kept. A client that stays above the mark for
 * `stallLimitMs` is told to be terminated. Server memory per client is therefore bounded by
 * `highWaterBytes` + one message + `capacity` messages + one stats snapshot.
 */
export interface OutboxPolicy {
  /** Most alerts held for a client while its socket buffer is above the mark. */
  readonly capacity: number;
  /** Socket buffer size (bytes) above which nothing more is written to the socket. */
  readonly highWaterBytes: number;
  /** How long (ms) a client may stay above the mark before it is terminated. */
  readonly stallLimitMs: number;
}

export type OutboxStep =
  /** `alert` is true for queued alerts, false for the dropped notice and stats. */
  | { readonly kind: 'send'; readonly message: string; readonly alert: boolean }
  /** Nothing to send right now (queue empty, or the socket is congested but not yet for too long). */
  | { readonly kind: 'idle' }
  | { readonly kind: 'terminate'; readonly congestedForMs: number };

export interface OutboxCounters {
  readonly queued: number;
  /** The most messages the queue ever held; never above `capacity`. */
  readonly maxQueued: number;
  readonly sent: number;
  readonly dropped: number;
  readonly congested: boolean;
}

export class ClientOutbox {
  private readonly queue: string[] = [];
  private latestStats: string | undefined;
  private droppedSinceNotice = 0;
  private congestedSinceMs: number | undefined;
  private counters = { maxQueued: 0, sent: 0, dropped: 0 };

  constructor(readonly policy: OutboxPolicy) {
    if (!Number.isSafeInteger(policy.capacity) || policy.capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${policy.capacity}`);
  }

  /** Queues an alert message; returns how many older messages were dropped to make room (0 or 1). */
  enqueue(message: string): number {
    this.queue.push(message);
    let dropped = 0;
    if (this.queue.length > this.policy.capacity) {
      this.queue.shift();
      dropped = 1;
      this.droppedSinceNotice += 1;
      this.counters.dropped += 1;
    }
    this.counters.maxQueued = Math.max(this.counters.maxQueued, this.queue.length);
    return dropped;
  }

  /** Replaces any unsent stats snapshot with this newer one. */
  offerStats(message: string): void {
    this.latestStats = message;
  }

  /**
   * What to do next, given the socket's current buffered bytes. Call repeatedly (re-reading the buffered
   * amount after each send) until it answers 'idle' or 'terminate'.
   */
  next(bufferedBytes: number, nowMs: number): OutboxStep {
    if (bufferedBytes >= this.policy.highWaterBytes) {
      this.congestedSinceMs ??= nowMs;
      const congestedForMs = nowMs - this.congestedSinceMs;
      return congestedForMs >= this.policy.stallLimitMs ? { kind: 'terminate', congestedForMs } : { kind: 'idle' };
    }
    this.congestedSinceMs = undefined;
    let message: string | undefined;
    let alert = false;
    if (this.droppedSinceNotice > 0) {
      message = JSON.stringify({ type: 'dropped', count: this.droppedSinceNotice } satisfies LiveDroppedMessage);
      this.droppedSinceNotice = 0;
    } else if (this.queue.length > 0) {
      message = this.queue.shift();
      alert = true;
    } else if (this.latestStats !== undefined) {
      message = this.latestStats;
      this.latestStats = undefined;
    }
    if (message === undefined) return { kind: 'idle' };
    this.counters.sent += 1;
    return { kind: 'send', message, alert };
  }

  /** True while anything (alert, notice or stats) waits to be sent. */
  get hasPending(): boolean {
    return this.queue.length > 0 || this.droppedSinceNotice > 0 || this.latestStats !== undefined;
  }

  get stats(): OutboxCounters {
    return { ...this.counters, queued: this.queue.length, congested: this.congestedSinceMs !== undefined };
  }
}
