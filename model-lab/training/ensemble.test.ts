import * as tf from '@tensorflow/tfjs';
import { initTfBackend } from '../../scoring/adapters/tfjs-model.js';
import { FEATURE_COUNT } from '../../scoring/domain/feature-names.js';
import {
  type LiveScorerFixture,
  contributionSums,
  largestDifference,
  trainedInLiveScorer,
} from '../testing/live-scorer.js';
import { seededRandom } from './synthetic.js';
import {
  type ClassifierConfig,
  type Knot,
  buildClassifier,
  describeClassifier,
  featureKnots,
  mergeMembers,
  predictRaw,
  trainClassifier,
} from './tfjs-training.js';

/**
 * An ensemble ships as one network: `mergeMembers` must give exactly sigmoid(mean of the members' logits), and a
 * model `trainClassifier` merged must score in the live scorer as the training side predicted it.
 */
const base: ClassifierConfig = {
  seed: 3,
  hiddenUnits: [8, 4],
  l2: 1e-4,
  epochs: 1,
  batchSize: 128,
  learningRate: 0.002,
  positiveClassWeight: 1,
  identityFeatures: ['amount'],
  knots: { amount: [0.5, 0.9] },
};

const logit = (p: number): number => Math.log(p / (1 - p));
const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Members of `config` with seeded random weights and biases everywhere (fresh initialisers leave biases at 0). */
function randomMembers(config: ClassifierConfig, knots: readonly Knot[], count: number): tf.Sequential[] {
  const random = seededRandom(config.seed);
  return Array.from({ length: count }, (_, m) => {
    const member = buildClassifier({ ...config, seed: config.seed + m }, knots);
    member.layers.forEach((layer, i) => {
      if (knots.length > 0 && i === 0) return; // the fixed layer is shared and stays as built
      const values = layer.getWeights().map((w) =>
        tf.tensor(
          Float32Array.from(w.dataSync(), () => random() - 0.5),
          w.shape,
        ),
      );
      layer.setWeights(values);
      tf.dispose(values);
    });
    return member;
  });
}

describe('mergeMembers', () => {
  const n = 200;
  const random = seededRandom(99);
  const x = Float32Array.from({ length: n * FEATURE_COUNT }, () => 3 * (random() - 0.5));

  beforeAll(async () => {
    await initTfBackend();
  });

  test.each([
    ['two hidden layers and knots', base],
    ['one hidden layer, no knots', { ...base, hiddenUnits: [6], knots: {} }],
    ['no hidden layer (a logistic regression)', { ...base, hiddenUnits: [] }],
  ])('%s: the merged network is sigmoid(mean of the members’ logits)', (_, config) => {
    const knots = featureKnots(config, x, n);
    const members = randomMembers(config, knots, 3);
    const merged = mergeMembers(config, knots, members);
    try {
      const perMember = members.map((member) => predictRaw(member, x, n));
      const mergedScores = predictRaw(merged, x, n);
      const logitMean = (from: readonly Float32Array[], i: number): number =>
        sigmoid(from.reduce((sum, scores) => sum + logit(scores[i]!), 0) / from.length);
      let largest = 0;
      let largestIfOneMissing = 0;
      let largestAgainstProbabilityMean = 0;
      for (let i = 0; i < n; i++) {
        largest = Math.max(largest, Math.abs(mergedScores[i]! - logitMean(perMember, i)));
        largestIfOneMissing = Math.max(
          largestIfOneMissing,
          Math.abs(mergedScores[i]! - logitMean(perMember.slice(1), i)),
        );
        const probabilityMean = perMember.reduce((sum, scores) => sum + scores[i]!, 0) / perMember.length;
        largestAgainstProbabilityMean = Math.max(
          largestAgainstProbabilityMean,
          Math.abs(mergedScores[i]! - probabilityMean),
        );
      }
      expect(largest).toBeLessThan(1e-5);
      // Controls: the comparison tells a merge that lost a member, or averaged probabilities, from the right one.
      expect(largestIfOneMissing).toBeGreaterThan(1e-3);
      expect(largestAgainstProbabilityMean).toBeGreaterThan(1e-3);
      const hidden = config.hiddenUnits.map((units) => units * 3);
      expect(merged.layers.slice(knots.length > 0 ? 1 : 0, -1).map((layer) => layer.getWeights()[1]!.shape[0])).toEqual(
        hidden,
      );
    } finally {
      for (const model of [...members, merged]) model.dispose();
    }
  });
});

describe('a merged ensemble in the live scorer', () => {
  const config: ClassifierConfig = { ...base, members: 3 };
  let fixture: LiveScorerFixture;
  let epochsSeen = 0;

  beforeAll(async () => {
    fixture = await trainedInLiveScorer(
      config,
      { seed: 5, n: 1_500, customers: 60, terminals: 30 },
      async (x, labels, n) => {
        const { model, losses } = await trainClassifier(config, x, labels, n, () => epochsSeen++);
        expect(losses).toHaveLength(3);
        return model;
      },
    );
  }, 120_000);

  afterAll(() => fixture.close());

  test('trains every member for every epoch and describes the merge', () => {
    expect(epochsSeen).toBe(3);
    expect(describeClassifier(config)).toBe(
      'dense 62 → fixed ±x and knot ramps (amount at 2 quantiles) → 24 relu → 12 relu → 1 sigmoid (L2 0.0001, Adam 0.002, binary cross-entropy; 3 networks of 8-4 trained with their own seeds, merged block-diagonally so the output is the mean of their logits)',
    );
  });

  test('scores every row as the training side predicted it', () => {
    const live = fixture.scorer.score(fixture.features, fixture.n);
    expect(largestDifference(live, fixture.expected)).toBeLessThan(1e-5);
    expect(new Set(Array.from(live, (p) => p.toFixed(3))).size).toBeGreaterThan(20);
  });

  test('explains it: group contributions sum to the score minus the baseline', () => {
    for (const { sum, scoreOverBaseline } of contributionSums(fixture, 4))
      expect(sum).toBeCloseTo(scoreOverBaseline, 4);
  });

  test('refuses a member count that is not a whole number ≥ 1', async () => {
    const labels = new Float32Array(fixture.n);
    await expect(trainClassifier({ ...config, members: 0 }, fixture.features, labels, fixture.n)).rejects.toThrow(
      'members must be a whole number ≥ 1, got 0',
    );
  });
});
