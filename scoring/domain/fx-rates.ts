import { currencyExponent, isCurrencyCode, isPlainDecimal } from '../../schemas/currencies.js';
import { type FieldProblem, ValidationError } from '../../platform/errors.js';
import { type JustUnderBand, defaultCashThresholds, justUnderBand } from '../../schemas/cash-thresholds.js';

/**
 * Foreign-exchange reference rates and the reporting currency the amount features are measured in.
 *
 * A rate table names its source and its day, and quotes every rate as units of the currency per ONE unit of its
 * `base` (the ECB's convention: USD "1.0495" means 1 EUR = 1.0495 USD). Rates are decimal strings and are never
 * read through a float: an amount converts exactly as a fraction of bigints and is then rounded once, half to
 * even, to the reporting currency's minor unit. Only then does a feature become a float (its major units).
 *
 *   { "source": "ECB euro foreign exchange reference rates", "date": "2024-11-25", "base": "EUR",
 *     "rates": { "USD": "1.0495", "JPY": "161.64", "GBP": "0.83465" } }
 */
export interface FxRateDocument {
  readonly source: string;
  /** The day the rates were published for, YYYY-MM-DD. */
  readonly date: string;
  readonly base: string;
  readonly rates: Readonly<Record<string, string>>;
}

/** A rate as an exact fraction: `units / 10^scale` of the currency per one unit of the base. */
interface ExactRate {
  readonly units: bigint;
  readonly scale: number;
}

/** A validated rate table. */
export interface FxRateTable {
  readonly source: string;
  readonly date: string;
  readonly base: string;
  /** Every currency with a rate, the base included (at 1). */
  readonly currencies: readonly string[];
  rateOf(currency: string): ExactRate | undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isCalendarDay(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const ms = Date.parse(`${text}T00:00:00Z`);
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === text;
}

function exactRate(text: string): ExactRate {
  const [whole, fraction = ''] = text.split('.');
  return { units: BigInt(whole! + fraction), scale: fraction.length };
}

/**
 * Validates a parsed rate table as a whole; throws ValidationError (FX_RATES_INVALID) listing every problem with its
 * JSON-pointer path: `source` a non-empty string, `date` a calendar day YYYY-MM-DD, `base` and every key of
 * `rates` an active ISO 4217 code, every rate a positive plain decimal string ("1.0495", not 1.0495 or "1e3"),
 * the base either absent from `rates` or quoted at exactly 1.
 */
export function compileFxRates(document: unknown): FxRateTable {
  const problems: FieldProblem[] = [];
  const problem = (path: string, message: string): void => void problems.push({ path, message });
  if (!isRecord(document))
    throw new ValidationError(
      'FX rate table must be a JSON object',
      [{ path: '', message: 'must be an object' }],
      'FX_RATES_INVALID',
    );
  const { source, date, base, rates } = document;
  if (typeof source !== 'string' || source.trim() === '')
    problem('/source', 'must name where the rates come from (a non-empty string)');
  if (typeof date !== 'string' || !isCalendarDay(date)) problem('/date', 'must be the rates day as YYYY-MM-DD');
  if (typeof base !== 'string' || !isCurrencyCode(base)) problem('/base', 'must be an active ISO 4217 code');
  const exact = new Map<string, ExactRate>();
  if (!isRecord(rates)) problem('/rates', 'must be an object of currency code to decimal string');
  else
    for (const [currency, rate] of Object.entries(rates)) {
      const path = `/rates/${currency}`;
      if (!isCurrencyCode(currency)) problem(path, `${JSON.stringify(currency)} is not an active ISO 4217 code`);
      if (typeof rate !== 'string' || !isPlainDecimal(rate) || /^[0.]+$/.test(rate)) {
        problem(path, 'must be a positive decimal string, e.g. "1.0495"');
        continue;
      }
      if (currency === base && !/^1(\.0+)?$/.test(rate)) problem(path, 'the base currency can only be quoted at 1');
      exact.set(currency, exactRate(rate));
    }
  if (problems.length > 0)
    throw new ValidationError(
      `FX rate table is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'})`,
      problems,
      'FX_RATES_INVALID',
    );
  const baseCode = base as string;
  exact.set(baseCode, { units: 1n, scale: 0 });
  return Object.freeze({
    source: source as string,
    date: date as string,
    base: baseCode,
    currencies: Object.freeze([...exact.keys()].sort()),
    rateOf: (currency: string) => exact.get(currency),
  });
}

/** Rounds the positive fraction `numerator / denominator` to an integer, half to even (banker's rounding). */
function roundHalfEven(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  const twiceRemainder = 2n * (numerator % denominator);
  if (twiceRemainder > denominator || (twiceRemainder === denominator && quotient % 2n === 1n)) return quotient + 1n;
  return quotient;
}

/**
 * Converts amounts to the reporting currency at a rate table, exactly. Built once at start; the feature engine
 * asks it for every transaction, so the per-currency factors are precomputed and a reporting-currency amount
 * takes no bigint work at all.
 */
export class ReportingCurrency {
  /** Reporting minor units = round_half_even(minor × numerator / denominator), per source currency. */
  private readonly factors = new Map<string, { numerator: bigint; denominator: bigint }>();
  private readonly reportingScale: number;
  private readonly cashWindows = new Map<string, JustUnderBand | null>();
  private readonly cashThresholdsMinor: ReadonlyMap<string, bigint>;

  /**
   * Throws ValidationError (FX_RATES_INVALID, path `/rates/<code>`) when the table has no rate for the reporting
   * currency, and RangeError for a code that is not an active ISO 4217 currency.
   * @param cashThresholdsMinor cash reporting thresholds per currency, minor units of that currency: the setting the
   * dashboards' cash report reads too (VIGIL_CASH_THRESHOLDS; default EUR, GBP and USD 10,000).
   */
  constructor(
    readonly table: FxRateTable,
    readonly currency: string,
    cashThresholdsMinor: ReadonlyMap<string, bigint> = defaultCashThresholds(),
  ) {
    const exponent = currencyExponent(currency);
    if (exponent === undefined) throw new RangeError(`reporting currency ${currency} is not an ISO 4217 code`);
    const target = table.rateOf(currency);
    if (target === undefined)
      throw new ValidationError(
        `the FX rate table of ${table.date} has no rate for the reporting currency ${currency}`,
        [{ path: `/rates/${currency}`, message: 'the reporting currency needs a rate' }],
        'FX_RATES_INVALID',
      );
    this.reportingScale = 10 ** exponent;
    for (const source of table.currencies) {
      const rate = table.rateOf(source)!;
      const sourceExponent = currencyExponent(source)!;
      // minor_r = minor_s × 10^(e_r − e_s) × rate_r / rate_s, each rate units / 10^scale.
      this.factors.set(source, {
        numerator: 10n ** BigInt(exponent) * target.units * 10n ** BigInt(rate.scale),
        denominator: 10n ** BigInt(sourceExponent) * rate.units * 10n ** BigInt(target.scale),
      });
    }
    for (const code of cashThresholdsMinor.keys())
      if (currencyExponent(code) === undefined)
        throw new RangeError(`cash threshold currency ${code} is not an ISO 4217 code`);
    this.cashThresholdsMinor = cashThresholdsMinor;
  }

  /** True when `currency` converts (it has a rate, or it is the reporting currency). */
  converts(currency: string): boolean {
    return this.factors.has(currency);
  }

  /**
   * `minor` units of `currency` in minor units of the reporting currency, rounded half to even; undefined when the
   * table has no rate for `currency`.
   */
  toReportingMinor(minor: bigint, currency: string): bigint | undefined {
    if (currency === this.currency) return minor;
    const factor = this.factors.get(currency);
    if (factor === undefined) return undefined;
    const negative = minor < 0n;
    const rounded = roundHalfEven((negative ? -minor : minor) * factor.numerator, factor.denominator);
    return negative ? -rounded : rounded;
  }

  /**
   * `minor` units of `currency` as major units of the reporting currency (a float, after the exact conversion);
   * undefined when the table has no rate for `currency`.
   */
  toReportingMajor(minor: bigint, currency: string): number | undefined {
    const converted = this.toReportingMinor(minor, currency);
    return converted === undefined ? undefined : Number(converted) / this.reportingScale;
  }

  /**
   * The structuring window of `currency` in its own minor units: [80 %, 100 %) of its reporting threshold, cut as the
   * dashboards' cash report cuts it (schemas/cash-thresholds.ts, justUnderBand). A currency without a threshold of its
   * own uses the reporting currency's, converted at the table's rate (half to even); null when it has neither (no
   * window: its deposits are not counted).
   */
  cashWindow(currency: string): JustUnderBand | null {
    let window = this.cashWindows.get(currency);
    if (window === undefined) {
      window = this.computeCashWindow(currency);
      this.cashWindows.set(currency, window);
    }
    return window;
  }

  private computeCashWindow(currency: string): JustUnderBand | null {
    let toMinor = this.cashThresholdsMinor.get(currency);
    if (toMinor === undefined) {
      const reporting = this.cashThresholdsMinor.get(this.currency);
      const rate = this.factors.get(currency);
      if (reporting === undefined || rate === undefined) return null;
      // The inverse factor: reporting minor units into `currency`'s.
      toMinor = roundHalfEven(reporting * rate.denominator, rate.numerator);
    }
    return justUnderBand(toMinor);
  }
}
