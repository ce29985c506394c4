/**
 * The simulator's money helpers. Exponents come from the shared ISO 4217 table in schemas/currencies.ts; the
 * simulator only ever emits the currencies it has a demonstration FX rate for (below). Amounts are integer
 * minor units; decimal strings are produced from integers, never floats.
 */
import { minorUnitExponent } from '../schemas/currencies.js';

/**
 * Units of each currency per 1 EUR: fixed demonstration rates (not market data), so the same seed always
 * gives the same settlement amounts.
 */
const unitsPerEur: Readonly<Record<string, number>> = Object.freeze({
  EUR: 1,
  USD: 1.08,
  GBP: 0.86,
  CHF: 0.95,
  JPY: 162,
});

/** True if the simulator knows the currency's exponent and demonstration FX rate. */
export function isSupportedCurrency(code: string): boolean {
  return minorUnitExponent(code) !== undefined && Object.hasOwn(unitsPerEur, code);
}

/** The ISO 4217 exponent of `code`; throws RangeError for a code that is not an active ISO 4217 currency. */
export function currencyExponent(code: string): number {
  const exponent = minorUnitExponent(code);
  if (exponent === undefined) throw new RangeError(`simulator has no ISO 4217 exponent for ${code}`);
  return exponent;
}

/** Integer minor units from a major-unit amount, rounded half away from zero; never below `minimumMinor`. */
export function majorToMinor(major: number, exponent: number, minimumMinor = 1): number {
  const minor = Math.round(major * 10 ** exponent);
  return minor < minimumMinor ? minimumMinor : minor;
}

/** A decimal string with exactly `exponent` fraction digits, e.g. (1234, 2) → "12.34", (5, 0) → "5". */
export function formatMinor(minor: number | bigint, exponent: number): string {
  const negative = minor < 0;
  const digits = (negative ? -BigInt(minor) : BigInt(minor)).toString();
  if (exponent === 0) return (negative ? '-' : '') + digits;
  const padded = digits.padStart(exponent + 1, '0');
  return `${negative ? '-' : ''}${padded.slice(0, -exponent)}.${padded.slice(-exponent)}`;
}

/** Converts minor units between currencies at the demonstration rates (at least one minor unit). */
export function convertMinor(minor: number, from: string, to: string): number {
  if (from === to) return minor;
  const major = minor / 10 ** currencyExponent(from);
  const rate = unitsPerEur[to]! / unitsPerEur[from]!;
  return majorToMinor(major * rate, currencyExponent(to));
}
