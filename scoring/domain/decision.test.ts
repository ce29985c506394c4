import { FEATURE_COUNT, fi } from './feature-names.js';
import { decide, modelReasons, rankReasons } from './decision.js';
import type { FiredRule } from './rules.js';

const thresholds = { review: 0.5, decline: 0.9 };
const rule = (code: string, action: FiredRule['action'], risk: number): FiredRule => ({
  code,
  action,
  risk,
  description: code,
});

describe('decide', () => {
  test.each([
    [0.1, [], 'APPROVE'],
    [0.5, [], 'REVIEW'],
    [0.899, [], 'REVIEW'],
    [0.9, [], 'DECLINE'],
    [0.3, [rule('R_A', 'ADD_RISK', 0.2)], 'REVIEW'],
    [0.8, [rule('R_A', 'ADD_RISK', 0.3)], 'DECLINE'],
    [0.01, [rule('R_R', 'REVIEW', 0.5)], 'REVIEW'],
    [0.01, [rule('R_D', 'DECLINE', 1)], 'DECLINE'],
    [0.95, [rule('R_R', 'REVIEW', 0.5)], 'DECLINE'],
  ] as const)('model score %p with rules %j → %s', (score, fired, expected) => {
    expect(decide(score, fired, thresholds).decision).toBe(expected);
  });

  test('risk is capped at 1', () => {
    expect(decide(0.9, [rule('R_A', 'ADD_RISK', 0.5)], thresholds).risk).toBe(1);
  });
});

describe('reasons', () => {
  const row = new Float32Array(FEATURE_COUNT);
  row[fi('card_count_1h')] = 9;
  row[fi('amount')] = 412.5;
  const contributions = new Float32Array(FEATURE_COUNT);
  contributions[fi('amount')] = 0.12;
  contributions[fi('card_count_1h')] = 0.31;
  contributions[fi('is_night')] = 0.001; // noise: dropped
  contributions[fi('cust_count_1h')] = -0.2; // pushed the score down: not a reason

  test('model reasons: features that raised the score, strongest first, with their values', () => {
    const reasons = modelReasons(row, contributions, 0);
    expect(reasons.map((r) => [r.code, r.source, r.description])).toEqual([
      ['M_CARD_COUNT_1H', 'MODEL', 'transactions on this card in the last hour = 9 (raised the model score by 0.31)'],
      [
        'M_AMOUNT',
        'MODEL',
        'amount (major units, settlement currency when present) = 412.50 (raised the model score by 0.12)',
      ],
    ]);
    expect(reasons[0]!.weight).toBeCloseTo(0.31, 5);
  });

  test('rule and model reasons merge strongest first; rules win ties', () => {
    const ranked = rankReasons(
      [rule('R_ADD', 'ADD_RISK', 0.2), rule('R_DECLINE', 'DECLINE', 1), rule('R_TIE', 'REVIEW', 0.31)],
      modelReasons(row, contributions, 0),
    );
    expect(ranked.map((r) => r.code)).toEqual(
      ['R_DECLINE', 'M_CARD_COUNT_1H', 'R_TIE', 'R_ADD', 'M_AMOUNT'].map((c) => c),
    );
  });
});
