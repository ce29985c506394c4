import type { LedgerEvent, LedgerEventCause, LedgerEventLeg, TransactionKind } from '../../schemas/generated/types.js';
import type { BookedEntry, TransactionLedger, Verdict } from './holds.js';

/**
 * The ledger events a transaction's booked legs announce on `ledger.events`, built from what the ledger holds for
 * it — never from what one call happened to write — so a batch redelivered after a crash between its inserts and
 * its publish announces the same events again, field for field (booking times are the stored legs' own).
 *
 * - POSTED: the transaction's own legs (reversing none), once they are booked: by an APPROVE (cause APPROVED,
 *   CAPTURE or REFUND by what the legs follow up), or by the end of its REVIEW hold (GENUINE_VERDICT, HOLD_EXPIRY).
 * - REVERSED: the reversal legs a FRAUD verdict booked for them, each naming the leg it reverses.
 *
 * Pure: no I/O, no clock; the transaction's kind is given (the ledger's rows do not carry it).
 */

/** The POSTED event of a transaction whose own legs are booked; undefined while none are. */
export function postedEventOf(ledger: TransactionLedger, kind: TransactionKind): LedgerEvent | undefined {
  const legs = ledger.entries.filter((e) => e.reversesEntryId === '');
  const first = legs[0];
  if (first === undefined) return undefined;
  const heldThenPosted = ledger.hold?.kind === 'REVIEW' && ledger.resolution?.resolution === 'POSTED';
  let cause: LedgerEventCause;
  let causedBy: string | null = null;
  if (heldThenPosted && ledger.resolution.cause === 'EXPIRED') cause = 'HOLD_EXPIRY';
  else if (heldThenPosted) {
    cause = 'GENUINE_VERDICT';
    causedBy = ledger.resolution.resolvedBy;
  } else if (first.capturesTransactionId !== '') cause = 'CAPTURE';
  else if (first.refundsTransactionId !== '') cause = 'REFUND';
  else cause = 'APPROVED';
  return eventOf('POSTED', kind, legs, cause, causedBy);
}

/**
 * The REVERSED event of a transaction whose booked legs a FRAUD verdict reversed; undefined while none is. The
 * verdict named is the first FRAUD verdict in `verdicts` in the order verdicts take effect (given time, then who):
 * the one that reversed, since a later FRAUD verdict finds the legs reversed already. Pass the verdicts that
 * reach this transaction — its own, or for a capture those given on its authorisation.
 */
export function reversedEventOf(
  ledger: TransactionLedger,
  kind: TransactionKind,
  verdicts: readonly Verdict[],
): LedgerEvent | undefined {
  const legs = ledger.entries.filter((e) => e.reversesEntryId !== '');
  if (legs.length === 0) return undefined;
  const fraud = verdicts
    .filter((v) => v.label === 'FRAUD')
    .sort((a, b) => a.labelledAtMs - b.labelledAtMs || a.labelledBy.localeCompare(b.labelledBy))[0];
  return eventOf('REVERSED', kind, legs, 'FRAUD_VERDICT', fraud?.labelledBy ?? null);
}

/** Leg 0 debits (or, for a refund, credits) the payer and the last leg is the payee's (domain/postings.ts). */
function eventOf(
  type: LedgerEvent['type'],
  kind: TransactionKind,
  entries: readonly BookedEntry[],
  cause: LedgerEventCause,
  causedBy: string | null,
): LedgerEvent {
  const sorted = [...entries].sort((a, b) => a.leg - b.leg);
  const first = sorted[0]!;
  const legs = sorted.map((e): LedgerEventLeg => ({
    entryId: e.entryId,
    leg: e.leg,
    accountId: e.accountId,
    amountMinor: e.amountMinor,
    currency: e.currency,
    entryType: e.entryType,
    reversesEntryId: e.reversesEntryId === '' ? null : e.reversesEntryId,
  }));
  return {
    type,
    transactionId: first.transactionId,
    kind,
    payerAccountId: first.accountId,
    payeeAccountId: sorted.at(-1)!.accountId,
    legs,
    bookedAtMs: first.postedAtMs,
    valueDateMs: first.eventTimeMs,
    cause,
    causedBy,
    capturesTransactionId: first.capturesTransactionId === '' ? null : first.capturesTransactionId,
    refundsTransactionId: first.refundsTransactionId === '' ? null : first.refundsTransactionId,
  };
}
