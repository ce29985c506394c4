import type { Env } from '../platform/config.js';
import { ConfigError } from '../platform/errors.js';
import { currencyExponent, decimalToMinorUnits, isCurrencyCode } from './currencies.js';

/**
 * What "large cash" and "just under the reporting threshold" mean, once for both stages that judge it: scoring's
 * structuring features (`cust_cash_near_10k_*`, R_STRUCTURING_CASH_7D) and the dashboards' cash report
 * (`GET /v1/reports/large-cash`). Both read the thresholds from one setting, VIGIL_CASH_THRESHOLDS, with the same
 * defaults, and cut the "just under" band with the same arithmetic, so the two never disagree about which deposit is
 * just under its currency's threshold.
 */
export const CASH_THRESHOLDS_KEY = 'VIGIL_CASH_THRESHOLDS';

/** The setting's former, dashboards-only name: still read, by both stages, when VIGIL_CASH_THRESHOLDS is unset. */
export const FORMER_CASH_THRESHOLDS_KEY = 'VIGIL_DASHBOARDS_CASH_THRESHOLDS';

/**
 * Cash reporting thresholds by default, `CCY:major` as the setting writes them, in major units of their own currency: USD 10,000 (the US currency transaction
 * report, 31 CFR 1010.311), EUR 10,000 (the EU cash limit and cash controls, Regulations 2024/1624 art. 80 and
 * 2018/1672), GBP 10,000.
 */
export const DEFAULT_CASH_THRESHOLDS: readonly string[] = Object.freeze(['EUR:10000', 'GBP:10000', 'USD:10000']);

/** {@link DEFAULT_CASH_THRESHOLDS} in minor units per currency: what both stages use when nothing is set. */
export function defaultCashThresholds(): ReadonlyMap<string, bigint> {
  return readCurrencyAmounts({}, CASH_THRESHOLDS_KEY, DEFAULT_CASH_THRESHOLDS, { zero: false });
}

/** "Just under" is the last this many percent below a threshold: [80 %, 100 %) by default. */
export const STRUCTURING_BAND_PERCENT = 20;

/** The amounts just under a threshold, minor units of its currency: fromMinor ≤ amount < toMinor. */
export interface JustUnderBand {
  readonly fromMinor: bigint;
  readonly toMinor: bigint;
}

/**
 * The band just under `thresholdMinor`: at least (100 − bandPercent) % of it, exactly (the smallest whole minor
 * unit not below that share, so ¥1,616,401's band starts at ¥1,293,121, never a minor unit early), and below it.
 */
export function justUnderBand(thresholdMinor: bigint, bandPercent: number = STRUCTURING_BAND_PERCENT): JustUnderBand {
  // threshold − ⌊threshold·band/100⌋ = ⌈threshold·(100 − band)/100⌉ for a whole threshold.
  return { fromMinor: thresholdMinor - (thresholdMinor * BigInt(bandPercent)) / 100n, toMinor: thresholdMinor };
}

/**
 * `CCY:amount` entries (amounts in major units, e.g. `EUR:10000,JPY:1000000`), each an ISO 4217 code once, as minor
 * units per currency; `fallback` when the key is unset. Throws ConfigError naming the key and the bad entry.
 */
export function readCurrencyAmounts(
  env: Env,
  key: string,
  fallback: readonly string[],
  allow: { readonly zero: boolean },
): ReadonlyMap<string, bigint> {
  // platform/config's readList, spelt out: scoring's pure domain imports this module, and config.ts reads files.
  const raw = env[key];
  const entries =
    raw === undefined || raw.trim() === ''
      ? fallback
      : raw
          .split(',')
          .map((entry) => entry.trim())
          .filter((entry) => entry !== '');
  const amounts = new Map<string, bigint>();
  const least = allow.zero ? 'a non-negative' : 'a positive';
  for (const entry of entries) {
    const [currency = '', amount = ''] = entry.split(':');
    const minor = isCurrencyCode(currency)
      ? decimalToMinorUnits(amount.trim(), currencyExponent(currency)!)
      : undefined;
    if (minor === undefined || (minor === 0n && !allow.zero) || amounts.has(currency))
      throw new ConfigError(
        key,
        entries.join(','),
        `comma-separated CCY:amount entries, each an ISO 4217 code once with ${least} amount in its major units (e.g. EUR:10000,USD:10000); "${entry}" is not`,
      );
    amounts.set(currency, minor);
  }
  return amounts;
}

/**
 * The cash reporting thresholds, minor units per currency: VIGIL_CASH_THRESHOLDS, else the former
 * VIGIL_DASHBOARDS_CASH_THRESHOLDS, else {@link DEFAULT_CASH_THRESHOLDS}. Throws ConfigError for a bad entry, and
 * when both names are set (which one holds would be a guess).
 */
export function readCashThresholds(env: Env): ReadonlyMap<string, bigint> {
  const set = (key: string): boolean => (env[key] ?? '').trim() !== '';
  if (set(CASH_THRESHOLDS_KEY) && set(FORMER_CASH_THRESHOLDS_KEY))
    throw new ConfigError(
      FORMER_CASH_THRESHOLDS_KEY,
      env[FORMER_CASH_THRESHOLDS_KEY],
      `unset: it is the former name of ${CASH_THRESHOLDS_KEY}, which is set`,
    );
  const key = set(FORMER_CASH_THRESHOLDS_KEY) ? FORMER_CASH_THRESHOLDS_KEY : CASH_THRESHOLDS_KEY;
  return readCurrencyAmounts(env, key, DEFAULT_CASH_THRESHOLDS, { zero: false });
}
