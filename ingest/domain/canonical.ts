import type { IngestSource, Transaction } from '../../schemas/generated/types.js';
import type { ContentHasher } from '../ports.js';
import type { ValidatedTransaction } from './validation.js';

/**
 * Canonical JSON for fingerprinting: object keys sorted by UTF-16 code unit, no whitespace, absent (undefined)
 * members dropped, bigint written as a decimal string. Equal content always gives the same text.
 * Throws on values JSON cannot carry exactly (non-finite numbers, functions, symbols).
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no representation for a non-finite number');
      return JSON.stringify(value);
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
      const entries = Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON has no representation for a ${typeof value}`);
  }
}

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
  /** When ingest received the request, epoch ms; also the event time of a request that sent none. */
  readonly receivedAtMs: number;
}

/** The canonical Avro Transaction for validated content. */
export function toTransaction(content: ValidatedTransaction, receipt: Receipt): Transaction {
  return {
    ...content,
    fingerprint: receipt.fingerprint,
    source: receipt.source,
    eventTimeMs: content.eventTimeMs ?? receipt.receivedAtMs,
    receivedAtMs: receipt.receivedAtMs,
  };
}
