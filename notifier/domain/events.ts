/**
 * Webhook events from the records the pipeline already writes: `decision.made` from `tx.scored`, `alert.raised`
 * from `fraud.alerts`. Pure mappings; the event id is given by the caller (a digest of type and subject), so the
 * same record always yields the same event, byte for byte.
 */
import { toSyncDecision } from '../../schemas/api.js';
import { formatMinorUnits } from '../../schemas/currencies.js';
import type { FraudAlert, ScoredTransaction } from '../../schemas/generated/types.js';
import { type WebhookEvent, WebhookEventType } from '../../schemas/webhooks.js';

/** What an event is about, for its id: the transaction for a decision, the alert for an alert. */
export function eventSubject(type: WebhookEventType, subjectId: string): string {
  return `${type}\u0000${subjectId}`;
}

export function decisionMadeEvent(id: string, scored: ScoredTransaction): WebhookEvent<'decision.made'> {
  const { ledger: _ledger, ...decision } = toSyncDecision(scored);
  const tx = scored.transaction;
  return {
    id,
    type: WebhookEventType.decisionMade,
    createdAt: decision.decidedAt,
    data: {
      ...decision,
      payerAccountId: tx.payerAccountId,
      payeeAccountId: tx.payeeAccountId,
      channel: tx.channel,
      amount: { value: formatMinorUnits(tx.amountMinor, tx.currency), currency: tx.currency },
    },
  };
}

export function alertRaisedEvent(id: string, alert: FraudAlert): WebhookEvent<'alert.raised'> {
  const raisedAt = new Date(alert.raisedAtMs).toISOString();
  return {
    id,
    type: WebhookEventType.alertRaised,
    createdAt: raisedAt,
    data: {
      alertId: alert.alertId,
      transactionId: alert.transactionId,
      decision: alert.decision,
      score: alert.score,
      reasons: alert.reasons.map((r) => ({ code: r.code, source: r.source, description: r.description })),
      channel: alert.channel,
      amount: { value: formatMinorUnits(alert.amountMinor, alert.currency), currency: alert.currency },
      payerAccountId: alert.payerAccountId,
      payeeAccountId: alert.payeeAccountId,
      cardLast4: alert.cardLast4,
      merchantId: alert.merchantId,
      country: alert.country,
      modelVersion: alert.modelVersion,
      raisedAt,
    },
  };
}
