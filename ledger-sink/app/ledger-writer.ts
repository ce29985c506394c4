import type { BusRecord, RecordBatch } from '../../platform/bus.js';
import type { Clock } from '../../platform/clock.js';
import { ErrorCategory, ValidationError, VigilError, describeError, isRetriable } from '../../platform/errors.js';
import type { ErrorCode } from '../../platform/error-codes.js';
import type { Logger } from '../../platform/logger.js';
import type { Counter, Gauge, Histogram, MetricsRegistry } from '../../platform/metrics.js';
import type { Codec } from '../../schemas/codec.js';
import { type DeadLetterWriter, type PoisonItem, decodeOrDeadLetter } from '../../schemas/dead-letter.js';
import type {
  AccountType,
  AnalystLabel,
  LedgerEntry,
  LedgerEvent,
  ScoredTransaction,
  TransactionKind,
} from '../../schemas/generated/types.js';
import { Topics } from '../../schemas/topics.js';
import type { AuditIndex, AuditIndexRejection } from '../ports.js';
import { STORABLE_TIME_MAX_MS, STORABLE_TIME_MIN_MS, auditProblems } from '../domain/audit.js';
import { type StoredFingerprints, decideBatch } from '../domain/idempotency.js';
import {
  DEFAULT_HOLD_SETTINGS,
  EMPTY_LEDGER,
  type HoldOutcome,
  type HoldSettings,
  type TransactionLedger,
  type Verdict,
} from '../domain/holds.js';
import { postedEventOf } from '../domain/ledger-events.js';
import { PostingError, bookingOf, linksOf, notPostedReason, postingsFor } from '../domain/postings.js';
import { type RefundRefusal, refundRefusal } from '../domain/refunds.js';
import { type ConflictRecord, type DecisionRecord, type LedgerStore, type PostedEntry, conflictKey } from '../ports.js';
import { AccountTypes } from './account-types.js';
import type { BalanceFeed, TouchedAccounts } from './balance-feed.js';
import type { LedgerEventFeed } from './ledger-events.js';
import {
  type HoldRequest,
  type LifecycleReport,
  PostingLifecycle,
  type RefundedPayments,
  addOutcomes,
} from './posting-lifecycle.js';

/** The ledger writer's refusals, by name; what each means is in platform/error-codes.ts. */
export const LedgerErrorCode = {
  conflict: 'LEDGER_CONFLICT',
  unstorableDecision: 'UNSTORABLE_DECISION',
  unstorableLabel: 'UNSTORABLE_LABEL',
  auditNotIndexed: 'AUDIT_NOT_INDEXED',
} as const satisfies Readonly<Record<string, ErrorCode>>;

/** What one batch did; the bus only needs the promise, tests and logs read the numbers. */
export interface BatchReport {
  readonly topic: string;
  readonly records: number;
  /** Records sent to `tx.dlq` (undecodable, unpostable or conflicting). */
  readonly deadLettered: number;
  /** Transactions whose entries were written by this batch. */
  readonly postedTransactions: number;
  readonly entriesWritten: number;
  readonly decisionsWritten: number;
  /** Records whose transaction id was already accepted with the same fingerprint. */
  readonly duplicates: number;
  readonly conflicts: number;
  /** Decided records that post nothing (declined, authorisation holds, held for review, refunds refused). */
  readonly notPosted: number;
  /** Refunds this batch refused (domain/refunds.ts): each books nothing, its decision stored with the reason. */
  readonly refundsRefused: number;
  readonly labelsWritten: number;
  /** Audit documents created in the search index (0 without one). */
  readonly auditIndexed: number;
  /** Audit documents the index refused for good; each is dead-lettered. */
  readonly auditRejected: number;
  /** Pending holds placed for REVIEW decisions. */
  readonly holdsPlaced: number;
  /** What verdicts (and, for the expiry sweep, timeouts) did to holds and booked transactions. */
  readonly outcomes: Readonly<Record<HoldOutcome, number>>;
}

export interface LedgerBatchHandlerDeps {
  readonly store: LedgerStore;
  readonly scoredCodec: Codec<ScoredTransaction>;
  readonly labelCodec: Codec<AnalystLabel>;
  readonly deadLetters: DeadLetterWriter;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly clock: Clock;
  /** The audit search index (Elasticsearch in distributed mode); written after the ClickHouse inserts. */
  readonly auditIndex?: AuditIndex;
  /** How long a hold waits and what its expiry does; {@link DEFAULT_HOLD_SETTINGS} if absent. */
  readonly holds?: HoldSettings;
  /** The hold settings of account types that differ from {@link holds} (by the payer's type); none if absent. */
  readonly holdsByAccountType?: Readonly<Partial<Record<AccountType, HoldSettings>>>;
  /** The chart of accounts' types; every account is a CUSTOMER if absent. */
  readonly accountTypes?: AccountTypes;
  /** Publishes the balances of policy accounts a batch touched (the funds feedback to scoring); none if absent. */
  readonly balances?: BalanceFeed;
  /**
   * Publishes what the ledger booked (`ledger.events`), after the inserts and before the batch is committed; nothing
   * is announced (nor built) if absent.
   */
  readonly events?: LedgerEventFeed;
}

/** What one batch's decisions wrote (under the lock), for the report, the metrics and the audit index. */
interface StoredBatch {
  readonly accepted: readonly Prepared[];
  readonly conflicts: ReadonlyArray<{ readonly prepared: Prepared; readonly record: ConflictRecord }>;
  readonly entriesWritten: number;
  readonly decisionsWritten: number;
  readonly postedTransactions: number;
  readonly duplicates: number;
  readonly notPosted: number;
  readonly refundsRefused: number;
  readonly changedDecisions: readonly string[];
  readonly holdsPlaced: number;
  readonly outcomes: LifecycleReport['outcomes'];
  /** FRAUD verdicts on authorisations their captures must carry out, once the batch's lock is released. */
  readonly fraudOnCaptures: readonly Verdict[];
  /** What the batch announces: the postings its APPROVEs booked (now or before), and what its verdicts did. */
  readonly events: readonly LedgerEvent[];
}

interface Prepared {
  readonly record: BusRecord;
  readonly scored: ScoredTransaction;
  /**
   * The legs the transaction books or holds, built (and so checked) when this copy's decision books or holds
   * anything; empty otherwise.
   */
  readonly legs: readonly LedgerEntry[];
}

/**
 * Handles `tx.scored` and `analyst.labels` batches: decode (poison → `tx.dlq`), decide per record against what
 * the store holds, write each table once, then dead-letter what could not be posted.
 *
 * Exactly once in effect rests on three facts: a transaction id always travels on the same partition (the key
 * is the payer account), a batch is committed only after its inserts resolved, and every insert skips the rows
 * whose key is stored already, in the same statement (ports.ts). A redelivered batch therefore finds its own rows
 * and writes nothing again; a second handler of the same records at the same time — a member that stalled past
 * its session timeout and wakes after the partition moved — may decide from a stale look-up, but what it writes
 * is stored once (RELIABILITY.md, fault 10). Such a handler still reports, and announces, what it believes it
 * wrote.
 *
 * A store failure rejects the batch (the bus redelivers it after a backoff); it is logged once per streak of
 * failures, not once per retry.
 */
export class LedgerBatchHandler {
  private readonly m: LedgerMetrics;
  private readonly lifecycle: PostingLifecycle;
  private failedBatchesInARow = 0;

  constructor(private readonly deps: LedgerBatchHandlerDeps) {
    this.m = ledgerMetrics(deps.metrics);
    const holds = deps.holds ?? DEFAULT_HOLD_SETTINGS;
    const types = deps.accountTypes ?? new AccountTypes();
    this.lifecycle = new PostingLifecycle({
      store: deps.store,
      metrics: deps.metrics,
      holdsFor: (accountId) => deps.holdsByAccountType?.[types.typeOf(accountId)] ?? holds,
      announces: deps.events !== undefined,
    });
  }

  /**
   * Ends up to `limit` holds whose timeout has passed (the expiry sweep; main.ts runs it on a timer). A store
   * failure rejects; the next sweep tries again.
   */
  async expireHolds(limit: number): Promise<LifecycleReport> {
    const report = await this.lifecycle.expireDue(this.deps.clock.nowMs(), limit);
    await this.deps.events?.publish(report.events);
    await this.deps.balances?.publish({ accounts: report.accounts });
    return report;
  }

  async handle(batch: RecordBatch): Promise<BatchReport> {
    try {
      const report = await this.route(batch);
      this.recovered();
      return report;
    } catch (error) {
      this.failed(batch, error);
      throw error;
    }
  }

  private route(batch: RecordBatch): Promise<BatchReport> {
    if (batch.topic === Topics.transactionsScored) return this.handleScored(batch);
    if (batch.topic === Topics.analystLabels) return this.handleLabels(batch);
    // Only reachable through a wiring bug: fail loudly rather than decode foreign records as decisions.
    return Promise.reject(new VigilError('UNEXPECTED_TOPIC', `ledger-sink does not consume ${batch.topic}`));
  }

  /**
   * Stores the decision rows of transactions the ledger cannot post, each once: a redelivered copy finds its row
   * (by transaction id) and adds none. Under the lock on their ids, like every other decision write.
   */
  private async recordUnpostable(records: readonly DecisionRecord[]): Promise<void> {
    if (records.length === 0) return;
    const ids = records.map((r) => r.scored.transaction.transactionId);
    await this.lifecycle.locked(ids, async () => {
      const stored = await this.deps.store.storedFingerprints(ids);
      const seen = new Set<string>();
      const fresh = records.filter((r) => {
        const id = r.scored.transaction.transactionId;
        if (stored.decisions.has(id) || seen.has(id)) return false;
        seen.add(id);
        return true;
      });
      if (fresh.length > 0) await this.deps.store.insertDecisions(fresh);
    });
  }

  private async handleScored(batch: RecordBatch): Promise<BatchReport> {
    const { clock } = this.deps;
    const decoded = await decodeOrDeadLetter(batch, this.deps.scoredCodec, this.deps.deadLetters);
    const nowMs = clock.nowMs();
    const poison: PoisonItem[] = [];
    const prepared: Prepared[] = [];
    const unpostable: DecisionRecord[] = [];
    for (const { record, value } of decoded) {
      try {
        const problems = auditProblems(value);
        if (problems.length > 0)
          throw new ValidationError(
            `decision on ${value.transaction.transactionId} cannot be stored exactly`,
            problems,
            LedgerErrorCode.unstorableDecision,
          );
        const books = bookingOf(value.decision, value.transaction.kind) !== 'none';
        prepared.push({ record, scored: value, legs: books ? postingsFor(value.transaction, nowMs) : [] });
      } catch (error) {
        if (isRetriable(error)) throw error;
        poison.push({ record, originalBytes: record.value, error });
        // Ingest accepted it and scoring decided it: the audit trail keeps that decision, with why it booked nothing.
        if (error instanceof PostingError)
          unpostable.push({ scored: value, storedAtMs: nowMs, unpostedReason: `${error.code}: ${error.message}` });
      }
    }

    // Under the lock on these ids and on the authorisations their captures settle, so a verdict batch (or another
    // capture of the same authorisation) never interleaves with them.
    const ids = prepared.map((p) => p.scored.transaction.transactionId);
    const settles = [...new Set(prepared.map((p) => linksOf(p.scored.transaction).capturesTransactionId))].filter(
      (id) => id !== '',
    );
    // Refunds are checked against their payments under the lock on those too (and, for an authorisation, on its
    // captures, which a verdict reverses under their own ids): a verdict never reverses a payment between a refund's
    // check and its booking. The captures are known only once read, so a batch that finds one it did not lock
    // releases everything it holds, unwritten, and locks again with it.
    const refunded = [...new Set(prepared.map((p) => refundedPaymentOf(p.scored)))].filter((id) => id !== '');
    const stored = await this.lifecycle.lockedWith(
      [...ids, ...settles, ...refunded],
      async () => (await this.lifecycle.refundedPayments(refunded)).captureIds,
      async () => {
        const payments = await this.lifecycle.refundedPayments(refunded);
        const batch = await this.storeDecisions(prepared, ids, nowMs, payments);
        // Under the lock: a FRAUD verdict on these transactions waits for it, so their reversal is never announced
        // before their posting.
        await this.deps.events?.publish(batch.events);
        return batch;
      },
    );
    const {
      accepted,
      conflicts,
      entriesWritten,
      decisionsWritten,
      postedTransactions,
      duplicates,
      notPosted,
      refundsRefused,
      changedDecisions,
      holdsPlaced,
      outcomes: stepOutcomes,
      fraudOnCaptures,
    } = stored;
    await this.recordUnpostable(unpostable);
    // Outside the batch's lock: it takes the lock on the captures' ids, which may be this batch's.
    const passed = await this.lifecycle.passOnFraud(fraudOnCaptures, nowMs);
    await this.deps.events?.publish(passed.events);
    const outcomes = addOutcomes(stepOutcomes, passed.outcomes);
    const audit = await this.indexAudit(accepted, poison);

    for (const { prepared: p, record } of conflicts) {
      poison.push({
        record: p.record,
        originalBytes: p.record.value,
        error: new VigilError(
          LedgerErrorCode.conflict,
          `transaction ${record.transactionId} was accepted with fingerprint ${record.acceptedFingerprint}; not posting fingerprint ${record.conflictingFingerprint}`,
          {
            category: ErrorCategory.conflict,
            retriable: false,
            details: {
              transactionId: record.transactionId,
              acceptedFingerprint: record.acceptedFingerprint,
              conflictingFingerprint: record.conflictingFingerprint,
            },
          },
        ),
      });
    }
    await this.deps.deadLetters.send(poison);
    const touched = touchedBy(decoded.map((d) => d.value));
    await this.deps.balances?.publish({ ...touched, accounts: [...touched.accounts, ...passed.accounts] });

    const undecodable = batch.records.length - decoded.length;
    this.m.postedTransactions.inc({}, postedTransactions);
    this.m.entries.inc({}, entriesWritten);
    this.m.decisions.inc({}, decisionsWritten);
    this.m.duplicates.inc({ topic: batch.topic }, duplicates);
    this.m.conflicts.inc({}, conflicts.length);
    if (undecodable > 0) this.m.deadLetters.inc({ topic: batch.topic }, undecodable);
    if (poison.length > 0) this.m.deadLetters.inc({ topic: batch.topic }, poison.length);
    if (changedDecisions.length > 0) {
      this.m.decisionChanged.inc({}, changedDecisions.length);
      this.deps.logger.warn('decisions seen again with another outcome; the stored decision governs the ledger', {
        topic: batch.topic,
        partition: batch.partition,
        transactionIds: changedDecisions.slice(0, 20),
        changed: changedDecisions.length,
      });
    }
    if (conflicts.length > 0) {
      this.deps.logger.warn('transaction ids seen again with other content; not posted', {
        topic: batch.topic,
        partition: batch.partition,
        transactionIds: conflicts.slice(0, 20).map((c) => c.record.transactionId),
        conflicts: conflicts.length,
      });
    }
    return {
      topic: batch.topic,
      records: batch.records.length,
      deadLettered: undecodable + poison.length,
      postedTransactions,
      entriesWritten,
      decisionsWritten,
      duplicates,
      conflicts: conflicts.length,
      notPosted,
      refundsRefused,
      labelsWritten: 0,
      auditIndexed: audit.indexed,
      auditRejected: audit.rejected,
      holdsPlaced,
      outcomes,
    };
  }

  /**
   * Decides per record against the store and writes what the batch adds; the caller holds the lock on `ids` and on
   * the payments (and their captures) that the batch's refunds name, read into `payments`.
   */
  private async storeDecisions(
    prepared: readonly Prepared[],
    ids: readonly string[],
    nowMs: number,
    payments: RefundedPayments,
  ): Promise<StoredBatch> {
    const { store } = this.deps;
    const stored = ids.length === 0 ? NOTHING_STORED : await store.storedFingerprints(ids);
    const verdicts = decideBatch(
      prepared.map((p) => ({
        transactionId: p.scored.transaction.transactionId,
        fingerprint: p.scored.transaction.fingerprint,
        decision: p.scored.decision,
        kind: p.scored.transaction.kind,
      })),
      stored,
    );

    const entries: PostedEntry[] = [];
    const decisions: DecisionRecord[] = [];
    /**
     * The decisions of refunds that book or hold, written after their legs or hold: a crash between the two leaves a
     * refund whose redelivery finds its legs (and books nothing more) rather than a decision with no legs, which
     * the redelivery would have to check again against a payment that may have changed since.
     */
    const refundDecisions: DecisionRecord[] = [];
    /** Refunds refused in this batch: a later copy of one books nothing either. */
    const refused = new Map<string, RefundRefusal>();
    const accepted: Prepared[] = [];
    const holds = new Map<string, HoldRequest>();
    const booked = new Set<string>();
    /** What the batch's APPROVEs booked, per transaction: the legs written now (announced as they are) or before. */
    const announced = new Map<string, { readonly kind: TransactionKind; readonly legs: PostedEntry[] }>();
    /** Authorisations a capture of this batch books against (or that this batch places and captures may name). */
    const settle = new Set<string>();
    const conflicts: Array<{ prepared: Prepared; record: ConflictRecord }> = [];
    const changedDecisions: string[] = [];
    let postedTransactions = 0;
    let duplicates = 0;
    let notPosted = 0;
    /**
     * Why a refund about to book (or be held) must book nothing, checked against its payment as the store holds it
     * plus what this batch booked before it, in log order: a payment, a capture or another refund earlier in the batch
     * counts as if it had come in an earlier batch.
     */
    const refusalOf = (
      tx: ScoredTransaction['transaction'],
      legs: readonly LedgerEntry[],
    ): RefundRefusal | undefined => {
      const paymentId = refundedPaymentOf({ transaction: tx });
      if (paymentId === '') return undefined;
      const authorization = payments.authorizations.has(paymentId) || holds.get(paymentId)?.kind === 'AUTHORIZATION';
      return refundRefusal(legs, { paymentId, authorization, booked: [...payments.booked, ...entries] });
    };
    verdicts.forEach((verdict, i) => {
      const p = prepared[i]!;
      const tx = p.scored.transaction;
      if (verdict.kind === 'conflict') {
        conflicts.push({
          prepared: p,
          record: {
            transactionId: tx.transactionId,
            acceptedFingerprint: verdict.acceptedFingerprint,
            conflictingFingerprint: tx.fingerprint,
            detectedAtMs: nowMs,
            transaction: tx,
          },
        });
        return;
      }
      accepted.push(p);
      if (verdict.kind === 'duplicate') {
        duplicates += 1;
        if (verdict.decisionChanged) changedDecisions.push(tx.transactionId);
      }
      // What the accepted decision books, never this copy's own (see domain/idempotency.ts).
      const legs = (): readonly LedgerEntry[] => (p.legs.length > 0 ? p.legs : postingsFor(tx, nowMs));
      const links = linksOf(tx);
      // A refund is checked when it would book its legs or place its hold now, never again once it has (a copy).
      const placesHold =
        verdict.booking === 'hold' && !stored.held.has(tx.transactionId) && !holds.has(tx.transactionId);
      const refusal =
        refused.get(tx.transactionId) ?? (verdict.writeEntries || placesHold ? refusalOf(tx, legs()) : undefined);
      if (refusal !== undefined) {
        if (!refused.has(tx.transactionId)) {
          refused.set(tx.transactionId, refusal);
          this.m.notPosted.inc({ reason: refusal.code.toLowerCase() });
        }
        if (verdict.writeDecision) {
          notPosted += 1;
          decisions.push({
            scored: p.scored,
            storedAtMs: nowMs,
            unpostedReason: `${refusal.code}: ${refusal.message}`,
          });
        }
        return;
      }
      const announce = this.deps.events !== undefined && verdict.booking === 'post' && !announced.has(tx.transactionId);
      const written: PostedEntry[] = [];
      if (verdict.writeEntries) {
        postedTransactions += 1;
        for (const entry of legs())
          written.push({ ...entry, ...links, fingerprint: tx.fingerprint, reversesEntryId: '' });
        entries.push(...written);
      }
      if (announce) announced.set(tx.transactionId, { kind: tx.kind, legs: written });
      if (verdict.booking === 'post') booked.add(tx.transactionId);
      // A held capture counts too: a verdict stored before its decision posts its hold below, in this call.
      if (verdict.booking !== 'none' && links.capturesTransactionId !== '') settle.add(links.capturesTransactionId);
      if ((verdict.booking === 'hold' || verdict.booking === 'authorize') && !holds.has(tx.transactionId)) {
        const kind = verdict.booking === 'authorize' ? 'AUTHORIZATION' : 'REVIEW';
        holds.set(tx.transactionId, {
          transactionId: tx.transactionId,
          fingerprint: tx.fingerprint,
          kind,
          legs: legs(),
          links,
        });
        if (kind === 'AUTHORIZATION') settle.add(tx.transactionId);
      }
      if (verdict.writeDecision) {
        const checked = refundedPaymentOf(p.scored) !== '' && (verdict.writeEntries || placesHold);
        (checked ? refundDecisions : decisions).push({ scored: p.scored, storedAtMs: nowMs });
        const reason = notPostedReason(p.scored);
        if (reason !== null) {
          notPosted += 1;
          this.m.notPosted.inc({ reason });
        }
      }
    });

    const newConflicts = await this.unrecordedConflicts(conflicts.map((c) => c.record));

    const placed = [...holds.values()]
      .filter((h) => !stored.held.has(h.transactionId))
      .map((h) => this.lifecycle.holdFor(h, nowMs));

    // The four tables are written concurrently: each is checked on its own before the insert, so a crash
    // after any subset of them landed is repaired on redelivery (what landed is found and skipped).
    const started = performance.now();
    await Promise.all([
      store.insertEntries(entries),
      store.insertDecisions(decisions),
      store.insertConflicts(newConflicts),
      store.insertHolds(placed),
    ]);
    await store.insertDecisions(refundDecisions);
    // Verdicts that arrived before their decision (rare) are applied now that the decision is stored.
    const waiting = [...holds.keys(), ...booked].filter((id) => stored.labelled.has(id));
    const applied = await this.lifecycle.applyStoredVerdicts(waiting, nowMs);
    // Captures booked now (or before a crash, when redelivered) may have consumed their authorisation in full.
    const captured = await this.lifecycle.settleCaptured([...settle], nowMs);
    const outcomes = addOutcomes(applied.outcomes, captured.outcomes);
    const events = [...(await this.postingsOf(announced)), ...applied.events];
    this.m.insertSeconds.observe((performance.now() - started) / 1000);
    this.m.holdsPlaced.inc({}, placed.length);
    return {
      accepted,
      conflicts,
      entriesWritten: entries.length,
      decisionsWritten: decisions.length + refundDecisions.length,
      postedTransactions,
      duplicates,
      notPosted,
      refundsRefused: refused.size,
      changedDecisions,
      holdsPlaced: placed.length,
      outcomes,
      fraudOnCaptures: captured.fraudOnCaptures,
      events,
    };
  }

  /**
   * The POSTED events of `booked`: from the legs this batch wrote, or, for those booked before (a redelivered or
   * replayed decision), from the legs the ledger holds — read back, so the event is the one announced the first time.
   */
  private async postingsOf(
    booked: ReadonlyMap<string, { readonly kind: TransactionKind; readonly legs: readonly PostedEntry[] }>,
  ): Promise<LedgerEvent[]> {
    const before = [...booked].filter(([, b]) => b.legs.length === 0).map(([id]) => id);
    const stored =
      before.length === 0 ? new Map<string, TransactionLedger>() : await this.deps.store.transactionLedgers(before);
    const events: LedgerEvent[] = [];
    for (const [id, { kind, legs }] of booked) {
      const ledger = legs.length > 0 ? { ...EMPTY_LEDGER, entries: legs } : stored.get(id);
      const event = ledger && postedEventOf(ledger, kind);
      if (event !== undefined) events.push(event);
    }
    return events;
  }

  /**
   * Indexes every accepted decision of the batch, duplicates included: after an index outage the batch comes
   * back with its decisions already in ClickHouse (duplicates there), and they must still reach the index; a
   * document that exists already is a no-op. An unreachable index rejects (retriable), failing the batch.
   * Refused documents become poison items, so each is counted and dead-lettered with the index's reason.
   */
  private async indexAudit(
    accepted: readonly Prepared[],
    poison: PoisonItem[],
  ): Promise<{ indexed: number; rejected: number }> {
    const { auditIndex } = this.deps;
    if (auditIndex === undefined || accepted.length === 0) return { indexed: 0, rejected: 0 };
    const outcome = await auditIndex.index(accepted.map((p) => p.scored));
    this.m.auditIndexed.inc({}, outcome.indexed);
    this.m.auditAlreadyIndexed.inc({}, outcome.alreadyIndexed);
    const recordOf = new Map<string, Prepared>();
    for (const p of accepted) {
      const id = p.scored.transaction.transactionId;
      if (!recordOf.has(id)) recordOf.set(id, p);
    }
    for (const rejection of outcome.rejected) {
      this.m.auditRejected.inc({ type: rejection.type });
      const p = recordOf.get(rejection.transactionId);
      if (p !== undefined)
        poison.push({ record: p.record, originalBytes: p.record.value, error: notIndexed(rejection) });
    }
    return { indexed: outcome.indexed, rejected: outcome.rejected.length };
  }

  /** The conflicts not yet in `ledger_conflicts`, each once: a redelivered batch reports nothing twice. */
  private async unrecordedConflicts(conflicts: readonly ConflictRecord[]): Promise<ConflictRecord[]> {
    if (conflicts.length === 0) return [];
    const seen = new Set(await this.deps.store.recordedConflicts(conflicts.map((c) => c.transactionId)));
    return conflicts.filter((c) => {
      const key = conflictKey(c.transactionId, c.conflictingFingerprint);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  private async handleLabels(batch: RecordBatch): Promise<BatchReport> {
    const decoded = await decodeOrDeadLetter(batch, this.deps.labelCodec, this.deps.deadLetters);
    const poison: PoisonItem[] = [];
    const labels: AnalystLabel[] = [];
    for (const { record, value } of decoded) {
      if (
        Number.isSafeInteger(value.labelledAtMs) &&
        value.labelledAtMs >= STORABLE_TIME_MIN_MS &&
        value.labelledAtMs <= STORABLE_TIME_MAX_MS
      )
        labels.push(value);
      else
        poison.push({
          record,
          originalBytes: record.value,
          error: new ValidationError(
            `label on ${value.transactionId} cannot be stored`,
            [{ path: '/labelledAtMs', message: `epoch ms ${value.labelledAtMs} is outside 1900..2299` }],
            LedgerErrorCode.unstorableLabel,
          ),
        });
    }
    // Storing a label and acting on it (posting or voiding a hold, reversing a booked transaction) is one step.
    const started = performance.now();
    const recorded = await this.lifecycle.recordVerdicts(labels, this.deps.clock.nowMs());
    this.m.insertSeconds.observe((performance.now() - started) / 1000);
    await this.deps.events?.publish(recorded.events);
    await this.deps.deadLetters.send(poison);
    await this.deps.balances?.publish({ accounts: recorded.accounts });

    const deadLettered = batch.records.length - decoded.length + poison.length;
    this.m.labels.inc({}, recorded.stored);
    this.m.duplicates.inc({ topic: batch.topic }, labels.length - recorded.stored);
    if (deadLettered > 0) this.m.deadLetters.inc({ topic: batch.topic }, deadLettered);
    return {
      topic: batch.topic,
      records: batch.records.length,
      deadLettered,
      postedTransactions: 0,
      entriesWritten: 0,
      decisionsWritten: 0,
      duplicates: labels.length - recorded.stored,
      conflicts: 0,
      notPosted: 0,
      refundsRefused: 0,
      labelsWritten: recorded.stored,
      auditIndexed: 0,
      auditRejected: 0,
      holdsPlaced: 0,
      outcomes: recorded.outcomes,
    };
  }

  private failed(batch: RecordBatch, error: unknown): void {
    this.failedBatchesInARow += 1;
    this.m.batchFailures.inc({ retriable: String(isRetriable(error)) });
    this.m.storeUp.set(0);
    const fields = {
      topic: batch.topic,
      partition: batch.partition,
      firstOffset: batch.records[0]?.offset,
      error: describeError(error),
      failedBatchesInARow: this.failedBatchesInARow,
    };
    // One line per streak: a store outage retries every few seconds and would otherwise flood the log.
    if (this.failedBatchesInARow === 1)
      this.deps.logger.error('ledger batch failed; the bus will redeliver it', fields);
    else this.deps.logger.debug('ledger batch failed again', fields);
  }

  private recovered(): void {
    if (this.failedBatchesInARow > 0)
      this.deps.logger.info('ledger batches succeed again', { failedBatchesInARow: this.failedBatchesInARow });
    this.failedBatchesInARow = 0;
    this.m.storeUp.set(1);
  }
}

/**
 * The accounts a decision batch may have changed, and per payer the debits it settled: every decoded decision
 * counts, whether it booked, held, was a duplicate or conflict, or could not be posted — the ledger has had its
 * say on each, so scoring must stop counting it in flight.
 */
function touchedBy(decisions: readonly ScoredTransaction[]): TouchedAccounts {
  const accounts = new Set<string>();
  const settled = new Map<string, string[]>();
  for (const { transaction: tx } of decisions) {
    accounts.add(tx.payerAccountId).add(tx.payeeAccountId);
    const ids = settled.get(tx.payerAccountId) ?? [];
    ids.push(tx.transactionId);
    settled.set(tx.payerAccountId, ids);
  }
  return { accounts, settled };
}

/** The payment a refund names (checked before it books, domain/refunds.ts), '' for anything else. */
function refundedPaymentOf(scored: Pick<ScoredTransaction, 'transaction'>): string {
  return linksOf(scored.transaction).refundsTransactionId;
}

const NOTHING_STORED: StoredFingerprints = Object.freeze({
  ledger: new Map(),
  decisions: new Map(),
  decidedAs: new Map(),
  held: new Set<string>(),
  labelled: new Set<string>(),
  unposted: new Set<string>(),
});

function notIndexed(rejection: AuditIndexRejection): VigilError {
  return new VigilError(
    LedgerErrorCode.auditNotIndexed,
    `decision ${rejection.transactionId} is stored but the audit index refused it: ${rejection.status} ${rejection.type}: ${rejection.reason}`,
    {
      category: ErrorCategory.invalidInput,
      retriable: false,
      details: { transactionId: rejection.transactionId, status: rejection.status, type: rejection.type },
    },
  );
}

interface LedgerMetrics {
  readonly postedTransactions: Counter;
  readonly entries: Counter;
  readonly decisions: Counter;
  readonly duplicates: Counter;
  readonly conflicts: Counter;
  readonly decisionChanged: Counter;
  readonly holdsPlaced: Counter;
  readonly notPosted: Counter;
  readonly labels: Counter;
  readonly deadLetters: Counter;
  readonly batchFailures: Counter;
  readonly auditIndexed: Counter;
  readonly auditAlreadyIndexed: Counter;
  readonly auditRejected: Counter;
  readonly insertSeconds: Histogram;
  readonly storeUp: Gauge;
}

function ledgerMetrics(metrics: MetricsRegistry): LedgerMetrics {
  return {
    postedTransactions: metrics.counter(
      'vigil_ledger_posted_transactions_total',
      'Transactions whose double-entry postings were written.',
    ),
    entries: metrics.counter('vigil_ledger_entries_total', 'Ledger entries (legs) written.'),
    decisions: metrics.counter('vigil_ledger_decisions_total', 'Decision audit records written.'),
    duplicates: metrics.counter(
      'vigil_ledger_duplicates_total',
      'Records already stored with the same content (redeliveries, replays, duplicates); skipped.',
    ),
    conflicts: metrics.counter(
      'vigil_ledger_conflicts_total',
      'Records whose transaction id was accepted before with other content; not posted.',
    ),
    holdsPlaced: metrics.counter('vigil_ledger_holds_placed_total', 'Pending holds placed for REVIEW decisions.'),
    decisionChanged: metrics.counter(
      'vigil_ledger_decision_changed_total',
      'Copies of a stored decision that carry another outcome (a re-scoring after a crash); the stored one governs.',
    ),
    notPosted: metrics.counter(
      'vigil_ledger_not_posted_total',
      'Decisions that book nothing when decided, by reason (declined, authorization_hold, held_for_review, refund_after_reversal, refund_exceeds_payment).',
    ),
    labels: metrics.counter('vigil_ledger_labels_total', 'Analyst labels written.'),
    deadLetters: metrics.counter('vigil_ledger_dead_letters_total', 'Records sent to tx.dlq by ledger-sink.'),
    batchFailures: metrics.counter('vigil_ledger_batch_failures_total', 'Batches that failed and will be redelivered.'),
    auditIndexed: metrics.counter('vigil_ledger_audit_indexed_total', 'Audit documents created in the search index.'),
    auditAlreadyIndexed: metrics.counter(
      'vigil_ledger_audit_already_indexed_total',
      'Audit documents that already existed (replays, redeliveries); left as they were.',
    ),
    auditRejected: metrics.counter(
      'vigil_ledger_audit_index_rejected_total',
      'Audit documents the search index refused for good, by error type; each is dead-lettered.',
    ),
    insertSeconds: metrics.histogram(
      'vigil_ledger_batch_insert_seconds',
      'Time to write one batch to the store (all tables), seconds.',
    ),
    storeUp: metrics.gauge('vigil_ledger_store_up', '1 while the last batch reached the store, 0 after a failure.'),
  };
}
