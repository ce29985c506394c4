import { decimalToMinorUnits, isPlainDecimal } from '../../schemas/currencies.js';

export { formatMinorUnits } from '../../schemas/currencies.js';

/**
 * Decimal amount strings → integer minor units. Amounts travel as strings ("12.34"), never JSON numbers, so no
 * float ever touches money (STYLE 10). The grammar is deliberately narrow: plain digits, an optional fraction
 * with at most the currency's ISO 4217 exponent of digits, no sign, exponent, spaces or thousands separators.
 */
export type AmountParse =
  { readonly ok: true; readonly minor: bigint } | { readonly ok: false; readonly message: string };

/**
 * Parses `value` (major units of a currency with `exponent` fraction digits) into minor units.
 * Fails with a message (never echoing the input) when the value is not a strictly positive decimal string,
 * has more fraction digits than the currency allows, or exceeds `maxMajor` major units.
 */
export function parseMinorUnits(value: unknown, exponent: number, maxMajor: bigint): AmountParse {
  if (typeof value === 'number')
    return { ok: false, message: 'must be a decimal string such as "12.34", not a JSON number' };
  if (typeof value !== 'string') return { ok: false, message: 'must be a decimal string such as "12.34"' };
  if (value.startsWith('-')) return { ok: false, message: 'must be greater than zero (send refunds as kind "refund")' };
  if (!isPlainDecimal(value))
    return {
      ok: false,
      message: 'must be a plain decimal string such as "12.34" (no sign, exponent, spaces or separators)',
    };
  const minor = decimalToMinorUnits(value, exponent);
  if (minor === undefined) {
    return {
      ok: false,
      message:
        exponent === 0
          ? 'this currency has no minor unit; send whole units only'
          : `at most ${exponent} fraction digits for this currency`,
    };
  }
  const scale = 10n ** BigInt(exponent);
  if (minor <= 0n) return { ok: false, message: 'must be greater than zero' };
  if (minor > maxMajor * scale) return { ok: false, message: `exceeds the maximum of ${maxMajor} major units` };
  return { ok: true, minor };
}
