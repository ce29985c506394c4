/**
 * One member of a Kafka consumer group behind the `Subscription` port. kafkajs fetches; `eachBatch` cuts what it
 * fetched into handler batches of at most `maxBatchRecords` and hands them over one at a time. Offsets move only
 * after the handler resolved: the batch is resolved in kafkajs (so the next fetch starts after it) and, in
 * 'after-batch' mode, committed before the next batch starts. A rejected batch is redelivered unchanged after an
 * exponential backoff, heartbeating meanwhile; if the group rebalances or the subscription closes first, the
 * batch stays unresolved and uncommitted, so whoever owns the partition next fetches it again (at-least-once).
 * kafkajs heartbeats only between `eachBatch` calls and when asked to, so while one handler call is in flight this
 * member heartbeats every `inFlightHeartbeatMs`; without that, a call longer than the session timeout gets the
 * member evicted and its partitions handed to another member while the call still runs. If such a heartbeat
 * finds the group rebalancing, the batch is not resolved or committed even when the handler then resolves.
 */
import type { Consumer, ConsumerEvents, EachBatchPayload, KafkaMessage } from 'kafkajs';
import { RedeliveryBackoff } from '../backoff.js';
import {
  type BatchHandler,
  type BusRecord,
  type CommitMode,
  type DeadLetterSink,
  type RecordBatch,
  type RecordPosition,
  type Subscription,
  type SubscriptionProgress,
  batchPrefixLength,
} from '../bus.js';
import { BusErrorCode } from '../error-codes.js';
import { describeError, ErrorCategory, UnavailableError, VigilError } from '../errors.js';
import type { Logger } from '../logger.js';
import { PoisonIsolation, deliverUntilHandled } from '../redelivery.js';
import { KafkaBusErrorCode, toVigilError } from './errors.js';

export interface KafkaSubscriptionOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly commitMode: CommitMode;
  readonly maxBatchRecords: number;
  readonly maxBatchBytes: number;
  readonly deadLetter?: DeadLetterSink;
  readonly redeliveryInitialBackoffMs: number;
  readonly redeliveryMaxBackoffMs: number;
  /**
   * How often to heartbeat while a handler call is in flight; must be below the session timeout. 0 turns it off
   * (only for tests that show what happens without it).
   */
  readonly inFlightHeartbeatMs: number;
}

/** kafkajs error types with which a heartbeat says this member's generation is over. */
const GROUP_MOVED_ON = new Set([
  'REBALANCE_IN_PROGRESS',
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'FENCED_INSTANCE_ID',
]);

function meansGroupMovedOn(error: unknown): error is Error {
  return error instanceof Error && GROUP_MOVED_ON.has(String((error as { type?: unknown }).type));
}

type State = 'starting' | 'running' | 'closing' | 'closed';

const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class KafkaSubscription implements Subscription {
  private state: State = 'starting';
  /** Next offset to hand to the handler, per assigned topic-partition that has seen a handled batch. */
  private readonly nextOffsets = new Map<string, RecordPosition>();
  private readonly backoff: RedeliveryBackoff;
  private readonly isolation = new PoisonIsolation();
  private handledRecords = 0;
  /** Per owned partition, the next offset to handle and the broker's high watermark, as of the last fetch. */
  private readonly fetchedUpTo = new Map<string, { next: number; highWatermark: number }>();
  private closed: Promise<void> | null = null;
  /** The in-flight heartbeat timer; cleared when the handler call settles and at close, whichever comes first. */
  private inFlightHeartbeat: NodeJS.Timeout | undefined;
  private readonly logger: Logger;

  constructor(
    private readonly consumer: Consumer,
    readonly options: KafkaSubscriptionOptions,
    private readonly handler: BatchHandler,
    logger: Logger,
    private readonly released: (subscription: KafkaSubscription) => void,
  ) {
    this.logger = logger.child({ groupId: options.groupId });
    this.backoff = new RedeliveryBackoff(options.redeliveryInitialBackoffMs, options.redeliveryMaxBackoffMs);
    // Forget positions of partitions this member lost in a rebalance: committing them would overwrite what the
    // new owner commits (the classic group protocol does not check partition ownership on OffsetCommit).
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const assigned = new Set(
        Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) =>
          partitions.map((p) => partitionKey(topic, p)),
        ),
      );
      for (const key of [...this.nextOffsets.keys()]) if (!assigned.has(key)) this.nextOffsets.delete(key);
      for (const key of [...this.fetchedUpTo.keys()]) if (!assigned.has(key)) this.fetchedUpTo.delete(key);
      this.logger.info('kafka: joined group', { memberId: payload.memberId, assignment: payload.memberAssignment });
    });
  }

  /**
   * Subscribes and joins the group. Resolves once the member has joined and, for `startFrom: 'latest'`, has
   * resolved its start offsets (so a record sent after this resolves is delivered). Rejects with a retriable
   * KAFKA_UNAVAILABLE if that takes longer than `timeoutMs` (kafkajs itself keeps retrying in the background
   * until `close()`).
   */
  async start(startFrom: 'earliest' | 'latest', timeoutMs: number): Promise<void> {
    const { events } = this.consumer;
    const joined = this.nextEvent(events.GROUP_JOIN);
    const firstFetch = this.nextEvent(events.FETCH);
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...this.options.topics], fromBeginning: startFrom === 'earliest' });
    // run() also resolves when the first join failed (kafkajs then restarts the consumer later); wait for the join.
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.onBatch(payload),
    });
    // kafkajs resolves 'latest' lazily, inside the first fetch; wait for it so nothing sent afterwards is skipped.
    const ready = startFrom === 'latest' ? Promise.all([joined, firstFetch]) : joined;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ready,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new UnavailableError(
                  KafkaBusErrorCode.unavailable,
                  `group ${this.options.groupId}: not joined within ${timeoutMs} ms`,
                ),
              ),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    this.state = 'running';
  }

  private nextEvent(event: ConsumerEvents[keyof ConsumerEvents]): Promise<void> {
    return new Promise<void>((resolve) => {
      const remove = this.consumer.on(event, () => {
        remove();
        resolve();
      });
    });
  }

  progress(): SubscriptionProgress {
    let lag = 0;
    for (const { next, highWatermark } of this.fetchedUpTo.values()) lag += Math.max(0, highWatermark - next);
    return { lag, handledRecords: this.handledRecords };
  }

  positions(): readonly RecordPosition[] {
    return Object.freeze(
      [...this.nextOffsets.values()].sort((a, b) =>
        a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
      ),
    );
  }

  /** Commits `positions()` for the partitions this member owns. Rejects with SUBSCRIPTION_CLOSED after close. */
  async commit(): Promise<void> {
    if (this.stopping()) {
      throw new VigilError(
        BusErrorCode.subscriptionClosed,
        `subscription of group "${this.options.groupId}" is closed`,
        {
          category: ErrorCategory.invalidInput,
        },
      );
    }
    const positions = this.positions();
    if (positions.length === 0) return;
    try {
      await this.consumer.commitOffsets(
        positions.map(({ topic, partition, offset }) => ({ topic, partition, offset: String(offset) })),
      );
    } catch (error) {
      throw toVigilError(error, 'committing offsets', { groupId: this.options.groupId });
    }
  }

  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.state = 'closing';
    this.backoff.cancel();
    clearInterval(this.inFlightHeartbeat);
    try {
      // Stops fetching, waits for the batch in flight (its after-batch commit included) and leaves the group.
      await this.consumer.disconnect();
    } catch (error) {
      throw toVigilError(error, 'closing the consumer', { groupId: this.options.groupId });
    } finally {
      this.state = 'closed';
      this.released(this);
    }
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { topic, partition, messages } = payload.batch;
    const stillOwned = (): boolean => payload.isRunning() && !payload.isStale();
    const heartbeat = (): Promise<void> => payload.heartbeat();
    const all = messages.map((message) => toBusRecord(topic, partition, message));
    const key = partitionKey(topic, partition);
    const highWatermark = Number(payload.batch.highWatermark);
    if (all.length > 0) this.fetchedUpTo.set(key, { next: all[0]!.offset, highWatermark });
    for (let from = 0; from < all.length;) {
      if (!stillOwned() || this.stopping()) return;
      const length = batchPrefixLength(all, this.options.maxBatchRecords, this.options.maxBatchBytes, from);
      const records = all.slice(from, from + length);
      from += length;
      const handled = await this.deliverHeartbeating({ topic, partition, records }, heartbeat, stillOwned);
      if (!handled) return;
      const next = records[records.length - 1]!.offset + 1;
      payload.resolveOffset(String(next - 1));
      this.handledRecords += records.length;
      this.fetchedUpTo.set(key, { next, highWatermark });
      this.nextOffsets.set(key, Object.freeze({ topic, partition, offset: next }));
      if (this.options.commitMode === 'after-batch') {
        try {
          await payload.commitOffsetsIfNecessary({
            topics: [{ topic, partitions: [{ partition, offset: String(next) }] }],
          });
        } catch (error) {
          // Handled but not committed: after the rebalance the batch may be handled again (at-least-once).
          this.logger.warn('kafka: offset commit failed; the batch may be redelivered', {
            topic,
            partition,
            offset: next,
            error: describeError(error),
          });
          throw error;
        }
      }
      await heartbeat();
    }
  }

  /**
   * `deliver` with a heartbeat every `inFlightHeartbeatMs` while it runs. Resolves false, so the batch is neither
   * resolved nor committed, if a heartbeat found that the group moved on: the partition may belong to another
   * member by now, and the new owner handles the batch again from the last committed offset. The heartbeat's
   * error is then rethrown to kafkajs, which rejoins the group.
   */
  private async deliverHeartbeating(
    batch: RecordBatch,
    heartbeat: () => Promise<void>,
    stillOwned: () => boolean,
  ): Promise<boolean> {
    const periodMs = this.options.inFlightHeartbeatMs;
    if (periodMs === 0) return this.deliver(batch, heartbeat, stillOwned);
    // Fields of an object rather than locals: they change inside callbacks, which local narrowing cannot see.
    const inFlight: { beat: Promise<void> | null; groupMovedOn: Error | null } = { beat: null, groupMovedOn: null };
    this.inFlightHeartbeat = setInterval(() => {
      if (inFlight.beat !== null || inFlight.groupMovedOn !== null) return;
      inFlight.beat = heartbeat()
        .catch((error: unknown) => {
          if (meansGroupMovedOn(error)) inFlight.groupMovedOn = error;
          // Anything else (a broker hiccup) is kafkajs's to retry on its next heartbeat or fetch.
          else this.logger.warn('kafka: heartbeat during a handler call failed', { error: describeError(error) });
        })
        .finally(() => (inFlight.beat = null));
    }, periodMs);
    const owned = (): boolean => inFlight.groupMovedOn === null && stillOwned();
    try {
      const handled = await this.deliver(batch, heartbeat, owned);
      // Only the heartbeat's verdict counts here, as without it: a closing member still commits what it handled.
      if (handled && inFlight.groupMovedOn === null) return true;
    } finally {
      clearInterval(this.inFlightHeartbeat);
      this.inFlightHeartbeat = undefined;
      await inFlight.beat;
    }
    if (inFlight.groupMovedOn !== null) {
      this.logger.warn('kafka: group rebalanced during a handler call; the batch is left uncommitted', {
        topic: batch.topic,
        partition: batch.partition,
        records: batch.records.length,
      });
      throw inFlight.groupMovedOn;
    }
    return false;
  }

  /**
   * Hands `batch` to the handler until it resolves (true), or until this member may no longer process the
   * partition (false): the subscription closes or the group rebalances.
   */
  private deliver(batch: RecordBatch, heartbeat: () => Promise<void>, stillOwned: () => boolean): Promise<boolean> {
    return deliverUntilHandled(batch, this.handler, {
      backoff: this.backoff,
      logger: this.logger,
      mayRetry: () => !this.stopping() && stillOwned(),
      // Keeps the membership alive through long retries; throws (to kafkajs, which rejoins) if the group rebalanced.
      beforeRetry: heartbeat,
      isolation: this.isolation,
      ...(this.options.deadLetter === undefined ? {} : { deadLetter: this.options.deadLetter }),
    });
  }

  private stopping(): boolean {
    return this.state === 'closing' || this.state === 'closed';
  }
}

export function toBusRecord(topic: string, partition: number, message: KafkaMessage): BusRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value === undefined) continue;
    // Vigil writes one UTF-8 value per header name; a repeated name keeps the last value.
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) headers[name] = Buffer.isBuffer(last) ? last.toString('utf8') : String(last);
  }
  return Object.freeze({
    topic,
    partition,
    offset: Number(message.offset),
    key: message.key === null ? null : message.key.toString('utf8'),
    value: message.value ?? Buffer.alloc(0),
    headers: Object.freeze(headers),
    timestampMs: Number(message.timestamp),
  });
}
