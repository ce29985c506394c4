import { UnavailableError } from '../../platform/errors.js';
import type { Counter, MetricsRegistry } from '../../platform/metrics.js';
import { KeyedLock } from '../../platform/keyed-lock.js';
import type { AnalystLabel, LedgerEntry, LedgerEvent } from '../../schemas/generated/types.js';
import {
  type BookedEntry,
  EMPTY_LEDGER,
  type Hold,
  type HoldKind,
  type HoldOutcome,
  type HoldResolutionRecord,
  type HoldSettings,
  type LegLinks,
  type Step,
  type TransactionLedger,
  type Verdict,
  applyVerdict,
  expireHold,
  isOpen,
  holdTimeoutMs,
  placeHold,
  settleCaptures,
  voidRefusedRefund,
} from '../domain/holds.js';
import { refundRefusal } from '../domain/refunds.js';
import { postedEventOf, reversedEventOf } from '../domain/ledger-events.js';
import { type LedgerStore, type PostedEntry, labelKey } from '../ports.js';

export interface PostingLifecycleDeps {
  readonly store: LedgerStore;
  readonly metrics: MetricsRegistry;
  /**
   * The hold settings for a hold whose payer (its leg 0) is `accountId`: the settings of the account's type where
   * they differ (ledger-sink's config `holdsByAccountType`), the general ones otherwise.
   */
  readonly holdsFor: (accountId: string) => HoldSettings;
  /** Whether reports carry the ledger events of verdicts and expiries (built only for a feed that publishes them). */
  readonly announces?: boolean;
}

/** A REVIEW (or an AUTHORIZATION let through) decided in this batch and the legs its hold reserves. */
export interface HoldRequest {
  readonly transactionId: string;
  readonly fingerprint: string;
  readonly kind: HoldKind;
  readonly legs: readonly LedgerEntry[];
  readonly links: LegLinks;
}

/**
 * What the ledger holds of payments that refunds name (domain/refunds.ts), read under their lock: every leg that bears
 * on what they still hold, which of them are authorisations, and those authorisations' captures.
 */
export interface RefundedPayments {
  readonly booked: readonly BookedEntry[];
  readonly authorizations: ReadonlySet<string>;
  readonly captureIds: readonly string[];
}

export const NO_REFUNDED_PAYMENTS: RefundedPayments = Object.freeze({
  booked: [],
  authorizations: new Set<string>(),
  captureIds: [],
});

/** What settling authorisations did, and the FRAUD verdicts on them their captures must still carry out. */
export interface SettleReport extends LifecycleReport {
  readonly fraudOnCaptures: readonly Verdict[];
}

/** What the second phase did in one call. */
export interface LifecycleReport {
  readonly outcomes: Readonly<Record<HoldOutcome, number>>;
  /** Accounts with a leg in what the call wrote (resolved holds, booked or reversing entries). */
  readonly accounts: ReadonlySet<string>;
  /**
   * The ledger events the call's verdicts and expiries announce, from what the ledger holds after it (so a repeated
   * call announces them again, unchanged): a hold posted (GENUINE verdict or expiry), legs reversed (FRAUD verdict).
   */
  readonly events: readonly LedgerEvent[];
}

/**
 * The second phase of postings (domain/holds.ts): builds the holds of REVIEW decisions (the batch handler stores
 * them with the decisions), applies verdicts to holds and booked transactions, and ends holds that expired.
 *
 * Every step reads what the store holds for its transactions and writes what the domain returns, under a lock
 * per transaction id, so a decision, its verdicts and its expiry never race inside one process: whichever comes
 * second sees what the first wrote. Verdicts are stored labels, so the order of arrival does not matter either —
 * a verdict that arrives before its decision is applied when the decision is stored.
 *
 * Writes go resolutions → entries, each one insert; holds are written (with their decisions) before either. A crash anywhere leaves a
 * state the next call for the same transaction completes (the label or the decision is redelivered, or the
 * expiry sweep comes back), and every step of the domain is idempotent on that state.
 */
export class PostingLifecycle {
  private readonly lock = new KeyedLock();
  private readonly m: LifecycleMetrics;

  constructor(private readonly deps: PostingLifecycleDeps) {
    this.m = lifecycleMetrics(deps.metrics);
  }

  /**
   * The hold a REVIEW (or an AUTHORIZATION) decided now places: its legs, reserved until a verdict, its captures or
   * its timeout.
   */
  holdFor(request: HoldRequest, nowMs: number): Hold {
    const { transactionId, fingerprint, kind, legs, links } = request;
    const settings = this.deps.holdsFor(legs[0]?.accountId ?? '');
    return placeHold(transactionId, fingerprint, legs, nowMs, holdTimeoutMs(settings, kind), kind, links);
  }

  /**
   * Ends the holds of `authorizationIds` that their captures consumed in full (`CAPTURED`). The caller holds the lock
   * on these ids and has stored the captures' entries; an authorisation not stored, not open or not consumed in full
   * is left alone, so calling it again (a redelivered capture) is harmless.
   *
   * Also returns the FRAUD verdicts stored on these authorisations passed on to their booked captures: a capture
   * booked after its authorisation was found fraudulent is reversed as the earlier ones were. The caller hands them
   * to {@link passOnFraud} once it has released its locks.
   */
  async settleCaptured(authorizationIds: readonly string[], nowMs: number): Promise<SettleReport> {
    if (authorizationIds.length === 0) return { ...emptyReport(), fraudOnCaptures: [] };
    const ledgers = new Map(await this.deps.store.transactionLedgers(authorizationIds));
    // Verdicts matter only to authorisations whose captures booked money: most calls (a new authorisation, a
    // capture of one nobody labelled) then cost no second look-up.
    const withCaptures = authorizationIds.filter((id) => (ledgers.get(id)?.captures.length ?? 0) > 0);
    const verdicts = withCaptures.length === 0 ? [] : await this.deps.store.storedLabels(withCaptures);
    const writes = new Writes();
    const outcomes = countOutcomes();
    for (const id of authorizationIds)
      this.step(ledgers, id, outcomes, writes, (l) => settleCaptures(l, 'capture', nowMs));
    await this.write(writes);
    return {
      outcomes,
      accounts: writes.accounts,
      events: [],
      fraudOnCaptures: fraudOnCapturesOf(ledgers, verdicts),
    };
  }

  /**
   * What the ledger holds of `paymentIds`, the payments refunds name: their legs, their captures' legs (for an
   * authorisation) and the refunds of each, and the ids of those captures (which the caller must hold the lock on,
   * with the payments'). Nothing is read for no ids.
   */
  async refundedPayments(paymentIds: readonly string[]): Promise<RefundedPayments> {
    if (paymentIds.length === 0) return NO_REFUNDED_PAYMENTS;
    const ledgers = await this.deps.store.transactionLedgers(paymentIds);
    const authorizations = new Set<string>();
    const captureIds = new Set<string>();
    const booked: BookedEntry[] = [];
    for (const [id, ledger] of ledgers) {
      booked.push(...ledger.entries, ...ledger.captures, ...ledger.refunds);
      if (ledger.hold?.kind !== 'AUTHORIZATION') continue;
      authorizations.add(id);
      for (const leg of ledger.captures) captureIds.add(leg.transactionId);
    }
    // Refunds naming a capture of an authorisation count against the authorisation too.
    if (captureIds.size > 0)
      for (const ledger of (await this.deps.store.transactionLedgers([...captureIds])).values())
        booked.push(...ledger.refunds);
    return { booked, authorizations, captureIds: [...captureIds] };
  }

  /**
   * Runs `run` holding the lock on `ids` and on every id `lockAlso` (read under the lock) says it needs too: a step
   * that finds it needs an id it does not hold releases everything, unwritten, and locks again with it. `lockAlso`
   * must return the same ids or more when called again on the same state.
   */
  async lockedWith<T>(
    ids: readonly string[],
    lockAlso: () => Promise<readonly string[]>,
    run: () => Promise<T>,
  ): Promise<T> {
    let extra: readonly string[] = [];
    for (;;) {
      const held = new Set([...ids, ...extra]);
      const attempt = await this.locked(
        [...held],
        async (): Promise<{ readonly missing: readonly string[] } | { readonly missing: null; readonly done: T }> => {
          const missing = (await lockAlso()).filter((id) => !held.has(id));
          return missing.length > 0 ? { missing } : { missing: null, done: await run() };
        },
      );
      if (attempt.missing === null) return attempt.done;
      extra = [...extra, ...attempt.missing];
    }
  }

  /**
   * The payments (and their captures) that open review holds of refunds among `ids` name: a verdict or an expiry
   * posting such a hold checks the refund against them first, under their lock.
   */
  private async refundHoldPayments(ids: readonly string[]): Promise<readonly string[]> {
    const paymentIds = refundHoldPaymentsOf(await this.deps.store.transactionLedgers(ids));
    if (paymentIds.length === 0) return [];
    return [...paymentIds, ...(await this.refundedPayments(paymentIds)).captureIds];
  }

  /**
   * Applies the verdicts already stored for `transactionIds` (ones that arrived before their decision). The
   * caller holds the lock on these ids ({@link locked}) and on the payments the refunds among them name, and has
   * stored their decisions, holds and entries.
   */
  applyStoredVerdicts(transactionIds: readonly string[], nowMs: number): Promise<LifecycleReport> {
    return transactionIds.length === 0 ? Promise.resolve(emptyReport()) : this.foldStored(transactionIds, nowMs);
  }

  /**
   * Runs `run` holding the lock on `ids`: a decision batch, a verdict batch and the expiry sweep touching the
   * same transaction never interleave inside this process. Not reentrant: `run` must not take it again.
   */
  async locked<T>(ids: readonly string[], run: () => Promise<T>): Promise<T> {
    const release = await this.lock.acquire(ids);
    try {
      return await run();
    } finally {
      release();
    }
  }

  /**
   * Stores the labels of a batch not stored yet, then applies every verdict stored for their transactions in the
   * order they were given. Verdicts that took effect are no-ops the second time, so a redelivered batch, or one
   * after a crash between storing a label and acting on it, completes what was left.
   *
   * A FRAUD verdict on an authorisation voids what it still holds and reaches the money its captures booked: each
   * booked capture gets the same FRAUD verdict (reversed once, however often), in a second step under the lock on
   * the captures' ids. A capture still held for review is left to its own verdict; if its hold is posted, the
   * authorisation's FRAUD reaches it then ({@link settleCaptured}). Authorisations whose captures a posted hold
   * booked are settled last.
   */
  async recordVerdicts(labels: readonly AnalystLabel[], nowMs: number): Promise<LifecycleReport & { stored: number }> {
    if (labels.length === 0) return { ...emptyReport(), stored: 0 };
    const ids = [...new Set(labels.map((l) => l.transactionId))];
    const recorded = await this.lockedWith(
      ids,
      () => this.refundHoldPayments(ids),
      async () => {
        const stored = await this.deps.store.storedLabels(ids);
        const seen = new Set(stored.map(labelKey));
        const fresh = labels.filter((label) => {
          const key = labelKey(label);
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        });
        await this.deps.store.insertLabels(fresh);
        const ledgers = new Map(await this.deps.store.transactionLedgers(ids));
        // Every verdict stored for these transactions, in the order they were given: one given earlier but not
        // applied yet (it came before its decision, or a crash interrupted it) takes effect before this batch's.
        const verdicts = [...stored, ...fresh];
        // Announced: what this batch's own verdicts reached, stored now or by an earlier try of the same batch.
        const report = await this.fold(ledgers, verdicts, nowMs, undefined, labels);
        return {
          ...report,
          stored: fresh.length,
          captured: capturedAuthorizations(ledgers),
          fraudOnCaptures: fraudOnCapturesOf(ledgers, verdicts),
          announcedOnCaptures: fraudOnCapturesOf(ledgers, labels),
        };
      },
    );
    const settled = await this.settleLocked(recorded.captured, nowMs);
    // Announced: the reversals this batch's own verdicts reached, and those settling passed on now.
    const reversed = await this.passOnFraud([...recorded.fraudOnCaptures, ...settled.fraudOnCaptures], nowMs, [
      ...recorded.announcedOnCaptures,
      ...settled.fraudOnCaptures,
    ]);
    return { ...merge(merge(recorded, settled), reversed), stored: recorded.stored };
  }

  /**
   * Applies the FRAUD verdicts authorisations passed on to their captures, under the lock on the captures' ids; the
   * caller holds no lock. Idempotent: a capture already reversed is left alone. Announces the reversals the
   * verdicts of `announce` reached.
   */
  async passOnFraud(
    verdicts: readonly Verdict[],
    nowMs: number,
    announce: readonly Verdict[] = verdicts,
  ): Promise<LifecycleReport> {
    if (verdicts.length === 0) return emptyReport();
    const ids = [...new Set(verdicts.map((v) => v.transactionId))];
    return this.locked(ids, async () => {
      const ledgers = new Map(await this.deps.store.transactionLedgers(ids));
      return this.fold(ledgers, verdicts, nowMs, undefined, announce);
    });
  }

  /** {@link settleCaptured} under the lock on `authorizationIds` (taken after the step that booked the captures). */
  private settleLocked(authorizationIds: readonly string[], nowMs: number): Promise<SettleReport> {
    if (authorizationIds.length === 0) return Promise.resolve({ ...emptyReport(), fraudOnCaptures: [] });
    return this.locked(authorizationIds, () => this.settleCaptured(authorizationIds, nowMs));
  }

  /**
   * Ends up to `limit` holds whose expiry has passed: first any verdict stored for them is applied (one that
   * arrived while another process held the decision), then the expiry policy. Returns what it did.
   */
  async expireDue(nowMs: number, limit: number): Promise<LifecycleReport> {
    const ids = await this.deps.store.expiredHolds(nowMs, limit);
    if (ids.length === 0) return emptyReport();
    let captured: string[] = [];
    const expired = await this.lockedWith(
      ids,
      () => this.refundHoldPayments(ids),
      () =>
        this.foldStored(ids, nowMs, (ledgers, outcomes, writes) => {
          for (const id of ids)
            this.step(ledgers, id, outcomes, writes, (l) =>
              expireHold(l, this.deps.holdsFor(l.hold?.legs[0]?.accountId ?? '').expiryPolicy, nowMs),
            );
          captured = capturedAuthorizations(ledgers);
          return ids;
        }),
    );
    const settled = await this.settleLocked(captured, nowMs);
    return merge(merge(expired, settled), await this.passOnFraud(settled.fraudOnCaptures, nowMs));
  }

  /** Reads the stored verdicts and ledgers of `ids`, then folds them as {@link fold} does. */
  private async foldStored(ids: readonly string[], nowMs: number, more?: FoldMore): Promise<LifecycleReport> {
    const [verdicts, ledgers] = await Promise.all([
      this.deps.store.storedLabels(ids),
      this.deps.store.transactionLedgers(ids),
    ]);
    return this.fold(new Map(ledgers), verdicts, nowMs, more);
  }

  /**
   * Applies `verdicts` in order, then `more` (the expiry), and writes what they return. Announces what the verdicts
   * of `announce` (all of them by default) and the expiry reached.
   */
  private async fold(
    ledgers: Map<string, TransactionLedger>,
    verdicts: readonly Verdict[],
    nowMs: number,
    more?: FoldMore,
    announce: readonly Verdict[] = verdicts,
  ): Promise<LifecycleReport> {
    const writes = new Writes();
    const outcomes = countOutcomes();
    // A refund's review hold posted here books only what its payment still holds (domain/refunds.ts); the payments
    // are read once, and what this fold books is added as it goes.
    const refunded = refundHoldPaymentsOf(ledgers);
    writes.refundedPayments = refunded.length === 0 ? undefined : await this.refundedPayments(refunded);
    for (const verdict of [...verdicts].sort(byWhenGiven))
      this.step(ledgers, verdict.transactionId, outcomes, writes, (l) => applyVerdict(l, verdict, nowMs));
    const expired = more?.(ledgers, outcomes, writes) ?? [];
    await this.write(writes);
    return {
      outcomes,
      accounts: writes.accounts,
      events: await this.announced(ledgers, verdicts, announce, expired),
    };
  }

  /**
   * What a fold announces: per transaction a GENUINE verdict of `announce` or an expiry reached, its hold's posting;
   * per transaction a FRAUD verdict of `announce` reached, its reversal, naming the first FRAUD verdict of all
   * `verdicts` — each if the ledger holds it now, whether this fold booked it or an earlier try of the same batch did.
   */
  private async announced(
    ledgers: ReadonlyMap<string, TransactionLedger>,
    verdicts: readonly Verdict[],
    announce: readonly Verdict[],
    expired: readonly string[],
  ): Promise<LedgerEvent[]> {
    const heldThenPosted = (id: string): boolean => {
      const ledger = ledgers.get(id);
      return ledger?.hold?.kind === 'REVIEW' && ledger.resolution?.resolution === 'POSTED';
    };
    const posted = new Set(
      [...announce.filter((v) => v.label === 'GENUINE').map((v) => v.transactionId), ...expired].filter(heldThenPosted),
    );
    const reversed = new Set(
      announce
        .filter((v) => v.label === 'FRAUD')
        .map((v) => v.transactionId)
        .filter((id) => ledgers.get(id)?.entries.some((e) => e.reversesEntryId !== '')),
    );
    const ids = [...new Set([...posted, ...reversed])];
    if (ids.length === 0 || this.deps.announces !== true) return [];
    const kinds = await this.deps.store.transactionKinds(ids);
    const kindOf = (id: string) => {
      const kind = kinds.get(id);
      if (kind === undefined)
        throw new UnavailableError(
          'LEDGER_DECISION_NOT_STORED',
          `transaction ${id} has booked legs but no stored decision yet; its ledger event waits for it`,
        );
      return kind;
    };
    const events: LedgerEvent[] = [];
    for (const id of posted) events.push(postedEventOf(ledgers.get(id)!, kindOf(id))!);
    for (const id of reversed)
      events.push(
        reversedEventOf(
          ledgers.get(id)!,
          kindOf(id),
          verdicts.filter((v) => v.transactionId === id),
        )!,
      );
    return events;
  }

  private step(
    ledgers: Map<string, TransactionLedger>,
    id: string,
    outcomes: Record<HoldOutcome, number>,
    writes: Writes,
    apply: (ledger: TransactionLedger) => Step,
  ): void {
    const before = ledgers.get(id) ?? EMPTY_LEDGER;
    const step = this.checkRefund(before, apply(before), writes);
    ledgers.set(id, step.ledger);
    // A refund's hold posted in this step counts against its payment in the steps after it (a FRAUD verdict on the
    // payment later in the same fold reverses only what the refund left), as it would once read back from the store.
    const refundLegs = step.writes.entries.filter((e) => e.refundsTransactionId !== '' && e.reversesEntryId === '');
    if (refundLegs.length > 0)
      for (const [paymentId, ledger] of ledgers)
        if (
          refundLegs.some(
            (r) =>
              r.refundsTransactionId === paymentId ||
              ledger.entries.some((e) => e.capturesTransactionId === r.refundsTransactionId),
          )
        )
          ledgers.set(paymentId, { ...ledger, refunds: [...ledger.refunds, ...refundLegs] });
    outcomes[step.outcome] += 1;
    writes.resolutions.push(...step.writes.resolutions);
    writes.entries.push(...step.writes.entries);
    for (const leg of step.writes.entries) writes.accounts.add(leg.accountId);
    if (step.writes.resolutions.length > 0)
      for (const leg of step.ledger.hold?.legs ?? []) writes.accounts.add(leg.accountId);
  }

  /**
   * `step` as it is, unless it posts a refund's review hold its payment no longer holds (domain/refunds.ts): then the
   * hold is voided instead, books nothing, and the refusal's code says why (`resolvedBy`).
   */
  private checkRefund(before: TransactionLedger, step: Step, writes: Writes): Step {
    const hold = before.hold;
    const paymentId = hold?.links.refundsTransactionId ?? '';
    if (step.outcome !== 'hold_posted' || hold?.kind !== 'REVIEW' || paymentId === '') return step;
    const payments = writes.refundedPayments ?? NO_REFUNDED_PAYMENTS;
    const refusal = refundRefusal(hold.legs, {
      paymentId,
      authorization: payments.authorizations.has(paymentId),
      booked: [...payments.booked, ...writes.entries],
    });
    if (refusal === undefined) return step;
    this.m.refundsRefused.inc({ reason: refusal.code.toLowerCase() });
    return voidRefusedRefund(before, step, refusal.code, step.ledger.resolution?.resolvedAtMs ?? 0);
  }

  /** Resolutions first, then the entries they book: entries of a held transaction never exist unresolved. */
  private async write(writes: Writes): Promise<void> {
    await this.deps.store.insertHoldResolutions(writes.resolutions);
    await this.deps.store.insertEntries(writes.entries);
    for (const r of writes.resolutions) this.m.resolutions.inc({ resolution: r.resolution, cause: r.cause });
    const reversals = writes.entries.filter((e) => e.reversesEntryId !== '');
    this.m.reversalEntries.inc({}, reversals.length);
  }
}

/** The order verdicts take effect in: when they were given, ties broken by their content so replays agree. */
function byWhenGiven(a: Verdict, b: Verdict): number {
  return a.labelledAtMs - b.labelledAtMs || labelKey(a).localeCompare(labelKey(b));
}

/** A step after the verdicts of a fold (the expiry), adding to the same writes; returns the ids it expired. */
type FoldMore = (
  ledgers: Map<string, TransactionLedger>,
  outcomes: Record<HoldOutcome, number>,
  writes: Writes,
) => readonly string[];

class Writes {
  readonly resolutions: HoldResolutionRecord[] = [];
  readonly entries: PostedEntry[] = [];
  readonly accounts = new Set<string>();
  /** The payments refund holds posted in this fold name, read under their lock; none if no refund hold is open. */
  refundedPayments: RefundedPayments | undefined;
}

/** The payments that the open review holds of refunds among `ledgers` name. */
function refundHoldPaymentsOf(ledgers: ReadonlyMap<string, TransactionLedger>): string[] {
  const ids = new Set<string>();
  for (const ledger of ledgers.values())
    if (isOpen(ledger) && ledger.hold!.kind === 'REVIEW' && ledger.hold!.links.refundsTransactionId !== '')
      ids.add(ledger.hold!.links.refundsTransactionId);
  return [...ids];
}

function countOutcomes(): Record<HoldOutcome, number> {
  return { hold_posted: 0, hold_voided: 0, hold_captured: 0, reversed: 0, repaired: 0, no_effect: 0 };
}

/**
 * The authorisations that captures booked by these ledgers' posted holds settle (a REVIEW of a capture posted by its
 * verdict or its expiry): the holds' own links, whether this call posted them or an earlier one did before a crash.
 */
function capturedAuthorizations(ledgers: ReadonlyMap<string, TransactionLedger>): string[] {
  const ids = new Set<string>();
  for (const ledger of ledgers.values())
    if (ledger.resolution?.resolution === 'POSTED' && ledger.hold!.links.capturesTransactionId !== '')
      ids.add(ledger.hold!.links.capturesTransactionId);
  return [...ids];
}

/**
 * The FRAUD verdicts given on authorisations, passed on to every capture that booked money against them (one each,
 * as given: who and when, so the capture's reversal says whose verdict it carries out).
 */
function fraudOnCapturesOf(ledgers: ReadonlyMap<string, TransactionLedger>, verdicts: readonly Verdict[]): Verdict[] {
  const passed: Verdict[] = [];
  for (const verdict of verdicts) {
    const ledger = ledgers.get(verdict.transactionId);
    if (verdict.label !== 'FRAUD' || ledger?.hold?.kind !== 'AUTHORIZATION') continue;
    const captureIds = new Set(ledger.captures.filter((c) => c.reversesEntryId === '').map((c) => c.transactionId));
    for (const transactionId of captureIds) passed.push({ ...verdict, transactionId });
  }
  return passed;
}

/** Two steps' outcomes counted together. */
export function addOutcomes(
  a: Readonly<Record<HoldOutcome, number>>,
  b: Readonly<Record<HoldOutcome, number>>,
): Record<HoldOutcome, number> {
  const outcomes = countOutcomes();
  for (const key of Object.keys(outcomes) as HoldOutcome[]) outcomes[key] = a[key] + b[key];
  return outcomes;
}

function merge(a: LifecycleReport, b: LifecycleReport): LifecycleReport {
  return {
    outcomes: addOutcomes(a.outcomes, b.outcomes),
    accounts: new Set([...a.accounts, ...b.accounts]),
    events: [...a.events, ...b.events],
  };
}

function emptyReport(): LifecycleReport {
  return { outcomes: countOutcomes(), accounts: new Set(), events: [] };
}

interface LifecycleMetrics {
  readonly resolutions: Counter;
  readonly reversalEntries: Counter;
  readonly refundsRefused: Counter;
}

function lifecycleMetrics(metrics: MetricsRegistry): LifecycleMetrics {
  return {
    resolutions: metrics.counter(
      'vigil_ledger_hold_resolutions_total',
      'Holds ended, by resolution (POSTED, VOIDED, CAPTURED) and cause (GENUINE, FRAUD, EXPIRED, CAPTURED).',
    ),
    reversalEntries: metrics.counter(
      'vigil_ledger_reversal_entries_total',
      'Reversal legs booked for FRAUD verdicts on booked transactions.',
    ),
    refundsRefused: metrics.counter(
      'vigil_ledger_refund_holds_refused_total',
      "Refunds' review holds voided instead of posted: their payment no longer held what they pay back, by reason.",
    ),
  };
}
