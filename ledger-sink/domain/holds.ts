import type { AnalystLabel, LedgerEntry, LabelValue } from '../../schemas/generated/types.js';

/**
 * Two-phase postings: a REVIEW does not move money, it places a **pending hold** (TigerBeetle's pending
 * transfer) whose legs are the entries it would post; so does a card AUTHORIZATION, whose hold its CAPTUREs settle.
 * A REVIEW's hold ends exactly once:
 * - `POSTED` by a GENUINE verdict: its legs are booked into the ledger, stamped with the time Vigil booked them;
 * - `VOIDED` by a FRAUD verdict: nothing is booked and the reserved funds are released;
 * - by expiry, when no verdict came within the hold's timeout: the documented policy (`void` by default, so money
 *   never moves without an approval; `post` for account types whose reviews are a formality).
 *
 * A FRAUD verdict on a transaction already booked (approved, or a hold posted earlier) books **reversal entries**
 * linked to the originals — never an edit or a delete — once, however often the verdict arrives. A reversal gives
 * back only what the payment still holds: each leg less what refunds of it booked on the same account, currency and
 * side (a refund names the payment, or for a capture its authorisation), never past zero. So a chargeback on a
 * payment of 1,999 already refunded 500 reverses 1,499 and the payer nets 0, never more than was paid; a payment
 * refunded in full has nothing left to reverse (`no_effect`). What was refunded only grows (a refund's own reversal
 * does not count back), so a verdict redelivered later never finds more to reverse. A refund naming an authorisation with several captures
 * counts against each of them: their reversals then give back less than is left, never more (a known shortfall the
 * payer is not paid beyond, until refunds are apportioned to captures).
 *
 * An AUTHORIZATION's hold is settled by its captures, which are transactions of their own (kind CAPTURE naming it
 * as `originalTransactionId`) and book their own legs: each capture's legs *consume* the hold's legs on the same
 * account and currency, so the hold reserves only what is still uncaptured (partial and multiple captures). It
 * ends `CAPTURED` once its payer leg is consumed in full — an over-capture books what was captured, consumes the
 * hold to zero and is reported by the ledger-integrity report, never refused: the money moved at the network. An
 * authorisation nobody captured in time is `VOIDED` at its expiry, releasing what is left; a FRAUD verdict voids
 * it at once (and the posting lifecycle passes it on to the captures that booked money against it, which it
 * reverses); a GENUINE verdict leaves it waiting for its capture.
 *
 * Everything here is pure: {@link applyVerdict} and {@link expireHold} take what the ledger holds for one
 * transaction and return what to write, so replaying the same inputs writes the same rows.
 *
 * Crash safety rests on the write order the batch handler keeps: a hold's resolution is written before the
 * entries it books. Entries of a held transaction therefore exist only under a `POSTED` resolution, and a
 * resolution without its entries (a crash between the two inserts) is repaired by the next call for it.
 */

export type HoldResolution = 'POSTED' | 'VOIDED' | 'CAPTURED';
/** What ended a hold: an analyst's (or chargeback's) verdict, its timeout, or (an authorisation) its captures. */
export type HoldCause = LabelValue | 'EXPIRED' | 'CAPTURED';
/** A REVIEW's hold waits for a verdict; an AUTHORIZATION's for its captures. */
export type HoldKind = 'REVIEW' | 'AUTHORIZATION';

/**
 * What a transaction's legs follow up, '' where nothing: a CAPTURE's legs name the AUTHORIZATION whose hold they
 * settle, a REFUND's the payment they pay back (both from the transaction's `originalTransactionId`).
 */
export interface LegLinks {
  readonly capturesTransactionId: string;
  readonly refundsTransactionId: string;
}

export const NO_LINKS: LegLinks = Object.freeze({ capturesTransactionId: '', refundsTransactionId: '' });

/** A pending hold: the legs a REVIEW would post (or an AUTHORIZATION reserves), until it ends. */
export interface Hold {
  readonly transactionId: string;
  readonly fingerprint: string;
  readonly kind: HoldKind;
  /** The legs as {@link postingsFor} builds them; `postedAtMs` is when the hold was placed. */
  readonly legs: readonly LedgerEntry[];
  /** What the legs follow up, carried onto the entries a posted REVIEW hold books. */
  readonly links: LegLinks;
  readonly placedAtMs: number;
  readonly expiresAtMs: number;
}

/** How a hold ended; one per hold, ever. */
export interface HoldResolutionRecord {
  readonly transactionId: string;
  readonly resolution: HoldResolution;
  readonly cause: HoldCause;
  /** Who resolved it: the label's `labelledBy`, or `expiry`. */
  readonly resolvedBy: string;
  readonly resolvedAtMs: number;
}

/**
 * One leg as booked: the fingerprint of the transaction it belongs to, the entry it reverses ('' if none), and what
 * it follows up ({@link LegLinks}).
 */
export interface BookedEntry extends LedgerEntry, LegLinks {
  readonly fingerprint: string;
  readonly reversesEntryId: string;
}

/** What the ledger holds for one transaction id. */
export interface TransactionLedger {
  readonly hold: Hold | undefined;
  readonly resolution: HoldResolutionRecord | undefined;
  /** Booked legs, reversals included, in leg order. */
  readonly entries: readonly BookedEntry[];
  /** For an authorisation: the legs its captures booked (other transactions' entries naming it). */
  readonly captures: readonly BookedEntry[];
  /**
   * The legs of refunds of this payment (their reversals too, which a reversal of the payment does not count): other
   * transactions' entries whose `refundsTransactionId` names it, or (for a capture) names the authorisation it
   * captured.
   */
  readonly refunds: readonly BookedEntry[];
}

export const EMPTY_LEDGER: TransactionLedger = Object.freeze({
  hold: undefined,
  resolution: undefined,
  entries: [],
  captures: [],
  refunds: [],
});

/** What one step writes: resolutions first, then entries (see the module comment for why that order). */
export interface LedgerWrites {
  readonly resolutions: readonly HoldResolutionRecord[];
  readonly entries: readonly BookedEntry[];
}

/** What a verdict or an expiry did, for metrics and logs. */
export type HoldOutcome =
  | 'hold_posted'
  | 'hold_voided'
  /** An authorisation's hold consumed in full by its captures. */
  | 'hold_captured'
  | 'reversed'
  /** A resolution had landed without its entries (a crash between the two inserts); the entries were written. */
  | 'repaired'
  /** Nothing to do: already resolved or reversed, a GENUINE verdict on booked money, or nothing booked or held. */
  | 'no_effect';

export interface Step {
  readonly outcome: HoldOutcome;
  readonly writes: LedgerWrites;
  /** The ledger of this transaction after the writes. */
  readonly ledger: TransactionLedger;
}

/** What happens to a hold nobody resolved within its timeout. */
export type HoldExpiryPolicy = 'void' | 'post';

/**
 * How long a REVIEW's hold waits for a verdict and what its expiry does, and how long an AUTHORIZATION's hold waits
 * for its captures (its expiry always voids what is left: an authorisation nobody captured moves no money).
 */
export interface HoldSettings {
  readonly reviewTimeoutMs: number;
  readonly expiryPolicy: HoldExpiryPolicy;
  readonly authorizationTimeoutMs: number;
}

/**
 * 72 hours, then void: a review nobody finished in three days releases the funds and moves no money. An
 * authorisation waits 7 days for its captures, the common card-scheme validity of a purchase authorisation.
 */
export const DEFAULT_HOLD_SETTINGS: HoldSettings = Object.freeze({
  reviewTimeoutMs: 72 * 3_600_000,
  expiryPolicy: 'void',
  authorizationTimeoutMs: 7 * 86_400_000,
});

/** The timeout a hold of `kind` gets under `settings`. */
export function holdTimeoutMs(settings: HoldSettings, kind: HoldKind): number {
  return kind === 'AUTHORIZATION' ? settings.authorizationTimeoutMs : settings.reviewTimeoutMs;
}

/** The verdict fields a hold needs. */
export type Verdict = Pick<AnalystLabel, 'transactionId' | 'label' | 'labelledBy' | 'labelledAtMs'>;

/** Reversal legs are numbered after the legs they reverse, with ids `<transactionId>/r<original leg>`. */
export function reversalEntryId(original: LedgerEntry): string {
  return `${original.transactionId}/r${original.leg}`;
}

/**
 * What the store's rows say about each transaction: one {@link TransactionLedger} per id that has any row, its
 * entries in leg order, and its first resolution (there is only ever one; a second would be a bug, which the
 * ledger-integrity report shows, never a second effect).
 *
 * `refunds` are refund legs naming any of these transactions or an authorisation one of them captured: each goes to
 * the ledger it names and to the ledger of every capture among `entries` of what it names, where they exist.
 */
export function ledgersOf(
  entries: readonly BookedEntry[],
  holds: readonly Hold[],
  resolutions: readonly HoldResolutionRecord[],
  captures: readonly BookedEntry[] = [],
  refunds: readonly BookedEntry[] = [],
): Map<string, TransactionLedger> {
  const ledgers = new Map<
    string,
    {
      hold?: Hold;
      resolution?: HoldResolutionRecord;
      entries: BookedEntry[];
      captures: BookedEntry[];
      refunds: BookedEntry[];
    }
  >();
  const of = (id: string) => {
    let ledger = ledgers.get(id);
    if (ledger === undefined) ledgers.set(id, (ledger = { entries: [], captures: [], refunds: [] }));
    return ledger;
  };
  for (const entry of [...entries].sort((a, b) => a.leg - b.leg)) of(entry.transactionId).entries.push(entry);
  for (const hold of holds) of(hold.transactionId).hold ??= hold;
  for (const resolution of resolutions) of(resolution.transactionId).resolution ??= resolution;
  for (const entry of captures) of(entry.capturesTransactionId).captures.push(entry);
  const capturesOf = new Map<string, Set<string>>();
  for (const entry of entries)
    if (entry.capturesTransactionId !== '') {
      const ids = capturesOf.get(entry.capturesTransactionId) ?? new Set<string>();
      capturesOf.set(entry.capturesTransactionId, ids.add(entry.transactionId));
    }
  for (const entry of refunds) {
    const named = new Set([entry.refundsTransactionId, ...(capturesOf.get(entry.refundsTransactionId) ?? [])]);
    for (const id of named) ledgers.get(id)?.refunds.push(entry);
  }
  return new Map(
    [...ledgers].map(([id, l]) => [
      id,
      { hold: l.hold, resolution: l.resolution, entries: l.entries, captures: l.captures, refunds: l.refunds },
    ]),
  );
}

/**
 * A hold for `legs` placed at `nowMs`, expiring `timeoutMs` later: a REVIEW's (the default) or an AUTHORIZATION's.
 */
export function placeHold(
  transactionId: string,
  fingerprint: string,
  legs: readonly LedgerEntry[],
  nowMs: number,
  timeoutMs: number,
  kind: HoldKind = 'REVIEW',
  links: LegLinks = NO_LINKS,
): Hold {
  return { transactionId, fingerprint, kind, legs, links, placedAtMs: nowMs, expiresAtMs: nowMs + timeoutMs };
}

/**
 * What the captures of an authorisation booked against each leg of its hold, in the leg's order: the capture legs on
 * the same account, currency and side, as the `ledger_open_hold_legs` view matches them. Reversal legs of a capture
 * do not count: a capture charged back is reversed money, not a reopened authorisation.
 */
function capturedPerLeg(ledger: TransactionLedger): bigint[] {
  const key = (e: LedgerEntry) => `${e.accountId}\u0000${e.currency}\u0000${e.amountMinor < 0n ? '-' : '+'}`;
  const captured = new Map<string, bigint>();
  for (const c of ledger.captures)
    if (c.reversesEntryId === '') captured.set(key(c), (captured.get(key(c)) ?? 0n) + abs(c.amountMinor));
  return (ledger.hold?.legs ?? []).map((leg) => captured.get(key(leg)) ?? 0n);
}

/**
 * What an open hold still reserves, leg by leg: each leg less what its captures booked on it, never past zero (a
 * REVIEW's hold has no captures, so all of it).
 */
export function remainingLegs(ledger: TransactionLedger): LedgerEntry[] {
  const captured = capturedPerLeg(ledger);
  return (ledger.hold?.legs ?? []).map((leg, i) => {
    const left = abs(leg.amountMinor) - captured[i]!;
    const remaining = left > 0n ? left : 0n;
    return { ...leg, amountMinor: leg.amountMinor < 0n ? -remaining : remaining };
  });
}

/** True when an authorisation's payer leg (leg 0) is consumed in full by its captures. */
export function fullyCaptured(ledger: TransactionLedger): boolean {
  if (ledger.hold?.kind !== 'AUTHORIZATION') return false;
  return remainingLegs(ledger)[0]?.amountMinor === 0n;
}

/**
 * What the captures of an authorisation booked beyond it on its payer leg, in that leg's currency (0 when none):
 * an over-capture, booked because the network moved the money, and reported.
 */
export function overCapturedMinor(ledger: TransactionLedger): bigint {
  const payerLeg = ledger.hold?.legs[0];
  if (ledger.hold?.kind !== 'AUTHORIZATION' || payerLeg === undefined) return 0n;
  const beyond = capturedPerLeg(ledger)[0]! - abs(payerLeg.amountMinor);
  return beyond > 0n ? beyond : 0n;
}

/**
 * Ends an open authorisation's hold once its captures consumed its payer leg in full (`CAPTURED`); anything else is
 * left alone. Called after a capture's legs are booked, so a crash between the two is completed when the capture is
 * redelivered (or at the hold's expiry, which checks the same).
 */
export function settleCaptures(ledger: TransactionLedger, settledBy: string, nowMs: number): Step {
  if (!isOpen(ledger) || !fullyCaptured(ledger)) return { outcome: 'no_effect', writes: NO_WRITES, ledger };
  return resolve(ledger, { resolution: 'CAPTURED', cause: 'CAPTURED', resolvedBy: settledBy }, nowMs);
}

/**
 * A REVIEW hold of a refund that `posted` would book, ended `VOIDED` instead because its payment no longer holds what
 * it pays back (domain/refunds.ts): same cause as the verdict or expiry that would have posted it, `resolvedBy` the
 * refusal's code, nothing booked.
 */
export function voidRefusedRefund(ledger: TransactionLedger, posted: Step, refusalCode: string, nowMs: number): Step {
  const cause = posted.ledger.resolution?.cause ?? 'EXPIRED';
  return resolve(ledger, { resolution: 'VOIDED', cause, resolvedBy: refusalCode }, nowMs);
}

/** True while a hold reserves funds: placed and not resolved. */
export function isOpen(ledger: TransactionLedger): boolean {
  return ledger.hold !== undefined && ledger.resolution === undefined;
}

/**
 * Applies one verdict to one transaction's ledger.
 * - An open hold: GENUINE posts it, FRAUD voids it.
 * - Booked entries, not yet reversed: FRAUD reverses what refunds left of them ({@link reversalOf}); GENUINE
 *   changes nothing.
 * - A hold resolved POSTED whose entries are missing: they are written first (repair), then the verdict applies.
 */
export function applyVerdict(ledger: TransactionLedger, verdict: Verdict, nowMs: number): Step {
  const repaired = repairStep(ledger, nowMs);
  if (repaired !== undefined) {
    const next = applyVerdict(repaired.ledger, verdict, nowMs);
    return {
      outcome: next.outcome === 'no_effect' ? 'repaired' : next.outcome,
      writes: concat(repaired.writes, next.writes),
      ledger: next.ledger,
    };
  }
  if (isOpen(ledger) && ledger.hold!.kind === 'AUTHORIZATION') {
    // A GENUINE verdict on an authorisation leaves it waiting for its captures; FRAUD releases what it reserves.
    if (verdict.label === 'GENUINE') return { outcome: 'no_effect', writes: NO_WRITES, ledger };
    return resolve(ledger, { resolution: 'VOIDED', cause: verdict.label, resolvedBy: verdict.labelledBy }, nowMs);
  }
  if (isOpen(ledger)) {
    const resolution = verdict.label === 'GENUINE' ? 'POSTED' : 'VOIDED';
    return resolve(ledger, { resolution, cause: verdict.label, resolvedBy: verdict.labelledBy }, nowMs);
  }
  if (verdict.label === 'FRAUD') {
    const originals = ledger.entries.filter((e) => e.reversesEntryId === '');
    const reversed = ledger.entries.some((e) => e.reversesEntryId !== '');
    if (originals.length > 0 && !reversed) {
      const reversal = reversalOf(originals, ledger.refunds, nowMs);
      if (reversal.length === 0) return { outcome: 'no_effect', writes: NO_WRITES, ledger };
      return {
        outcome: 'reversed',
        writes: { resolutions: [], entries: reversal },
        ledger: { ...ledger, entries: [...ledger.entries, ...reversal] },
      };
    }
  }
  return { outcome: 'no_effect', writes: NO_WRITES, ledger };
}

/**
 * Ends a hold whose timeout has passed: a REVIEW's by the policy's resolution; an AUTHORIZATION's is voided,
 * releasing what its captures left (or, if they consumed it in full and a crash kept it open, `CAPTURED`).
 * Anything else is left alone.
 */
export function expireHold(ledger: TransactionLedger, policy: HoldExpiryPolicy, nowMs: number): Step {
  const repaired = repairStep(ledger, nowMs);
  if (repaired !== undefined) return repaired;
  if (!isOpen(ledger) || ledger.hold!.expiresAtMs > nowMs) return { outcome: 'no_effect', writes: NO_WRITES, ledger };
  if (ledger.hold!.kind === 'AUTHORIZATION')
    return fullyCaptured(ledger)
      ? settleCaptures(ledger, 'expiry', nowMs)
      : resolve(ledger, { resolution: 'VOIDED', cause: 'EXPIRED', resolvedBy: 'expiry' }, nowMs);
  const resolution = policy === 'post' ? 'POSTED' : 'VOIDED';
  return resolve(ledger, { resolution, cause: 'EXPIRED', resolvedBy: 'expiry' }, nowMs);
}

function resolve(
  ledger: TransactionLedger,
  how: Pick<HoldResolutionRecord, 'resolution' | 'cause' | 'resolvedBy'>,
  nowMs: number,
): Step {
  const hold = ledger.hold!;
  const record: HoldResolutionRecord = { transactionId: hold.transactionId, ...how, resolvedAtMs: nowMs };
  const entries = how.resolution === 'POSTED' ? bookLegs(hold, nowMs) : [];
  return {
    outcome:
      how.resolution === 'POSTED' ? 'hold_posted' : how.resolution === 'CAPTURED' ? 'hold_captured' : 'hold_voided',
    writes: { resolutions: [record], entries },
    ledger: { ...ledger, resolution: record, entries: [...ledger.entries, ...entries] },
  };
}

/** A POSTED resolution whose entries never landed: book them now (the hold's legs, stamped `nowMs`). */
function repairStep(ledger: TransactionLedger, nowMs: number): Step | undefined {
  if (ledger.hold === undefined || ledger.resolution?.resolution !== 'POSTED' || ledger.entries.length > 0)
    return undefined;
  const entries = bookLegs(ledger.hold, nowMs);
  return { outcome: 'repaired', writes: { resolutions: [], entries }, ledger: { ...ledger, entries } };
}

function bookLegs(hold: Hold, nowMs: number): BookedEntry[] {
  return hold.legs.map((leg) => ({
    ...leg,
    ...hold.links,
    postedAtMs: nowMs,
    fingerprint: hold.fingerprint,
    reversesEntryId: '',
  }));
}

/**
 * The legs that reverse what `originals` still hold after `refunds`: each original leg less what the refunds booked
 * on the same account, currency and opposite side (a refund's reversal does not count back), never past zero, with its sign
 * flipped. A refund runs the payment's legs backwards in full, so per currency the remainders still sum to zero.
 * Legs with nothing left are omitted; the others keep the leg number and id (`<transactionId>/r<original leg>`)
 * they would have had, so the reversal is the same rows however it is computed.
 */
export function reversalOf(
  originals: readonly BookedEntry[],
  refunds: readonly BookedEntry[],
  nowMs: number,
): BookedEntry[] {
  const refunded = refundedPerLeg(originals, refunds);
  const next = Math.max(...originals.map((e) => e.leg)) + 1;
  return originals.flatMap((original, i) => {
    const left = abs(original.amountMinor) - refunded[i]!;
    if (left <= 0n) return [];
    return [
      {
        ...original,
        entryId: reversalEntryId(original),
        leg: next + i,
        amountMinor: original.amountMinor < 0n ? left : -left,
        postedAtMs: nowMs,
        reversesEntryId: original.entryId,
      },
    ];
  });
}

/**
 * What refunds paid back on each original leg: refund legs on its account and currency whose side is opposite to it.
 * The reversal of a refund (a FRAUD verdict on the refund) does not count back: what has been refunded then only
 * grows, so what is left to reverse only shrinks, and a FRAUD verdict that found nothing left finds nothing when it
 * is redelivered later either (the ledger stays the same however often it arrives). The price: a payer whose refund
 * was reversed gets that part back from neither, short of what was paid, never beyond it.
 */
function refundedPerLeg(originals: readonly LedgerEntry[], refunds: readonly BookedEntry[]): bigint[] {
  const key = (accountId: string, currency: string, debit: boolean) =>
    `${accountId}\u0000${currency}\u0000${debit ? '-' : '+'}`;
  const refunded = new Map<string, bigint>();
  for (const r of uniqueById(refunds)) {
    if (r.reversesEntryId !== '') continue;
    const paymentSide = key(r.accountId, r.currency, r.amountMinor > 0n);
    refunded.set(paymentSide, (refunded.get(paymentSide) ?? 0n) + abs(r.amountMinor));
  }
  return originals.map((o) => refunded.get(key(o.accountId, o.currency, o.amountMinor < 0n)) ?? 0n);
}

function uniqueById(entries: readonly BookedEntry[]): BookedEntry[] {
  return [...new Map(entries.map((e) => [e.entryId, e])).values()];
}

const NO_WRITES: LedgerWrites = Object.freeze({ resolutions: [], entries: [] });

function abs(n: bigint): bigint {
  return n < 0n ? -n : n;
}

function concat(a: LedgerWrites, b: LedgerWrites): LedgerWrites {
  return { resolutions: [...a.resolutions, ...b.resolutions], entries: [...a.entries, ...b.entries] };
}
