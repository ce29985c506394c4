import { FEATURE_COUNT, fi } from './feature-names.js';

/**
 * Model explanations as exact Shapley values over groups of features.
 *
 * The model's 65 inputs are strongly correlated (a card's 1 h, 24 h and 7 d counts move together), so a
 * per-feature attribution splits one fact into many small, unstable pieces. A group is one thing an analyst can
 * check ("the terminal's fraud history"). With G groups, every coalition S of groups is scored once: groups in S
 * keep the transaction's values, the others are set to the baseline. The baseline is the average training
 * transaction: every feature at its training mean, which is 0 after the model's own standardisation. Then
 *
 *   φ_g = Σ_{S ∌ g} |S|!·(G − |S| − 1)!/G! · (v(S ∪ {g}) − v(S)),
 *
 * where v(S) is the model's output for coalition S, and Σ_g φ_g = v(all) − v(none) exactly (efficiency). The
 * TF.js adapter takes v as the log-odds, where the network is close to additive, and scales the φ onto the score,
 * so each reported contribution is the group's share, in score units, of the distance between this
 * transaction's score and the average transaction's (ModelExplanation).
 */
export interface FeatureGroup {
  /** Reason code suffix: the reason's code is `M_${code}`. */
  readonly code: string;
  /** Readable name for analysts. */
  readonly label: string;
  /** Feature indices, in feature order. */
  readonly features: readonly number[];
}

const group = (code: string, label: string, names: readonly string[]): FeatureGroup => ({
  code,
  label,
  features: names.map(fi).sort((a, b) => a - b),
});

const windows = (prefix: string, suffixes: readonly string[]): string[] => suffixes.map((s) => `${prefix}${s}`);

/** Eight groups, so one explanation scores 2^8 = 256 coalitions per alerted transaction. */
export const FEATURE_GROUPS: readonly FeatureGroup[] = [
  group('AMOUNT', 'the amount, also against the customer’s usual amounts', [
    'amount',
    'cust_amount_ratio_to_mean',
    'cust_amount_zscore',
  ]),
  group('TIME', 'the time of day and week', ['is_night', 'is_weekend']),
  group('PAYMENT_TYPE', 'the channel and kind of payment', [
    ...windows('ch_', ['card', 'ach', 'sepa', 'wire', 'wallet', 'p2p', 'cash']),
    'card_present',
    'card_not_present',
    ...windows('kind_', ['transfer', 'withdrawal', 'deposit', 'refund']),
    'cross_currency',
  ]),
  group('CARD_ACTIVITY', 'recent activity on the card', [
    ...windows('card_count_', ['1h', '24h', '7d', '30d']),
    ...windows('card_sum_', ['1h', '24h', '7d', '30d']),
    'card_cnp_small_count_1h',
  ]),
  group('CUSTOMER_SPENDING', 'the customer’s recent spending', [
    ...windows('cust_count_', ['1h', '24h', '7d', '30d']),
    ...windows('cust_sum_', ['1h', '24h', '7d', '30d']),
    ...windows('cust_mean_amount_', ['24h', '7d', '30d']),
    'cust_history_count',
    'cust_seconds_since_prev',
    'cust_cash_near_10k_count_7d',
    'cust_cash_near_10k_sum_7d',
  ]),
  group('DEVICE_AND_LOCATION', 'the device, counterparty and location against the customer’s history', [
    'cust_new_device',
    'cust_new_counterparty',
    'cust_known_devices',
    'cust_geo_distance_km',
    'cust_geo_velocity_kmh',
    'dev_count_1h',
    'dev_count_24h',
    'dev_customer_count',
  ]),
  group('TERMINAL_ACTIVITY', 'the terminal’s transaction volume', [
    ...windows('term_count_', ['1h', '24h', '7d', '30d']),
    ...windows('term_count_', ['1d_delay7', '7d_delay7', '30d_delay7']),
  ]),
  group('TERMINAL_FRAUD_HISTORY', 'the terminal’s confirmed fraud', [
    'term_fraud_ratio_30d',
    ...windows('term_risk_', ['1d_delay7', '7d_delay7', '30d_delay7']),
  ]),
];

export const FEATURE_GROUP_COUNT = FEATURE_GROUPS.length;
/** Rows scored per explained transaction: every coalition of groups, the empty one (the baseline) included. */
export const COALITION_COUNT = 1 << FEATURE_GROUP_COUNT;

/** For each feature, the bit of its group in a coalition mask; every feature is in exactly one group. */
const groupBitOfFeature: Uint32Array = (() => {
  const bits = new Uint32Array(FEATURE_COUNT);
  FEATURE_GROUPS.forEach((g, k) => g.features.forEach((j) => (bits[j] = bits[j]! | (1 << k))));
  const stray = [...bits].flatMap((b, j) => (b !== 0 && (b & (b - 1)) === 0 ? [] : [j]));
  if (stray.length > 0) throw new Error(`features ${stray.join(', ')} are in no group or in more than one`);
  return bits;
})();

/**
 * Writes the COALITION_COUNT rows of one standardised row (the model's input, baseline 0) into `out` at row
 * `atRow`: row m keeps the features of the groups whose bit is set in m and sets the others to 0. Row 0 is
 * the baseline, the last row the transaction itself.
 */
export function writeCoalitionRows(standardised: Float32Array, offset: number, out: Float32Array, atRow: number): void {
  for (let m = 0; m < COALITION_COUNT; m++) {
    const at = (atRow + m) * FEATURE_COUNT;
    for (let j = 0; j < FEATURE_COUNT; j++)
      out[at + j] = (m & groupBitOfFeature[j]!) !== 0 ? standardised[offset + j]! : 0;
  }
}

/** |S|!·(G − |S| − 1)!/G! by |S|: the Shapley weight of a coalition of that size that lacks the group. */
const shapleyWeights: Float64Array = (() => {
  const factorial = (k: number): number => (k <= 1 ? 1 : k * factorial(k - 1));
  const g = FEATURE_GROUP_COUNT;
  return Float64Array.from({ length: g }, (_, s) => (factorial(s) * factorial(g - s - 1)) / factorial(g));
})();

const popcount = (m: number): number => {
  let c = 0;
  for (let v = m; v !== 0; v &= v - 1) c++;
  return c;
};

/**
 * The groups' Shapley values from the scores of one transaction's coalitions (`values` from `offset`, indexed
 * by mask, as writeCoalitionRows laid them out), written to `out` at `outOffset`. They sum to
 * values[last] − values[0].
 */
export function groupShapleyValues(values: Float32Array, offset: number, out: Float32Array, outOffset: number): void {
  for (let k = 0; k < FEATURE_GROUP_COUNT; k++) {
    const bit = 1 << k;
    let phi = 0;
    for (let m = 0; m < COALITION_COUNT; m++) {
      if ((m & bit) !== 0) continue;
      phi += shapleyWeights[popcount(m)]! * (values[offset + (m | bit)]! - values[offset + m]!);
    }
    out[outOffset + k] = phi;
  }
}

/** What ModelScorer.explain returns for `n` rows. */
export interface ModelExplanation {
  /** The model's score for the baseline, the average training transaction (every feature at its training mean). */
  readonly baselineScore: number;
  /**
   * n × FEATURE_GROUP_COUNT Shapley values in score units, groups in FEATURE_GROUPS order; a row's values sum to
   * its score − baselineScore. Positive values raised the score.
   */
  readonly contributions: Float32Array;
  /** n × FEATURE_COUNT: the rows as the model saw them (standardised; 0 is the training mean). */
  readonly standardised: Float32Array;
}

/**
 * A group is a reason only when it moved the score by at least this share of the score's distance from the
 * baseline; the strongest group is always kept. With eight groups the strongest holds at least 1/8 of the
 * distance, so it always passes this bar when the score is above the baseline.
 */
export const MATERIAL_SHARE = 0.1;

/** One explained group of one row. */
export interface GroupReason {
  readonly group: FeatureGroup;
  /** The group's Shapley value: how far, in score units, it raised the score above the baseline. */
  readonly contribution: number;
}

/**
 * The groups that materially raised row `row`'s score, strongest first, at most `limit`: none when the score is
 * not above the baseline (nothing about the transaction raised it), else every group whose contribution is at
 * least MATERIAL_SHARE of score − baseline, and always the strongest.
 */
export function materialGroups(explanation: ModelExplanation, row: number, limit: number): GroupReason[] {
  const at = row * FEATURE_GROUP_COUNT;
  const phi = explanation.contributions.subarray(at, at + FEATURE_GROUP_COUNT);
  const distance = phi.reduce((sum, v) => sum + v, 0);
  if (!(distance > 0) || limit <= 0) return [];
  const order = FEATURE_GROUPS.map((_, k) => k).sort((a, b) => phi[b]! - phi[a]! || a - b);
  return order
    .filter((k, rank) => phi[k]! > 0 && (rank === 0 || phi[k]! >= MATERIAL_SHARE * distance))
    .slice(0, limit)
    .map((k) => ({ group: FEATURE_GROUPS[k]!, contribution: phi[k]! }));
}

/**
 * The features of a group to show an analyst: those furthest from the training mean as the model saw them
 * (largest |standardised value|), at most `count`, skipping those at the mean. Only what to show — the
 * attribution is the group's.
 */
export function salientFeatures(group: FeatureGroup, explanation: ModelExplanation, row: number, count = 2): number[] {
  const at = row * FEATURE_COUNT;
  const z = (j: number): number => Math.abs(explanation.standardised[at + j]!);
  return group.features
    .filter((j) => z(j) > 1e-6)
    .sort((a, b) => z(b) - z(a) || a - b)
    .slice(0, count);
}
