import type {
  BatchHandler,
  Bus,
  BusRecord,
  Producer,
  RecordPosition,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from './bus.js';

/**
 * A `Bus` whose topics and consumer groups live under a namespace on a shared cluster: the stages keep using
 * Vigil's topic names (`tx.raw`), the broker sees `<namespace>.tx.raw`, and group `scoring` is
 * `<namespace>.scoring`. Several deployments (or test runs) can then share one Kafka cluster without touching each
 * other's records or offsets. Everything handed back to the stages (records, batches, positions) carries the
 * stage's names again, so a dead letter names `tx.raw`, not the broker's name.
 */
export class NamespacedBus implements Bus {
  private readonly prefix: string;
  private readonly producerInstance: Producer;

  /** `namespace` must be a legal start of a Kafka topic name ([a-zA-Z0-9._-]); the bus checks the full names. */
  constructor(
    private readonly inner: Bus,
    namespace: string,
  ) {
    this.prefix = `${namespace}.`;
    const producer = inner.producer();
    this.producerInstance = Object.freeze({
      send: async (topic: string, records: Parameters<Producer['send']>[1]) =>
        (await producer.send(this.outer(topic), records)).map((position) => this.localPosition(position)),
    });
  }

  ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    return this.inner.ensureTopics(specs.map((spec) => ({ ...spec, topic: this.outer(spec.topic) })));
  }

  partitionCount(topic: string): Promise<number> {
    return this.inner.partitionCount(this.outer(topic));
  }

  producer(): Producer {
    return this.producerInstance;
  }

  async subscribe(options: SubscribeOptions, handler: BatchHandler): Promise<Subscription> {
    const deadLetter = options.deadLetter;
    const subscription = await this.inner.subscribe(
      {
        ...options,
        groupId: this.outer(options.groupId),
        topics: options.topics.map((topic) => this.outer(topic)),
        ...(deadLetter === undefined
          ? {}
          : { deadLetter: (record: BusRecord, error: unknown) => deadLetter(this.localRecord(record), error) }),
      },
      (batch) =>
        handler({
          topic: this.local(batch.topic),
          partition: batch.partition,
          records: batch.records.map((record) => this.localRecord(record)),
        }),
    );
    return {
      commit: () => subscription.commit(),
      positions: () => subscription.positions().map((position) => this.localPosition(position)),
      progress: () => subscription.progress(),
      close: () => subscription.close(),
    };
  }

  async read(topic: string, partition: number, fromOffset: number, maxRecords: number): Promise<BusRecord[]> {
    const records = await this.inner.read(this.outer(topic), partition, fromOffset, maxRecords);
    return records.map((record) => this.localRecord(record));
  }

  endOffsets(topic: string): Promise<number[]> {
    return this.inner.endOffsets(this.outer(topic));
  }

  committedOffsets(groupId: string, topic: string): Promise<number[]> {
    return this.inner.committedOffsets(this.outer(groupId), this.outer(topic));
  }

  /** Closes the underlying bus: a namespaced bus owns the one it wraps. */
  close(): Promise<void> {
    return this.inner.close();
  }

  private outer(name: string): string {
    return this.prefix + name;
  }

  private local(name: string): string {
    return name.startsWith(this.prefix) ? name.slice(this.prefix.length) : name;
  }

  private localRecord(record: BusRecord): BusRecord {
    return { ...record, topic: this.local(record.topic) };
  }

  private localPosition(position: RecordPosition): RecordPosition {
    return { ...position, topic: this.local(position.topic) };
  }
}
