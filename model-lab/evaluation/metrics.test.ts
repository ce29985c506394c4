import { averagePrecision, cardPrecisionAtK, rocAuc } from './metrics.js';

describe('ranking metrics (values as scikit-learn computes them)', () => {
  test('ROC AUC and step-wise average precision', () => {
    const scores = [0.1, 0.4, 0.35, 0.8];
    const labels = [0, 0, 1, 1];
    expect(rocAuc(scores, labels)).toBeCloseTo(0.75);
    expect(averagePrecision(scores, labels)).toBeCloseTo(0.8333, 4);
  });

  test('ties share their rank', () => {
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBeCloseTo(0.5);
    expect(averagePrecision([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBeCloseTo(0.5);
  });
});

describe('card precision@k (ML-EVAL.md)', () => {
  test('given two days, when a card is detected on day 1, then it is dropped from day 2 and each day divides by k', () => {
    // Day 1: card 1 (fraud) scores highest, card 2 genuine, card 3 fraud but ranked third.
    // Day 2: card 1 again at the top — already detected, so it no longer takes a place.
    const scores = [0.9, 0.1, 0.8, 0.3, 0.95, 0.7, 0.2];
    const labels = [1, 0, 0, 1, 1, 0, 1];
    const cards = [1, 1, 2, 3, 1, 2, 3];
    const days = [10, 10, 10, 10, 11, 11, 11];
    const result = cardPrecisionAtK(scores, labels, cards, days, 2);
    // Day 10: card 1 max 0.9 (fraud), card 2 0.8, card 3 0.3 → top 2 = {1, 2} → 1/2.
    // Day 11: card 1 dropped; card 2 0.7, card 3 0.2 (fraud) → top 2 = {2, 3} → 1/2.
    expect(result.perDay.map((d) => d.precision)).toEqual([0.5, 0.5]);
    expect(result.mean).toBeCloseTo(0.5);
  });

  test('a day with fewer cards than k still divides by k; ties are broken by card id', () => {
    const result = cardPrecisionAtK([0.5, 0.5], [0, 1], [7, 3], [1, 1], 1);
    expect(result.perDay[0]!.precision).toBe(1); // card 3 wins the tie and had the fraud
    expect(cardPrecisionAtK([0.5], [1], [3], [1], 4).mean).toBe(0.25);
  });

  test('planted fault: evaluating each day on its own (no dropping of detected cards) gives another value', () => {
    // Day 1: card 1 is a detected fraud. Day 2: card 1 (genuine now) outranks card 2 (fraud).
    const scores = [0.9, 0.95, 0.6];
    const labels = [1, 0, 1];
    const cards = [1, 1, 2];
    const days = [1, 2, 2];
    expect(cardPrecisionAtK(scores, labels, cards, days, 1).perDay.map((d) => d.precision)).toEqual([1, 1]);
    const dayByDay = [0, 1].map(
      (d) =>
        cardPrecisionAtK(
          scores.slice(d, d === 0 ? 1 : 3),
          labels.slice(d, d === 0 ? 1 : 3),
          cards.slice(d, d === 0 ? 1 : 3),
          days.slice(d, d === 0 ? 1 : 3),
          1,
        ).mean,
    );
    expect(dayByDay).toEqual([1, 0]);
  });
});
