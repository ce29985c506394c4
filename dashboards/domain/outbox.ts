import type { LiveDroppedMessage } from '../../schemas/api.js';
/**
 * The per-client send policy of the live alert stream, kept pure so it can be specified on plain data.
 *
 * Messages are UTF-8 bytes, encoded once by the hub and shared by every client's queue and socket buffer, so
 * the bytes counted here are the bytes held. The socket's own buffer (`ws.bufferedAmount`) is only written to
 * while it is under `highWaterBytes`; above that, alerts wait here, in a queue of at most `capacity` messages
 * and `maxQueuedBytes` bytes (a count alone is no memory bound: an alert's size is not bounded by its schema).
 * When the queue is over either limit the OLDEST alerts are dropped (analysts care most about what is
 * happening now; the history is on `GET /v1/alerts`) and counted; the newest alert is always kept, so a
 * single alert larger than the byte budget still reaches a client that keeps up. Once the client drains
 * below the mark it first gets `{type:'dropped', count}`, then the queue. Stats are a snapshot, so only the
 * latest one is kept. A client that stays above the mark for `stallLimitMs` is told to be terminated.
 * The server memory held for one client is therefore bounded by `heldBytesBound` (socket buffer + queue +
 * stats snapshot).
 */
export interface OutboxPolicy {
  /** Most alerts held for a client while its socket buffer is above the mark. */
  readonly capacity: number;
  /** Socket buffer size (bytes) above which nothing more is written to the socket. */
  readonly highWaterBytes: number;
  /**
   * Most bytes of alerts held for a client while its socket buffer is above the mark; defaults to
   * `highWaterBytes` (the queue may hold as much as the socket buffer may).
   */
  readonly maxQueuedBytes?: number;
  /** How long (ms) a client may stay above the mark before it is terminated. */
  readonly stallLimitMs: number;
}

/** The largest WebSocket frame header a server writes (RFC 6455 §5.2: 2 + 8 length bytes, never masked). */
export const MAX_SERVER_FRAME_HEADER_BYTES = 10;

/** The queue's byte budget under `policy` (its `maxQueuedBytes`, else `highWaterBytes`). */
export function queueBudgetBytes(policy: OutboxPolicy): number {
  return policy.maxQueuedBytes ?? policy.highWaterBytes;
}

/**
 * The most bytes the server holds for one client under `policy` when no message (alert, notice or stats) is
 * larger than `largestMessageBytes`: the socket buffer (written only while under the mark, so at most the
 * mark plus one frame), the queue (its budget, or one message when a single one is larger) and one stats
 * snapshot.
 */
export function heldBytesBound(policy: OutboxPolicy, largestMessageBytes: number): number {
  const frame = largestMessageBytes + MAX_SERVER_FRAME_HEADER_BYTES;
  return policy.highWaterBytes + frame + Math.max(queueBudgetBytes(policy), largestMessageBytes) + largestMessageBytes;
}

export type OutboxStep =
  /** `alert` is true for queued alerts, false for the dropped notice and stats. */
  | { readonly kind: 'send'; readonly message: Uint8Array; readonly alert: boolean }
  /** Nothing to send right now (queue empty, or the socket is congested but not yet for too long). */
  | { readonly kind: 'idle' }
  | { readonly kind: 'terminate'; readonly congestedForMs: number };

export interface OutboxCounters {
  readonly queued: number;
  /** Bytes of the queued alerts. */
  readonly queuedBytes: number;
  /** Bytes waiting here for the socket: queued alerts plus the pending stats snapshot. */
  readonly heldBytes: number;
  /** The most messages the queue ever held; never above `capacity`. */
  readonly maxQueued: number;
  /** The most bytes the queue ever held; never above the byte budget (or one message, when larger). */
  readonly maxQueuedBytes: number;
  /** Every message handed to the socket: alerts, dropped notices and stats. */
  readonly sent: number;
  /** Alerts handed to the socket. */
  readonly alertsSent: number;
  /** Alerts dropped; `alertsSent + dropped + queued` is every alert enqueued. */
  readonly dropped: number;
  readonly congested: boolean;
}

const utf8 = new TextEncoder();

export class ClientOutbox {
  private readonly queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private latestStats: Uint8Array | undefined;
  private droppedSinceNotice = 0;
  private congestedSinceMs: number | undefined;
  private counters = { maxQueued: 0, maxQueuedBytes: 0, sent: 0, alertsSent: 0, dropped: 0 };
  private readonly budgetBytes: number;

  /** Throws RangeError unless capacity and the byte limits are positive integers. */
  constructor(readonly policy: OutboxPolicy) {
    if (!Number.isSafeInteger(policy.capacity) || policy.capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${policy.capacity}`);
    this.budgetBytes = queueBudgetBytes(policy);
    if (!Number.isSafeInteger(this.budgetBytes) || this.budgetBytes < 1)
      throw new RangeError(`maxQueuedBytes must be a positive integer, got ${this.budgetBytes}`);
  }

  /** Queues an alert message; returns how many older messages were dropped to make room. */
  enqueue(message: Uint8Array): number {
    this.queue.push(message);
    this.queuedBytes += message.byteLength;
    let dropped = 0;
    while (this.queue.length > this.policy.capacity || (this.queuedBytes > this.budgetBytes && this.queue.length > 1)) {
      this.queuedBytes -= this.queue.shift()!.byteLength;
      dropped += 1;
    }
    this.droppedSinceNotice += dropped;
    this.counters.dropped += dropped;
    this.counters.maxQueued = Math.max(this.counters.maxQueued, this.queue.length);
    this.counters.maxQueuedBytes = Math.max(this.counters.maxQueuedBytes, this.queuedBytes);
    return dropped;
  }

  /**
   * True when an alert of `byteLength` bytes can be queued without dropping an older one. A replay (which must
   * not lose what it replays) queues only while this holds and waits for the client to drain otherwise.
   */
  hasRoomFor(byteLength: number): boolean {
    return (
      this.queue.length < this.policy.capacity &&
      (this.queue.length === 0 || this.queuedBytes + byteLength <= this.budgetBytes)
    );
  }

  /** Replaces any unsent stats snapshot with this newer one. */
  offerStats(message: Uint8Array): void {
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
    let message: Uint8Array | undefined;
    let alert = false;
    if (this.droppedSinceNotice > 0) {
      message = utf8.encode(
        JSON.stringify({ type: 'dropped', count: this.droppedSinceNotice } satisfies LiveDroppedMessage),
      );
      this.droppedSinceNotice = 0;
    } else if (this.queue.length > 0) {
      message = this.queue.shift()!;
      this.queuedBytes -= message.byteLength;
      alert = true;
      this.counters.alertsSent += 1;
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
    return {
      ...this.counters,
      queued: this.queue.length,
      queuedBytes: this.queuedBytes,
      heldBytes: this.queuedBytes + (this.latestStats?.byteLength ?? 0),
      congested: this.congestedSinceMs !== undefined,
    };
  }
}
