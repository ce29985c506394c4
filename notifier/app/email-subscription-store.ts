import type { Bus, Producer } from '../../platform/bus.js';
import { OutboxTopics } from '../../schemas/topics.js';
import type { EmailSubscriptionRecord } from '../domain/email.js';

/**
 * The e-mail subscriptions: a changelog on `email.subscriptions` (one partition, latest record per id wins, an
 * empty value deletes) folded into a map on start — the same scheme as the webhook endpoint store. The notifier
 * is the only writer, so the map is the truth between writes and a write is durable before it is visible.
 */
export class EmailSubscriptionStore {
  private readonly subscriptions = new Map<string, EmailSubscriptionRecord>();

  private constructor(private readonly producer: Producer) {}

  static async open(outbox: Bus): Promise<EmailSubscriptionStore> {
    const store = new EmailSubscriptionStore(outbox.producer());
    const [end = 0] = await outbox.endOffsets(OutboxTopics.emailSubscriptions);
    let offset = 0;
    while (offset < end) {
      const records = await outbox.read(OutboxTopics.emailSubscriptions, 0, offset, Math.min(1000, end - offset));
      if (records.length === 0) break;
      for (const record of records) {
        if (record.key === null) continue;
        if (record.value.length === 0) store.subscriptions.delete(record.key);
        else store.subscriptions.set(record.key, JSON.parse(record.value.toString('utf8')) as EmailSubscriptionRecord);
      }
      offset = records[records.length - 1]!.offset + 1;
    }
    return store;
  }

  get(id: string): EmailSubscriptionRecord | undefined {
    return this.subscriptions.get(id);
  }

  /**
   * Oldest first: in the order they were registered, which is the map's own — one writer appends to one partition,
   * and a map keeps each id where its first record put it. Not by `createdAtMs`: two registrations inside one
   * millisecond tie there, and their random ids would then decide.
   */
  list(): EmailSubscriptionRecord[] {
    return [...this.subscriptions.values()];
  }

  async put(record: EmailSubscriptionRecord): Promise<void> {
    await this.producer.send(OutboxTopics.emailSubscriptions, [
      { key: record.id, value: Buffer.from(JSON.stringify(record)) },
    ]);
    this.subscriptions.set(record.id, record);
  }

  async remove(id: string): Promise<void> {
    await this.producer.send(OutboxTopics.emailSubscriptions, [{ key: id, value: Buffer.alloc(0) }]);
    this.subscriptions.delete(id);
  }
}
