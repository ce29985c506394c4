import { createHash } from 'node:crypto';
import type { Bus, BusRecord, OutgoingRecord, Subscription } from '../../platform/bus.js';
import { describeError, isRetriable } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { Counter } from '../../platform/metrics.js';
import type { Codec } from '../../schemas/codec.js';
import type { FraudAlert, LedgerEvent, ScoredTransaction } from '../../schemas/generated/types.js';
import { HeaderNames, OutboxTopics, Topics } from '../../schemas/topics.js';
import { type WebhookEvent, WebhookEventType } from '../../schemas/webhooks.js';
import {
  alertRaisedEvent,
  decisionMadeEvent,
  eventSubject,
  ledgerBookingEvent,
  ledgerEventType,
} from '../domain/events.js';

/** Headers on `webhook.events` records, so workers filter and replays select without parsing bodies. */
export const EventHeaders = {
  id: 'vigil.webhook.event-id',
  type: 'vigil.webhook.event-type',
  /** Epoch ms of the event's createdAt. */
  createdAtMs: 'vigil.webhook.created-at-ms',
} as const;

/** `evt_` + 26 base64url characters (156 bits) of SHA-256 over type and subject: stable across redeliveries. */
export function eventIdFor(type: WebhookEventType, subjectId: string): string {
  return `evt_${createHash('sha256').update(eventSubject(type, subjectId)).digest('base64url').slice(0, 26)}`;
}

export interface FanOutDeps {
  readonly source: Bus;
  readonly outbox: Bus;
  readonly scoredCodec: Codec<ScoredTransaction>;
  readonly alertCodec: Codec<FraudAlert>;
  readonly ledgerCodec: Codec<LedgerEvent>;
  /** The event types some enabled endpoint wants right now; nothing else is written. */
  readonly wantedTypes: () => ReadonlySet<WebhookEventType>;
  readonly logger: Logger;
  readonly counters: { readonly written: Counter; readonly undecodable: Counter };
}

/**
 * Turns decisions, alerts and bookings into webhook events on the outbox: one consumer group over `tx.scored`,
 * `fraud.alerts` and `ledger.events`, each batch's events made durable on `webhook.events` before the batch is
 * committed (so a crash between the two writes the same events again, with the same ids — at least once, never
 * lost). Only types an enabled endpoint subscribes to are written, and records are decoded only then (a
 * `ledger.events` record's type is in a header).
 *
 * Records that do not decode are skipped, counted and logged, not dead-lettered: ledger-sink (tx.scored) and
 * dashboards (fraud.alerts) read the same records and dead-letter them once; ledger.events is ledger-sink's own.
 */
export async function startFanOut(deps: FanOutDeps, groupId: string): Promise<Subscription> {
  const { outbox, logger, counters } = deps;
  const producer = outbox.producer();
  return deps.source.subscribe(
    // From the end on a first start: webhooks announce what happens from now on; replay covers what an endpoint
    // registered later missed only within the outbox.
    { groupId, topics: [Topics.transactionsScored, Topics.fraudAlerts, Topics.ledgerEvents], startFrom: 'latest' },
    async (batch) => {
      const wanted = deps.wantedTypes();
      const records: OutgoingRecord[] = [];
      const written = new Map<WebhookEventType, number>();
      for (const record of batch.records) {
        const type = typeOf(batch.topic, record);
        if (type === undefined || !wanted.has(type)) continue;
        const event = await toEvent(deps, type, record).catch((error: unknown) => {
          if (isRetriable(error)) throw error;
          counters.undecodable.inc({ topic: batch.topic });
          logger.warn('notifier: record does not decode; no webhook event for it', {
            topic: batch.topic,
            partition: batch.partition,
            offset: record.offset,
            error: describeError(error),
          });
          return undefined;
        });
        if (event === undefined) continue;
        records.push(outboxRecord(record.key, event));
        written.set(type, (written.get(type) ?? 0) + 1);
      }
      if (records.length === 0) return;
      await producer.send(OutboxTopics.webhookEvents, records);
      for (const [type, count] of written) counters.written.inc({ type }, count);
    },
  );
}

/** The webhook type a source record becomes; undefined for a `ledger.events` record of no known type. */
function typeOf(topic: string, record: BusRecord): WebhookEventType | undefined {
  if (topic === Topics.fraudAlerts) return WebhookEventType.alertRaised;
  if (topic === Topics.transactionsScored) return WebhookEventType.decisionMade;
  const ledgerType = record.headers[HeaderNames.ledgerEventType];
  return ledgerType === 'POSTED' || ledgerType === 'REVERSED' ? ledgerEventType(ledgerType) : undefined;
}

async function toEvent(deps: FanOutDeps, type: WebhookEventType, record: BusRecord): Promise<WebhookEvent> {
  if (type === WebhookEventType.transactionPosted || type === WebhookEventType.transactionReversed) {
    const event = await deps.ledgerCodec.decode(record.value);
    return ledgerBookingEvent(eventIdFor(ledgerEventType(event.type), event.transactionId), event);
  }
  if (type === WebhookEventType.alertRaised) {
    const alert = await deps.alertCodec.decode(record.value);
    return alertRaisedEvent(eventIdFor(type, alert.alertId), alert);
  }
  const scored = await deps.scoredCodec.decode(record.value);
  return decisionMadeEvent(eventIdFor(type, scored.transaction.transactionId), scored);
}

function outboxRecord(key: string | null, event: WebhookEvent): OutgoingRecord {
  return {
    key,
    value: Buffer.from(JSON.stringify(event)),
    headers: {
      [EventHeaders.id]: event.id,
      [EventHeaders.type]: event.type,
      [EventHeaders.createdAtMs]: String(Date.parse(event.createdAt)),
    },
  };
}
