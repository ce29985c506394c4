/**
 * Webhook events from the records the pipeline already writes: `decision.made` from `tx.scored`, `alert.raised`
 * from `fraud.alerts`, `transaction.posted` and `transaction.reversed` from `ledger.events`. Pure mappings; the event
 * id is given by the caller (a digest of type and subject), so the same record always yields the same event, byte
 * for byte.
 */
import { toSyncDecision } from '../../schemas/api.js';
import { formatMinorUnits } from '../../schemas/currencies.js';
import type { FraudAlert, LedgerEvent, ScoredTransaction } from '../../schemas/generated/types.js';
import { type LedgerCause, type WebhookEvent, WebhookEventType } from '../../schemas/webhooks.js';

/** What an event is about, for its id: the transaction for a decision or a booking, the alert for an alert. */
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

/** The webhook type a ledger event is announced as. */
export function ledgerEventType(type: LedgerEvent['type']): 'transaction.posted' | 'transaction.reversed' {
  return type === 'POSTED' ? WebhookEventType.transactionPosted : WebhookEventType.transactionReversed;
}

/** `transaction.posted` / `transaction.reversed` from a `ledger.events` record; amounts as signed decimal strings. */
export function ledgerBookingEvent(
  id: string,
  event: LedgerEvent,
): WebhookEvent<'transaction.posted'> | WebhookEvent<'transaction.reversed'> {
  const bookedAt = new Date(event.bookedAtMs).toISOString();
  const data = {
    transactionId: event.transactionId,
    kind: event.kind,
    payerAccountId: event.payerAccountId,
    payeeAccountId: event.payeeAccountId,
    legs: event.legs.map((leg) => ({
      entryId: leg.entryId,
      accountId: leg.accountId,
      amount: { value: formatMinorUnits(leg.amountMinor, leg.currency), currency: leg.currency },
      entryType: leg.entryType,
    })),
    bookedAt,
    valueDate: new Date(event.valueDateMs).toISOString(),
    cause: causeOf(event),
    capturesTransactionId: event.capturesTransactionId,
    refundsTransactionId: event.refundsTransactionId,
  };
  if (event.type === 'POSTED') return { id, type: WebhookEventType.transactionPosted, createdAt: bookedAt, data };
  return {
    id,
    type: WebhookEventType.transactionReversed,
    createdAt: bookedAt,
    data: { ...data, reversedEntryIds: event.legs.map((leg) => leg.reversesEntryId ?? '') },
  };
}

function causeOf(event: LedgerEvent): LedgerCause {
  switch (event.cause) {
    case 'APPROVED':
      return { type: 'approved' };
    case 'CAPTURE':
      return { type: 'capture', authorizationId: event.capturesTransactionId ?? '' };
    case 'REFUND':
      return { type: 'refund', originalTransactionId: event.refundsTransactionId ?? '' };
    case 'GENUINE_VERDICT':
      return { type: 'verdict', verdict: 'GENUINE', by: event.causedBy };
    case 'FRAUD_VERDICT':
      return { type: 'verdict', verdict: 'FRAUD', by: event.causedBy };
    case 'HOLD_EXPIRY':
      return { type: 'expiry' };
  }
}
