/**
 * The `Bus` port (platform/bus.ts) on Apache Kafka, through kafkajs. Same semantics as the embedded log:
 *
 * - Partitioning: keyed records go to `partitionForKey(key, partitionCount)` (murmur2, Java's
 *   BuiltInPartitioner), chosen here so the positions returned by `send()` are known per record; null keys
 *   round-robin.
 * - Producing: one idempotent producer (acks=all, one request in flight per broker so retries cannot reorder,
 *   KIP-98 sequence numbers so they cannot duplicate). `send()` resolves when the broker acknowledged every
 *   record; it rejects with a retriable KAFKA_UNAVAILABLE after `producerRetries` attempts rather than
 *   hanging while the broker is away, so the caller can refuse upstream work (HTTP 503) and retry.
 * - Consuming: one kafkajs consumer per `subscribe()`, committing only after the handler resolved (see
 *   kafka-subscription.ts).
 * - Replay: `read()` runs a short-lived consumer in a throwaway group (kafkajs has no manual assignment), so
 *   it costs a group join (~tens of ms locally); meant for operations and tests, not the hot path.
 */
import { randomUUID } from 'node:crypto';
import kafkajs, {
  Kafka,
  logLevel as KafkaLogLevel,
  type Admin,
  type KafkaConfig,
  type LogEntry,
  type Producer as KafkaProducer,
  type ProducerRecord,
  type RecordMetadata,
  type SASLOptions,
  type logCreator,
} from 'kafkajs';

// kafkajs is CommonJS: under Node's ESM loader (tsx) only its default export carries this enum.
const { ConfigResourceTypes, PartitionAssigners } = kafkajs;
import type {
  BatchHandler,
  Bus,
  BusRecord,
  OutgoingRecord,
  Producer,
  RecordPosition,
  SubscribeOptions,
  Subscription,
  TopicCompaction,
  TopicSpec,
} from '../bus.js';
import { subscribeOptionProblems, topicSpecProblems, withSubscribeDefaults } from '../bus.js';
import type { Secret } from '../config.js';
import { BusErrorCode } from '../error-codes.js';
import { describeError, isRetriable, UnavailableError, ValidationError, type FieldProblem } from '../errors.js';
import type { Logger } from '../logger.js';
import { partitionForKey } from '../murmur2.js';
import { busClosed, invalidArgument, KafkaBusErrorCode, needsNewProducer, toVigilError } from './errors.js';
import { coPartitionedAssigner } from './co-partitioned-assigner.js';
import { KafkaSubscription, toBusRecord } from './kafka-subscription.js';
import { murmur2Partitioner } from './partitioner.js';

/** TLS to the brokers (Kafka's SSL and SASL_SSL listeners). The brokers' certificates are always verified. */
/** What a lingering fetch waits for, at most (see `subscribe`): a quarter of kafkajs's 1 MiB per partition. */
const LINGER_MIN_BYTES = 256 * 1024;

export interface KafkaTls {
  /** PEM certificates of the CAs the brokers' certificates must chain to; undefined = Node's trusted CAs. */
  readonly ca?: string;
  /** PEM client certificate and its key, for brokers that ask for one (`ssl.client.auth`); both or neither. */
  readonly cert?: string;
  readonly key?: Secret;
}

/** SASL/SCRAM credentials (RFC 5802, KIP-84): the password itself never crosses the network. */
export interface KafkaSasl {
  readonly mechanism: 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: Secret;
}

export interface KafkaBusOptions {
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logger: Logger;
  /** TLS to the brokers; undefined = plaintext. */
  readonly tls?: KafkaTls;
  /** SASL authentication; undefined = none. */
  readonly sasl?: KafkaSasl;
  /** Replication factor of topics created by `ensureTopics`. Default 1 (the local single broker). */
  readonly replicationFactor?: number;
  /** TCP connect timeout. Default 3000 ms. */
  readonly connectionTimeoutMs?: number;
  /** Broker request timeout. Default 30000 ms. */
  readonly requestTimeoutMs?: number;
  /** Attempts of a failing produce before `send()` rejects (KAFKA_UNAVAILABLE). Default 10 (~15 s with backoff). */
  readonly producerRetries?: number;
  /**
   * Longest a `send()` may stay unacknowledged. Past it the send rejects with a retriable KAFKA_UNAVAILABLE
   * (outcome unknown: the records may or may not be on the log) and the producer is replaced, because kafkajs's
   * idempotent producer was seen to stall silently after a broker restart. Default 30000 ms.
   */
  readonly sendTimeoutMs?: number;
  /** Consumer group session timeout: how long a silent (crashed) member keeps its partitions. Default 10000 ms. */
  readonly sessionTimeoutMs?: number;
  /** How often members heartbeat; also how fast they notice a rebalance. Default 1000 ms. */
  readonly heartbeatIntervalMs?: number;
  /**
   * How often a member heartbeats while one handler call is in flight, so a call longer than the session timeout
   * does not get the member evicted. Must be below `sessionTimeoutMs`; 0 turns it off (tests only). Default
   * `heartbeatIntervalMs`.
   */
  readonly inFlightHeartbeatMs?: number;
  /** How long the group waits for members to rejoin during a rebalance. Default 30000 ms. */
  readonly rebalanceTimeoutMs?: number;
  /** Longest a fetch waits for new records when there are none. Default 500 ms. */
  readonly maxWaitTimeMs?: number;
  /** Backoff before redelivering a rejected batch: doubles from `initial` up to `max`. Default 100 ms → 5 s. */
  readonly redeliveryInitialBackoffMs?: number;
  readonly redeliveryMaxBackoffMs?: number;
}

interface ResolvedOptions {
  readonly replicationFactor: number;
  readonly connectionTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly producerRetries: number;
  readonly sendTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly inFlightHeartbeatMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly maxWaitTimeMs: number;
  readonly redeliveryInitialBackoffMs: number;
  readonly redeliveryMaxBackoffMs: number;
}

export class KafkaBus implements Bus {
  private readonly partitionCounts = new Map<string, number>();
  /** Each topic's `max.message.bytes` as the broker reports it (one record batch per partition may not exceed it). */
  private readonly batchByteLimits = new Map<string, number>();
  private readonly roundRobin = new Map<string, number>();
  private readonly subscriptions = new Set<KafkaSubscription>();
  private readonly producerInstance: Producer;
  private closing: Promise<void> | null = null;
  /** Set while a stalled producer is being replaced; sends wait for it. */
  private producerReplacement: Promise<void> | null = null;
  /**
   * A replacement producer whose first connect failed (it was made while the broker was away). kafkajs never
   * connects a producer by itself — every send would fail with "The producer is disconnected" for ever — so the
   * next send connects it first.
   */
  private unconnectedProducer: KafkaProducer | null = null;
  private producerReconnect: Promise<void> | null = null;

  private constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private kafkaProducer: KafkaProducer,
    private readonly options: ResolvedOptions,
    private readonly logger: Logger,
  ) {
    this.producerInstance = Object.freeze({
      send: (topic: string, records: readonly OutgoingRecord[]) => this.send(topic, records),
    });
  }

  /**
   * Connects an admin client and the idempotent producer. Throws INVALID_ARGUMENT for bad options, a
   * non-retriable KAFKA_AUTHENTICATION_FAILED when the brokers refuse the SASL credentials, and a retriable
   * KAFKA_UNAVAILABLE if no broker answers (also when TLS cannot be set up: a wrong CA, or TLS to a plaintext port).
   */
  static async connect(options: KafkaBusOptions): Promise<KafkaBus> {
    const resolved = resolveOptions(options);
    const logger = options.logger.child({ component: 'kafka-bus' });
    const kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      ...transportSecurity(options),
      connectionTimeout: resolved.connectionTimeoutMs,
      requestTimeout: resolved.requestTimeoutMs,
      logLevel: KafkaLogLevel.WARN,
      logCreator: kafkaLogCreator(logger),
      retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 8 },
    });
    const admin = kafka.admin();
    const producer = createProducer(kafka, resolved);
    try {
      await admin.connect();
      await producer.connect();
    } catch (error) {
      await Promise.allSettled([admin.disconnect(), producer.disconnect()]);
      throw toVigilError(error, `connecting to Kafka at ${options.brokers.join(',')}`);
    }
    logger.info('kafka bus connected', {
      brokers: options.brokers,
      clientId: options.clientId,
      tls: options.tls !== undefined,
      // Who, never the password.
      ...(options.sasl ? { sasl: { mechanism: options.sasl.mechanism, username: options.sasl.username } } : {}),
    });
    return new KafkaBus(kafka, admin, producer, resolved, logger);
  }

  /** Creates missing topics (and waits for their leaders); existing ones are left as they are. */
  async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    const problems = topicSpecProblems(specs);
    if (problems.length > 0) throw new ValidationError('invalid topic specs', problems, BusErrorCode.invalidTopic);
    this.assertOpen();
    const unique = [...new Map(specs.map((spec) => [spec.topic, spec])).values()];
    if (unique.length === 0) return;
    try {
      const existing = new Set(await this.admin.listTopics());
      const missing = unique.filter((spec) => !existing.has(spec.topic));
      if (missing.length > 0) {
        await this.admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((spec) => ({
            topic: spec.topic,
            numPartitions: spec.partitions,
            replicationFactor: this.options.replicationFactor,
            configEntries: [
              ...(spec.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : []),
              ...(spec.retentionMs !== undefined ? [{ name: 'retention.ms', value: String(spec.retentionMs) }] : []),
              ...compactionConfigEntries(spec.compaction),
            ],
          })),
        });
        this.logger.info('kafka: topics created', {
          topics: missing.map((spec) => `${spec.topic}(${spec.partitions})`),
        });
      }
      for (const spec of unique.filter((s) => existing.has(s.topic))) {
        const partitions = await this.partitionCount(spec.topic);
        if (partitions !== spec.partitions) {
          this.logger.warn('ensureTopics: topic exists with another partition count; left as it is', {
            topic: spec.topic,
            partitions,
            requested: spec.partitions,
          });
        }
      }
    } catch (error) {
      throw toVigilError(error, 'creating topics', { topics: unique.map((spec) => spec.topic) });
    }
  }

  async partitionCount(topic: string): Promise<number> {
    this.assertOpen();
    const cached = this.partitionCounts.get(topic);
    if (cached !== undefined) return cached;
    try {
      // kafkajs retries UNKNOWN_TOPIC_OR_PARTITION for seconds; the topic list answers "missing" at once.
      if (!(await this.admin.listTopics()).includes(topic)) {
        throw invalidArgument(BusErrorCode.unknownTopic, `unknown topic "${topic}" (create it with ensureTopics)`, {
          topic,
        });
      }
      const { topics } = await this.admin.fetchTopicMetadata({ topics: [topic] });
      const count = topics[0]?.partitions.length ?? 0;
      if (count === 0)
        throw invalidArgument(BusErrorCode.unknownTopic, `unknown topic "${topic}" (create it with ensureTopics)`, {
          topic,
        });
      // Vigil never adds partitions to a live topic (that would move keys); the count is safe to cache.
      this.partitionCounts.set(topic, count);
      return count;
    } catch (error) {
      throw toVigilError(error, `reading metadata of ${topic}`, { topic });
    }
  }

  producer(): Producer {
    return this.producerInstance;
  }

  /**
   * Sends `records` to `topic` and resolves with their positions (input order) once the broker acknowledged
   * all of them (acks=all). Rejects with UNKNOWN_TOPIC, RECORD_TOO_LARGE, INVALID_ARGUMENT, LOG_CLOSED, or a
   * retriable KAFKA_UNAVAILABLE; then records bound for other partitions of the same call may have been written.
   */
  async send(topic: string, records: readonly OutgoingRecord[]): Promise<RecordPosition[]> {
    this.assertOpen();
    if (records.length === 0) return [];
    const partitions = await this.partitionCount(topic);
    const targets = new Array<number>(records.length);
    const messages = records.map((record, i) => {
      if (!Buffer.isBuffer(record.value))
        throw invalidArgument(BusErrorCode.invalidArgument, `record ${i}: value must be a Buffer`, {
          topic,
          index: i,
        });
      if (record.tombstone === true && record.value.length > 0)
        throw invalidArgument(BusErrorCode.invalidArgument, `record ${i}: a tombstone's value must be empty`, {
          topic,
          index: i,
        });
      if (record.timestampMs !== undefined && !Number.isSafeInteger(record.timestampMs)) {
        throw invalidArgument(BusErrorCode.invalidArgument, `record ${i}: timestampMs must be an integer`, {
          topic,
          index: i,
        });
      }
      const partition =
        record.key === null ? this.nextRoundRobin(topic, partitions) : partitionForKey(record.key, partitions);
      targets[i] = partition;
      return {
        key: record.key,
        value: record.tombstone === true ? null : record.value,
        partition,
        ...(record.headers === undefined ? {} : { headers: { ...record.headers } }),
        ...(record.timestampMs === undefined ? {} : { timestamp: String(record.timestampMs) }),
      };
    });
    const limit = await this.batchByteLimit(topic);
    const rounds = splitIntoRounds(messages, targets, limit);
    if (typeof rounds === 'number') {
      const bytes = estimatedRecordBytes(messages[rounds]!);
      throw invalidArgument(
        BusErrorCode.recordTooLarge,
        `record ${rounds} is about ${bytes} bytes, more than ${topic}'s max.message.bytes (${limit})`,
        { topic, index: rounds, bytes, limit },
      );
    }
    const positions = new Array<RecordPosition>(records.length);
    for (const round of rounds) {
      let acknowledged;
      try {
        acknowledged = await this.sendWithTimeout({ topic, acks: -1, messages: round.map((i) => messages[i]!) });
      } catch (error) {
        if (isUnknownTopic(error)) this.partitionCounts.delete(topic);
        if (isTooLarge(error)) this.batchByteLimits.delete(topic);
        throw toVigilError(error, `sending ${round.length} of ${records.length} records to ${topic}`, { topic });
      }
      // One round is one produce request: per partition, its records form one batch at consecutive offsets.
      const baseOffsets = new Map(acknowledged.map((meta) => [meta.partition, Number(meta.baseOffset)]));
      const nextInPartition = new Map<number, number>();
      for (const i of round) {
        const partition = targets[i]!;
        const base = baseOffsets.get(partition);
        if (base === undefined)
          throw toVigilError(new Error(`no acknowledgement for partition ${partition}`), `sending to ${topic}`, {
            topic,
            partition,
          });
        const index = nextInPartition.get(partition) ?? 0;
        nextInPartition.set(partition, index + 1);
        positions[i] = { topic, partition, offset: base + index };
      }
    }
    return positions;
  }

  /**
   * The topic's `max.message.bytes` (the broker's `message.max.bytes` unless the topic overrides it), read
   * from the broker once per topic. Kafka applies it to each record batch, i.e. per partition per request.
   */
  private async batchByteLimit(topic: string): Promise<number> {
    const cached = this.batchByteLimits.get(topic);
    if (cached !== undefined) return cached;
    let limit = DEFAULT_MAX_MESSAGE_BYTES;
    try {
      const described = await this.admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }],
      });
      const value = described.resources[0]?.configEntries.find(
        (e) => e.configName === 'max.message.bytes',
      )?.configValue;
      const parsed = Number(value);
      if (Number.isSafeInteger(parsed) && parsed > 0) limit = parsed;
    } catch (error) {
      // Not cached: the next send asks again. Kafka's default keeps sends going meanwhile.
      this.logger.warn('kafka: could not read max.message.bytes; assuming the default', {
        topic,
        limit,
        error: describeError(error),
      });
      return limit;
    }
    this.batchByteLimits.set(topic, limit);
    return limit;
  }

  private async sendWithTimeout(record: ProducerRecord): Promise<RecordMetadata[]> {
    await this.producerReplacement;
    const producer = this.kafkaProducer;
    let timer: NodeJS.Timeout | undefined;
    try {
      if (this.unconnectedProducer === producer) await this.connectReplacement(producer);
      return await Promise.race([
        producer.send(record),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            this.replaceProducer(producer, 'a send was not acknowledged in time');
            reject(
              new UnavailableError(
                KafkaBusErrorCode.unavailable,
                `send to ${record.topic} not acknowledged within ${this.options.sendTimeoutMs} ms (outcome unknown); producer replaced`,
              ),
            );
          }, this.options.sendTimeoutMs);
        }),
      ]);
    } catch (error) {
      if (!needsNewProducer(error)) throw error;
      this.replaceProducer(producer, 'its sequence state is out of step with the broker');
      throw new UnavailableError(
        KafkaBusErrorCode.unavailable,
        `send to ${record.topic} refused (${describeError(error)}); producer replaced, retry`,
        error,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Swaps a stalled producer for a new one (a new producer id: idempotence does not span the two). */
  private replaceProducer(stalled: KafkaProducer, why: string): void {
    if (this.kafkaProducer !== stalled || this.producerReplacement !== null) return;
    this.logger.error(`kafka: ${why}; replacing the producer`, { sendTimeoutMs: this.options.sendTimeoutMs });
    const replacement = createProducer(this.kafka, this.options);
    this.kafkaProducer = replacement;
    this.producerReplacement = replacement
      .connect()
      .catch((error: unknown) => {
        if (this.kafkaProducer === replacement) this.unconnectedProducer = replacement;
        this.logger.warn('kafka: replacement producer failed to connect; the next send connects it', {
          error: describeError(error),
        });
      })
      .finally(() => (this.producerReplacement = null));
    // A stalled client may never finish disconnecting; do not wait for it.
    stalled.disconnect().catch(() => undefined);
  }

  /** Connects a replacement producer whose first connect failed; concurrent sends share one attempt. */
  private connectReplacement(producer: KafkaProducer): Promise<void> {
    this.producerReconnect ??= producer
      .connect()
      .then(() => {
        if (this.unconnectedProducer === producer) this.unconnectedProducer = null;
      })
      .finally(() => (this.producerReconnect = null));
    return this.producerReconnect;
  }

  /**
   * Joins `options.groupId` as a new member and starts delivering batches to `handler`; resolves once joined.
   * Members of one group in any process split the partitions. Throws INVALID_ARGUMENT (every bad field),
   * UNKNOWN_TOPIC, LOG_CLOSED or KAFKA_UNAVAILABLE.
   */
  async subscribe(options: SubscribeOptions, handler: BatchHandler): Promise<Subscription> {
    this.assertOpen();
    const resolved = withSubscribeDefaults(options);
    const { commitMode, startFrom, maxBatchRecords, maxBatchBytes, lingerMs, deadLetter } = resolved;
    const problems = subscribeOptionProblems(resolved);
    // kafkajs heartbeats between fetches only: a fetch held open longer than a heartbeat interval delays them all.
    if (lingerMs >= this.options.heartbeatIntervalMs)
      problems.push({
        path: '/lingerMs',
        message: `must be less than the heartbeat interval (${this.options.heartbeatIntervalMs} ms) on Kafka`,
      });
    if (problems.length > 0)
      throw new ValidationError('invalid subscribe options', problems, BusErrorCode.invalidArgument);
    const topics = [...new Set(options.topics)];
    // Fails with UNKNOWN_TOPIC now rather than leaving kafkajs to wait for a topic that never comes.
    for (const topic of topics) await this.partitionCount(topic);
    const consumer = this.kafka.consumer({
      groupId: options.groupId,
      // Partition p of every topic to one member (co-partitioned-assigner.ts); round robin only while a member of
      // an older build that knows nothing else is still in the group.
      partitionAssigners: [coPartitionedAssigner, PartitionAssigners.roundRobin],
      sessionTimeout: this.options.sessionTimeoutMs,
      heartbeatInterval: this.options.heartbeatIntervalMs,
      rebalanceTimeout: this.options.rebalanceTimeoutMs,
      // Lingering is the broker's: a fetch waits for LINGER_MIN_BYTES (or a batch's bytes, if smaller) or
      // `lingerMs`, whichever comes first. The broker counts at most a partition's fetch size (kafkajs: 1 MiB) of
      // each partition towards it, so it is kept well under that; on Kafka a linger ends on bytes, not records.
      // (`acrossPartitions` needs nothing here: kafkajs hands over one partition per call.)
      ...(lingerMs > 0
        ? { minBytes: Math.min(maxBatchBytes, LINGER_MIN_BYTES), maxWaitTimeInMs: lingerMs }
        : { maxWaitTimeInMs: this.options.maxWaitTimeMs }),
      allowAutoTopicCreation: false,
      retry: {
        initialRetryTime: 100,
        maxRetryTime: 2000,
        retries: 8,
        // A consumer that gave up (broker away longer than its retries) starts over instead of dying silently.
        restartOnFailure: (error) => {
          this.logger.error('kafka consumer failed; restarting it', {
            groupId: options.groupId,
            error: describeError(error),
          });
          return Promise.resolve(this.closing === null);
        },
      },
    });
    const subscription = new KafkaSubscription(
      consumer,
      {
        groupId: options.groupId,
        topics,
        commitMode,
        maxBatchRecords,
        maxBatchBytes,
        ...(deadLetter ? { deadLetter } : {}),
        redeliveryInitialBackoffMs: this.options.redeliveryInitialBackoffMs,
        redeliveryMaxBackoffMs: this.options.redeliveryMaxBackoffMs,
        inFlightHeartbeatMs: this.options.inFlightHeartbeatMs,
      },
      handler,
      this.logger,
      (released) => this.subscriptions.delete(released),
    );
    this.subscriptions.add(subscription);
    try {
      await subscription.start(startFrom, this.options.rebalanceTimeoutMs + this.options.sessionTimeoutMs);
    } catch (error) {
      await subscription.close().catch(() => undefined);
      throw toVigilError(error, `joining group ${options.groupId}`, { groupId: options.groupId, topics });
    }
    return subscription;
  }

  /**
   * Up to `maxRecords` records of one partition from `fromOffset`. An empty array at the end offset;
   * OFFSET_OUT_OF_RANGE outside [logStartOffset, endOffset]; INVALID_PARTITION, UNKNOWN_TOPIC.
   */
  async read(topic: string, partition: number, fromOffset: number, maxRecords: number): Promise<BusRecord[]> {
    this.assertOpen();
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
    const partitions = await this.partitionCount(topic);
    if (!Number.isInteger(partition) || partition < 0 || partition >= partitions) {
      throw invalidArgument(BusErrorCode.invalidPartition, `${topic} has no partition ${partition}`, {
        topic,
        partition,
      });
    }
    const bounds = await this.offsetBounds(topic);
    const { low, high } = bounds[partition]!;
    if (fromOffset < low || fromOffset > high) {
      throw invalidArgument(
        BusErrorCode.offsetOutOfRange,
        `offset ${fromOffset} is outside [${low}, ${high}] of ${topic}-${partition}`,
        {
          topic,
          partition,
          offset: fromOffset,
          startOffset: low,
          endOffset: high,
        },
      );
    }
    const until = Math.min(high, fromOffset + maxRecords);
    if (fromOffset === until) return [];
    return this.replay(topic, partition, fromOffset, until, partitions);
  }

  /** Reads [fromOffset, untilOffset) of one partition with a consumer in a group of its own. */
  private async replay(
    topic: string,
    partition: number,
    fromOffset: number,
    untilOffset: number,
    partitions: number,
  ): Promise<BusRecord[]> {
    const groupId = `vigil-replay-${randomUUID()}`;
    const consumer = this.kafka.consumer({
      groupId,
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
    });
    const records: BusRecord[] = [];
    let done!: () => void;
    const complete = new Promise<void>((resolve) => (done = resolve));
    let fail!: (error: Error) => void;
    const failed = new Promise<never>((_, reject) => (fail = reject));
    failed.catch(() => undefined); // handled by the race below; a timeout before it is reached must not go unhandled
    // A bound on waiting without progress, not on the whole read: joining the group may take up to a rebalance
    // (as long as a subscription may take to start), and after that each join or batch that brings records
    // restarts the clock. A loaded machine makes a replay slower; only a stalled one makes it fail.
    const joinBudgetMs = this.options.rebalanceTimeoutMs + this.options.sessionTimeoutMs;
    const progressBudgetMs = this.options.requestTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const waitAtMost = (ms: number, what: string): void => {
      clearTimeout(timer);
      timer = setTimeout(
        () => fail(new Error(`replay of ${topic}-${partition} from ${fromOffset}: ${what} within ${ms} ms`)),
        ms,
      );
    };
    let stopListening: (() => void) | undefined;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      // Seek on every group join, not once after run(): run() resolves before the group exists, and kafkajs
      // restarts the group after a retriable error (e.g. a topic whose metadata has not propagated yet), which
      // drops a seek made before. Each join resumes after the last record read.
      const others = Array.from({ length: partitions }, (_, p) => p).filter((p) => p !== partition);
      const removeJoinListener = consumer.on(consumer.events.GROUP_JOIN, () => {
        waitAtMost(progressBudgetMs, `no records after joining (${records.length} read)`);
        const next = records.length === 0 ? fromOffset : records[records.length - 1]!.offset + 1;
        consumer.seek({ topic, partition, offset: String(next) });
        if (others.length > 0) consumer.pause([{ topic, partitions: others }]);
      });
      stopListening = removeJoinListener;
      waitAtMost(joinBudgetMs, 'the replay consumer did not join');
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: (payload) => {
          const batch = payload.batch;
          if (batch.partition !== partition || payload.isStale()) return Promise.resolve();
          const before = records.length;
          // On a compacted topic the range may end in a gap: a record past it shows the range was read whole.
          let pastRange = false;
          for (const message of batch.messages) {
            const offset = Number(message.offset);
            const expected = records.length === 0 ? fromOffset : records[records.length - 1]!.offset + 1;
            if (offset < expected) continue;
            if (offset >= untilOffset) {
              pastRange = true;
              break;
            }
            records.push(toBusRecord(topic, partition, message));
          }
          if (records.length > before) waitAtMost(progressBudgetMs, `no further records (${records.length} read)`);
          if (pastRange || (records.length > 0 && records[records.length - 1]!.offset >= untilOffset - 1)) done();
          return Promise.resolve();
        },
      });
      await Promise.race([complete, failed]);
      return records;
    } catch (error) {
      throw toVigilError(error, `reading ${topic}-${partition} from ${fromOffset}`, {
        topic,
        partition,
        offset: fromOffset,
      });
    } finally {
      clearTimeout(timer);
      stopListening?.();
      await consumer.disconnect().catch(() => undefined);
      // The group never committed anything; delete it now instead of leaving it to expire.
      await this.admin.deleteGroups([groupId]).catch(() => undefined);
    }
  }

  async endOffsets(topic: string): Promise<number[]> {
    return (await this.offsetBounds(topic)).map((bounds) => bounds.high);
  }

  async committedOffsets(groupId: string, topic: string): Promise<number[]> {
    this.assertOpen();
    const partitions = await this.partitionCount(topic);
    try {
      const [result] = await this.admin.fetchOffsets({ groupId, topics: [topic] });
      const offsets = new Array<number>(partitions).fill(-1);
      for (const { partition, offset } of result?.partitions ?? [])
        if (partition < partitions) offsets[partition] = Number(offset);
      return offsets;
    } catch (error) {
      throw toVigilError(error, `reading committed offsets of ${groupId} on ${topic}`, { groupId, topic });
    }
  }

  /** Closes every subscription (each finishes its batch and commits in 'after-batch' mode), then the clients. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const results = await Promise.allSettled([...this.subscriptions].map((subscription) => subscription.close()));
    await Promise.allSettled([this.kafkaProducer.disconnect(), this.admin.disconnect()]);
    this.logger.info('kafka bus closed');
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  private async offsetBounds(topic: string): Promise<{ low: number; high: number }[]> {
    // Right after a topic is created its partitions may not have a leader everywhere yet ("not the leader for that
    // topic-partition"): a read-only look-up, so it is retried briefly (about 6 s in all) before the error stands.
    for (let attempt = 1; ; attempt++) {
      this.assertOpen();
      try {
        const offsets = await this.admin.fetchTopicOffsets(topic);
        return offsets
          .sort((a, b) => a.partition - b.partition)
          .map((o) => ({ low: Number(o.low), high: Number(o.high) }));
      } catch (error) {
        const failure = toVigilError(error, `reading offsets of ${topic}`, { topic });
        if (!isRetriable(failure) || attempt >= OFFSET_LOOKUP_ATTEMPTS) throw failure;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }

  private nextRoundRobin(topic: string, partitions: number): number {
    const next = this.roundRobin.get(topic) ?? 0;
    this.roundRobin.set(topic, next + 1);
    return next % partitions;
  }

  private assertOpen(): void {
    if (this.closing !== null) throw busClosed();
  }
}

/** Tries of an offset look-up while a new topic's leaders settle (waits of 0.1, 0.2, … s between them). */
const OFFSET_LOOKUP_ATTEMPTS = 10;

function createProducer(kafka: Kafka, options: ResolvedOptions): KafkaProducer {
  return kafka.producer({
    idempotent: true,
    // kafkajs keeps per-partition sequence numbers but cannot re-sequence after an out-of-order failure, so one
    // request in flight per broker is what keeps retries from reordering records.
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: murmur2Partitioner,
    retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: options.producerRetries },
  });
}

function isUnknownTopic(error: unknown): boolean {
  return toVigilError(error, '').code === BusErrorCode.unknownTopic;
}

/** The broker refused a batch as too large: its limit may have changed since it was read. */
function isTooLarge(error: unknown): boolean {
  return toVigilError(error, '').code === BusErrorCode.recordTooLarge;
}

/** Routes kafkajs's own log lines into Vigil's structured logger. */
function kafkaLogCreator(logger: Logger): logCreator {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, ...fields } = log;
      // Bounded producer retries are deliberate (see producerRetries); kafkajs warns about them on every connect.
      if (message.startsWith('Limiting retries for the idempotent producer')) return kafkaLogger.debug(message, fields);
      if (level === KafkaLogLevel.ERROR) kafkaLogger.error(message, fields);
      else if (level === KafkaLogLevel.WARN) kafkaLogger.warn(message, fields);
      else if (level === KafkaLogLevel.INFO) kafkaLogger.info(message, fields);
      else kafkaLogger.debug(message, fields);
    };
}

/** kafkajs's `ssl` and `sasl` settings; the secrets are revealed only here, into the client. */
function transportSecurity(options: KafkaBusOptions): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const { tls, sasl } = options;
  return {
    ...(tls === undefined
      ? {}
      : {
          ssl: {
            rejectUnauthorized: true,
            ...(tls.ca !== undefined ? { ca: [tls.ca] } : {}),
            ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
            ...(tls.key !== undefined ? { key: tls.key.reveal() } : {}),
          },
        }),
    ...(sasl === undefined ? {} : { sasl: saslOptions(sasl) }),
  };
}

function saslOptions(sasl: KafkaSasl): SASLOptions {
  const credentials = { username: sasl.username, password: sasl.password.reveal() };
  return sasl.mechanism === 'scram-sha-256'
    ? { mechanism: 'scram-sha-256', ...credentials }
    : { mechanism: 'scram-sha-512', ...credentials };
}

function resolveOptions(options: KafkaBusOptions): ResolvedOptions {
  const problems: FieldProblem[] = [];
  const integer = <K extends keyof ResolvedOptions>(name: K, fallback: number, min: number, max: number): number => {
    const value = (options as Partial<Record<K, unknown>>)[name] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      problems.push({ path: `/${name}`, message: `must be an integer in [${min}, ${max}]` });
    return value as number;
  };
  if (!Array.isArray(options.brokers) || options.brokers.length === 0)
    problems.push({ path: '/brokers', message: 'must list at least one host:port' });
  if (typeof options.clientId !== 'string' || options.clientId.length === 0)
    problems.push({ path: '/clientId', message: 'must be a non-empty string' });
  if (options.tls !== undefined && (options.tls.cert === undefined) !== (options.tls.key === undefined))
    problems.push({ path: '/tls', message: 'a client certificate needs its key, and a key its certificate' });
  if (options.sasl !== undefined) {
    if (!['scram-sha-256', 'scram-sha-512'].includes(options.sasl.mechanism))
      problems.push({ path: '/sasl/mechanism', message: 'must be scram-sha-256 or scram-sha-512' });
    if (options.sasl.username === '') problems.push({ path: '/sasl/username', message: 'must be non-empty' });
    if (options.sasl.password.reveal() === '') problems.push({ path: '/sasl/password', message: 'must be non-empty' });
  }
  const resolved: ResolvedOptions = {
    replicationFactor: integer('replicationFactor', 1, 1, 32),
    connectionTimeoutMs: integer('connectionTimeoutMs', 3000, 1, 600_000),
    requestTimeoutMs: integer('requestTimeoutMs', 30_000, 1, 600_000),
    producerRetries: integer('producerRetries', 10, 0, 1_000_000),
    sendTimeoutMs: integer('sendTimeoutMs', 30_000, 100, 3_600_000),
    sessionTimeoutMs: integer('sessionTimeoutMs', 10_000, 1000, 3_600_000),
    heartbeatIntervalMs: integer('heartbeatIntervalMs', 1000, 100, 3_600_000),
    inFlightHeartbeatMs: integer('inFlightHeartbeatMs', options.heartbeatIntervalMs ?? 1000, 0, 3_600_000),
    rebalanceTimeoutMs: integer('rebalanceTimeoutMs', 30_000, 1000, 3_600_000),
    maxWaitTimeMs: integer('maxWaitTimeMs', 500, 0, 60_000),
    redeliveryInitialBackoffMs: integer('redeliveryInitialBackoffMs', 100, 1, 3_600_000),
    redeliveryMaxBackoffMs: integer('redeliveryMaxBackoffMs', 5000, 1, 3_600_000),
  };
  if (resolved.inFlightHeartbeatMs >= resolved.sessionTimeoutMs)
    problems.push({ path: '/inFlightHeartbeatMs', message: 'must be below sessionTimeoutMs (or 0 for off)' });
  if (problems.length > 0)
    throw new ValidationError('invalid Kafka bus options', problems, BusErrorCode.invalidArgument);
  return Object.freeze(resolved);
}

/** Kafka's default `message.max.bytes` (1 MiB + 12 bytes of log overhead). */
const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;
/** Record batch header (magic v2) plus headroom for varints, so estimates stay under the broker's count. */
const BATCH_OVERHEAD_BYTES = 61 + 512;

/** A compacted topic's timing as Kafka topic configs (see TopicCompaction). */
function compactionConfigEntries(compaction: TopicCompaction | undefined): Array<{ name: string; value: string }> {
  if (compaction === undefined) return [];
  return [
    { name: 'segment.ms', value: String(compaction.segmentMs) },
    { name: 'max.compaction.lag.ms', value: String(compaction.maxLagMs) },
    { name: 'min.compaction.lag.ms', value: String(compaction.minLagMs ?? 0) },
    { name: 'delete.retention.ms', value: String(compaction.deleteRetentionMs) },
  ];
}

interface SizedMessage {
  readonly key: string | Buffer | null;
  /** null: a tombstone. */
  readonly value: Buffer | null;
  readonly headers?: Record<string, string | Buffer | undefined>;
}

/**
 * An upper bound of a record's size inside a v2 record batch, uncompressed: length, attributes, timestamp
 * and offset deltas, key, value and headers, each varint counted at its widest (5 bytes).
 */
export function estimatedRecordBytes(message: SizedMessage): number {
  const keyBytes = message.key === null ? 0 : Buffer.byteLength(message.key);
  let headerBytes = 0;
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    headerBytes += 10 + Buffer.byteLength(name) + (value === undefined ? 0 : Buffer.byteLength(value));
  }
  return 1 + 4 * 5 + 5 + keyBytes + 5 + (message.value?.length ?? 0) + 5 + headerBytes;
}

/**
 * Splits one send into produce requests ("rounds") so that no partition's batch in any request exceeds
 * `limitBytes`; records keep their order within each partition (round r holds each partition's r-th slice).
 * Returns the index of the first record that cannot fit even alone.
 */
export function splitIntoRounds(
  messages: readonly SizedMessage[],
  partitions: readonly number[],
  limitBytes: number,
): number[][] | number {
  const budget = limitBytes - BATCH_OVERHEAD_BYTES;
  const roundOfPartition = new Map<number, { round: number; bytes: number }>();
  const rounds: number[][] = [];
  for (let i = 0; i < messages.length; i++) {
    const bytes = estimatedRecordBytes(messages[i]!);
    if (bytes > budget) return i;
    const partition = partitions[i]!;
    const current = roundOfPartition.get(partition) ?? { round: 0, bytes: 0 };
    if (current.bytes + bytes > budget) {
      current.round += 1;
      current.bytes = 0;
    }
    current.bytes += bytes;
    roundOfPartition.set(partition, current);
    (rounds[current.round] ??= []).push(i);
  }
  return rounds;
}
