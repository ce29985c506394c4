import type { FieldProblem } from './errors.js';

/**
 * The bus port: the only way stages talk to each other. Kafka semantics — topics split into partitions,
 * keyed records (same key → same partition via Kafka's murmur2 partitioner), consumer groups with committed
 * offsets, replay from any offset. Implemented by the embedded durable log (one process) and by Kafka.
 */

/** Record headers are UTF-8 strings (Kafka allows bytes; Vigil only ever writes text). */
export type Headers = Readonly<Record<string, string>>;

export interface OutgoingRecord {
  /** Partitioning key; records with the same key land on the same partition, in order. */
  readonly key: string | null;
  readonly value: Buffer;
  readonly headers?: Headers;
  /** Producer timestamp, epoch ms; defaults to now. */
  readonly timestampMs?: number;
  /**
   * A tombstone (`value` must then be empty): Kafka gets a null value, so compaction of a compacted topic removes
   * every earlier record with this key (and, after `delete.retention.ms`, the tombstone itself). Read back, a
   * tombstone has an empty value. The embedded log compacts nothing and keeps it as an empty record.
   */
  readonly tombstone?: boolean;
}

export interface BusRecord {
  readonly topic: string;
  readonly partition: number;
  /** Position in the partition; the next record has offset + 1. */
  readonly offset: number;
  readonly key: string | null;
  readonly value: Buffer;
  readonly headers: Headers;
  readonly timestampMs: number;
}

export interface RecordPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  /**
   * Keep the latest record per key for ever (Kafka `cleanup.policy=compact`) instead of deleting by age: for
   * tables such as the chart of accounts, which every reader replays from the start. The embedded log deletes
   * nothing, so it keeps every record either way.
   */
  readonly compacted?: boolean;
  /**
   * Delete records older than this on Kafka (`retention.ms`); unset = the broker's default. The embedded log
   * keeps its own retention (VIGIL_LOG_RETENTION_MS).
   */
  readonly retentionMs?: number;
  /**
   * When a compacted topic's superseded records are removed on Kafka, all in ms; unset = the broker's defaults (a
   * week or more). The embedded log compacts nothing and ignores them.
   */
  readonly compaction?: TopicCompaction;
}

/**
 * Kafka's compaction timing for one topic. The active segment is never compacted and is rolled only on an append,
 * once it is `min(segmentMs, maxLagMs)` old; the cleaner then compacts a segment whose oldest record is `maxLagMs`
 * old (and not before `minLagMs`). A tombstone stays readable for `deleteRetentionMs` after that.
 */
export interface TopicCompaction {
  /** `segment.ms`. */
  readonly segmentMs: number;
  /** `max.compaction.lag.ms`. */
  readonly maxLagMs: number;
  /** `min.compaction.lag.ms`; default 0. */
  readonly minLagMs?: number;
  /** `delete.retention.ms`. */
  readonly deleteRetentionMs: number;
}

/** The most partitions a topic may have on either adapter. */
export const MAX_PARTITIONS = 10_000;
/** Kafka's rule for topic names (org.apache.kafka.common.internals.Topic). */
const legalTopicName = /^[a-zA-Z0-9._-]{1,249}$/;

/** Every problem with `specs` as `ensureTopics` arguments, located by index; empty when they are valid. */
export function topicSpecProblems(specs: readonly TopicSpec[]): FieldProblem[] {
  const problems: FieldProblem[] = [];
  specs.forEach((spec, i) => {
    if (!legalTopicName.test(spec.topic) || spec.topic === '.' || spec.topic === '..') {
      problems.push({ path: `/${i}/topic`, message: 'must be 1–249 characters of [a-zA-Z0-9._-], not "." or ".."' });
    }
    if (!Number.isInteger(spec.partitions) || spec.partitions < 1 || spec.partitions > MAX_PARTITIONS) {
      problems.push({ path: `/${i}/partitions`, message: `must be an integer in [1, ${MAX_PARTITIONS}]` });
    }
    if (spec.retentionMs !== undefined && !(Number.isSafeInteger(spec.retentionMs) && spec.retentionMs > 0)) {
      problems.push({ path: `/${i}/retentionMs`, message: 'must be a positive integer (ms)' });
    }
    const compaction = spec.compaction;
    if (compaction !== undefined) {
      if (spec.compacted !== true)
        problems.push({ path: `/${i}/compaction`, message: 'applies only to a compacted topic' });
      for (const [name, value] of Object.entries(compaction))
        if (!(Number.isSafeInteger(value) && (value as number) >= (name === 'minLagMs' ? 0 : 1)))
          problems.push({ path: `/${i}/compaction/${name}`, message: 'must be a positive integer (ms)' });
    }
  });
  return problems;
}

/**
 * A batch of records from one partition, in offset order — or, for a subscription with `acrossPartitions`, from
 * several partitions of one topic, each partition's records in offset order (every record names its own partition).
 */
export interface RecordBatch {
  readonly topic: string;
  /** The partition of the batch's first record (the only partition unless subscribed `acrossPartitions`). */
  readonly partition: number;
  readonly records: readonly BusRecord[];
}

export interface Producer {
  /**
   * Appends records to `topic`. Resolves only when every record is durable (embedded: fsync'd; Kafka:
   * acknowledged by all in-sync replicas) — only then may a caller acknowledge upstream. Rejects with a
   * retriable error when the log is unavailable.
   */
  send(topic: string, records: readonly OutgoingRecord[]): Promise<RecordPosition[]>;
}

export type CommitMode =
  /** Offsets are committed after each batch handler resolves. */
  | 'after-batch'
  /** Offsets are committed only when `Subscription.commit()` is called (e.g. after a state snapshot). */
  | 'manual';

export interface SubscribeOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where a group with no committed offset starts. Default 'earliest' (nothing accepted is skipped). */
  readonly startFrom?: 'earliest' | 'latest';
  readonly commitMode?: CommitMode;
  /** Upper bound on records handed to one handler call. */
  readonly maxBatchRecords?: number;
  /**
   * Upper bound on the bytes (keys, values and headers) handed to one handler call; a single larger record is
   * still handed over, alone. Bounds the memory a backlog costs and the size of what a handler produces from it.
   */
  readonly maxBatchBytes?: number;
  /**
   * How long to wait for more records once one is ready, unless `maxBatchRecords` are ready already (Kafka's
   * `fetch.max.wait.ms` on the consumer side); default 0 (deliver what is there). For a consumer whose cost is per
   * batch rather than per record and whose output nobody waits on record by record — ledger-sink's ClickHouse
   * inserts — it trades that much latency for fewer, larger batches at low rates.
   */
  readonly lingerMs?: number;
  /**
   * May one handler call hold records of several partitions of one topic (each partition's records in offset
   * order)? Default false. The embedded log then hands over everything ready on the topic at once, so a consumer
   * pays its per-batch cost once for all partitions instead of once per partition; Kafka still delivers one
   * partition per call. Only for handlers whose correctness never depends on a batch being one partition.
   */
  readonly acrossPartitions?: boolean;
  /**
   * Writes one record the handler cannot process to the dead-letter topic. When a batch fails the same
   * non-retriable way twice in a row, the bus splits it to find the record(s) at fault, hands each here with
   * the handler's error, and carries on with the rest. Without it, such a batch is redelivered (with backoff)
   * until an operator acts.
   */
  readonly deadLetter?: DeadLetterSink;
}

/** See {@link SubscribeOptions.deadLetter}; resolves once the record is durable on the dead-letter topic. */
export type DeadLetterSink = (record: BusRecord, error: unknown) => Promise<void>;

/**
 * Handles one batch. If it resolves, the batch counts as processed (and in 'after-batch' mode is committed).
 * If it rejects, nothing from the batch is committed and the same batch is redelivered after a backoff —
 * so a handler must route poison records to the dead-letter topic itself and only reject for retriable trouble.
 */
export type BatchHandler = (batch: RecordBatch) => Promise<void>;

/** Default upper bound on records handed to one handler call. */
export const DEFAULT_MAX_BATCH_RECORDS = 500;
/**
 * The longest a subscription may linger for more records: 5 s. Longer is a late batch, not a larger one — and on
 * Kafka a member heartbeats only between fetches, so a fetch must end well within the session timeout.
 */
export const MAX_LINGER_MS = 5_000;
/** Default upper bound on bytes handed to one handler call: 4 MiB, four Kafka default-sized requests' worth. */
export const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** Subscribe options with every default applied. */
export type ResolvedSubscribeOptions = Required<Omit<SubscribeOptions, 'deadLetter'>> &
  Pick<SubscribeOptions, 'deadLetter'>;

export function withSubscribeDefaults(options: SubscribeOptions): ResolvedSubscribeOptions {
  return {
    groupId: options.groupId,
    topics: options.topics,
    startFrom: options.startFrom ?? 'earliest',
    commitMode: options.commitMode ?? 'after-batch',
    maxBatchRecords: options.maxBatchRecords ?? DEFAULT_MAX_BATCH_RECORDS,
    maxBatchBytes: options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES,
    lingerMs: options.lingerMs ?? 0,
    acrossPartitions: options.acrossPartitions ?? false,
    ...(options.deadLetter === undefined ? {} : { deadLetter: options.deadLetter }),
  };
}

/** Bytes a record occupies for batch sizing: key, value and headers (names and values), as UTF-8. */
export function recordBytes(record: Pick<BusRecord, 'key' | 'value' | 'headers'>): number {
  let bytes = record.value.length + (record.key === null ? 0 : Buffer.byteLength(record.key));
  for (const [name, value] of Object.entries(record.headers))
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  return bytes;
}

/**
 * How many of `records`, from index `from`, fit in one handler batch: at most `maxRecords` and `maxBytes`, and
 * at least one while any is left, so an oversized record still moves (alone) instead of stalling its partition.
 */
export function batchPrefixLength(
  records: ReadonlyArray<Pick<BusRecord, 'key' | 'value' | 'headers'>>,
  maxRecords: number,
  maxBytes: number,
  from = 0,
): number {
  let bytes = 0;
  let count = 0;
  for (let i = from; i < records.length && count < maxRecords; i++) {
    bytes += recordBytes(records[i]!);
    if (count > 0 && bytes > maxBytes) break;
    count += 1;
  }
  return count;
}

/** Every problem with (defaulted) subscribe options, located by field; empty when they are valid. */
export function subscribeOptionProblems(options: ResolvedSubscribeOptions): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const { groupId, topics, commitMode, startFrom, maxBatchRecords, maxBatchBytes } = options;
  if (typeof groupId !== 'string' || groupId.length === 0)
    problems.push({ path: '/groupId', message: 'must be a non-empty string' });
  if (topics.length === 0) problems.push({ path: '/topics', message: 'must name at least one topic' });
  if (commitMode !== 'after-batch' && commitMode !== 'manual')
    problems.push({ path: '/commitMode', message: "must be 'after-batch' or 'manual'" });
  if (startFrom !== 'earliest' && startFrom !== 'latest')
    problems.push({ path: '/startFrom', message: "must be 'earliest' or 'latest'" });
  if (!Number.isInteger(maxBatchRecords) || maxBatchRecords < 1)
    problems.push({ path: '/maxBatchRecords', message: 'must be a positive integer' });
  if (!Number.isInteger(maxBatchBytes) || maxBatchBytes < 1)
    problems.push({ path: '/maxBatchBytes', message: 'must be a positive integer' });
  if (!Number.isInteger(options.lingerMs) || options.lingerMs < 0 || options.lingerMs > MAX_LINGER_MS)
    problems.push({ path: '/lingerMs', message: `must be an integer in [0, ${MAX_LINGER_MS}] (ms)` });
  if (typeof options.acrossPartitions !== 'boolean')
    problems.push({ path: '/acrossPartitions', message: 'must be a boolean' });
  if (options.deadLetter !== undefined && typeof options.deadLetter !== 'function')
    problems.push({ path: '/deadLetter', message: 'must be a function' });
  return problems;
}

export interface SubscriptionProgress {
  /** Records on this member's partitions not yet handled (end of log − next offset), as last seen. */
  readonly lag: number;
  /** Records handled since the subscription started; only ever grows, so a change means progress. */
  readonly handledRecords: number;
}

export interface Subscription {
  /** Commits the offsets after everything handled so far. Only needed in 'manual' mode. */
  commit(): Promise<void>;
  /** The next offset to be handled per topic/partition (what `commit()` would store). */
  positions(): readonly RecordPosition[];
  /** How far behind this member is and how much it has handled; read by the stuck-consumer monitor. */
  progress(): SubscriptionProgress;
  /** Stops fetching, waits for the in-flight batch, commits (in 'after-batch' mode) and leaves the group. */
  close(): Promise<void>;
}

export interface Bus {
  /** Creates topics that do not exist yet; existing ones are left as they are. */
  ensureTopics(specs: readonly TopicSpec[]): Promise<void>;
  partitionCount(topic: string): Promise<number>;
  producer(): Producer;
  subscribe(options: SubscribeOptions, handler: BatchHandler): Promise<Subscription>;
  /** Reads records from one partition starting at `fromOffset` (replay), at most `maxRecords`. */
  read(topic: string, partition: number, fromOffset: number, maxRecords: number): Promise<BusRecord[]>;
  /** The offset the next appended record will get, per partition. */
  endOffsets(topic: string): Promise<number[]>;
  /** The committed offsets of a group on a topic, per partition (-1 where none). */
  committedOffsets(groupId: string, topic: string): Promise<number[]>;
  close(): Promise<void>;
}
