import type { AnalystLabel, LedgerEntry, LabelValue } from '../../schemas/generated/types.js';

/**
 * Two-phase postings: a REVIEW does not move money, it places a **pending hold** (TigerBeetle's pending
 * transfer) whose legs are the entries it would post. A hold ends exactly once:
 * - `POSTED` by a GENUINE verdict: its legs are booked into the ledger, stamped with the time Vigil booked them;
 * - `VOIDED` by a FRAUD verdict: nothing is booked and the reserved funds are released;
 * - by expiry, when no verdict came within the hold's timeout: the documented policy (`void` by default, so money
 *   never moves without an approval; `post` for account types whose reviews are a formality).
 *
 * A FRAUD verdict on a transaction already booked (approved, or a hold posted earlier) books **reversal entries**
 * linked to the originals — never an edit or a delete — once, however often the verdict arrives.
 *
 * Everything here is pure: {@link applyVerdict} and {@link expireHold} take what the ledger holds for one
 * transaction and return what to write, so replaying the same inputs writes the same rows.
 *
 * Crash safety rests on the write order the batch handler keeps: a hold's resolution is written before the
 * entries it books. Entries of a held transaction therefore exist only under a `POSTED` resolution, and a
 * resolution without its entries (a crash between the two inserts) is repaired by the next call for it.
 */

export type HoldResolution = 'POSTED' | 'VOIDED';
/** What ended a hold: an analyst's (or chargeback's) verdict, or its timeout. */
export type HoldCause = LabelValue | 'EXPIRED';

/** A pending hold: the legs a REVIEW would post, reserved until its verdict or its expiry. */
export interface Hold {
  readonly transactionId: string;
  readonly fingerprint: string;
  /** The legs as {@link postingsFor} builds them; `postedAtMs` is when the hold was placed. */
  readonly legs: readonly LedgerEntry[];
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

/** One leg as booked: the fingerprint of the transaction it belongs to, and the entry it reverses ('' if none). */
export interface BookedEntry extends LedgerEntry {
  readonly fingerprint: string;
  readonly reversesEntryId: string;
}

/** What the ledger holds for one transaction id. */
export interface TransactionLedger {
  readonly hold: Hold | undefined;
  readonly resolution: HoldResolutionRecord | undefined;
  /** Booked legs, reversals included, in leg order. */
  readonly entries: readonly BookedEntry[];
}

export const EMPTY_LEDGER: TransactionLedger = Object.freeze({ hold: undefined, resolution: undefined, entries: [] });

/** What one step writes: resolutions first, then entries (see the module comment for why that order). */
export interface LedgerWrites {
  readonly resolutions: readonly HoldResolutionRecord[];
  readonly entries: readonly BookedEntry[];
}

/** What a verdict or an expiry did, for metrics and logs. */
export type HoldOutcome =
  | 'hold_posted'
  | 'hold_voided'
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

/** How long a REVIEW's hold waits for a verdict, and what its expiry does. */
export interface HoldSettings {
  readonly reviewTimeoutMs: number;
  readonly expiryPolicy: HoldExpiryPolicy;
}

/** 72 hours, then void: a review nobody finished in three days releases the funds and moves no money. */
export const DEFAULT_HOLD_SETTINGS: HoldSettings = Object.freeze({
  reviewTimeoutMs: 72 * 3_600_000,
  expiryPolicy: 'void',
});

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
 */
export function ledgersOf(
  entries: readonly BookedEntry[],
  holds: readonly Hold[],
  resolutions: readonly HoldResolutionRecord[],
): Map<string, TransactionLedger> {
  const ledgers = new Map<string, { hold?: Hold; resolution?: HoldResolutionRecord; entries: BookedEntry[] }>();
  const of = (id: string) => {
    let ledger = ledgers.get(id);
    if (ledger === undefined) ledgers.set(id, (ledger = { entries: [] }));
    return ledger;
  };
  for (const entry of [...entries].sort((a, b) => a.leg - b.leg)) of(entry.transactionId).entries.push(entry);
  for (const hold of holds) of(hold.transactionId).hold ??= hold;
  for (const resolution of resolutions) of(resolution.transactionId).resolution ??= resolution;
  return new Map([...ledgers].map(([id, l]) => [id, { hold: l.hold, resolution: l.resolution, entries: l.entries }]));
}

/** A hold for the legs a REVIEW would post, placed at `nowMs`, expiring `timeoutMs` later. */
export function placeHold(
  transactionId: string,
  fingerprint: string,
  legs: readonly LedgerEntry[],
  nowMs: number,
  timeoutMs: number,
): Hold {
  return { transactionId, fingerprint, legs, placedAtMs: nowMs, expiresAtMs: nowMs + timeoutMs };
}

/** True while a hold reserves funds: placed and not resolved. */
export function isOpen(ledger: TransactionLedger): boolean {
  return ledger.hold !== undefined && ledger.resolution === undefined;
}

/**
 * Applies one verdict to one transaction's ledger.
 * - An open hold: GENUINE posts it, FRAUD voids it.
 * - Booked entries, not yet reversed: FRAUD reverses them; GENUINE changes nothing.
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
  if (isOpen(ledger)) {
    const resolution = verdict.label === 'GENUINE' ? 'POSTED' : 'VOIDED';
    return resolve(ledger, { resolution, cause: verdict.label, resolvedBy: verdict.labelledBy }, nowMs);
  }
  if (verdict.label === 'FRAUD') {
    const originals = ledger.entries.filter((e) => e.reversesEntryId === '');
    const reversed = ledger.entries.some((e) => e.reversesEntryId !== '');
    if (originals.length > 0 && !reversed) {
      const reversal = reversalOf(originals, nowMs);
      return {
        outcome: 'reversed',
        writes: { resolutions: [], entries: reversal },
        ledger: { ...ledger, entries: [...ledger.entries, ...reversal] },
      };
    }
  }
  return { outcome: 'no_effect', writes: NO_WRITES, ledger };
}

/** Ends a hold whose timeout has passed with the policy's resolution; anything else is left alone. */
export function expireHold(ledger: TransactionLedger, policy: HoldExpiryPolicy, nowMs: number): Step {
  const repaired = repairStep(ledger, nowMs);
  if (repaired !== undefined) return repaired;
  if (!isOpen(ledger) || ledger.hold!.expiresAtMs > nowMs) return { outcome: 'no_effect', writes: NO_WRITES, ledger };
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
    outcome: how.resolution === 'POSTED' ? 'hold_posted' : 'hold_voided',
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
  return hold.legs.map((leg) => ({ ...leg, postedAtMs: nowMs, fingerprint: hold.fingerprint, reversesEntryId: '' }));
}

/** Every original leg with its sign flipped, so per currency the reversal sums to zero as the original did. */
function reversalOf(originals: readonly BookedEntry[], nowMs: number): BookedEntry[] {
  const next = Math.max(...originals.map((e) => e.leg)) + 1;
  return originals.map((original, i) => ({
    ...original,
    entryId: reversalEntryId(original),
    leg: next + i,
    amountMinor: -original.amountMinor,
    postedAtMs: nowMs,
    reversesEntryId: original.entryId,
  }));
}

const NO_WRITES: LedgerWrites = Object.freeze({ resolutions: [], entries: [] });

function concat(a: LedgerWrites, b: LedgerWrites): LedgerWrites {
  return { resolutions: [...a.resolutions, ...b.resolutions], entries: [...a.entries, ...b.entries] };
}
