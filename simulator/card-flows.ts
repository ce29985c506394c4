import { EventHeap } from './event-heap.js';
import { convertMinor, currencyExponent } from './money.js';
import type { Population, TerminalProfile } from './population.js';
import { Random } from './random.js';
import { type CardFlowState, decodeEvent, encodeEvent } from './state.js';
import { DAY_MS } from './timeline.js';
import type { DraftEvent } from './traffic-event.js';

/**
 * Card payments as card networks carry them (README "The ledger", bullets "Card flows" and "Refunds"): where the
 * final amount is not known at the counter, the merchant authorises first and captures later.
 *
 * - **Who authorises first.** A share of the card purchases at hotels (MCC 7011), car rentals (7512), fuel pumps
 *   (5541, 5542), restaurants (5812, 5814) and online shops (any card-not-present terminal) is sent as an
 *   AUTHORIZATION instead of a PURCHASE (AUTHORISE_FIRST_SHARE). Every other purchase stays one message.
 * - **How it is captured.** Most authorisations get one capture of the full amount. Online shops sometimes ship in
 *   two or three parts: partial captures that sum to the authorised amount exactly (FX settlement amounts too, so
 *   the hold is consumed to zero). Restaurants capture the bill plus a tip of 5–20 %: an over-capture, which the
 *   ledger books and reports. A fuel pump authorises a fixed FUEL_PREAUTH_MAJOR and captures what was pumped (the
 *   purchase's own amount, always smaller); the ledger has no "final capture" message, so the rest of that hold
 *   stays reserved until the authorisation expires (VIGIL_LEDGER_AUTHORIZATION_HOLD_TIMEOUT_MS, 7 days). A few
 *   authorisations are never captured (NEVER_CAPTURED_SHARE): released at expiry, open for a whole short demo.
 * - **When.** Captures follow their authorisation by CAPTURE_DELAY_MIN_MS … CAPTURE_DELAY_MAX_MS each, in event
 *   time (a real hotel captures at check-out days later; a demo wants to see it). A capture has the authorisation's
 *   payer account, card, terminal and device, and names it in `originalTransactionId`.
 * - **Refunds.** A few genuine card payments (a purchase, or a capture: what booked the money) are refunded later,
 *   in full or in part, naming that payment; REFUND_DELAY_MIN_MS … REFUND_DELAY_MAX_MS after it.
 * - **Fraud.** Fraud labels stay where the scenarios put them (on the purchase, now perhaps an authorisation). The
 *   captures of a fraudulent authorisation are fraud of the same scenario: they are the money the fraudster took,
 *   and what a chargeback reverses. Fraudulent payments are never refunded (the chargeback is their way back).
 *
 * Its own random stream: the genuine traffic's draws are untouched, so a world with card flows has the same
 * customers, purchases and fraud as without them, some purchases turned into authorisations and follow-ups merged
 * in. The follow-ups not yet produced and the stream are saved with the world (`save`/`restore`).
 */

/** How merchants of a category settle card payments they authorise first. */
type AuthorisingCategory = 'lodging' | 'carRental' | 'fuel' | 'restaurant' | 'eCommerce';

/** ISO 18245 merchant category codes of card-present merchants that authorise first. */
const categoryOfMcc: Readonly<Record<string, AuthorisingCategory>> = Object.freeze({
  '7011': 'lodging',
  '7512': 'carRental',
  '5541': 'fuel',
  '5542': 'fuel',
  '5812': 'restaurant',
  '5814': 'restaurant',
});

/** Share of the category's card purchases sent as an authorisation first. */
export const AUTHORISE_FIRST_SHARE: Readonly<Record<AuthorisingCategory, number>> = Object.freeze({
  lodging: 0.9,
  carRental: 0.9,
  fuel: 0.6,
  restaurant: 0.5,
  eCommerce: 0.5,
});
/** Share of authorisations nobody captures (released when the ledger's authorisation hold expires). */
export const NEVER_CAPTURED_SHARE = 0.03;
/** Share of captured online authorisations shipped in two or three parts (one capture each). */
export const SPLIT_SHIPMENT_SHARE = 0.25;
/** Share of captured restaurant authorisations with a tip, by MCC: table service tips more than fast food. */
export const TIP_SHARE: Readonly<Record<string, number>> = Object.freeze({ '5812': 0.7, '5814': 0.2 });
export const TIP_MIN = 0.05;
export const TIP_MAX = 0.2;
/** What a fuel pump authorises (major units of the terminal's currency); fills above it stay one purchase. */
export const FUEL_PREAUTH_MAJOR = 100;
/** Share of genuine card payments (purchases, captures) refunded later, and of those, refunded in part only. */
export const REFUND_SHARE = 0.02;
export const PARTIAL_REFUND_SHARE = 0.4;
/** A partial refund pays back this share of the payment, uniform. */
const PARTIAL_REFUND_MIN = 0.1;
const PARTIAL_REFUND_MAX = 0.9;
/** Each capture comes this long after the authorisation (or the previous part), uniform, event time. */
export const CAPTURE_DELAY_MIN_MS = 5_000;
export const CAPTURE_DELAY_MAX_MS = 180_000;
export const MAX_CAPTURES = 3;
/** A refund comes this long after its payment, uniform, event time. */
export const REFUND_DELAY_MIN_MS = 120_000;
export const REFUND_DELAY_MAX_MS = 600_000;
/** The latest any follow-up comes after the event it names. */
export const FOLLOW_UP_HORIZON_MS = Math.max(MAX_CAPTURES * CAPTURE_DELAY_MAX_MS, REFUND_DELAY_MAX_MS);

/** The category a card purchase at `terminal` authorises first under, or null for a one-message purchase. */
function categoryOf(terminal: TerminalProfile): AuthorisingCategory | null {
  if (!terminal.cardPresent) return 'eCommerce';
  return categoryOfMcc[terminal.mcc] ?? null;
}

/**
 * `total` split in parts proportional to `weights`, rounded down but for the last, which takes the remainder: the
 * parts sum to `total` exactly. Null when a part would be empty.
 */
function splitExactly(total: number, weights: readonly number[]): number[] | null {
  const sum = weights.reduce((a, b) => a + b, 0);
  const parts = weights.map((w) => Math.floor((total * w) / sum));
  parts[parts.length - 1] = total - parts.slice(0, -1).reduce((a, b) => a + b, 0);
  return parts.every((p) => p >= 1) ? parts : null;
}

/** The authorisations, captures and refunds of a world with `cardFlows` (see the file's comment). */
export class CardFlows {
  private readonly random: Random;
  private readonly pending = new EventHeap();

  constructor(
    seed: number,
    private readonly startTimeMs: number,
    private readonly population: Population,
  ) {
    this.random = new Random(seed, 0xca2d);
  }

  /** Time (epoch ms) of the next follow-up; Infinity when none is scheduled. */
  nextTimeMs(): number {
    return this.pending.peekTime();
  }

  /** Removes and returns the next follow-up (call only when `nextTimeMs` is finite). */
  pop(): DraftEvent {
    return this.pending.pop();
  }

  /** Follow-ups scheduled and not yet produced. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Sees every event as it is emitted (its `seq` assigned): turns an eligible card purchase into an authorisation
   * and schedules its captures, or schedules a refund of a genuine card payment. Sets `followUps` on the event.
   */
  onEmitted(event: DraftEvent): void {
    if (event.kind === 'capture') {
      this.maybeRefund(event);
      return;
    }
    if (event.channel !== 'card' || event.kind !== 'purchase' || event.terminal === null) return;
    const category = categoryOf(event.terminal);
    const exponent = currencyExponent(event.currency);
    const fuelPreauthMinor = FUEL_PREAUTH_MAJOR * 10 ** exponent;
    const eligible = category !== null && (category !== 'fuel' || event.amountMinor < fuelPreauthMinor);
    if (!eligible || !this.random.chance(AUTHORISE_FIRST_SHARE[category])) {
      this.maybeRefund(event);
      return;
    }
    const purchaseMinor = event.amountMinor;
    event.kind = 'authorization';
    if (category === 'fuel') {
      event.amountMinor = fuelPreauthMinor;
      event.settlementMinor = this.settlementOf(event, fuelPreauthMinor);
    }
    if (this.random.chance(NEVER_CAPTURED_SHARE)) return;
    let captures: Array<{ amountMinor: number; settlementMinor: number | null }>;
    if (category === 'fuel') {
      captures = [{ amountMinor: purchaseMinor, settlementMinor: this.settlementOf(event, purchaseMinor) }];
    } else if (category === 'restaurant' && this.random.chance(TIP_SHARE[event.terminal.mcc] ?? 0)) {
      const withTip = purchaseMinor + Math.max(1, Math.round(purchaseMinor * this.random.uniform(TIP_MIN, TIP_MAX)));
      captures = [{ amountMinor: withTip, settlementMinor: this.settlementOf(event, withTip) }];
    } else if (category === 'eCommerce' && this.random.chance(SPLIT_SHIPMENT_SHARE)) {
      captures = this.shipments(event, this.random.intBetween(2, MAX_CAPTURES));
    } else {
      captures = [{ amountMinor: purchaseMinor, settlementMinor: event.settlementMinor }];
    }
    let timeMs = event.timeMs;
    for (const capture of captures) {
      timeMs += Math.floor(this.random.uniform(CAPTURE_DELAY_MIN_MS, CAPTURE_DELAY_MAX_MS));
      this.pending.push(this.followUp(event, 'capture', timeMs, capture.amountMinor, capture.settlementMinor));
    }
    event.followUps = captures.length;
  }

  /** The state for `restore` (plain JSON). */
  save(): CardFlowState {
    return { random: this.random.save(), pending: this.pending.save(encodeEvent) };
  }

  /** Continues from a saved state; throws RangeError for a follow-up naming a profile outside this world. */
  restore(state: CardFlowState): void {
    this.pending.restore(state.pending, (encoded) => decodeEvent(encoded, this.population));
    this.random.restore(state.random);
  }

  /** Partial captures of the authorisation `event` in `count` parts, or one full capture when it is too small. */
  private shipments(event: DraftEvent, count: number): Array<{ amountMinor: number; settlementMinor: number | null }> {
    const weights = Array.from({ length: count }, () => this.random.uniform(1, 3));
    const amounts = splitExactly(event.amountMinor, weights);
    // The settlement amounts split the authorisation's in the same proportions, so the payer leg ends at zero.
    const settlements = event.settlementMinor === null ? null : splitExactly(event.settlementMinor, amounts ?? []);
    if (amounts === null || (event.settlementMinor !== null && settlements === null))
      return [{ amountMinor: event.amountMinor, settlementMinor: event.settlementMinor }];
    return amounts.map((amountMinor, i) => ({ amountMinor, settlementMinor: settlements?.[i] ?? null }));
  }

  /** With REFUND_SHARE, schedules a refund of the genuine card payment `payment` (a purchase or a capture). */
  private maybeRefund(payment: DraftEvent): void {
    if (payment.channel !== 'card' || payment.fraud || !this.random.chance(REFUND_SHARE)) return;
    const partial = this.random.chance(PARTIAL_REFUND_SHARE);
    const amountMinor = partial
      ? Math.max(1, Math.floor(payment.amountMinor * this.random.uniform(PARTIAL_REFUND_MIN, PARTIAL_REFUND_MAX)))
      : payment.amountMinor;
    // Never more than the payment debited the payer, in the account's currency too.
    const settlementMinor =
      payment.settlementMinor === null
        ? null
        : partial
          ? Math.min(payment.settlementMinor, this.settlementOf(payment, amountMinor)!)
          : payment.settlementMinor;
    const timeMs = payment.timeMs + Math.floor(this.random.uniform(REFUND_DELAY_MIN_MS, REFUND_DELAY_MAX_MS));
    const refund = this.followUp(payment, 'refund', timeMs, amountMinor, settlementMinor);
    refund.fraud = false;
    refund.scenario = null;
    this.pending.push(refund);
    payment.followUps = 1;
  }

  private settlementOf(event: DraftEvent, amountMinor: number): number | null {
    return event.settlementCurrency === null
      ? null
      : convertMinor(amountMinor, event.currency, event.settlementCurrency);
  }

  /** A follow-up of `original`: same customer, accounts, card, terminal and device, naming it. */
  private followUp(
    original: DraftEvent,
    kind: 'capture' | 'refund',
    timeMs: number,
    amountMinor: number,
    settlementMinor: number | null,
  ): DraftEvent {
    return {
      ...original,
      seq: -1,
      timeMs,
      day: Math.floor((timeMs - this.startTimeMs) / DAY_MS),
      kind,
      amountMinor,
      settlementMinor,
      originalSeq: original.seq,
      followUps: 0,
    };
  }
}
