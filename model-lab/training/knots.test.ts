import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TfjsModelScorer } from '../../scoring/adapters/tfjs-model.js';
import { FEATURE_COUNT, FEATURE_NAMES } from '../../scoring/domain/feature-names.js';
import { type ModelMetadata, defaultTransforms } from '../../scoring/domain/model.js';
import {
  type LiveScorerFixture,
  contributionSums,
  largestDifference,
  trainedInLiveScorer,
} from '../testing/live-scorer.js';
import { fitModelNormalisation } from './normalisation.js';
import {
  type ClassifierConfig,
  buildClassifier,
  describeClassifier,
  featureKnots,
  fitClassifier,
} from './tfjs-training.js';

/**
 * The evaluation's model (amount on its own scale, a fixed knot layer on it) must be what the live scorer runs: saved
 * as an artefact and loaded by scoring's TfjsModelScorer, it scores and explains every row exactly as the training
 * side predicted it.
 */
const config: ClassifierConfig = {
  seed: 7,
  hiddenUnits: [16, 8],
  l2: 1e-4,
  epochs: 2,
  batchSize: 128,
  learningRate: 0.002,
  positiveClassWeight: 2,
  identityFeatures: ['amount'],
  knots: { amount: [0.5, 0.9, 0.99] },
};

describe('a knotted classifier in the live scorer', () => {
  let fixture: LiveScorerFixture;
  let fixedBefore: Float32Array;
  let fixedAfter: Float32Array;

  beforeAll(async () => {
    fixture = await trainedInLiveScorer(
      config,
      { seed: 11, n: 2_000, customers: 80, terminals: 40 },
      async (x, labels, n) => {
        const model = buildClassifier(config, featureKnots(config, x, n));
        fixedBefore = Float32Array.from(model.layers[0]!.getWeights()[0]!.dataSync());
        await fitClassifier(model, x, labels, n, config);
        fixedAfter = Float32Array.from(model.layers[0]!.getWeights()[0]!.dataSync());
        return model;
      },
    );
  }, 60_000);

  afterAll(() => fixture.close());

  test('puts the amount on its own scale and one ramp per distinct knot in a fixed first layer', () => {
    expect(fixture.scorer.metadata.normalisation.transforms[FEATURE_NAMES.indexOf('amount')]).toBe('identity');
    expect(defaultTransforms()[FEATURE_NAMES.indexOf('amount')]).toBe('log1p');
    expect(fixedBefore).toHaveLength(FEATURE_COUNT * (2 * FEATURE_COUNT + 3));
    // Not trained: the encoding is the same before and after fitting.
    expect(Array.from(fixedAfter)).toEqual(Array.from(fixedBefore));
    expect(describeClassifier(config)).toBe(
      'dense 62 → fixed ±x and knot ramps (amount at 3 quantiles) → 16 relu → 8 relu → 1 sigmoid (L2 0.0001, Adam 0.002, binary cross-entropy)',
    );
  });

  test('scores every row as the training side predicted it', () => {
    const live = fixture.scorer.score(fixture.features, fixture.n);
    expect(largestDifference(live, fixture.expected)).toBeLessThan(1e-5);
    // Not vacuous: the scores spread.
    expect(new Set(Array.from(live, (p) => p.toFixed(3))).size).toBeGreaterThan(20);
  });

  test('the same weights with the build-default log1p amount score differently (control: the transform is carried)', async () => {
    const { dir, features, n } = fixture;
    const path = join(dir, 'artifact', 'metadata.json');
    const metadata = JSON.parse(readFileSync(path, 'utf8')) as ModelMetadata;
    const planted = join(dir, 'planted');
    saveArtefactCopy(join(dir, 'artifact'), planted, {
      ...metadata,
      normalisation: fitModelNormalisation(features, n),
    });
    const wrong = await TfjsModelScorer.load(planted);
    try {
      expect(largestDifference(wrong.score(features, n), fixture.expected)).toBeGreaterThan(1e-3);
    } finally {
      wrong.close();
    }
  });

  test('explains through the knot layer: group contributions sum to the score minus the baseline', () => {
    for (const { sum, scoreOverBaseline } of contributionSums(fixture, 5))
      expect(sum).toBeCloseTo(scoreOverBaseline, 4);
  });
});

/** A copy of an artefact directory with other metadata. */
function saveArtefactCopy(from: string, to: string, metadata: ModelMetadata): void {
  mkdirSync(to, { recursive: true });
  for (const file of ['model.json', 'weights.bin']) writeFileSync(join(to, file), readFileSync(join(from, file)));
  writeFileSync(join(to, 'metadata.json'), JSON.stringify(metadata));
}
