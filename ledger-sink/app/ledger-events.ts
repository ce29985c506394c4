import type { Producer } from '../../platform/bus.js';
import type { Counter, MetricsRegistry } from '../../platform/metrics.js';
import type { Codec } from '../../schemas/codec.js';
import type { LedgerEvent } from '../../schemas/generated/types.js';
import { HeaderNames, Topics } from '../../schemas/topics.js';

/**
 * Publishes what ledger-sink booked on `ledger.events` (domain/ledger-events.ts), keyed by the payer account so one
 * account's events keep their order on one partition. The batch handler calls it after its inserts and before the
 * batch is committed, so an event is never lost (a failed send rejects and the batch is redelivered, announcing the
 * same events again) and never announces money the ledger does not hold. Consumers de-duplicate on type and
 * transaction id.
 */
export class LedgerEventFeed {
  private readonly published: Counter;

  constructor(
    private readonly deps: {
      readonly producer: Producer;
      readonly codec: Codec<LedgerEvent>;
      readonly metrics: MetricsRegistry;
    },
  ) {
    this.published = deps.metrics.counter(
      'vigil_ledger_events_published_total',
      'Ledger events (POSTED, REVERSED) published on ledger.events, by type; redeliveries count again.',
    );
  }

  /** Sends `events` as one produce request; nothing when empty. Rejects (retriable) when the log is unavailable. */
  async publish(events: readonly LedgerEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.deps.producer.send(
      Topics.ledgerEvents,
      events.map((event) => ({
        key: event.payerAccountId,
        value: this.deps.codec.encode(event),
        headers: { [HeaderNames.ledgerEventType]: event.type },
      })),
    );
    const reversed = events.filter((e) => e.type === 'REVERSED').length;
    if (reversed > 0) this.published.inc({ type: 'REVERSED' }, reversed);
    if (reversed < events.length) this.published.inc({ type: 'POSTED' }, events.length - reversed);
  }
}
