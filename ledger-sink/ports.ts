import type {
  AnalystLabel,
  ScoredTransaction,
  ShadowDecision,
  Transaction,
  TransactionKind,
} from '../schemas/generated/types.js';
import type { BookedEntry, Hold, HoldResolutionRecord, TransactionLedger, Verdict } from './domain/holds.js';
import type { StoredFingerprints } from './domain/idempotency.js';

/**
 * The ledger store port, owned by ledger-sink. The ClickHouse adapter implements it over the tables of
 * `schemas/clickhouse/tables.sql`; the batch handler sees only this.
 *
 * Every method rejects when the store is unavailable; the handler then fails the batch so the bus redelivers
 * it. Each insert method writes its rows as one insert (one atomic part) or not at all, and writes only the rows
 * whose key is not stored yet, decided in the same atomic step as the write: an entry by its entry id, a decision
 * by its transaction id, a hold leg by transaction id and leg, a resolution by its transaction id (a hold ends
 * once), a conflict by {@link conflictKey}, a label by {@link labelKey}. So two writers that both found nothing
 * stored (a member that stalled past its session timeout and the partition's new owner) store the rows once.
 */
export interface LedgerStore {
  /** Creates the tables if they do not exist (idempotent). */
  ensureSchema(): Promise<void>;
  /** The fingerprint each of `transactionIds` is already stored with, in `ledger_entries` and in `decisions`. */
  storedFingerprints(transactionIds: readonly string[]): Promise<StoredFingerprints>;
  /** Which (transaction id, conflicting fingerprint) pairs are already in `ledger_conflicts`, as {@link conflictKey}s. */
  recordedConflicts(transactionIds: readonly string[]): Promise<ReadonlySet<string>>;
  /** The labels of these transactions already in `analyst_labels`, oldest first. */
  storedLabels(transactionIds: readonly string[]): Promise<readonly Verdict[]>;
  /** What the ledger holds for each of these transactions (hold, resolution, booked legs); absent ids hold nothing. */
  transactionLedgers(transactionIds: readonly string[]): Promise<ReadonlyMap<string, TransactionLedger>>;
  /**
   * The balances of `accountIds` as the ledger holds them now, for the funds feedback to scoring: per account, the
   * booked sum and the open holds' debits per currency, and the number of rows (entries, hold legs, resolutions of
   * those holds) they reflect. The store only appends, so a later read never reflects fewer rows.
   */
  accountBalances(accountIds: readonly string[]): Promise<readonly StoredAccountBalance[]>;
  /**
   * The kind each of these transactions was decided as (from `decisions`), for the ledger events of holds and
   * reversals, whose rows do not carry it; ids without a stored decision are absent.
   */
  transactionKinds(transactionIds: readonly string[]): Promise<ReadonlyMap<string, TransactionKind>>;
  /** Ids of open holds whose expiry is at or before `nowMs`, soonest first, at most `limit`. */
  expiredHolds(nowMs: number, limit: number): Promise<readonly string[]>;
  insertEntries(entries: readonly PostedEntry[]): Promise<void>;
  insertHolds(holds: readonly Hold[]): Promise<void>;
  insertHoldResolutions(resolutions: readonly HoldResolutionRecord[]): Promise<void>;
  insertDecisions(records: readonly DecisionRecord[]): Promise<void>;
  insertConflicts(conflicts: readonly ConflictRecord[]): Promise<void>;
  insertLabels(labels: readonly AnalystLabel[]): Promise<void>;
}

/** One account's balances as {@link LedgerStore.accountBalances} reads them. */
export interface StoredAccountBalance {
  readonly accountId: string;
  /** Rows the sums reflect; grows with every row that touches the account. */
  readonly rows: bigint;
  readonly balances: ReadonlyArray<{
    readonly currency: string;
    /** Sum of booked legs (credits positive). */
    readonly postedMinor: bigint;
    /** Debits of open holds, as a positive number. */
    readonly pendingDebitsMinor: bigint;
  }>;
}

/**
 * A booked ledger leg with the fingerprint of the transaction that posted it (the idempotency check reads it
 * back) and, for a reversal leg, the entry it reverses.
 */
export type PostedEntry = BookedEntry;

/** The audit record of one decision: the scored transaction as received, and when it was stored (epoch ms). */
export interface DecisionRecord {
  readonly scored: ScoredTransaction;
  readonly storedAtMs: number;
  /** Set when the ledger cannot post the transaction (`<error code>: <message>`); the decision is still recorded. */
  readonly unpostedReason?: string;
}

/** A transaction id seen again with other content. */
export interface ConflictRecord {
  readonly transactionId: string;
  /** The fingerprint accepted first (stored, or earlier in the same batch). */
  readonly acceptedFingerprint: string;
  readonly conflictingFingerprint: string;
  readonly detectedAtMs: number;
  /** The conflicting transaction, kept whole for the investigation. */
  readonly transaction: Transaction;
}

export function conflictKey(transactionId: string, conflictingFingerprint: string): string {
  return `${transactionId}\u0000${conflictingFingerprint}`;
}

/** A label is the same label when transaction, verdict, who and when all match. */
export function labelKey(label: Pick<AnalystLabel, 'transactionId' | 'label' | 'labelledBy' | 'labelledAtMs'>): string {
  return [label.transactionId, label.label, label.labelledBy, String(label.labelledAtMs)].join('\u0000');
}

/**
 * The audit search index port, owned by ledger-sink: one searchable document per decision (Elasticsearch in
 * distributed mode; absent in the embedded default, where dashboards searches ClickHouse's `decisions`).
 *
 * Writing is idempotent per transaction id: a document that already exists is left alone and counted as
 * `alreadyIndexed`, so a redelivered or replayed batch is safe to index again.
 */
export interface AuditIndex {
  /** Installs the versioned index template (idempotent). @throws UnavailableError if the index stays unreachable. */
  ensureTemplate(): Promise<void>;
  /**
   * Indexes one document per distinct transaction id of `decisions`. Transient failures (unreachable, 429,
   * 5xx) are retried with bounded backoff; if some are still failing it rejects with a retriable
   * UnavailableError. Permanent per-item failures (the document violates the mapping) never reject: they are
   * returned in `rejected`, for the caller to count and dead-letter.
   */
  index(decisions: readonly ScoredTransaction[]): Promise<AuditIndexOutcome>;
  close(): Promise<void>;
}

export interface AuditIndexOutcome {
  /** Documents created by this call. */
  readonly indexed: number;
  /** Documents that already existed (409 on create): replays and redeliveries. */
  readonly alreadyIndexed: number;
  readonly rejected: readonly AuditIndexRejection[];
}

/** A document the index refused for good, with the index's own reason. */
export interface AuditIndexRejection {
  readonly transactionId: string;
  /** HTTP status of the item, e.g. 400. */
  readonly status: number;
  /** The index's error type, e.g. `document_parsing_exception`. */
  readonly type: string;
  readonly reason: string;
}

/**
 * Where the challenger's decisions are stored for the champion-challenger report (`shadow_decisions`). A record
 * stored again (a redelivered batch) is kept once per transaction and challenger.
 */
export interface ShadowDecisionStore {
  /** `storedAtMs`: when this batch is stored. Throws a retriable error when the store is unreachable. */
  insertShadowDecisions(decisions: readonly ShadowDecision[], storedAtMs: number): Promise<void>;
}
