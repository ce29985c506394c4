/**
 * The one member of a consumer group in this process. A single fetch loop hands the handler one batch at a
 * time, round-robin over the subscribed partitions that have unread records, and sleeps on an in-process
 * wake-up (no polling) when none has. A rejected batch is redelivered unchanged after an exponential backoff
 * until it succeeds or the subscription closes; positions only advance past a batch once its handler resolved.
 *
 * With `lingerMs`, once a record is ready the loop waits that long for more (cut short when a full batch is
 * ready, or on close); with `acrossPartitions`, one batch takes what is ready on every partition of the topic, up
 * to the batch bounds. Together they turn a trickle of one-record batches on eight partitions into a few larger
 * ones, for a consumer whose cost is per batch.
 */
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
  recordBytes,
} from '../bus.js';
import { BusErrorCode } from '../error-codes.js';
import { describeError, ErrorCategory, VigilError } from '../errors.js';
import type { Logger } from '../logger.js';
import { PoisonIsolation, deliverUntilHandled } from '../redelivery.js';
import type { PartitionLog } from './partition-log.js';

/** What a subscription needs from the log that owns it. */
export interface SubscriptionHost {
  readonly logger: Logger;
  readonly redeliveryInitialBackoffMs: number;
  readonly redeliveryMaxBackoffMs: number;
  commitOffsets(groupId: string, positions: readonly RecordPosition[]): Promise<void>;
  /** Called once the subscription has closed; the group may be joined again. */
  released(subscription: GroupSubscription): void;
}

/** One subscribed partition and the next offset to hand to the handler. */
export interface PartitionCursor {
  readonly log: PartitionLog;
  next: number;
}

export interface GroupSubscriptionOptions {
  readonly groupId: string;
  readonly commitMode: CommitMode;
  readonly maxBatchRecords: number;
  readonly maxBatchBytes: number;
  readonly lingerMs: number;
  readonly acrossPartitions: boolean;
  readonly deadLetter?: DeadLetterSink;
}

/** What one batch took from one partition: the cursor moves past `lastOffset` once the batch is handled. */
interface TakenFrom {
  readonly cursor: PartitionCursor;
  readonly lastOffset: number;
}

type State = 'running' | 'closing' | 'closed';

export class GroupSubscription implements Subscription {
  private state: State = 'running';
  private roundRobin = 0;
  private wakeUp: (() => void) | null = null;
  /** Set while lingering: ends the linger early if a full batch is ready or the subscription closes. */
  private lingerCheck: (() => void) | null = null;
  /** When records were first appended since the last read began: a linger counts from then, not from when the loop looks. */
  private appendedSinceMs: number | null = null;
  private readonly backoff: RedeliveryBackoff;
  private readonly isolation = new PoisonIsolation();
  private handledRecords = 0;
  private readonly loop: Promise<void>;
  private closed: Promise<void> | null = null;
  private commitRunning: Promise<void> | null = null;
  private commitWanted = false;
  /** Batches handled since the positions were last handed to a commit. */
  private uncommittedProgress = false;
  private readonly logger: Logger;

  constructor(
    private readonly host: SubscriptionHost,
    readonly options: GroupSubscriptionOptions,
    private readonly handler: BatchHandler,
    private readonly cursors: readonly PartitionCursor[],
  ) {
    this.logger = host.logger.child({ groupId: options.groupId });
    this.backoff = new RedeliveryBackoff(host.redeliveryInitialBackoffMs, host.redeliveryMaxBackoffMs);
    this.loop = this.run();
  }

  get groupId(): string {
    return this.options.groupId;
  }

  /** Tells an idle fetch loop that records were appended. Cheap; called after every group commit. */
  notifyAppended(): void {
    this.appendedSinceMs ??= Date.now();
    const wakeUp = this.wakeUp;
    this.wakeUp = null;
    wakeUp?.();
    this.lingerCheck?.();
  }

  progress(): SubscriptionProgress {
    let lag = 0;
    for (const { log, next } of this.cursors) lag += Math.max(0, log.endOffset - next);
    return { lag, handledRecords: this.handledRecords };
  }

  positions(): readonly RecordPosition[] {
    return Object.freeze(
      this.cursors.map(({ log, next }) => Object.freeze({ topic: log.topic, partition: log.partition, offset: next })),
    );
  }

  /** Durably commits `positions()`. Rejects with SUBSCRIPTION_CLOSED after close, or LOG_IO_FAILED. */
  commit(): Promise<void> {
    if (this.state === 'closed') {
      return Promise.reject(
        new VigilError(BusErrorCode.subscriptionClosed, `subscription of group "${this.groupId}" is closed`, {
          category: ErrorCategory.invalidInput,
        }),
      );
    }
    return this.requestCommit();
  }

  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.state = 'closing';
    this.notifyAppended();
    this.backoff.cancel();
    await this.loop;
    try {
      if (this.options.commitMode === 'after-batch' && (this.uncommittedProgress || this.commitRunning !== null))
        await this.requestCommit();
      else await this.commitRunning;
    } finally {
      this.state = 'closed';
      this.host.released(this);
    }
  }

  private async run(): Promise<void> {
    let readFailures = 0;
    while (this.state === 'running') {
      const first = this.nextReadyCursor();
      if (first === undefined) {
        await new Promise<void>((resolve) => (this.wakeUp = resolve));
        continue;
      }
      const batchable = this.options.acrossPartitions
        ? this.cursors.filter((c) => c.log.topic === first.log.topic)
        : [first];
      if (this.options.lingerMs > 0 && readyRecords(batchable) < this.options.maxBatchRecords) {
        await this.linger(batchable);
        if (this.state !== 'running') break;
      }
      const cursors = [first, ...batchable.filter((c) => c !== first && isReady(c))];
      let records: BusRecord[];
      let takenFrom: TakenFrom[];
      try {
        this.appendedSinceMs = null;
        ({ records, takenFrom } = await this.read(cursors));
        readFailures = 0;
      } catch (error) {
        readFailures++;
        const retryInMs = this.backoff.delayMs(readFailures);
        this.logger.error('embedded log: fetch failed; retrying', {
          topic: first.log.topic,
          partition: first.log.partition,
          offset: first.next,
          retryInMs,
          error: describeError(error),
        });
        await this.backoff.wait(retryInMs);
        continue;
      }
      if (records.length > 0)
        await this.deliver(takenFrom, { topic: first.log.topic, partition: records[0]!.partition, records });
    }
  }

  /**
   * Reads one batch from `cursors` in turn, within the batch bounds (at least one record while any is unread). What
   * does not fit is read again next time round, from the cursors, which only move past handled records. Only the
   * first cursor's read failing fails the batch: a later partition that cannot be read is left for a later batch, so
   * one bad partition does not hold up the others.
   */
  private async read(cursors: readonly PartitionCursor[]): Promise<{ records: BusRecord[]; takenFrom: TakenFrom[] }> {
    const { maxBatchRecords, maxBatchBytes } = this.options;
    const records: BusRecord[] = [];
    const takenFrom: TakenFrom[] = [];
    let bytes = 0;
    for (const cursor of cursors) {
      const roomRecords = maxBatchRecords - records.length;
      if (roomRecords <= 0 || (records.length > 0 && bytes >= maxBatchBytes)) break;
      let read: BusRecord[];
      try {
        read = await cursor.log.read(cursor.next, roomRecords);
      } catch (error) {
        if (records.length === 0) throw error;
        this.logger.error('embedded log: fetch failed; the partition waits for a later batch', {
          topic: cursor.log.topic,
          partition: cursor.log.partition,
          offset: cursor.next,
          error: describeError(error),
        });
        continue;
      }
      const room = records.length === 0 ? maxBatchBytes : maxBatchBytes - bytes;
      let take = batchPrefixLength(read, roomRecords, room);
      // Only the batch's first record may exceed the byte bound (alone); later partitions wait for the next batch.
      if (records.length > 0 && take === 1 && recordBytes(read[0]!) > room) take = 0;
      if (take === 0) continue;
      for (let i = 0; i < take; i++) {
        bytes += recordBytes(read[i]!);
        records.push(read[i]!);
      }
      takenFrom.push({ cursor, lastOffset: read[take - 1]!.offset });
    }
    return { records, takenFrom };
  }

  /**
   * Waits until `lingerMs` after records were first appended since the last read (so records that came while the
   * last batch was handled wait no longer than that), or less if `cursors` come to hold a full batch or the
   * subscription stops running.
   */
  private linger(cursors: readonly PartitionCursor[]): Promise<void> {
    const waitMs = this.options.lingerMs - (Date.now() - (this.appendedSinceMs ?? Date.now()));
    if (waitMs <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.lingerCheck = null;
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      this.lingerCheck = () => {
        if (this.state !== 'running' || readyRecords(cursors) >= this.options.maxBatchRecords) done();
      };
    });
  }

  /** Hands `batch` to the handler until it resolves, or the subscription closes; then moves the cursors past it. */
  private async deliver(takenFrom: readonly TakenFrom[], batch: RecordBatch): Promise<void> {
    const handled = await deliverUntilHandled(batch, this.handler, {
      backoff: this.backoff,
      logger: this.logger,
      mayRetry: () => this.state === 'running',
      isolation: this.isolation,
      ...(this.options.deadLetter === undefined ? {} : { deadLetter: this.options.deadLetter }),
    });
    if (!handled) return;
    for (const { cursor, lastOffset } of takenFrom) cursor.next = lastOffset + 1;
    this.handledRecords += batch.records.length;
    this.uncommittedProgress = true;
    if (this.options.commitMode === 'after-batch') {
      this.requestCommit().catch((error: unknown) =>
        this.logger.warn('embedded log: offset commit failed; the next batch or close() retries it', {
          error: describeError(error),
        }),
      );
    }
  }

  private nextReadyCursor(): PartitionCursor | undefined {
    const count = this.cursors.length;
    for (let i = 0; i < count; i++) {
      const at = (this.roundRobin + i) % count;
      const cursor = this.cursors[at]!;
      if (isReady(cursor)) {
        this.roundRobin = at + 1;
        return cursor;
      }
    }
    return undefined;
  }

  /**
   * Coalesces commits: while one write is in flight, later requests fold into a single follow-up write of the
   * newest positions. The returned promise settles after a write that includes the positions at call time.
   */
  private requestCommit(): Promise<void> {
    this.commitWanted = true;
    this.commitRunning ??= this.drainCommits();
    return this.commitRunning;
  }

  private async drainCommits(): Promise<void> {
    try {
      while (this.commitWanted) {
        this.commitWanted = false;
        this.uncommittedProgress = false;
        try {
          await this.host.commitOffsets(this.groupId, this.positions());
        } catch (error) {
          this.uncommittedProgress = true;
          throw error;
        }
      }
    } finally {
      this.commitRunning = null;
    }
  }
}

function isReady(cursor: PartitionCursor): boolean {
  return cursor.next < cursor.log.endOffset;
}

/** Records ready on `cursors` now. */
function readyRecords(cursors: readonly PartitionCursor[]): number {
  let ready = 0;
  for (const { log, next } of cursors) ready += Math.max(0, log.endOffset - next);
  return ready;
}
