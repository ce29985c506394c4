import type { AuditHit } from '../../schemas/api.js';

/** The query and result shapes of audit search (the port is in ../ports.ts), and its cursor and text parsing. */

export interface SearchTerm {
  /** The term as typed, lowercased. */
  readonly text: string;
  /** Its words, lowercased; empty when it has none (then only the exact-id match applies). */
  readonly words: readonly string[];
}

export interface AuditQuery {
  readonly terms: readonly SearchTerm[];
  /** Payer or payee account id, exact. */
  readonly account?: string;
  readonly cardToken?: string;
  readonly channel?: string;
  readonly decision?: string;
  /** Inclusive bounds on the score. */
  readonly minScore?: number;
  readonly maxScore?: number;
  /** Event time in [fromMs, toMs), epoch ms. */
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly limit: number;
  /** Continue after this hit (exclusive). */
  readonly after?: AuditCursor;
}

/** Counting stops here on both backends, so a broad search costs the same bounded work. */
export const TOTAL_CAP = 10_000;

export interface AuditPage {
  readonly hits: readonly AuditHit[];
  /** Matches of the whole query (all pages); `exact` is false once counting stopped at {@link TOTAL_CAP}. */
  readonly total: { readonly value: number; readonly exact: boolean };
  /** Where the next (older) page starts; undefined on the last page. */
  readonly next: AuditCursor | undefined;
}

/** Keyset position: the last hit's event time and transaction id. */
export interface AuditCursor {
  readonly eventTimeMs: number;
  readonly transactionId: string;
}

/** Opaque to clients: base64url of a versioned JSON tuple. */
export function encodeAuditCursor(cursor: AuditCursor): string {
  return Buffer.from(JSON.stringify(['a1', cursor.eventTimeMs, cursor.transactionId]), 'utf8').toString('base64url');
}

/** The cursor {@link encodeAuditCursor} made, or undefined when `text` is not one. */
export function decodeAuditCursor(text: string): AuditCursor | undefined {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (
      Array.isArray(decoded) &&
      decoded.length === 3 &&
      decoded[0] === 'a1' &&
      Number.isSafeInteger(decoded[1]) &&
      typeof decoded[2] === 'string'
    )
      return { eventTimeMs: decoded[1] as number, transactionId: decoded[2] };
  } catch {
    // Not base64url JSON: not one of ours; the caller reports it as bad input.
  }
  return undefined;
}

/**
 * Word separators: ASCII characters that are not letters or digits — the same rule as ClickHouse's
 * `splitByNonAlpha`, and what Elasticsearch's standard analyzer does for ordinary text.
 */
// eslint-disable-next-line no-control-regex -- the ASCII control characters are separators too, as in ClickHouse.
const separators = /[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+/;

/** Splits free text into {@link SearchTerm}s on white space. */
export function parseSearchText(text: string): SearchTerm[] {
  return text
    .split(/\s+/u)
    .filter((t) => t !== '')
    .map((t) => {
      const lower = t.toLowerCase();
      return { text: lower, words: lower.split(separators).filter((w) => w !== '') };
    });
}
