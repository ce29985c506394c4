import type { IngestSource, Transaction } from '../../schemas/generated/types.js';
import type { ContentHasher } from '../ports.js';
import type { ValidContent, ValidatedTransaction } from './validation.js';
import { canonicalJson } from '../../platform/canonical-json.js';

/**
 * SHA-256 hex of the canonical validated content, with the card token replaced by the fingerprint card token.
 * Derived from no PAN (the card is an HMAC under the fingerprint key, never an unkeyed hash — PCI DSS 3.5) and from
 * normalised values, so "12.3" and "12.30" EUR, or the same instant written with different offsets, agree.
 * Independent of the tokenisation key: the same request before and after a key rotation has the same fingerprint,
 * so its retry is a duplicate, not a conflict. With the default fingerprint key (the v1 key) the fingerprint token
 * equals the v1 token, so fingerprints stored before key versions existed still match.
 */
export function fingerprintOf(content: ValidContent, hasher: ContentHasher): string {
  const { value, fingerprintCardToken } = content;
  const seen: ValidatedTransaction =
    value.card === null || fingerprintCardToken === null
      ? value
      : { ...value, card: { ...value.card, token: fingerprintCardToken } };
  return hasher.sha256Hex(canonicalJson(seen));
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
    sourceDocument: content.sourceDocument ?? null,
    fingerprint: receipt.fingerprint,
    source: receipt.source,
    submittedBy: receipt.submittedBy,
    eventTimeMs: content.eventTimeMs ?? receipt.receivedAtMs,
    receivedAtMs: receipt.receivedAtMs,
  };
}
