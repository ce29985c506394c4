import type { Bus, OutgoingRecord, Subscription } from '../../platform/bus.js';
import { describeError, isRetriable } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { Counter } from '../../platform/metrics.js';
import type { Codec } from '../../schemas/codec.js';
import type { FraudAlert } from '../../schemas/generated/types.js';
import { OutboxTopics, Topics } from '../../schemas/topics.js';
import { toEmailAlert } from '../domain/email.js';

export interface EmailFanOutDeps {
  readonly source: Bus;
  readonly outbox: Bus;
  readonly alertCodec: Codec<FraudAlert>;
  /** True while some subscription is active; nothing is written otherwise. */
  readonly anyActive: () => boolean;
  readonly logger: Logger;
  readonly counters: { readonly written: Counter; readonly undecodable: Counter };
}

/**
 * Copies `fraud.alerts` (the source of the `alert.raised` webhook) to `email.alerts`, reduced to what a mail may
 * show, each batch durable on the outbox before the batch is committed: a crash between the two writes the same
 * alerts again (the workers skip offsets already settled, and mails carry per-alert Message-IDs). From the end on
 * a first start, like the webhook fan-out. Undecodable records are counted and skipped: dashboards dead-letters
 * them once.
 */
export async function startEmailFanOut(deps: EmailFanOutDeps, groupId: string): Promise<Subscription> {
  const { logger, counters } = deps;
  const producer = deps.outbox.producer();
  return deps.source.subscribe({ groupId, topics: [Topics.fraudAlerts], startFrom: 'latest' }, async (batch) => {
    if (!deps.anyActive()) return;
    const records: OutgoingRecord[] = [];
    for (const record of batch.records) {
      const alert = await deps.alertCodec.decode(record.value).catch((error: unknown) => {
        if (isRetriable(error)) throw error;
        counters.undecodable.inc({ topic: batch.topic });
        logger.warn('notifier: alert does not decode; no mail for it', {
          topic: batch.topic,
          partition: batch.partition,
          offset: record.offset,
          error: describeError(error),
        });
        return undefined;
      });
      if (alert === undefined) continue;
      const mailable = toEmailAlert(alert);
      records.push({ key: mailable.alertId, value: Buffer.from(JSON.stringify(mailable)) });
    }
    if (records.length === 0) return;
    await producer.send(OutboxTopics.emailAlerts, records);
    counters.written.inc({}, records.length);
  });
}
