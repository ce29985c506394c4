import { FEATURE_COUNT, FEATURE_NAMES, fi } from './feature-names.js';
import {
  COALITION_COUNT,
  FEATURE_GROUP_COUNT,
  FEATURE_GROUPS,
  groupShapleyValues,
  writeCoalitionRows,
} from './explanation.js';

const group = (code: string): number => FEATURE_GROUPS.findIndex((g) => g.code === code);

/** Scores every coalition of a row with `model` (a function of the standardised row), as the adapter does. */
function shapley(model: (x: Float32Array) => number, row: Float32Array): Float32Array {
  const rows = new Float32Array(COALITION_COUNT * FEATURE_COUNT);
  writeCoalitionRows(row, 0, rows, 0);
  const values = Float32Array.from({ length: COALITION_COUNT }, (_, m) =>
    model(rows.subarray(m * FEATURE_COUNT, (m + 1) * FEATURE_COUNT)),
  );
  const out = new Float32Array(FEATURE_GROUP_COUNT);
  groupShapleyValues(values, 0, out, 0);
  return out;
}

describe('Shapley values over feature groups', () => {
  test('every feature is in exactly one group', () => {
    const names = FEATURE_GROUPS.flatMap((g) => g.features.map((j) => FEATURE_NAMES[j]));
    expect(names).toHaveLength(FEATURE_COUNT);
    expect(new Set(names).size).toBe(FEATURE_COUNT);
    expect(COALITION_COUNT).toBe(256);
  });

  test('coalition rows keep the groups in the mask and set the others to the baseline 0', () => {
    const row = Float32Array.from({ length: FEATURE_COUNT }, (_, j) => j + 1);
    const rows = new Float32Array(COALITION_COUNT * FEATURE_COUNT);
    writeCoalitionRows(row, 0, rows, 0);
    expect(rows.subarray(0, FEATURE_COUNT).every((v) => v === 0)).toBe(true);
    expect(Array.from(rows.subarray((COALITION_COUNT - 1) * FEATURE_COUNT))).toEqual(Array.from(row));
    const m = 1 << group('TIME');
    const timeOnly = rows.subarray(m * FEATURE_COUNT, (m + 1) * FEATURE_COUNT);
    expect([timeOnly[fi('is_night')], timeOnly[fi('is_weekend')], timeOnly[fi('amount')]]).toEqual([
      fi('is_night') + 1,
      fi('is_weekend') + 1,
      0,
    ]);
  });

  test('an additive model gets each group its own term; an interaction is split evenly; they sum to f(x) − f(0)', () => {
    const row = new Float32Array(FEATURE_COUNT);
    row[fi('amount')] = 2;
    row[fi('is_night')] = 1;
    row[fi('term_risk_7d_delay7')] = 3;
    const additive = (x: Float32Array) => 0.1 * x[fi('amount')]! + 0.05 * x[fi('is_night')]!;
    const phi = shapley(additive, row);
    expect(phi[group('AMOUNT')]).toBeCloseTo(0.2, 6);
    expect(phi[group('TIME')]).toBeCloseTo(0.05, 6);
    expect(phi[group('TERMINAL_FRAUD_HISTORY')]).toBe(0); // a null player gets nothing
    // Night and terminal risk only matter together: the credit is shared equally.
    const interaction = (x: Float32Array) => 0.1 * x[fi('is_night')]! * x[fi('term_risk_7d_delay7')]!;
    const shared = shapley(interaction, row);
    expect(shared[group('TIME')]).toBeCloseTo(0.15, 6);
    expect(shared[group('TERMINAL_FRAUD_HISTORY')]).toBeCloseTo(0.15, 6);
    const sum = shared.reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(interaction(row), 6);
    // Negative control: one-at-a-time occlusion gives each of the two the whole 0.3, which overcounts it.
    const occluded = Float32Array.from(row);
    occluded[fi('is_night')] = 0;
    expect(interaction(row) - interaction(occluded)).toBeCloseTo(0.3, 6);
  });
});
