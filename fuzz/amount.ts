import fc from 'fast-check';
import { type AmountParse, formatMinorUnits, parseMinorUnits } from '../ingest/domain/amount.js';
import { currencyExponents } from '../schemas/currencies.js';
import { type FuzzTarget, defineTarget } from './target.js';

/**
 * Properties of amount parsing (ingest/domain/amount.ts) against the one ISO 4217 table (schemas/currencies.ts):
 * exact bigint minor units, a round trip through the formatter, refusal of more fraction digits than the
 * currency's exponent, and totality over any input.
 */
export type ParseMinorUnits = (value: unknown, exponent: number, maxMajor: bigint) => AmountParse;

/** The largest limit ingest's config allows (VIGIL_INGEST_MAX_AMOUNT_MAJOR ≤ 1e14): minor units beyond 2^53. */
const MAX_MAJOR = 100_000_000_000_000n;
const currency = fc.constantFrom(...Object.keys(currencyExponents));
const digits = (minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength, maxLength });
// Up to 1000 × the limit, and close to it on both sides: long numbers are where a float parse loses digits.
const wholePart = fc.oneof(
  fc.constant('0'),
  fc.nat({ max: 999 }).map(String),
  fc.bigInt({ min: 1n, max: MAX_MAJOR * 1000n }).map(String),
  fc.bigInt({ min: MAX_MAJOR - 10n ** 12n, max: MAX_MAJOR + 1n }).map(String),
);

/** `whole.fraction` with at most the exponent's digits → exactly BigInt(whole ‖ fraction padded to the exponent). */
export function exactMinorUnitsTarget(parse: ParseMinorUnits = parseMinorUnits): FuzzTarget {
  return defineTarget('amount parsing is exact', () =>
    fc.property(
      currency.chain((code) =>
        fc.tuple(fc.constant(code), wholePart, digits(0, currencyExponents[code]!), fc.boolean()),
      ),
      ([code, whole, fraction, withPoint]) => {
        const exponent = currencyExponents[code]!;
        const text = fraction.length > 0 || (withPoint && exponent > 0) ? `${whole}.${fraction || '0'}` : whole;
        // The oracle works on the digits as text: no arithmetic shared with the parser.
        const expected = BigInt(whole + (text.split('.')[1] ?? '').padEnd(exponent, '0'));
        const parsed = parse(text, exponent, MAX_MAJOR);
        if (expected === 0n || expected > MAX_MAJOR * 10n ** BigInt(exponent)) {
          if (parsed.ok) throw new Error(`${text} ${code} accepted as ${parsed.minor}, outside (0, max]`);
          return;
        }
        if (!parsed.ok) throw new Error(`${text} ${code} refused: ${parsed.message}`);
        if (parsed.minor !== expected) throw new Error(`${text} ${code} parsed as ${parsed.minor}, not ${expected}`);
      },
    ),
  );
}

/** formatMinorUnits then parseMinorUnits gives back the minor units, for every currency of the table. */
export function formatRoundTripTarget(parse: ParseMinorUnits = parseMinorUnits): FuzzTarget {
  return defineTarget('amount format → parse round trip', () =>
    fc.property(
      currency.chain((code) =>
        fc.tuple(fc.constant(code), fc.bigInt({ min: 1n, max: MAX_MAJOR * 10n ** BigInt(currencyExponents[code]!) })),
      ),
      ([code, minor]) => {
        const text = formatMinorUnits(minor, code);
        const parsed = parse(text, currencyExponents[code]!, MAX_MAJOR);
        if (!parsed.ok || parsed.minor !== minor)
          throw new Error(
            `${minor} ${code} formatted as ${text} parsed as ${JSON.stringify(parsed, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`,
          );
      },
    ),
  );
}

/** More fraction digits than the currency's exponent are refused, trailing zeros included ("12.340" EUR). */
export function excessFractionTarget(parse: ParseMinorUnits = parseMinorUnits): FuzzTarget {
  return defineTarget('amount refuses excess fraction digits', () =>
    fc.property(
      currency.chain((code) =>
        fc.tuple(fc.constant(code), wholePart, digits(currencyExponents[code]! + 1, currencyExponents[code]! + 6)),
      ),
      ([code, whole, fraction]) => {
        const parsed = parse(`${whole}.${fraction}`, currencyExponents[code]!, MAX_MAJOR);
        if (parsed.ok) throw new Error(`${whole}.${fraction} ${code} accepted as ${parsed.minor}`);
      },
    ),
  );
}

/** Any value at all: no throw; an acceptance is > 0 and within the limit; a refusal's message echoes no digits. */
export function anyAmountTarget(parse: ParseMinorUnits = parseMinorUnits): FuzzTarget {
  const nearDecimal = fc
    .array(fc.constantFrom(...'0123456789.-+eE ,_'), { maxLength: 45 })
    .map((chars) => chars.join(''));
  return defineTarget('amount parsing of any value', () =>
    fc.property(fc.oneof(fc.jsonValue(), nearDecimal, fc.string()), fc.constantFrom(0, 2, 3, 4), (value, exponent) => {
      const parsed = parse(value, exponent, MAX_MAJOR);
      if (parsed.ok && (parsed.minor <= 0n || parsed.minor > MAX_MAJOR * 10n ** BigInt(exponent)))
        throw new Error(`accepted ${parsed.minor}, outside (0, max]`);
      if (!parsed.ok && /\d{12,}/.test(parsed.message)) throw new Error(`message echoes digits: ${parsed.message}`);
    }),
  );
}

export const amountTargets: readonly FuzzTarget[] = [
  exactMinorUnitsTarget(),
  formatRoundTripTarget(),
  excessFractionTarget(),
  anyAmountTarget(),
];
