/**
 * The embedded durable log: the `Bus` port (platform/bus.ts) in one process, with Kafka's semantics and
 * without a broker. Topics have N partitions; keyed records go to `partitionForKey(key, N)` exactly as in
 * Kafka, null keys round-robin; consumer groups have committed offsets; any offset can be replayed.
 *
 * Layout of `dir`:
 *   LOCK                                pid of the owning process (a dead owner's lock is taken over)
 *   topics.json                         topic → partition count, replaced atomically
 *   groups/<group>.json                 committed offsets of a group, replaced atomically now and then
 *   groups/commits.log                  the commits of every group since, appended (see stores.ts)
 *   data/<topic>-<partition>/<base>.log append-only segments of CRC-checked frames (see frame.ts)
 *
 * Durability — GROUP COMMIT. `send()` resolves only after its records are written and fdatasync'd. Sends
 * that arrive while a flush is in flight wait for the next one, which writes every pending frame of a
 * partition with one writev and one fdatasync per dirty partition file (partitions are flushed in
 * parallel), so the cost of an fsync is shared by all concurrent producers and throughput grows with
 * concurrency. New segment files and directories get their directory entry fsync'd before records land in
 * them. Hence a record acknowledged to a producer survives `kill -9` and an OS crash or power loss (as far
 * as the disk honours flushes). Records become visible to readers and consumers only once durable, so a
 * consumer never acts on a record that a crash could take back. On open, the last segment of each partition
 * is scanned and cut at the first torn or corrupt frame. Offset commits of all groups in flight together share one
 * append and one fdatasync (stores.ts).
 *
 * FULL DISK. A flush that fails for lack of space (ENOSPC, EDQUOT) is rolled back — the segment is truncated to
 * its last durable frame — and its sends reject with the retriable LOG_DISK_FULL (ingest answers 503 +
 * Retry-After); the partition stays writable and appends succeed again as soon as space is freed, with no
 * reopen. Other I/O failures still make the partition refuse appends until the log is reopened (see
 * partition-log.ts for why). Offset commits that fail for space reject with LOG_IO_FAILED and are retried.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type {
  BatchHandler,
  Bus,
  BusRecord,
  OutgoingRecord,
  Producer,
  RecordPosition,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from '../bus.js';
import { MAX_PARTITIONS, subscribeOptionProblems, topicSpecProblems, withSubscribeDefaults } from '../bus.js';
import { systemClock, type Clock } from '../clock.js';
import { BusErrorCode } from '../error-codes.js';
import { ErrorCategory, ValidationError, VigilError, type FieldProblem } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { partitionForKey } from '../murmur2.js';
import { EmbeddedLogErrorCode, invalidArgument, ioFailed, logClosed, unknownTopic } from './errors.js';
import { DirectoryLock, fsyncDirectory } from './files.js';
import { frameSize, writeUnsealedFrame } from './frame.js';
import { PartitionLog, type AppendChunk, type DiskFullPolicy, type PartitionLogConfig } from './partition-log.js';
import { GroupOffsetStore, loadTopics, saveTopics } from './stores.js';
import { GroupSubscription, type PartitionCursor, type SubscriptionHost } from './subscription.js';

export interface EmbeddedLogOptions {
  /** Directory that holds the log; created if missing. */
  readonly dir: string;
  readonly logger?: Logger;
  /** Supplies the timestamp of records sent without one. */
  readonly clock?: Clock;
  /** Topics to create at open if missing; a bare name gets `defaultPartitions`. */
  readonly topics?: readonly (string | TopicSpec)[];
  /** Partition count for topics named in `topics` without one. Default 1. */
  readonly defaultPartitions?: number;
  /** A segment is rolled before a write would take it past this size. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** Bytes of frames between sparse index entries. Default 4 KiB. */
  readonly indexIntervalBytes?: number;
  /** Largest accepted record frame. Default 8 MiB. */
  readonly maxRecordBytes?: number;
  /** Most recent records kept decoded in memory per partition. Default 10,000 records / 8 MiB. */
  readonly tailCacheRecords?: number;
  readonly tailCacheBytes?: number;
  /** Soft cap on the bytes one read or one consumer batch returns. Default 4 MiB. */
  readonly maxReadBytes?: number;
  /** Backoff before redelivering a rejected batch: doubles from `initial` up to `max`. Default 100 ms → 5 s. */
  readonly redeliveryInitialBackoffMs?: number;
  readonly redeliveryMaxBackoffMs?: number;
  /**
   * Sealed segments whose newest record is older than this are deleted (see `enforceRetention`); 0 keeps every
   * segment forever, and is the default: logs replayed from offset 0 as a store (the notifier's outbox) must not
   * opt in. The pipeline's bus sets it from VIGIL_LOG_RETENTION_MS (default 7 days).
   */
  readonly retentionMs?: number;
  /** How often retention runs on its own while the log is open; 0 = only when `enforceRetention` is called. Default 5 min. */
  readonly retentionCheckIntervalMs?: number;
  /** Test-only, for negative controls: retention deletes by age alone, ignoring consumer groups. */
  readonly retentionIgnoresGroups?: boolean;
  /**
   * Test-only, for negative controls: `refuse-until-reopen` restores the behaviour before full-disk rollback (a
   * partition refuses appends after ENOSPC until the log is reopened); `keep-torn-bytes` skips the truncation.
   * Default `roll-back`.
   */
  readonly diskFullPolicy?: DiskFullPolicy;
}

/** What an acknowledged `send()` guarantees; see the module comment. */
export interface DurabilityPolicy {
  readonly mode: 'group-commit';
  /** The sync call made before acknowledging. */
  readonly sync: 'fdatasync';
  /** Writes and fsyncs per flush: at most one of each per dirty partition file. */
  readonly syscallsPerFlush: 'one writev + one fdatasync per dirty partition';
  /** Failures an acknowledged record survives. */
  readonly survives: readonly ['process crash (kill -9)', 'OS crash', 'power loss (if the disk honours flushes)'];
  /** Readers and consumers see a record only after it is durable. */
  readonly visibility: 'after-fsync';
}

const durabilityPolicy: DurabilityPolicy = Object.freeze({
  mode: 'group-commit',
  sync: 'fdatasync',
  syscallsPerFlush: 'one writev + one fdatasync per dirty partition',
  survives: Object.freeze(['process crash (kill -9)', 'OS crash', 'power loss (if the disk honours flushes)'] as const),
  visibility: 'after-fsync',
});

/** Counters for benchmarks and health checks. */
export interface EmbeddedLogStats {
  readonly sends: number;
  readonly appendedRecords: number;
  /** Group-commit rounds; each does ≤ 1 writev + 1 fdatasync per dirty partition. */
  readonly flushes: number;
  readonly partitionSyncs: number;
  /** Segment files deleted by retention since open. */
  readonly deletedSegments: number;
  /** Partition flushes refused with LOG_DISK_FULL and rolled back. */
  readonly diskFullRefusals: number;
  /** Bytes of those flushes that had reached a segment (and were truncated away, by default). */
  readonly diskFullTornBytes: number;
}

interface ResolvedConfig extends PartitionLogConfig {
  readonly redeliveryInitialBackoffMs: number;
  readonly redeliveryMaxBackoffMs: number;
  readonly defaultPartitions: number;
  readonly retentionMs: number;
  readonly retentionCheckIntervalMs: number;
  readonly retentionIgnoresGroups: boolean;
}

interface TopicState {
  /** Replaced when a later `ensureTopics` marks the topic compacted. */
  spec: TopicSpec;
  readonly partitions: readonly PartitionLog[];
  roundRobin: number;
}

const MIB = 1024 * 1024;

export class EmbeddedLog implements Bus {
  private readonly topics = new Map<string, TopicState>();
  private readonly subscriptions = new Map<string, GroupSubscription>();
  private readonly dirty = new Set<PartitionLog>();
  private flushLoop: Promise<void> | null = null;
  private topicChanges: Promise<void> = Promise.resolve();
  private closing: Promise<void> | null = null;
  private acceptingSends = true;
  private readonly producerInstance: Producer;
  private readonly subscriptionHost: SubscriptionHost;
  private counters = { sends: 0, flushes: 0, partitionSyncs: 0, deletedSegments: 0 };
  private retentionRun: Promise<number> | null = null;
  private retentionTimer: NodeJS.Timeout | null = null;

  private constructor(
    readonly dir: string,
    private readonly config: ResolvedConfig,
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly lock: DirectoryLock,
    private readonly offsets: GroupOffsetStore,
  ) {
    this.producerInstance = Object.freeze({
      send: (topic: string, records: readonly OutgoingRecord[]) => this.send(topic, records),
    });
    this.subscriptionHost = {
      logger,
      redeliveryInitialBackoffMs: config.redeliveryInitialBackoffMs,
      redeliveryMaxBackoffMs: config.redeliveryMaxBackoffMs,
      commitOffsets: (groupId, positions) => this.offsets.commit(groupId, positions),
      released: (subscription) => {
        if (this.subscriptions.get(subscription.groupId) === subscription)
          this.subscriptions.delete(subscription.groupId);
      },
    };
  }

  /**
   * Opens (or creates) the log in `options.dir`: takes the directory lock, loads topics and committed offsets,
   * and recovers every partition (truncating torn tails). Throws LOG_LOCKED if another live process holds
   * the directory, INVALID_ARGUMENT for bad options, LOG_IO_FAILED / LOG_CORRUPT when files are unusable.
   */
  static async open(options: EmbeddedLogOptions): Promise<EmbeddedLog> {
    const config = resolveConfig(options);
    const logger = (options.logger ?? silentLogger).child({ component: 'embedded-log' });
    const dir = resolve(options.dir);
    try {
      await mkdir(join(dir, 'data'), { recursive: true });
    } catch (error) {
      throw ioFailed(`creating ${dir}`, error);
    }
    const lock = await DirectoryLock.acquire(dir);
    let log: EmbeddedLog | undefined;
    try {
      await fsyncDirectory(dir);
      const offsets = await GroupOffsetStore.load(dir);
      log = new EmbeddedLog(dir, config, logger, options.clock ?? systemClock, lock, offsets);
      for (const spec of await loadTopics(dir)) log.topics.set(spec.topic, await log.openTopic(spec));
      const initial = (options.topics ?? []).map((t) =>
        typeof t === 'string' ? { topic: t, partitions: config.defaultPartitions } : t,
      );
      if (initial.length > 0) await log.ensureTopics(initial);
      log.startRetentionTimer();
      logger.info('embedded log opened', { dir, topics: log.topics.size });
      return log;
    } catch (error) {
      const opened = [...(log?.topics.values() ?? [])].flatMap((state) => state.partitions);
      await Promise.allSettled(opened.map((partition) => partition.close()));
      await log?.offsets.close().catch(() => undefined);
      await lock.release();
      throw error;
    }
  }

  /** How acknowledged appends are made durable. */
  get durability(): DurabilityPolicy {
    return durabilityPolicy;
  }

  get stats(): EmbeddedLogStats {
    let appendedRecords = 0;
    let diskFullRefusals = 0;
    let diskFullTornBytes = 0;
    for (const state of this.topics.values())
      for (const log of state.partitions) {
        appendedRecords += log.appendedRecords;
        diskFullRefusals += log.diskFullRefusals;
        diskFullTornBytes += log.diskFullTornBytes;
      }
    return { ...this.counters, appendedRecords, diskFullRefusals, diskFullTornBytes };
  }

  async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    const problems = topicSpecProblems(specs);
    if (problems.length > 0) throw new ValidationError('invalid topic specs', problems, BusErrorCode.invalidTopic);
    this.assertOpen();
    const change = this.topicChanges.catch(() => undefined).then(() => this.createTopics(specs));
    this.topicChanges = change;
    await change;
  }

  private async createTopics(specs: readonly TopicSpec[]): Promise<void> {
    const created: TopicState[] = [];
    let markedCompacted = false;
    for (const spec of specs) {
      const existing = this.topics.get(spec.topic) ?? created.find((state) => state.spec.topic === spec.topic);
      if (existing === undefined) {
        created.push(
          await this.openTopic({
            topic: spec.topic,
            partitions: spec.partitions,
            ...(spec.compacted === true ? { compacted: true } : {}),
          }),
        );
        continue;
      }
      if (spec.compacted === true && existing.spec.compacted !== true) {
        // Topics created before the flag was recorded: compaction exempts them from retention from now on.
        existing.spec = Object.freeze({ ...existing.spec, compacted: true });
        markedCompacted = true;
      }
      if (existing.spec.partitions !== spec.partitions) {
        this.logger.warn('ensureTopics: topic exists with another partition count; left as it is', {
          topic: spec.topic,
          partitions: existing.spec.partitions,
          requested: spec.partitions,
        });
      }
    }
    if (created.length === 0 && !markedCompacted) return;
    // Partition directories first, then the metadata naming them: a crash in between leaves unused directories only.
    await saveTopics(this.dir, [
      ...[...this.topics.values()].map((state) => state.spec),
      ...created.map((state) => state.spec),
    ]);
    for (const state of created) this.topics.set(state.spec.topic, state);
  }

  /** Opens (creating or recovering) every partition of a topic; on failure closes the ones that opened. */
  private async openTopic(spec: TopicSpec): Promise<TopicState> {
    const results = await Promise.allSettled(
      Array.from({ length: spec.partitions }, (_, partition) =>
        PartitionLog.open(
          join(this.dir, 'data', `${spec.topic}-${partition}`),
          spec.topic,
          partition,
          this.config,
          this.logger,
        ),
      ),
    );
    const partitions = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure !== undefined) {
      await Promise.allSettled(partitions.map((partition) => partition.close()));
      throw failure.reason;
    }
    return { spec: Object.freeze({ ...spec }), partitions, roundRobin: 0 };
  }

  async partitionCount(topic: string): Promise<number> {
    return Promise.resolve(this.topic(topic).partitions.length);
  }

  producer(): Producer {
    return this.producerInstance;
  }

  /**
   * Appends `records` to `topic` and resolves with their positions (in input order) once all are durable.
   * Rejects with UNKNOWN_TOPIC, RECORD_TOO_LARGE or INVALID_ARGUMENT before anything is appended; with
   * LOG_CLOSED after close; with LOG_DISK_FULL (retriable; nothing of that partition's records was kept) when
   * the disk is full; with LOG_PARTITION_FAILED (retriable) when a write or fsync failed — in both cases records
   * bound for other partitions of the same call may have been appended (as with a Kafka producer without
   * transactions).
   */
  send(topic: string, records: readonly OutgoingRecord[]): Promise<RecordPosition[]> {
    try {
      if (!this.acceptingSends) throw logClosed();
      const state = this.topic(topic);
      if (records.length === 0) return Promise.resolve([]);
      const partitionCount = state.partitions.length;
      const timestampMs = this.clock.nowMs();
      const targets = new Int32Array(records.length);
      const sizes = new Int32Array(records.length);
      let single = true;
      for (let i = 0; i < records.length; i++) {
        const record = records[i]!;
        if (!Buffer.isBuffer(record.value))
          throw invalidArgument(BusErrorCode.invalidArgument, `record ${i}: value must be a Buffer`, {
            topic,
            index: i,
          });
        if (record.timestampMs !== undefined && !Number.isSafeInteger(record.timestampMs)) {
          throw invalidArgument(BusErrorCode.invalidArgument, `record ${i}: timestampMs must be an integer`, {
            topic,
            index: i,
          });
        }
        const size = frameSize(record);
        if (size > this.config.maxFrameBytes) {
          throw new VigilError(
            BusErrorCode.recordTooLarge,
            `record ${i} is ${size} bytes framed; the limit is ${this.config.maxFrameBytes}`,
            {
              category: ErrorCategory.tooLarge,
              details: { topic, index: i, size },
            },
          );
        }
        sizes[i] = size;
        targets[i] =
          record.key === null ? state.roundRobin++ % partitionCount : partitionForKey(record.key, partitionCount);
        if (targets[i] !== targets[0]) single = false;
      }
      const send = new PendingSend(topic, records.length);
      if (single) {
        state.partitions[targets[0]!]!.assertWritable();
        this.enqueue(state.partitions[targets[0]!]!, send, records, sizes, null, timestampMs);
      } else {
        const byPartition = new Map<number, number[]>();
        for (let i = 0; i < records.length; i++) {
          const list = byPartition.get(targets[i]!);
          if (list === undefined) byPartition.set(targets[i]!, [i]);
          else list.push(i);
        }
        for (const partition of byPartition.keys()) state.partitions[partition]!.assertWritable();
        for (const [partition, indexes] of byPartition)
          this.enqueue(state.partitions[partition]!, send, records, sizes, indexes, timestampMs);
      }
      this.counters.sends++;
      return send.promise;
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private enqueue(
    log: PartitionLog,
    send: PendingSend,
    records: readonly OutgoingRecord[],
    sizes: Int32Array,
    indexes: number[] | null,
    timestampMs: number,
  ): void {
    const count = indexes === null ? records.length : indexes.length;
    let total = 0;
    for (let i = 0; i < count; i++) total += sizes[indexes === null ? i : indexes[i]!]!;
    const frames = Buffer.allocUnsafe(total);
    let at = 0;
    for (let i = 0; i < count; i++) {
      const record = records[indexes === null ? i : indexes[i]!]!;
      at = writeUnsealedFrame(frames, at, record, record.timestampMs ?? timestampMs);
    }
    log.enqueue(new SendChunk(send, log.partition, frames, count, indexes));
    send.remaining++;
    this.dirty.add(log);
    this.flushLoop ??= this.runFlushLoop();
  }

  /**
   * The group-commit loop: runs while any partition has pending chunks. Each round first yields to the event
   * loop (setImmediate) so that every send issued in the meantime joins it, then flushes all dirty partitions
   * in parallel and wakes the consumers.
   */
  private async runFlushLoop(): Promise<void> {
    try {
      while (this.dirty.size > 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        const partitions = [...this.dirty];
        this.dirty.clear();
        this.counters.flushes++;
        this.counters.partitionSyncs += partitions.length;
        await Promise.all(partitions.map((log) => log.flush()));
        for (const subscription of this.subscriptions.values()) subscription.notifyAppended();
      }
    } catch (error) {
      // PartitionLog.flush hands failures to the chunks; reaching here is a bug, and the loop must not die silently.
      this.logger.error('embedded log: flush loop failed', { error: String(error) });
    } finally {
      this.flushLoop = null;
    }
  }

  /**
   * Joins `options.groupId` (the only member in this process) and starts delivering batches to `handler`.
   * Resumes from the group's committed offsets, else from `startFrom`. Throws UNKNOWN_TOPIC,
   * GROUP_ALREADY_ACTIVE, INVALID_ARGUMENT (with every bad field) or LOG_CLOSED.
   */
  async subscribe(options: SubscribeOptions, handler: BatchHandler): Promise<Subscription> {
    this.assertOpen();
    // Topics being created by an ensureTopics call that was not awaited yet become visible first.
    await this.topicChanges.catch(() => undefined);
    this.assertOpen();
    const resolved = withSubscribeDefaults(options);
    const { commitMode, startFrom, maxBatchRecords, maxBatchBytes, lingerMs, acrossPartitions, deadLetter } = resolved;
    const problems = subscribeOptionProblems(resolved);
    if (problems.length > 0)
      throw new ValidationError('invalid subscribe options', problems, BusErrorCode.invalidArgument);
    const states = [...new Set(options.topics)].map((topic) => this.topic(topic));
    if (this.subscriptions.has(options.groupId)) {
      throw new VigilError(
        EmbeddedLogErrorCode.groupActive,
        `group "${options.groupId}" already has a member in this process`,
        {
          category: ErrorCategory.conflict,
          details: { groupId: options.groupId },
        },
      );
    }
    const cursors: PartitionCursor[] = [];
    for (const state of states) {
      for (const log of state.partitions) {
        const committed = this.offsets.committed(options.groupId, log.topic, log.partition);
        let next = committed >= 0 ? committed : startFrom === 'earliest' ? log.startOffset : log.endOffset;
        if (next > log.endOffset) {
          this.logger.warn(
            'committed offset is past the end of the partition (log lost its tail?); resuming at the end',
            {
              groupId: options.groupId,
              topic: log.topic,
              partition: log.partition,
              committed,
              endOffset: log.endOffset,
            },
          );
          next = log.endOffset;
        }
        cursors.push({ log, next });
      }
    }
    const subscription = new GroupSubscription(
      this.subscriptionHost,
      {
        groupId: options.groupId,
        commitMode,
        maxBatchRecords,
        maxBatchBytes,
        lingerMs,
        acrossPartitions,
        ...(deadLetter ? { deadLetter } : {}),
      },
      handler,
      cursors,
    );
    this.subscriptions.set(options.groupId, subscription);
    return subscription;
  }

  /**
   * Up to `maxRecords` durable records of one partition from `fromOffset`. An empty array at the end offset;
   * OFFSET_OUT_OF_RANGE past it; LOG_CORRUPT if a frame on disk fails its CRC.
   */
  async read(topic: string, partition: number, fromOffset: number, maxRecords: number): Promise<BusRecord[]> {
    this.assertOpen();
    const log = this.partition(topic, partition);
    if (!Number.isSafeInteger(fromOffset) || fromOffset < 0) {
      throw invalidArgument(
        BusErrorCode.invalidArgument,
        `fromOffset must be a non-negative integer, got ${fromOffset}`,
        { topic, partition },
      );
    }
    if (!Number.isInteger(maxRecords) || maxRecords < 1) {
      throw invalidArgument(BusErrorCode.invalidArgument, `maxRecords must be a positive integer, got ${maxRecords}`, {
        topic,
        partition,
      });
    }
    if (fromOffset < log.startOffset || fromOffset > log.endOffset) {
      throw invalidArgument(
        BusErrorCode.offsetOutOfRange,
        `offset ${fromOffset} is outside [${log.startOffset}, ${log.endOffset}] of ${topic}-${partition}`,
        { topic, partition, offset: fromOffset, startOffset: log.startOffset, endOffset: log.endOffset },
      );
    }
    return log.read(fromOffset, maxRecords);
  }

  async endOffsets(topic: string): Promise<number[]> {
    return Promise.resolve(this.topic(topic).partitions.map((log) => log.endOffset));
  }

  async committedOffsets(groupId: string, topic: string): Promise<number[]> {
    return Promise.resolve(
      this.topic(topic).partitions.map((log) => this.offsets.committed(groupId, topic, log.partition)),
    );
  }

  /**
   * Deletes expired segments of every topic and resolves with how many went. A sealed segment goes when its newest
   * record is older than `retentionMs` (by the injected clock) AND every record in it lies below the lowest
   * committed offset of every consumer group that has committed on the topic or is subscribed to it now — a
   * group without a commit on a partition keeps all of it. Never the active segment; never a compacted topic
   * (`TopicSpec.compacted`, e.g. the chart of accounts), whose every record may be the latest of its key — the
   * embedded log does not compact, it keeps those topics whole. A group that stopped for good keeps its
   * partitions' segments forever, until its offsets file is removed. Runs one at a time; 0 when retention is off.
   */
  enforceRetention(): Promise<number> {
    this.assertOpen();
    this.retentionRun ??= this.runRetention().finally(() => {
      this.retentionRun = null;
    });
    return this.retentionRun;
  }

  private async runRetention(): Promise<number> {
    if (this.config.retentionMs === 0) return 0;
    const cutoffMs = this.clock.nowMs() - this.config.retentionMs;
    let deleted = 0;
    for (const state of this.topics.values()) {
      if (state.spec.compacted === true) continue;
      const groups = new Set(this.offsets.groupsOf(state.spec.topic));
      for (const subscription of this.subscriptions.values())
        if (subscription.positions().some((position) => position.topic === state.spec.topic))
          groups.add(subscription.groupId);
      for (const log of state.partitions) {
        if (this.closing !== null) return deleted;
        let keepFrom = Number.POSITIVE_INFINITY;
        for (const groupId of groups) {
          const committed = this.offsets.committed(groupId, log.topic, log.partition);
          keepFrom = Math.min(keepFrom, committed < 0 ? log.startOffset : committed);
        }
        if (this.config.retentionIgnoresGroups) keepFrom = Number.POSITIVE_INFINITY;
        deleted += await log.dropExpiredSegments(cutoffMs, keepFrom);
      }
    }
    this.counters.deletedSegments += deleted;
    return deleted;
  }

  private startRetentionTimer(): void {
    if (this.config.retentionMs === 0 || this.config.retentionCheckIntervalMs === 0) return;
    this.retentionTimer = setInterval(() => {
      if (this.closing !== null || this.retentionRun !== null) return;
      this.enforceRetention().catch((error: unknown) =>
        this.logger.warn('embedded log: retention run failed; retried at the next interval', {
          error: String(error),
        }),
      );
    }, this.config.retentionCheckIntervalMs);
    // Retention must never be what keeps a finished process alive.
    this.retentionTimer.unref();
  }

  /** Segment files of a partition; for tests and operations. */
  segmentCount(topic: string, partition: number): number {
    return this.partition(topic, partition).segmentCount;
  }

  /**
   * Closes active subscriptions (each waits for its in-flight batch and commits in 'after-batch' mode), then
   * refuses new sends, flushes and fsyncs everything pending, closes the files and releases the directory.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.retentionTimer !== null) clearInterval(this.retentionTimer);
    await this.retentionRun?.catch(() => undefined);
    const results = await Promise.allSettled(
      [...this.subscriptions.values()].map((subscription) => subscription.close()),
    );
    this.acceptingSends = false;
    while (this.flushLoop !== null) await this.flushLoop;
    await this.topicChanges.catch(() => undefined);
    for (const state of this.topics.values()) await Promise.all(state.partitions.map((log) => log.close()));
    await this.offsets.close();
    await this.lock.release();
    this.logger.info('embedded log closed', { dir: this.dir });
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  private assertOpen(): void {
    if (this.closing !== null) throw logClosed();
  }

  private topic(topic: string): TopicState {
    const state = this.topics.get(topic);
    if (state === undefined) throw unknownTopic(topic);
    return state;
  }

  private partition(topic: string, partition: number): PartitionLog {
    const log = this.topic(topic).partitions[partition];
    if (log === undefined || !Number.isInteger(partition)) {
      throw invalidArgument(BusErrorCode.invalidPartition, `${topic} has no partition ${partition}`, {
        topic,
        partition,
      });
    }
    return log;
  }
}

/** One producer call: resolves once every chunk (one per partition) is durable. */
class PendingSend {
  readonly promise: Promise<RecordPosition[]>;
  readonly positions: RecordPosition[];
  remaining = 0;
  settled = false;
  resolve!: (positions: RecordPosition[]) => void;
  reject!: (error: Error) => void;

  constructor(
    readonly topic: string,
    count: number,
  ) {
    this.positions = new Array<RecordPosition>(count);
    this.promise = new Promise<RecordPosition[]>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

class SendChunk implements AppendChunk {
  constructor(
    private readonly send: PendingSend,
    private readonly partition: number,
    readonly frames: Buffer,
    readonly count: number,
    /** Which records of the send these are; null when the chunk is the whole send. */
    private readonly indexes: readonly number[] | null,
  ) {}

  durable(baseOffset: number): void {
    const { send, partition, indexes } = this;
    for (let i = 0; i < this.count; i++) {
      send.positions[indexes === null ? i : indexes[i]!] = { topic: send.topic, partition, offset: baseOffset + i };
    }
    if (--send.remaining === 0 && !send.settled) {
      send.settled = true;
      send.resolve(send.positions);
    }
  }

  failed(error: VigilError): void {
    if (this.send.settled) return;
    this.send.settled = true;
    this.send.reject(error);
  }
}

type NumericOption = {
  [K in keyof EmbeddedLogOptions]-?: NonNullable<EmbeddedLogOptions[K]> extends number ? K : never;
}[keyof EmbeddedLogOptions];

function resolveConfig(options: EmbeddedLogOptions): ResolvedConfig {
  const problems: FieldProblem[] = [];
  const integer = (name: NumericOption, fallback: number, min: number, max: number): number => {
    const value = options[name] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push({ path: `/${name}`, message: `must be an integer in [${min}, ${max}]` });
    }
    return value;
  };
  if (typeof options.dir !== 'string' || options.dir.length === 0)
    problems.push({ path: '/dir', message: 'must be a non-empty path' });
  const config: ResolvedConfig = {
    segmentBytes: integer('segmentBytes', 64 * MIB, 1024, 2 ** 31 - 1),
    indexIntervalBytes: integer('indexIntervalBytes', 4096, 1, 2 ** 30),
    maxFrameBytes: integer('maxRecordBytes', 8 * MIB, 1024, 1024 * MIB),
    tailCacheRecords: integer('tailCacheRecords', 10_000, 1, 10_000_000),
    tailCacheBytes: integer('tailCacheBytes', 8 * MIB, 1, 2 ** 40),
    maxReadBytes: integer('maxReadBytes', 4 * MIB, 1, 2 ** 31 - 1),
    redeliveryInitialBackoffMs: integer('redeliveryInitialBackoffMs', 100, 1, 3_600_000),
    redeliveryMaxBackoffMs: integer('redeliveryMaxBackoffMs', 5_000, 1, 3_600_000),
    defaultPartitions: integer('defaultPartitions', 1, 1, MAX_PARTITIONS),
    diskFullPolicy: options.diskFullPolicy ?? 'roll-back',
    retentionMs: integer('retentionMs', 0, 0, Number.MAX_SAFE_INTEGER),
    retentionCheckIntervalMs: integer('retentionCheckIntervalMs', 5 * 60_000, 0, 2 ** 31 - 1),
    retentionIgnoresGroups: options.retentionIgnoresGroups === true,
  };
  if (!['roll-back', 'keep-torn-bytes', 'refuse-until-reopen'].includes(config.diskFullPolicy))
    problems.push({
      path: '/diskFullPolicy',
      message: "must be 'roll-back', 'keep-torn-bytes' or 'refuse-until-reopen'",
    });
  if (problems.length > 0)
    throw new ValidationError('invalid embedded log options', problems, BusErrorCode.invalidArgument);
  return Object.freeze(config);
}
