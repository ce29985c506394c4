import type { Decision, Reason } from '../../schemas/generated/types.js';
import { type AmountCurrencies, FEATURE_COUNT, FEATURES, featureLabel, formatFeature } from './feature-names.js';
import { FEATURE_GROUP_COUNT, type ModelExplanation, materialGroups, salientFeatures } from './explanation.js';
import type { FiredRule } from './rules.js';

/**
 * One decision per transaction from the model's probability and the rules that fired:
 * - any DECLINE rule, or risk ≥ declineThreshold → DECLINE;
 * - else any REVIEW rule, or risk ≥ reviewThreshold → REVIEW;
 * - else APPROVE;
 * where risk = model score + the ADD_RISK rules' risks, capped at 1.
 */
export interface DecisionThresholds {
  readonly review: number;
  readonly decline: number;
}

export interface DecisionOutcome {
  readonly decision: Decision;
  /** Model score plus rule risk, in [0, 1]. */
  readonly risk: number;
}

export function decide(
  modelScore: number,
  fired: readonly FiredRule[],
  thresholds: DecisionThresholds,
): DecisionOutcome {
  let risk = modelScore;
  let forced: Decision = 'APPROVE';
  for (const rule of fired) {
    if (rule.action === 'ADD_RISK') risk += rule.risk;
    else if (rule.action === 'DECLINE') forced = 'DECLINE';
    else if (forced === 'APPROVE') forced = 'REVIEW';
  }
  risk = Math.min(1, Math.max(0, risk));
  const decision: Decision =
    forced === 'DECLINE' || risk >= thresholds.decline
      ? 'DECLINE'
      : forced === 'REVIEW' || risk >= thresholds.review
        ? 'REVIEW'
        : 'APPROVE';
  return { decision, risk };
}

/** Two significant digits: a share of a probability reads as 0.31 or 0.015, never as a rounded-away 0.00. */
const formatScore = (value: number): string => String(Number(value.toPrecision(2)));

/**
 * The model's reasons for row `row` of an explanation: the feature groups that materially raised its score
 * (materialGroups: exact Shapley values over FEATURE_GROUPS against the average training transaction),
 * strongest first, at most `limit`. The code is `M_<GROUP>`; the weight is the group's Shapley value in score
 * units, so a row's model reasons never weigh more than score − baseline, and they rank against rule reasons
 * (weighted by the risk they add) on one scale. The description names the group's most unusual feature values,
 * e.g. "the terminal's confirmed fraud: … = 0.40 (raised the model score by 0.31 of 0.62; an average
 * transaction scores 0.012)"; an amount names its currency, `currencies` being the row's (features.ts,
 * amountCurrencies).
 */
export function modelReasons(
  features: Float32Array,
  explanation: ModelExplanation,
  row: number,
  currencies: AmountCurrencies,
  limit = 3,
): Reason[] {
  const at = row * FEATURE_GROUP_COUNT;
  const distance = explanation.contributions.subarray(at, at + FEATURE_GROUP_COUNT).reduce((sum, v) => sum + v, 0);
  const score = explanation.baselineScore + distance;
  return materialGroups(explanation, row, limit).map(({ group, contribution }) => {
    const shown = salientFeatures(group, explanation, row)
      .map((j) => {
        const def = FEATURES[j]!;
        const value = formatFeature(def, features[row * FEATURE_COUNT + j]!, currencies);
        return `${featureLabel(def, currencies)} = ${value}`;
      })
      .join('; ');
    return {
      code: `M_${group.code}`,
      source: 'MODEL',
      description:
        `${group.label}${shown === '' ? '' : `: ${shown}`} (raised the model score by ${formatScore(contribution)}` +
        ` of ${formatScore(score)}; an average transaction scores ${formatScore(explanation.baselineScore)})`,
      weight: contribution,
    };
  });
}

/** Rule reasons and model reasons merged, strongest first (rules before model reasons on ties), at most `limit`. */
export function rankReasons(fired: readonly FiredRule[], model: readonly Reason[], limit = 8): Reason[] {
  const rules: Reason[] = fired.map((rule) => ({
    code: rule.code,
    source: 'RULE',
    description: rule.description,
    weight: rule.risk,
  }));
  return [...rules, ...model]
    .sort((a, b) => b.weight - a.weight || (a.source === b.source ? 0 : a.source === 'RULE' ? -1 : 1))
    .slice(0, limit);
}
