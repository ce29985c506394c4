import type { FieldProblem } from '../../../../platform/errors.js';

/** Readers of a verified gateway event's JSON, shared by the gateway mappers (stripe.ts, adyen.ts). */

/** A non-empty string, else undefined. */
export const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/**
 * A non-negative integer amount in minor units at `path`, as a bigint. Gateways send minor units as JSON numbers;
 * one beyond 2^53 has already lost digits in JSON.parse, so it is refused rather than booked rounded.
 */
export function wholeMinorUnits(value: unknown, path: string, problems: FieldProblem[]): bigint | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  problems.push({ path, message: 'must be a whole number of minor units' });
  return undefined;
}
