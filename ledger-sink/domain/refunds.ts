import type { ErrorCode } from '../../platform/error-codes.js';
import type { LedgerEntry } from '../../schemas/generated/types.js';
import type { BookedEntry } from './holds.js';

/**
 * Whether a refund may book: what acquirers do, a refund never pays back more than its payment still holds, and a
 * refund of a payment charged back is refused (the chargeback already gave the money back).
 *
 * A refund names its payment (`originalTransactionId`): a purchase, a capture, or an authorisation, whose captures
 * then hold the money. What the payment still holds, per account, currency and side of its legs, is what it booked,
 * less what any reversal of it booked (a FRAUD verdict: analyst, chargeback, return), less what earlier refunds paid
 * back (a refund's own reversal does not count back, as in {@link reversalOf} of domain/holds.ts). A refund books only
 * if each of its legs fits in what the payment leg it runs back still holds; otherwise it books nothing at all.
 *
 * This is the other half of what domain/holds.ts does for a reversal after refunds: whichever comes second takes
 * only what the first left, so over any order of payments, refunds and verdicts the payer never nets above zero.
 *
 * Which refunds count against which payment follows `ledgersOf` of domain/holds.ts: a capture is charged with the
 * refunds naming it and those naming its authorisation; an authorisation with those naming it or any of its
 * captures. A refund naming an authorisation with several captures therefore counts against each capture in full: a
 * later refund naming one capture may be refused although the captures together still hold it (never the other way).
 *
 * Pure: the caller gives every booked leg that may bear on the payment, in any order, copies allowed.
 */

/** Why a refund books nothing, by name; what each means is in platform/error-codes.ts. */
export const RefundRefusalCode = {
  afterReversal: 'REFUND_AFTER_REVERSAL',
  exceedsPayment: 'REFUND_EXCEEDS_PAYMENT',
} as const satisfies Readonly<Record<string, ErrorCode>>;
export type RefundRefusalCode = (typeof RefundRefusalCode)[keyof typeof RefundRefusalCode];

/** A refund the ledger refuses: why, and the first leg that does not fit (in the leg's currency, minor units). */
export interface RefundRefusal {
  readonly code: RefundRefusalCode;
  readonly message: string;
  readonly accountId: string;
  readonly currency: string;
  /** What the refund pays back on that account and currency. */
  readonly refundMinor: bigint;
  /** What the payment still holds there (never negative). */
  readonly heldMinor: bigint;
}

/** The payment a refund names, and the booked legs that may bear on what it holds. */
export interface RefundedPayment {
  readonly paymentId: string;
  /** True when the payment is an authorisation: what it holds is what its captures booked. */
  readonly authorization: boolean;
  /**
   * Booked legs, reversals included: the payment's own, its captures' (for an authorisation), and refunds naming
   * it, its captures or (for a capture) its authorisation. Unrelated legs and copies of one entry id are ignored.
   */
  readonly booked: readonly BookedEntry[];
}

/**
 * Why the refund with legs `refundLegs` (as `postingsFor` builds a REFUND: the payment's legs run backwards) must
 * book nothing against `payment`, or undefined when every leg fits. `REFUND_AFTER_REVERSAL` when the payment (or
 * one of its captures) has been reversed, `REFUND_EXCEEDS_PAYMENT` otherwise — including a payment that booked
 * nothing (unknown, declined, held for review, voided).
 */
export function refundRefusal(refundLegs: readonly LedgerEntry[], payment: RefundedPayment): RefundRefusal | undefined {
  const held = heldPerSide(payment);
  const wanted = new Map<string, { accountId: string; currency: string; minor: bigint }>();
  for (const leg of refundLegs) {
    const k = sideKey(leg.accountId, leg.currency, leg.amountMinor > 0n);
    const sum = wanted.get(k) ?? { accountId: leg.accountId, currency: leg.currency, minor: 0n };
    sum.minor += abs(leg.amountMinor);
    wanted.set(k, sum);
  }
  for (const [k, want] of wanted) {
    const left = held.bySide.get(k) ?? 0n;
    if (want.minor <= left) continue;
    const heldMinor = left > 0n ? left : 0n;
    const code = held.reversed ? RefundRefusalCode.afterReversal : RefundRefusalCode.exceedsPayment;
    const why = held.reversed
      ? `payment ${payment.paymentId} was reversed (FRAUD verdict or chargeback)`
      : `payment ${payment.paymentId} holds ${heldMinor} ${want.currency} on ${want.accountId}`;
    return {
      code,
      message: `refund of ${want.minor} ${want.currency} on ${want.accountId} refused: ${why}`,
      accountId: want.accountId,
      currency: want.currency,
      refundMinor: want.minor,
      heldMinor,
    };
  }
  return undefined;
}

/**
 * What the payment still holds per (account, currency, side of its legs), and whether any of its legs was reversed.
 * A reversal leg runs on the opposite side of the leg it reverses, as does a refund leg of the leg it pays back.
 */
function heldPerSide(payment: RefundedPayment): { bySide: Map<string, bigint>; reversed: boolean } {
  const booked = [...new Map(payment.booked.map((e) => [e.entryId, e])).values()];
  const paymentIds = new Set(
    payment.authorization
      ? booked.filter((e) => e.capturesTransactionId === payment.paymentId).map((e) => e.transactionId)
      : [payment.paymentId],
  );
  const authorizationOf = payment.authorization
    ? []
    : booked
        .filter((e) => e.transactionId === payment.paymentId && e.capturesTransactionId !== '')
        .map((e) => e.capturesTransactionId);
  const refundable = new Set([payment.paymentId, ...paymentIds, ...authorizationOf]);
  const bySide = new Map<string, bigint>();
  const add = (e: LedgerEntry, paymentSideDebit: boolean, minor: bigint) => {
    const k = sideKey(e.accountId, e.currency, paymentSideDebit);
    bySide.set(k, (bySide.get(k) ?? 0n) + minor);
  };
  let reversed = false;
  for (const e of booked) {
    if (paymentIds.has(e.transactionId)) {
      if (e.reversesEntryId === '') add(e, e.amountMinor < 0n, abs(e.amountMinor));
      else {
        reversed = true;
        add(e, e.amountMinor > 0n, -abs(e.amountMinor));
      }
    } else if (e.reversesEntryId === '' && refundable.has(e.refundsTransactionId))
      add(e, e.amountMinor > 0n, -abs(e.amountMinor));
  }
  return { bySide, reversed };
}

function sideKey(accountId: string, currency: string, debit: boolean): string {
  return `${accountId}\u0000${currency}\u0000${debit ? '-' : '+'}`;
}

function abs(n: bigint): bigint {
  return n < 0n ? -n : n;
}
