import type { Bus, Producer } from '../../platform/bus.js';
import { OutboxTopics } from '../../schemas/topics.js';
import type { WebhookDeliveryView } from '../../schemas/webhooks.js';

/** One attempt as kept on `webhook.attempts`: the view plus the endpoint it belongs to. */
interface AttemptRecord extends WebhookDeliveryView {
  readonly endpointId: string;
}

/** An admin re-enabled the endpoint: the run of failures before it no longer counts towards disabling it. */
interface StreakReset {
  readonly endpointId: string;
  readonly streakResetAtMs: number;
}

type AttemptLogRecord = AttemptRecord | StreakReset;

/**
 * Every delivery attempt, durably on `webhook.attempts` and the newest `keptPerEndpoint` per endpoint in
 * memory for `GET /v1/webhooks/{id}/deliveries`. On start the tail of the topic is read back, so the list and
 * each endpoint's run of consecutive failures survive a restart.
 */
export class AttemptLog {
  private readonly recent = new Map<string, AttemptRecord[]>();
  private readonly failuresInARow = new Map<string, number>();

  private constructor(
    private readonly producer: Producer,
    private readonly keptPerEndpoint: number,
  ) {}

  /** Opens the log and reads back the newest `tailRecords` attempts (all endpoints together). */
  static async open(outbox: Bus, keptPerEndpoint: number, tailRecords: number): Promise<AttemptLog> {
    const log = new AttemptLog(outbox.producer(), keptPerEndpoint);
    const ends = await outbox.endOffsets(OutboxTopics.webhookAttempts);
    for (const [partition, end] of ends.entries()) {
      let offset = Math.max(0, end - tailRecords);
      while (offset < end) {
        const records = await outbox.read(
          OutboxTopics.webhookAttempts,
          partition,
          offset,
          Math.min(1000, end - offset),
        );
        if (records.length === 0) break;
        for (const record of records) log.remember(JSON.parse(record.value.toString('utf8')) as AttemptLogRecord);
        offset = records[records.length - 1]!.offset + 1;
      }
    }
    return log;
  }

  /** Records one attempt durably; resolves once it is on the log. */
  async record(endpointId: string, attempt: WebhookDeliveryView): Promise<void> {
    const record: AttemptRecord = { endpointId, ...attempt };
    await this.producer.send(OutboxTopics.webhookAttempts, [
      { key: endpointId, value: Buffer.from(JSON.stringify(record)) },
    ]);
    this.remember(record);
  }

  /**
   * Ends the endpoint's run of failures, durably (a restart reads the reset back in order with the attempts):
   * re-enabling an endpoint gives it the full count of failures again before it is disabled anew.
   */
  async resetStreak(endpointId: string, atMs: number): Promise<void> {
    const record: StreakReset = { endpointId, streakResetAtMs: atMs };
    await this.producer.send(OutboxTopics.webhookAttempts, [
      { key: endpointId, value: Buffer.from(JSON.stringify(record)) },
    ]);
    this.remember(record);
  }

  /** The newest attempts of one endpoint, newest first. */
  deliveries(endpointId: string, limit: number): WebhookDeliveryView[] {
    const kept = this.recent.get(endpointId) ?? [];
    return kept
      .slice(-limit)
      .reverse()
      .map(({ endpointId: _endpointId, ...view }) => view);
  }

  /** Failed attempts in a row for this endpoint, ended by any delivered one. */
  consecutiveFailures(endpointId: string): number {
    return this.failuresInARow.get(endpointId) ?? 0;
  }

  private remember(record: AttemptLogRecord): void {
    if ('streakResetAtMs' in record) {
      this.failuresInARow.set(record.endpointId, 0);
      return;
    }
    let kept = this.recent.get(record.endpointId);
    if (kept === undefined) this.recent.set(record.endpointId, (kept = []));
    kept.push(record);
    if (kept.length > this.keptPerEndpoint) kept.splice(0, kept.length - this.keptPerEndpoint);
    // Replays re-send what was already settled; they neither break nor extend the live run of failures.
    if (record.replay) return;
    if (record.outcome === 'delivered') this.failuresInARow.set(record.endpointId, 0);
    else if (record.outcome === 'failed')
      this.failuresInARow.set(record.endpointId, (this.failuresInARow.get(record.endpointId) ?? 0) + 1);
  }
}
