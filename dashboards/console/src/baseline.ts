import { formatFeatureAmount } from './money.js';

/** A decision's feature values by name, as the audit trail gives them. */
export type Features = Readonly<Record<string, number | null>>;

/** One row of the case view's "beside the customer's own baseline" table, as text. */
export interface BaselineRow {
  /** The feature shown in the row (its key in the table). */
  readonly feature: string;
  readonly label: string;
  readonly value: string;
  readonly baseline: string;
}

/** A feature value as the model saw it: counts and ratios are model inputs, not money. */
export const featureText = (value: number | null | undefined): string =>
  value === null || value === undefined ? '–' : Number.isInteger(value) ? String(value) : value.toFixed(2);

/**
 * The currencies a decision recorded for its amount features, as the audit trail gives them: `reportingCurrency` for
 * the amounts (null for a decision scored before ScoredTransaction v6), and `unconvertedCurrency` when the
 * transaction's debit currency had no rate, so its `amount` is in that currency and the windows counted it
 * unconverted beside amounts in `reportingCurrency`.
 */
export interface FeatureCurrencies {
  readonly reportingCurrency: string | null;
  readonly unconvertedCurrency: string | null;
}

/** How scoring words a window that counted an amount without a rate (scoring/domain/feature-names.ts). */
const countedUnconverted = (currency: string): string =>
  `counting ${currency} amounts unconverted: no ${currency} rate`;

/**
 * The transaction beside the customer's own baseline, both from the features scoring computed at decision time (the
 * customer's windows are the baseline: no second source that could disagree with what the model saw). Amounts are
 * labelled with the currency the decision recorded for its amount features (`reportingCurrency`); a decision that did
 * not record one (scored before ScoredTransaction v6) says so instead of borrowing today's setting, whose currency
 * may not be the one its amounts were measured in. A transaction whose debit currency had no rate shows its amount in
 * that currency, and its means say they count such amounts unconverted, as its reasons do.
 */
export function baselineRows(
  features: Features,
  { reportingCurrency, unconvertedCurrency }: FeatureCurrencies,
): BaselineRow[] {
  const amountIn = (name: string, currency: string | null): string => {
    const value = features[name];
    if (value === null || value === undefined) return '–';
    return currency === null ? featureText(value) : formatFeatureAmount(value, currency);
  };
  const amount = (name: string): string => amountIn(name, reportingCurrency);
  const means = `mean ${amount('cust_mean_amount_24h')} (24 h) · ${amount('cust_mean_amount_7d')} (7 d) · ${amount('cust_mean_amount_30d')} (30 d)`;
  const perHourOver30d = (count: string): string =>
    `${featureText((features[count] ?? 0) / 720)} an hour over 30 d (${featureText(features[count])})`;
  const row = (feature: string, label: string, baseline: string): BaselineRow => ({
    feature,
    label,
    value: featureText(features[feature]),
    baseline,
  });
  return [
    unconvertedCurrency === null
      ? {
          feature: 'amount',
          label: reportingCurrency === null ? 'Amount (currency not recorded)' : `Amount (${reportingCurrency})`,
          value: amount('amount'),
          baseline: means,
        }
      : {
          feature: 'amount',
          label: `Amount (${unconvertedCurrency}, no rate: not converted)`,
          value: amountIn('amount', unconvertedCurrency),
          baseline: `${means} (${countedUnconverted(unconvertedCurrency)})`,
        },
    row(
      'cust_amount_ratio_to_mean',
      'Amount ÷ customer mean',
      `z-score ${featureText(features['cust_amount_zscore'])}`,
    ),
    row('cust_count_1h', 'Customer transactions, last hour', perHourOver30d('cust_count_30d')),
    row('card_count_1h', 'Card transactions, last hour', perHourOver30d('card_count_30d')),
    row(
      'cust_geo_distance_km',
      'Distance from previous (km)',
      `implied speed ${featureText(features['cust_geo_velocity_kmh'])} km/h`,
    ),
    row('cust_new_device', 'New device', `${featureText(features['cust_known_devices'])} known devices`),
    row(
      'cust_new_counterparty',
      'New counterparty',
      `${featureText(features['cust_history_count'])} earlier transactions`,
    ),
  ];
}

/** What the list of every feature value says about the currency of its amounts. */
export function featureAmountsNote({ reportingCurrency, unconvertedCurrency }: FeatureCurrencies): string {
  const amounts =
    reportingCurrency === null
      ? 'the currency of their amounts is not recorded for this decision'
      : `amounts in ${reportingCurrency}`;
  return unconvertedCurrency === null
    ? amounts
    : `${amounts}; amount in ${unconvertedCurrency} (no ${unconvertedCurrency} rate: not converted), and the windows count ${unconvertedCurrency} amounts unconverted`;
}
