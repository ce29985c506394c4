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
 * The transaction beside the customer's own baseline, both from the features scoring computed at decision time (the
 * customer's windows are the baseline: no second source that could disagree with what the model saw). Amounts are
 * labelled with the currency the decision recorded for its amount features (`reportingCurrency`); a decision that did
 * not record one (scored before ScoredTransaction v6) says so instead of borrowing today's setting, whose currency
 * may not be the one its amounts were measured in.
 */
export function baselineRows(features: Features, reportingCurrency: string | null): BaselineRow[] {
  const amount = (name: string): string => {
    const value = features[name];
    if (value === null || value === undefined) return '–';
    return reportingCurrency === null ? featureText(value) : formatFeatureAmount(value, reportingCurrency);
  };
  const perHourOver30d = (count: string): string =>
    `${featureText((features[count] ?? 0) / 720)} an hour over 30 d (${featureText(features[count])})`;
  const row = (feature: string, label: string, baseline: string): BaselineRow => ({
    feature,
    label,
    value: featureText(features[feature]),
    baseline,
  });
  return [
    {
      feature: 'amount',
      label: reportingCurrency === null ? 'Amount (currency not recorded)' : `Amount (${reportingCurrency})`,
      value: amount('amount'),
      baseline: `mean ${amount('cust_mean_amount_24h')} (24 h) · ${amount('cust_mean_amount_7d')} (7 d) · ${amount('cust_mean_amount_30d')} (30 d)`,
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
export const featureAmountsNote = (reportingCurrency: string | null): string =>
  reportingCurrency === null
    ? 'the currency of their amounts is not recorded for this decision'
    : `amounts in ${reportingCurrency}`;
