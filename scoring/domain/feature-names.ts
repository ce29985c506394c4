import { formatMinorUnits, minorUnitExponent } from '../../schemas/currencies.js';
import type { FeatureValues } from '../../schemas/generated/types.js';

/**
 * The feature vector's layout, defined once: the engine writes features in this order, the model is trained on
 * it (the artefact's metadata stores the names and the adapter refuses a model trained on another layout), the
 * rules name features by `name`, and reasons describe them with `label`. Every `amount` feature is in major units of
 * the reporting currency (fx-rates.ts), whatever the transactions' own currencies; a label says `{reporting}` where a
 * reason names that currency ({@link featureLabel}).
 */
export type FeatureUnit = 'flag' | 'count' | 'amount' | 'ratio' | 'zscore' | 'seconds' | 'km' | 'kmh';

export interface FeatureDef {
  readonly name: string;
  /** Readable description for analysts; `{reporting}` stands for the reporting currency's code. */
  readonly label: string;
  readonly unit: FeatureUnit;
}

/** The transaction's own amount: the one amount feature that is not a window over several transactions. */
const AMOUNT = 'amount';

const f = (name: string, unit: FeatureUnit, label: string): FeatureDef => ({ name, unit, label });

export const FEATURES: readonly FeatureDef[] = [
  // The transaction itself.
  f(AMOUNT, 'amount', 'amount in {reporting} (of the debit, settlement amount when present)'),
  f('is_night', 'flag', 'made at night (00:00–06:59 UTC)'),
  f('is_weekend', 'flag', 'made on a weekend'),
  f('ch_card', 'flag', 'card channel'),
  f('ch_ach', 'flag', 'ACH channel'),
  f('ch_sepa', 'flag', 'SEPA channel'),
  f('ch_wire', 'flag', 'wire channel'),
  f('ch_wallet', 'flag', 'wallet channel'),
  f('ch_p2p', 'flag', 'P2P channel'),
  f('ch_cash', 'flag', 'cash channel'),
  f('card_present', 'flag', 'card present'),
  f('card_not_present', 'flag', 'card not present'),
  f('kind_transfer', 'flag', 'a transfer'),
  f('kind_withdrawal', 'flag', 'a withdrawal'),
  f('kind_deposit', 'flag', 'a deposit'),
  f('kind_refund', 'flag', 'a refund'),
  f('cross_currency', 'flag', 'settled in another currency'),
  // The card (or the customer when there is no card), windows including this transaction.
  f('card_count_1h', 'count', 'transactions on this card in the last hour'),
  f('card_count_24h', 'count', 'transactions on this card in the last 24 hours'),
  f('card_count_7d', 'count', 'transactions on this card in the last 7 days'),
  f('card_count_30d', 'count', 'transactions on this card in the last 30 days'),
  f('card_sum_1h', 'amount', 'amount spent on this card in the last hour'),
  f('card_sum_24h', 'amount', 'amount spent on this card in the last 24 hours'),
  f('card_sum_7d', 'amount', 'amount spent on this card in the last 7 days'),
  f('card_sum_30d', 'amount', 'amount spent on this card in the last 30 days'),
  f(
    'card_cnp_small_count_1h',
    'count',
    'small (under 10 {reporting}) card-not-present payments on this card in the last hour',
  ),
  // The customer.
  f('cust_count_1h', 'count', "customer's transactions in the last hour"),
  f('cust_count_24h', 'count', "customer's transactions in the last 24 hours"),
  f('cust_count_7d', 'count', "customer's transactions in the last 7 days"),
  f('cust_count_30d', 'count', "customer's transactions in the last 30 days"),
  f('cust_sum_1h', 'amount', "customer's total amount in the last hour"),
  f('cust_sum_24h', 'amount', "customer's total amount in the last 24 hours"),
  f('cust_sum_7d', 'amount', "customer's total amount in the last 7 days"),
  f('cust_sum_30d', 'amount', "customer's total amount in the last 30 days"),
  f('cust_mean_amount_24h', 'amount', "customer's mean amount over the last 24 hours"),
  f('cust_mean_amount_7d', 'amount', "customer's mean amount over the last 7 days"),
  f('cust_mean_amount_30d', 'amount', "customer's mean amount over the last 30 days"),
  f('cust_history_count', 'count', "customer's earlier transactions (all time)"),
  f('cust_amount_ratio_to_mean', 'ratio', "amount relative to the customer's mean"),
  f('cust_amount_zscore', 'zscore', "amount's z-score within the customer's history"),
  f('cust_seconds_since_prev', 'seconds', "time since the customer's previous transaction"),
  f('cust_new_device', 'flag', 'first use of this device by the customer'),
  f('cust_new_counterparty', 'flag', 'first payment to this terminal, merchant or payee by the customer'),
  f('cust_known_devices', 'count', 'devices the customer has used (recent, at most 8)'),
  f('cust_geo_distance_km', 'km', "distance from the customer's previous located transaction"),
  f('cust_geo_velocity_kmh', 'kmh', "travel speed implied since the customer's previous located transaction"),
  f(
    'cust_cash_near_10k_count_7d',
    'count',
    "cash deposits by the customer in the last 7 days within 80–100 % of their currency's reporting threshold",
  ),
  f(
    'cust_cash_near_10k_sum_7d',
    'amount',
    "total ({reporting}) of the customer's cash deposits just under their currency's reporting threshold in the last 7 days",
  ),
  // The terminal (or merchant, or payee account for transfers).
  f('term_count_1h', 'count', 'transactions at this terminal in the last hour'),
  f('term_count_24h', 'count', 'transactions at this terminal in the last 24 hours'),
  f('term_count_7d', 'count', 'transactions at this terminal in the last 7 days'),
  f('term_count_30d', 'count', 'transactions at this terminal in the last 30 days'),
  f('term_fraud_ratio_30d', 'ratio', "share of this terminal's last-30-day transactions confirmed as fraud so far"),
  f('term_count_1d_delay7', 'count', 'transactions at this terminal on the day ending 7 days ago'),
  f('term_count_7d_delay7', 'count', 'transactions at this terminal in the 7 days ending 7 days ago'),
  f('term_count_30d_delay7', 'count', 'transactions at this terminal in the 30 days ending 7 days ago'),
  f('term_risk_1d_delay7', 'ratio', 'confirmed-fraud share at this terminal on the day ending 7 days ago'),
  f('term_risk_7d_delay7', 'ratio', 'confirmed-fraud share at this terminal in the 7 days ending 7 days ago'),
  f('term_risk_30d_delay7', 'ratio', 'confirmed-fraud share at this terminal in the 30 days ending 7 days ago'),
  // The device.
  f('dev_count_1h', 'count', 'transactions from this device in the last hour'),
  f('dev_count_24h', 'count', 'transactions from this device in the last 24 hours'),
  f('dev_customer_count', 'count', 'distinct customers seen on this device (at most 8)'),
];

export const FEATURE_NAMES: readonly string[] = FEATURES.map((d) => d.name);
export const FEATURE_COUNT = FEATURES.length;

const indexByName = new Map(FEATURE_NAMES.map((name, i) => [name, i]));

/** Index of a feature by name; undefined for an unknown name. */
export function featureIndex(name: string): number | undefined {
  return indexByName.get(name);
}

/** Index of a feature the code itself names; throws on a typo at module load. */
export function fi(name: string): number {
  const index = indexByName.get(name);
  if (index === undefined) throw new Error(`unknown feature ${name}`);
  return index;
}

/**
 * The currencies one transaction's amount features are in, for its reasons: the reporting currency, except when the
 * rate table has no rate for the transaction's debit currency — then its own `amount` is in major units of that
 * currency, and the windows it joins count it unconverted (features.ts, amountInOwnCurrency).
 */
export interface AmountCurrencies {
  /** The reporting currency the engine converts amounts into (VIGIL_REPORTING_CURRENCY). */
  readonly reporting: string;
  /** The transaction's debit currency when it has no rate to the reporting currency; null when it converted. */
  readonly unconverted: string | null;
}

/**
 * A feature's label for an analyst, with `{reporting}` replaced by the code of the currency its value is in: the
 * reporting currency, except the transaction's own `amount` when its currency had no rate (then it is in that one).
 */
export function featureLabel(def: FeatureDef, currencies: AmountCurrencies): string {
  const currency =
    def.name === AMOUNT && currencies.unconverted !== null ? currencies.unconverted : currencies.reporting;
  return def.label.replaceAll('{reporting}', currency);
}

/**
 * Major units of `currency` (a feature value) as money text, e.g. "812.50 EUR", "15000 JPY": rounded once to the
 * currency's minor unit (the ISO 4217 table's exponent) and written from those integer minor units, so the decimals
 * are the currency's own, never a fixed two.
 */
function amountText(valueMajor: number, currency: string): string {
  if (!Number.isFinite(valueMajor)) return `${valueMajor} ${currency}`;
  const minor = BigInt(Math.round(valueMajor * 10 ** (minorUnitExponent(currency) ?? 2)));
  return `${formatMinorUnits(minor, currency)} ${currency}`;
}

/**
 * Formats a feature value for an explanation, in the feature's unit; an amount names its currency (see
 * {@link AmountCurrencies}).
 */
export function formatFeature(def: FeatureDef, value: number, currencies: AmountCurrencies): string {
  switch (def.unit) {
    case 'flag':
      return value >= 0.5 ? 'yes' : 'no';
    case 'count':
      return String(Math.round(value));
    case 'amount': {
      const { reporting, unconverted } = currencies;
      if (unconverted === null) return amountText(value, reporting);
      if (def.name === AMOUNT) return `${amountText(value, unconverted)} (no ${unconverted} rate: not converted)`;
      return `${amountText(value, reporting)} (counting ${unconverted} amounts unconverted: no ${unconverted} rate)`;
    }
    case 'ratio':
      return value.toFixed(2);
    case 'zscore':
      return value.toFixed(1);
    case 'seconds':
      return value < 120
        ? `${Math.round(value)} s`
        : value < 7200
          ? `${Math.round(value / 60)} min`
          : value < 172800
            ? `${(value / 3600).toFixed(1)} h`
            : `${(value / 86400).toFixed(1)} d`;
    case 'km':
      return `${Math.round(value)} km`;
    case 'kmh':
      return `${Math.round(value)} km/h`;
  }
}

/**
 * A feature row as the ScoredTransaction's FeatureValues record. Its schema's fields are these features in this
 * order (feature-names.test.ts holds the two together), which is what makes the cast sound.
 */
export function featureValues(values: Float32Array, offset = 0): FeatureValues {
  const record: Record<string, number> = {};
  for (let i = 0; i < FEATURE_COUNT; i++) record[FEATURE_NAMES[i]!] = values[offset + i]!;
  return record as unknown as FeatureValues;
}
