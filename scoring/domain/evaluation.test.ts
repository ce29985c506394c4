import { averagePrecision, rocAuc } from './evaluation.js';

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
