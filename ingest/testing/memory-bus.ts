import type {
  Bus,
  BusRecord,
  OutgoingRecord,
  Producer,
  RecordPosition,
  Subscription,
  TopicSpec,
} from '../../platform/bus.js';
import { UnavailableError } from '../../platform/errors.js';
import { partitionForKey } from '../../platform/murmur2.js';

/**
 * A test-only in-memory Bus: topics, keyed partitioning (murmur2, as Kafka), offsets, replay reads. No consumer
 * groups. `failNextSends(n)` makes the next n sends reject (retriable), for fault-injection tests.
 */
export class MemoryBus implements Bus {
  private readonly topics = new Map<string, BusRecord[][]>();
  private failures = 0;
  /** Every `send` call: topic and record count (to assert "one send per batch"). */
  readonly sends: Array<{ topic: string; records: number }> = [];

  ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    for (const spec of specs)
      if (!this.topics.has(spec.topic))
        this.topics.set(
          spec.topic,
          Array.from({ length: spec.partitions }, () => []),
        );
    return Promise.resolve();
  }

  partitionCount(topic: string): Promise<number> {
    return Promise.resolve(this.partitions(topic).length);
  }

  failNextSends(count: number): void {
    this.failures = count;
  }

  producer(): Producer {
    return {
      send: (topic: string, records: readonly OutgoingRecord[]): Promise<RecordPosition[]> => {
        if (this.failures > 0) {
          this.failures--;
          return Promise.reject(new UnavailableError('LOG_IO_FAILED', 'planted log failure'));
        }
        this.sends.push({ topic, records: records.length });
        const partitions = this.partitions(topic);
        let roundRobin = 0;
        return Promise.resolve(
          records.map((record) => {
            const partition =
              record.key === null ? roundRobin++ % partitions.length : partitionForKey(record.key, partitions.length);
            const log = partitions[partition]!;
            log.push({
              topic,
              partition,
              offset: log.length,
              key: record.key,
              value: record.value,
              headers: record.headers ?? {},
              timestampMs: record.timestampMs ?? Date.now(),
            });
            return { topic, partition, offset: log.length - 1 };
          }),
        );
      },
    };
  }

  subscribe(): Promise<Subscription> {
    return Promise.reject(new Error('MemoryBus has no consumer groups'));
  }

  read(topic: string, partition: number, fromOffset: number, maxRecords: number): Promise<BusRecord[]> {
    return Promise.resolve((this.partitions(topic)[partition] ?? []).slice(fromOffset, fromOffset + maxRecords));
  }

  endOffsets(topic: string): Promise<number[]> {
    return Promise.resolve(this.partitions(topic).map((p) => p.length));
  }

  committedOffsets(_groupId: string, topic: string): Promise<number[]> {
    return Promise.resolve(this.partitions(topic).map(() => -1));
  }

  /** Every record of a topic, partition by partition. */
  all(topic: string): BusRecord[] {
    return this.partitions(topic).flat();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private partitions(topic: string): BusRecord[][] {
    const partitions = this.topics.get(topic);
    if (!partitions) throw new Error(`unknown topic ${topic}`);
    return partitions;
  }
}
