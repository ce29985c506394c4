import { fileURLToPath } from 'node:url';
import { DelayedLabelReplay } from '../../model-lab/training/replay.js';
import { TrafficSimulator } from '../../simulator/generator.js';
import { FEATURE_GROUP_COUNT, FEATURE_GROUPS, type ModelExplanation } from '../domain/explanation.js';
import { FEATURE_COUNT } from '../domain/feature-names.js';
import { FeatureEngine } from '../domain/features.js';
import { TfjsModelScorer } from './tfjs-model.js';

const artefact = fileURLToPath(new URL('../model/artifact', import.meta.url));
const DAY_MS = 86_400_000;
const REVIEW_THRESHOLD = 0.5;

/**
 * The faithfulness check the reasons must pass: setting the top reason's feature group to the baseline (the
 * training mean) lowers the score more than setting any other group to it. Drops are compared in log-odds,
 * which order exactly as the scores do but do not round to 0 where a score is within float precision of 1.
 */
describe('model reasons against the shipped model on simulated traffic', () => {
  let scorer: TfjsModelScorer;
  let alertedRows: Float32Array;
  let alertedScores: Float32Array;
  let explanation: ModelExplanation;
  let n: number;
  /** n × FEATURE_GROUP_COUNT: log-odds(row) − log-odds(row with the group at the baseline). */
  let drops: Float32Array;

  beforeAll(async () => {
    scorer = await TfjsModelScorer.load(artefact);
    const startTimeMs = Date.UTC(2024, 0, 1);
    const simulator = new TrafficSimulator({ seed: 15, startTimeMs, customers: 400, terminals: 400, fraudScale: 20 });
    const replay = new DelayedLabelReplay(new FeatureEngine());
    const sample: Float32Array[] = [];
    const scratch = new Float32Array(FEATURE_COUNT);
    // 21 days warm the windows and deliver labels 7 days late, as live; day 22's transactions are the sample.
    for (;;) {
      const { transaction, fraud } = simulator.next();
      if (transaction.eventTimeMs >= startTimeMs + 22 * DAY_MS) break;
      const sampled = transaction.eventTimeMs >= startTimeMs + 21 * DAY_MS;
      const out = sampled ? new Float32Array(FEATURE_COUNT) : scratch;
      replay.observeInto(transaction, fraud, out, 0);
      if (sampled) sample.push(out);
    }
    const all = new Float32Array(sample.length * FEATURE_COUNT);
    sample.forEach((row, i) => all.set(row, i * FEATURE_COUNT));
    const scores = scorer.score(all, sample.length);
    // What the stage explains: the transactions the model alone sends to REVIEW or DECLINE.
    const alerted = sample.flatMap((_, i) => (scores[i]! >= REVIEW_THRESHOLD ? [i] : []));
    n = alerted.length;
    expect([sample.length, n]).toEqual([811, 134]);
    alertedRows = new Float32Array(n * FEATURE_COUNT);
    alerted.forEach((i, k) => alertedRows.set(sample[i]!, k * FEATURE_COUNT));
    alertedScores = Float32Array.from(alerted, (i) => scores[i]!);
    explanation = scorer.explain(alertedRows, n);

    const { transforms, mean } = scorer.metadata.normalisation;
    const baselineRaw = mean.map((m, j) => (transforms[j] === 'log1p' ? Math.expm1(m) : m));
    const neutralised = new Float32Array(n * FEATURE_GROUP_COUNT * FEATURE_COUNT);
    for (let k = 0; k < n; k++)
      FEATURE_GROUPS.forEach((group, g) => {
        const at = (k * FEATURE_GROUP_COUNT + g) * FEATURE_COUNT;
        neutralised.set(alertedRows.subarray(k * FEATURE_COUNT, (k + 1) * FEATURE_COUNT), at);
        for (const j of group.features) neutralised[at + j] = baselineRaw[j]!;
      });
    const full = scorer.logOdds(alertedRows, n);
    const without = scorer.logOdds(neutralised, n * FEATURE_GROUP_COUNT);
    drops = Float32Array.from(without, (v, i) => full[Math.floor(i / FEATURE_GROUP_COUNT)]! - v);
  }, 120_000);
  afterAll(() => scorer.close());

  /** Groups of row k by a ranking of its contributions, strongest first. */
  const ranked = (k: number, sign: 1 | -1): number[] => {
    const phi = explanation.contributions.subarray(k * FEATURE_GROUP_COUNT, (k + 1) * FEATURE_GROUP_COUNT);
    return FEATURE_GROUPS.map((_, g) => g).sort((a, b) => sign * (phi[b]! - phi[a]!) || a - b);
  };
  /** Rows where neutralising the first-ranked group lowers the score by more than neutralising any other. */
  const topHolds = (sign: 1 | -1): number => {
    let holds = 0;
    for (let k = 0; k < n; k++) {
      const d = drops.subarray(k * FEATURE_GROUP_COUNT, (k + 1) * FEATURE_GROUP_COUNT);
      const top = ranked(k, sign)[0]!;
      if (d.every((v, g) => g === top || d[top]! > v)) holds++;
    }
    return holds;
  };

  test('every alerted row has reasons, and its contributions sum to score − baseline', () => {
    let sums = 0;
    for (let k = 0; k < n; k++) {
      const phi = explanation.contributions.subarray(k * FEATURE_GROUP_COUNT, (k + 1) * FEATURE_GROUP_COUNT);
      const total = phi.reduce((a, b) => a + b, 0);
      if (Math.abs(total - (alertedScores[k]! - explanation.baselineScore)) < 1e-4) sums++;
    }
    expect(sums).toBe(134);
    expect(explanation.baselineScore).toBeCloseTo(0.0098, 4);
  });

  test('neutralising the top reason lowers the score most: 108 of 134, and it is in the top two for 131', () => {
    expect(topHolds(1)).toBe(108);
    let inTopTwo = 0;
    for (let k = 0; k < n; k++) {
      const d = Array.from(drops.subarray(k * FEATURE_GROUP_COUNT, (k + 1) * FEATURE_GROUP_COUNT));
      const top = ranked(k, 1)[0]!;
      if (d.filter((v) => v > d[top]!).length <= 1) inTopTwo++;
    }
    expect(inTopTwo).toBe(131);
    // Negative control: a deliberately wrong attribution (the order reversed) fails the check on every row.
    expect(topHolds(-1)).toBe(0);
  });
});
