/**
 * Money as analysts and compliance officers read it: a decimal string computed from bigint minor units by the
 * currency's ISO 4217 exponent, always next to the exact `amountMinor` (also a string, since JSON numbers
 * lose precision above 2^53). No floating point anywhere on the way.
 */
import type { MoneyView } from '../../schemas/api.js';
import { decimalToMinorUnits, formatMinorUnits, minorUnitExponent } from '../../schemas/currencies.js';

/**
 * The number of minor-unit digits of `currency`, from the shared ISO 4217 table in schemas/currencies.ts
 * (2 for a code that table does not know).
 */
export function currencyExponent(currency: string): number {
  return minorUnitExponent(currency.toUpperCase()) ?? 2;
}

/** Renders minor units as a decimal string in the major unit: (-1234n, 'EUR') → "-12.34"; (5n, 'JPY') → "5". */
export const formatMinor: (amountMinor: bigint, currency: string) => string = formatMinorUnits;

/**
 * Parses a decimal string in the major unit, optionally signed and surrounded by spaces, into minor units:
 * ('10000', 'USD') → 1000000n; ('-0.01', 'EUR') → -1n. Undefined when the text is not a plain decimal or has more
 * fraction digits than the currency allows (schemas' decimalToMinorUnits does the conversion).
 */
export function parseMajorToMinor(text: string, currency: string): bigint | undefined {
  const trimmed = text.trim();
  const negative = trimmed.startsWith('-');
  const minor = decimalToMinorUnits(negative ? trimmed.slice(1) : trimmed, currencyExponent(currency));
  return minor === undefined || !negative ? minor : -minor;
}

/** The response shape for an amount; `amountMinor` may arrive as ClickHouse's quoted Int64/Int128 string. */
export function moneyView(amountMinor: bigint | string, currency: string): MoneyView {
  const minor = typeof amountMinor === 'bigint' ? amountMinor : BigInt(amountMinor);
  return { amount: formatMinor(minor, currency), amountMinor: minor.toString(), currency };
}
