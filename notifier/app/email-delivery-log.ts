import type { Bus, Producer } from '../../platform/bus.js';
import { OutboxTopics } from '../../schemas/topics.js';

export type MailKind = 'immediate' | 'digest';

/**
 * What became of one mail: `sent` (the relay accepted it), `refused` (5xx), `expired` (deferred for the whole
 * retry period) or `withheld` (it carried a card number and was not sent). Every one of them settles the alerts it
 * covers: none is mailed again.
 */
export type MailOutcome = 'sent' | 'refused' | 'expired' | 'withheld';

/** One settled mail as kept on `email.deliveries`. */
export interface MailRecord {
  readonly subscriptionId: string;
  readonly kind: MailKind;
  readonly messageId: string;
  readonly outcome: MailOutcome;
  /** The last `email.alerts` offset this mail covers: for its kind, nothing at or before it is mailed again. */
  readonly throughOffset: number;
  readonly alerts: number;
  readonly attempts: number;
  readonly atMs: number;
  readonly error: string | null;
}

interface SubscriptionProgress {
  immediateThrough: number;
  digestThrough: number;
  lastDigestAtMs: number | undefined;
  refusalsInARow: number;
}

/**
 * Every settled mail, durably on `email.deliveries`, folded into each subscription's progress: the last
 * `email.alerts` offset settled per kind, when its last digest went out and its refusals in a row. A worker's
 * consumer group is committed after the mails it sent, so after a crash it re-reads at most what was in flight;
 * the progress read back here is what skips the mails among those that were already settled (the Message-ID
 * stays the same either way). Only the tail is read on start: the mails in flight at a crash are the newest.
 */
export class EmailDeliveryLog {
  private readonly progress = new Map<string, SubscriptionProgress>();

  private constructor(private readonly producer: Producer) {}

  static async open(outbox: Bus, tailRecords: number): Promise<EmailDeliveryLog> {
    const log = new EmailDeliveryLog(outbox.producer());
    const ends = await outbox.endOffsets(OutboxTopics.emailDeliveries);
    for (const [partition, end] of ends.entries()) {
      let offset = Math.max(0, end - tailRecords);
      while (offset < end) {
        const records = await outbox.read(
          OutboxTopics.emailDeliveries,
          partition,
          offset,
          Math.min(1000, end - offset),
        );
        if (records.length === 0) break;
        for (const record of records) log.remember(JSON.parse(record.value.toString('utf8')) as MailRecord);
        offset = records[records.length - 1]!.offset + 1;
      }
    }
    return log;
  }

  /** Records a settled mail; resolves once it is on the log. */
  async record(mail: MailRecord): Promise<void> {
    await this.producer.send(OutboxTopics.emailDeliveries, [
      { key: mail.subscriptionId, value: Buffer.from(JSON.stringify(mail)) },
    ]);
    this.remember(mail);
  }

  /** The last `email.alerts` offset settled by a mail of this kind (-1: none known). */
  settledThrough(subscriptionId: string, kind: MailKind): number {
    const progress = this.progress.get(subscriptionId);
    if (progress === undefined) return -1;
    return kind === 'immediate' ? progress.immediateThrough : progress.digestThrough;
  }

  lastDigestAtMs(subscriptionId: string): number | undefined {
    return this.progress.get(subscriptionId)?.lastDigestAtMs;
  }

  /** Mails refused (5xx) in a row for this subscription, ended by any sent one. */
  refusalsInARow(subscriptionId: string): number {
    return this.progress.get(subscriptionId)?.refusalsInARow ?? 0;
  }

  /** Forgets a deleted subscription (its records stay on the log). */
  forget(subscriptionId: string): void {
    this.progress.delete(subscriptionId);
  }

  private remember(mail: MailRecord): void {
    let progress = this.progress.get(mail.subscriptionId);
    if (progress === undefined)
      this.progress.set(
        mail.subscriptionId,
        (progress = { immediateThrough: -1, digestThrough: -1, lastDigestAtMs: undefined, refusalsInARow: 0 }),
      );
    if (mail.kind === 'immediate') progress.immediateThrough = Math.max(progress.immediateThrough, mail.throughOffset);
    else {
      progress.digestThrough = Math.max(progress.digestThrough, mail.throughOffset);
      progress.lastDigestAtMs = mail.atMs;
    }
    if (mail.outcome === 'sent') progress.refusalsInARow = 0;
    else if (mail.outcome === 'refused') progress.refusalsInARow += 1;
  }
}
