import type { ScoredTransaction } from '../schemas/generated/types.js';

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
