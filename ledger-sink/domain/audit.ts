import type { FieldProblem } from '../../platform/errors.js';
import { featureValuesOf } from '../../schemas/features.js';
import type { ScoredTransaction } from '../../schemas/generated/types.js';

/**
 * The audit record of a decision must be storable exactly, or not at all: this module holds the checks and the
 * canonical JSON that make it reproducible.
 */

/**
 * The range of epoch milliseconds every ClickHouse version stores in `DateTime64(3)` (1900-01-01 to
 * 2299-12-31 UTC; newer servers accept more). Outside it a server clamps silently, so such a record is refused.
 */
export const STORABLE_TIME_MIN_MS = Date.UTC(1900, 0, 1);
export const STORABLE_TIME_MAX_MS = Date.UTC(2299, 11, 31, 23, 59, 59, 999);

/** Every reason the decision record of `scored` cannot be stored exactly; empty when it can. */
export function auditProblems(scored: ScoredTransaction): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const times: ReadonlyArray<readonly [string, number]> = [
    ['/transaction/eventTimeMs', scored.transaction.eventTimeMs],
    ['/transaction/receivedAtMs', scored.transaction.receivedAtMs],
    ['/scoredAtMs', scored.scoredAtMs],
  ];
  for (const [path, ms] of times) {
    if (!Number.isSafeInteger(ms) || ms < STORABLE_TIME_MIN_MS || ms > STORABLE_TIME_MAX_MS) {
      problems.push({ path, message: `epoch ms ${ms} is outside 1900-01-01..2299-12-31 UTC` });
    }
  }
  if (!Number.isFinite(scored.score))
    problems.push({ path: '/score', message: `must be a finite number, got ${scored.score}` });
  // Own keys only: avsc decodes a record into an instance whose prototype has enumerable methods (clone,
  // toBuffer…), which for…in would visit. Object.keys rather than entries: no pair arrays per decision.
  const features = featureValuesOf(scored);
  for (const name of Object.keys(features)) {
    const value = features[name]!;
    // JSON has no NaN or Infinity; JSON.stringify would silently write null and the audit would lie.
    if (!Number.isFinite(value))
      problems.push({ path: `/features/${escapePointer(name)}`, message: `must be a finite number, got ${value}` });
  }
  return problems;
}

/**
 * The JSON text of an audit value as stored in the decision record: the record's own field order (the Avro
 * schema's, so the same record always gives the same text), bigints as decimal strings (JSON numbers lose
 * precision past 2^53). Native `JSON.stringify` rather than canonical JSON: nothing compares these texts (the
 * fingerprint is ingest's, over canonical content), and sorting the keys of a 62-entry feature map on every
 * decision cost more than the rest of the row. Non-finite numbers never reach it (auditProblems refuses them).
 */
export function auditJson(value: unknown): string {
  return JSON.stringify(value, bigintAsDecimalString);
}

/**
 * The JSON text of a decision's feature values: the same text {@link auditJson} writes, without its replacer. The
 * values are numbers only (no bigint to convert; non-finite ones are refused by auditProblems), and a replacer
 * function takes V8 off its fast path for every one of the 62 entries, on every decision.
 */
export function featuresJson(features: Readonly<Record<string, number>>): string {
  return JSON.stringify(features);
}

const bigintAsDecimalString = (_key: string, value: unknown): unknown =>
  typeof value === 'bigint' ? value.toString() : value;

/** RFC 6901 escaping of one JSON-pointer segment. */
function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}
