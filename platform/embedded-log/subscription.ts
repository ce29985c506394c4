/**
 * The one member of a consumer group in this process. A single fetch loop hands the handler one batch at a
 * time, round-robin over the subscribed partitions that have unread records, and sleeps on an in-process
 * wake-up (no polling) when none has. A rejected batch is redelivered unchanged after an exponential backoff
 * until it succeeds or the subscription closes; positions only advance past a batch once its handler resolved.
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
  readonly deadLetter?: DeadLetterSink;
}

type State = 'running' | 'closing' | 'closed';

export class GroupSubscription implements Subscription {
  private state: State = 'running';
  private roundRobin = 0;
  private wakeUp: (() => void) | null = null;
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
    const wakeUp = this.wakeUp;
    this.wakeUp = null;
    wakeUp?.();
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
      const cursor = this.nextReadyCursor();
      if (cursor === undefined) {
        await new Promise<void>((resolve) => (this.wakeUp = resolve));
        continue;
      }
      let records: BusRecord[];
      try {
        const read = await cursor.log.read(cursor.next, this.options.maxBatchRecords);
        // The rest is read again next time round, from the cursor, which only moves past handled records.
        records = read.slice(0, batchPrefixLength(read, this.options.maxBatchRecords, this.options.maxBatchBytes));
        readFailures = 0;
      } catch (error) {
        readFailures++;
        const retryInMs = this.backoff.delayMs(readFailures);
        this.logger.error('embedded log: fetch failed; retrying', {
          topic: cursor.log.topic,
          partition: cursor.log.partition,
          offset: cursor.next,
          retryInMs,
          error: describeError(error),
        });
        await this.backoff.wait(retryInMs);
        continue;
      }
      if (records.length > 0)
        await this.deliver(cursor, { topic: cursor.log.topic, partition: cursor.log.partition, records });
    }
  }

  /** Hands `batch` to the handler until it resolves, or the subscription closes; then moves the cursor past it. */
  private async deliver(cursor: PartitionCursor, batch: RecordBatch): Promise<void> {
    const handled = await deliverUntilHandled(batch, this.handler, {
      backoff: this.backoff,
      logger: this.logger,
      mayRetry: () => this.state === 'running',
      isolation: this.isolation,
      ...(this.options.deadLetter === undefined ? {} : { deadLetter: this.options.deadLetter }),
    });
    if (!handled) return;
    cursor.next = batch.records[batch.records.length - 1]!.offset + 1;
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
      if (cursor.next < cursor.log.endOffset) {
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
