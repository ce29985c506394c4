import type { Bus, Producer } from '../../platform/bus.js';
import { OutboxTopics } from '../../schemas/topics.js';
import type { EndpointRecord } from '../domain/endpoints.js';

/**
 * The registered endpoints: a changelog on `webhook.endpoints` (one partition, so it reads back in the order it
 * was written; latest record per id wins; an empty value is a deletion) folded into a map on start. The
 * notifier is the only writer, so the map is the truth between writes and a write is durable before it is
 * visible.
 */
export class EndpointStore {
  private readonly endpoints = new Map<string, EndpointRecord>();

  private constructor(private readonly producer: Producer) {}

  static async open(outbox: Bus): Promise<EndpointStore> {
    const store = new EndpointStore(outbox.producer());
    const [end = 0] = await outbox.endOffsets(OutboxTopics.webhookEndpoints);
    let offset = 0;
    while (offset < end) {
      const records = await outbox.read(OutboxTopics.webhookEndpoints, 0, offset, Math.min(1000, end - offset));
      if (records.length === 0) break;
      for (const record of records) {
        if (record.key === null) continue;
        if (record.value.length === 0) store.endpoints.delete(record.key);
        else store.endpoints.set(record.key, JSON.parse(record.value.toString('utf8')) as EndpointRecord);
      }
      offset = records[records.length - 1]!.offset + 1;
    }
    return store;
  }

  get(id: string): EndpointRecord | undefined {
    return this.endpoints.get(id);
  }

  /**
   * Oldest first: in the order they were registered, which is the map's own — one writer appends to one partition,
   * and a map keeps each id where its first record put it. Not by `createdAtMs`: two registrations inside one
   * millisecond tie there, and their random ids would then decide.
   */
  list(): EndpointRecord[] {
    return [...this.endpoints.values()];
  }

  async put(record: EndpointRecord): Promise<void> {
    await this.producer.send(OutboxTopics.webhookEndpoints, [
      { key: record.id, value: Buffer.from(JSON.stringify(record)) },
    ]);
    this.endpoints.set(record.id, record);
  }

  async remove(id: string): Promise<void> {
    await this.producer.send(OutboxTopics.webhookEndpoints, [{ key: id, value: Buffer.alloc(0) }]);
    this.endpoints.delete(id);
  }
}
