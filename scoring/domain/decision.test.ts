import { type AmountCurrencies, FEATURE_COUNT, fi } from './feature-names.js';
import { decide, modelReasons, rankReasons } from './decision.js';
import { FEATURE_GROUP_COUNT, FEATURE_GROUPS } from './explanation.js';
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
  row[fi('card_sum_1h')] = 120;
  row[fi('amount')] = 412.5;
  const standardised = new Float32Array(FEATURE_COUNT);
  standardised[fi('card_count_1h')] = 4.2;
  standardised[fi('card_sum_1h')] = 1.1;
  standardised[fi('card_count_24h')] = 0.3;
  standardised[fi('amount')] = 2.5;
  const group = (code: string): number => FEATURE_GROUPS.findIndex((g) => g.code === code);
  const contributions = new Float32Array(FEATURE_GROUP_COUNT);
  // Score 0.62 over a baseline of 0.02: a distance of 0.60, so the materiality bar is 0.06.
  contributions[group('CARD_ACTIVITY')] = 0.4;
  contributions[group('AMOUNT')] = 0.22;
  contributions[group('TIME')] = 0.05; // raised the score, but by less than 10 % of the distance: not material
  contributions[group('TERMINAL_ACTIVITY')] = -0.07; // lowered the score: never a reason
  const explanation = { baselineScore: 0.02, contributions, standardised };
  const eur: AmountCurrencies = { reporting: 'EUR', unconverted: null };

  test('model reasons: groups that materially raised the score, strongest first, with their most unusual values', () => {
    const reasons = modelReasons(row, explanation, 0, eur);
    expect(reasons.map((r) => [r.code, r.source, r.description])).toEqual([
      [
        'M_CARD_ACTIVITY',
        'MODEL',
        'recent activity on the card: transactions on this card in the last hour = 9; amount spent on this card in the last hour = 120.00 EUR (raised the model score by 0.4 of 0.62; an average transaction scores 0.02)',
      ],
      [
        'M_AMOUNT',
        'MODEL',
        'the amount, also against the customer’s usual amounts: amount in EUR (of the debit, settlement amount when present) = 412.50 EUR (raised the model score by 0.22 of 0.62; an average transaction scores 0.02)',
      ],
    ]);
    expect(reasons.map((r) => r.weight)).toEqual([Math.fround(0.4), Math.fround(0.22)]);
  });

  test('an amount is named in its currency, a reporting currency without decimals shown without them', () => {
    const jpy = modelReasons(row, explanation, 0, { reporting: 'JPY', unconverted: null }).map((r) => r.description);
    expect(jpy.map((d) => d.slice(d.indexOf(':') + 2, d.indexOf(' (raised')))).toEqual([
      'transactions on this card in the last hour = 9; amount spent on this card in the last hour = 120 JPY',
      'amount in JPY (of the debit, settlement amount when present) = 413 JPY',
    ]);
    // Negative control: the former text, a bare 120.00 in no currency, is not what is shown.
    expect(jpy.join(' ')).not.toContain('120.00');
  });

  test('an amount that had no rate is labelled and shown in its own currency, the windows in the reporting one', () => {
    const kes = modelReasons(row, explanation, 0, { reporting: 'EUR', unconverted: 'KES' }).map((r) => r.description);
    expect(kes.map((d) => d.slice(d.indexOf(':') + 2, d.indexOf(' (raised')))).toEqual([
      'transactions on this card in the last hour = 9; amount spent on this card in the last hour = 120.00 EUR (counting KES amounts unconverted: no KES rate)',
      'amount in KES (of the debit, settlement amount when present) = 412.50 KES (no KES rate: not converted)',
    ]);
  });

  test('materiality is relative to the distance from the baseline; the strongest group is always kept', () => {
    // On a low score every group is small in absolute terms; what counts is its share of score − baseline.
    const low = new Float32Array(FEATURE_GROUP_COUNT);
    low[group('TIME')] = 0.008;
    low[group('AMOUNT')] = 0.0005; // 5 % of the 0.0085 distance
    const reasons = modelReasons(row, { ...explanation, contributions: low }, 0, eur);
    expect(reasons.map((r) => r.code)).toEqual(['M_TIME']);
    expect(reasons[0]!.description).toBe(
      'the time of day and week (raised the model score by 0.008 of 0.029; an average transaction scores 0.02)',
    );
    // At or below the baseline nothing about the transaction raised the score: no model reason at all.
    const below = new Float32Array(FEATURE_GROUP_COUNT);
    below[group('TIME')] = 0.01;
    below[group('AMOUNT')] = -0.015;
    expect(modelReasons(row, { ...explanation, contributions: below }, 0, eur)).toEqual([]);
    // Control: the same values above the baseline do give a reason.
    below[group('AMOUNT')] = -0.005;
    expect(modelReasons(row, { ...explanation, contributions: below }, 0, eur).map((r) => r.code)).toEqual(['M_TIME']);
  });

  test('rule and model reasons merge strongest first; rules win ties', () => {
    const ranked = rankReasons(
      [rule('R_ADD', 'ADD_RISK', 0.2), rule('R_DECLINE', 'DECLINE', 1), rule('R_TIE', 'REVIEW', Math.fround(0.4))],
      modelReasons(row, explanation, 0, eur),
    );
    expect(ranked.map((r) => r.code)).toEqual(['R_DECLINE', 'R_TIE', 'M_CARD_ACTIVITY', 'M_AMOUNT', 'R_ADD']);
  });
});
