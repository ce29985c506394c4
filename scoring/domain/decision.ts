import type { Decision, Reason } from '../../schemas/generated/types.js';
import { FEATURE_COUNT, FEATURES, formatFeature } from './feature-names.js';
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

/** Model reasons below this push on the score are noise, not explanations. */
const MIN_MODEL_PUSH = 0.005;

/**
 * The model's top reasons for one row: features whose occlusion lowered the score most, strongest first, with
 * the feature's value in the description (e.g. "transactions on this card in the last hour = 9 (+0.31)").
 */
export function modelReasons(features: Float32Array, contributions: Float32Array, offset: number, limit = 3): Reason[] {
  const order: number[] = [];
  for (let j = 0; j < FEATURE_COUNT; j++) if (contributions[offset + j]! > MIN_MODEL_PUSH) order.push(j);
  order.sort((a, b) => contributions[offset + b]! - contributions[offset + a]! || a - b);
  return order.slice(0, limit).map((j) => {
    const def = FEATURES[j]!;
    const push = contributions[offset + j]!;
    return {
      code: `M_${def.name.toUpperCase()}`,
      source: 'MODEL',
      description: `${def.label} = ${formatFeature(def, features[offset + j]!)} (raised the model score by ${push.toFixed(2)})`,
      weight: push,
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
