import type { Bus, DeadLetterSink, Subscription, SubscriptionProgress } from '../../platform/bus.js';
import type { Clock } from '../../platform/clock.js';
import { BusErrorCode } from '../../platform/error-codes.js';
import { VigilError, describeError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { MetricsRegistry } from '../../platform/metrics.js';
import { Topics } from '../../schemas/topics.js';
import type { SnapshotStore } from '../ports.js';
import type { ScoringProcessor } from './scorer.js';

export interface ScoringLoopOptions {
  readonly groupId: string;
  readonly maxBatchRecords: number;
  /** Where the bus puts a record whose batch fails the same non-retriable way every time. */
  readonly deadLetter: DeadLetterSink;
  /** Snapshot (then commit) once this many records are not yet in a snapshot… */
  readonly snapshotEveryRecords: number;
  /** …or once the last snapshot is this old and some records are not in it. */
  readonly snapshotIntervalMs: number;
}

/**
 * The whole exactly-once loop of scoring in one place: restore the snapshot and the changes after it, read back the
 * decisions published since (so a replayed transaction is not published twice), subscribe tx.raw and analyst.labels
 * in 'manual' commit mode, and commit offsets only after the changes reflecting them are on disk (see scorer.ts for
 * why that makes feature state exactly-once across restarts). Labels share the subscription so one snapshot covers
 * both topics' offsets. A snapshot writes what changed since the last one; when the store says the changes outweigh
 * the full snapshot, a full one is copied at the same point and written in the background (compaction), so no batch
 * waits for a write in proportion to the whole state.
 */
export class ScoringLoop {
  private subscription: Subscription | undefined;
  private lastSnapshotMs: number;
  private running = false;
  /** An append failed after the processor took its changes: the next snapshot must be a full one. */
  private changesLost = false;

  private constructor(
    private readonly bus: Bus,
    private readonly processor: ScoringProcessor,
    private readonly store: SnapshotStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly snapshots: { inc(): void },
    private readonly options: ScoringLoopOptions,
  ) {
    this.lastSnapshotMs = clock.nowMs();
  }

  /** Restores the last snapshot, then subscribes. Rejects if the snapshot cannot be read or the bus refuses. */
  static async start(
    bus: Bus,
    processor: ScoringProcessor,
    store: SnapshotStore,
    deps: { clock: Clock; logger: Logger; metrics: MetricsRegistry },
    options: ScoringLoopOptions,
  ): Promise<ScoringLoop> {
    const restored = await store.load();
    if (restored) {
      const { snapshot, changes } = restored;
      processor.restore(snapshot);
      for (const change of changes) processor.applyChanges(change);
      const latest = changes.at(-1) ?? snapshot;
      deps.logger.info('scoring state restored', {
        writtenAtMs: latest.writtenAtMs,
        offsets: latest.offsets.length,
        changesAfterSnapshot: changes.length,
      });
      if (latest.scoredEndOffsets !== undefined)
        await rememberPublishedSince(bus, processor, latest.scoredEndOffsets, deps.logger);
    } else {
      // A first start (or a lost snapshot) snapshots at once: a kill before the first periodic snapshot then restarts
      // from this one, whose window holds every decision this run publishes — none is published twice.
      await store.save(processor.snapshot(deps.clock.nowMs(), await bus.endOffsets(Topics.transactionsScored)));
    }
    // Whatever the snapshot, every record up to where tx.raw ends now may have been decided before (a lost snapshot
    // means all of them).
    processor.setReplayHorizon(await bus.endOffsets(Topics.transactionsRaw));
    const snapshots = deps.metrics.counter('vigil_scoring_snapshots_total', 'Feature-state snapshots written.');
    const loop = new ScoringLoop(bus, processor, store, deps.clock, deps.logger, snapshots, options);
    loop.subscription = await bus.subscribe(
      {
        groupId: options.groupId,
        // One group for all four, so one snapshot covers every offset its state reflects. The chart of accounts
        // and the ledger's balances are keyed by account like tx.raw, so an account's policy and balances come to
        // the member deciding its debits (with one member per partition number; see README).
        topics: [Topics.transactionsRaw, Topics.analystLabels, Topics.accounts, Topics.ledgerBalances],
        commitMode: 'manual',
        maxBatchRecords: options.maxBatchRecords,
        // Every synchronous answer waits for scoring's batch and its durable send: one batch for what is ready on all
        // partitions instead of one per partition in turn, each waiting for its own fsync round.
        acrossPartitions: true,
        deadLetter: options.deadLetter,
      },
      (batch) => loop.handle(batch),
    );
    loop.running = true;
    return loop;
  }

  isRunning(): boolean {
    return this.running;
  }

  /** The subscription's lag and handled count, for the stuck-consumer signal. */
  progress(): SubscriptionProgress {
    return this.subscription?.progress() ?? { lag: 0, handledRecords: 0 };
  }

  private async handle(batch: Parameters<ScoringProcessor['handle']>[0]): Promise<void> {
    await this.processor.handle(batch);
    const pending = this.processor.unsnapshottedRecords;
    const due =
      pending >= this.options.snapshotEveryRecords ||
      (pending > 0 && this.clock.nowMs() - this.lastSnapshotMs >= this.options.snapshotIntervalMs);
    if (due) await this.snapshotAndCommit();
  }

  /**
   * Snapshot first, commit second: committed offsets never run ahead of the state on disk. What is written is what
   * changed since the last snapshot, with where tx.scored ends (every decision the state reflects was sent and is
   * below that); a full copy is taken at the same point only when the store asks for a compaction.
   */
  private async snapshotAndCommit(): Promise<void> {
    const scoredEndOffsets = await this.bus.endOffsets(Topics.transactionsScored);
    const now = this.clock.nowMs();
    if (this.changesLost) {
      await this.store.save(this.processor.snapshot(now, scoredEndOffsets));
      this.changesLost = false;
    } else {
      await this.appendChanges(now, scoredEndOffsets);
    }
    this.lastSnapshotMs = this.clock.nowMs();
    this.snapshots.inc();
    await this.subscription?.commit();
  }

  /** Appends the changes since the last snapshot; compacts in the background when the store asks for it. */
  private async appendChanges(now: number, scoredEndOffsets: readonly number[]): Promise<void> {
    const changes = this.processor.changes(now, scoredEndOffsets);
    const full = this.store.compactionDue ? this.processor.snapshot(now, scoredEndOffsets) : undefined;
    try {
      await this.store.append(changes);
    } catch (error) {
      // The processor has moved its base past these changes: only a full snapshot can stand for them now.
      this.changesLost = true;
      throw error;
    }
    // Reflects exactly the changes just appended: nothing ran between the two copies.
    if (full !== undefined)
      void this.store.compact(full).catch((error: unknown) =>
        this.logger.warn('scoring snapshot compaction failed; the changes stay and the next one retries', {
          error: describeError(error),
        }),
      );
  }

  /**
   * Stops consuming and writes the changes since the last snapshot. Offsets stay as last committed; the final
   * changes' offsets make the restart skip what it already reflects. A failed final write only means re-scoring.
   */
  async close(): Promise<void> {
    this.running = false;
    await this.subscription?.close();
    this.subscription = undefined;
    try {
      if (this.processor.unsnapshottedRecords > 0 || this.changesLost) {
        const scoredEndOffsets = await this.bus.endOffsets(Topics.transactionsScored);
        if (this.changesLost) await this.store.save(this.processor.snapshot(this.clock.nowMs(), scoredEndOffsets));
        else await this.store.append(this.processor.changes(this.clock.nowMs(), scoredEndOffsets));
      }
    } catch (error) {
      this.logger.error('final scoring snapshot failed; records since the last one will be re-scored', {
        error: describeError(error),
      });
    }
    await this.store.close();
  }
}

/** Records read per request when reading back the decisions published since the snapshot. */
const PUBLISHED_PAGE_RECORDS = 1000;

/**
 * Reads tx.scored from `fromOffsets` (the restored snapshot's) to its end and hands the decisions to the processor,
 * so what is replayed is not published twice. Bounded by what was published since the snapshot (at most
 * `snapshotEvery…` of this member's batches, plus other members' output meanwhile). A partition whose window
 * retention has already deleted is left out with a warning: its replayed transactions are published again.
 */
async function rememberPublishedSince(
  bus: Bus,
  processor: ScoringProcessor,
  fromOffsets: readonly number[],
  logger: Logger,
): Promise<void> {
  const ends = await bus.endOffsets(Topics.transactionsScored);
  let remembered = 0;
  for (const [partition, end] of ends.entries()) {
    let offset = fromOffsets[partition] ?? 0;
    try {
      while (offset < end) {
        const records = await bus.read(
          Topics.transactionsScored,
          partition,
          offset,
          Math.min(PUBLISHED_PAGE_RECORDS, end - offset),
        );
        if (records.length === 0) break;
        await processor.rememberPublished(records, fromOffsets);
        remembered += records.length;
        offset = records[records.length - 1]!.offset + 1;
      }
    } catch (error) {
      if (!(error instanceof VigilError && error.code === BusErrorCode.offsetOutOfRange)) throw error;
      logger.warn('decisions published since the scoring snapshot are gone; replayed ones will be published again', {
        topic: Topics.transactionsScored,
        partition,
        fromOffset: offset,
        error: describeError(error),
      });
    }
  }
  logger.info('decisions published since the scoring snapshot read', { records: remembered });
}
