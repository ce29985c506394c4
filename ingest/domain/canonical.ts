import type { IngestSource, Transaction } from '../../schemas/generated/types.js';
import type { ContentHasher } from '../ports.js';
import type { ValidatedTransaction } from './validation.js';
import { canonicalJson } from '../../platform/canonical-json.js';

/**
 * SHA-256 hex of the canonical validated content. Computed after tokenisation, so it is derived from no PAN, and
 * from normalised values, so "12.3" and "12.30" EUR, or the same instant written with different offsets, agree.
 */
export function fingerprintOf(content: ValidatedTransaction, hasher: ContentHasher): string {
  return hasher.sha256Hex(canonicalJson(content));
}

export interface Receipt {
  readonly fingerprint: string;
  readonly source: IngestSource;
  /** The submitting principal's id (never the key), or an internal feed's name; null when unknown. */
  readonly submittedBy: string | null;
  /** When ingest received the request, epoch ms; also the event time of a request that sent none. */
  readonly receivedAtMs: number;
}

/** The canonical Avro Transaction for validated content. */
export function toTransaction(content: ValidatedTransaction, receipt: Receipt): Transaction {
  return {
    ...content,
    originalTransactionId: content.originalTransactionId ?? null,
    fingerprint: receipt.fingerprint,
    source: receipt.source,
    submittedBy: receipt.submittedBy,
    eventTimeMs: content.eventTimeMs ?? receipt.receivedAtMs,
    receivedAtMs: receipt.receivedAtMs,
  };
}
