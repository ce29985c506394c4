import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TfjsModelScorer, initTfBackend, saveArtefact } from '../../scoring/adapters/tfjs-model.js';
import { FEATURE_COUNT, FEATURE_NAMES } from '../../scoring/domain/feature-names.js';
import { FeatureEngine } from '../../scoring/domain/features.js';
import { type ModelMetadata, defaultTransforms, normalise, unweight } from '../../scoring/domain/model.js';
import { fitModelNormalisation } from './normalisation.js';
import { SyntheticTraffic } from './synthetic.js';
import {
  type ClassifierConfig,
  buildClassifier,
  describeClassifier,
  featureKnots,
  fitClassifier,
  predictRaw,
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
  const n = 2_000;
  const features = new Float32Array(n * FEATURE_COUNT);
  const labels = new Float32Array(n);
  let dir: string;
  let expected: Float32Array;
  let scorer: TfjsModelScorer;
  let fixedBefore: Float32Array;
  let fixedAfter: Float32Array;

  beforeAll(async () => {
    await initTfBackend();
    const engine = new FeatureEngine();
    const traffic = new SyntheticTraffic({
      seed: 11,
      startTimeMs: Date.UTC(2024, 0, 1),
      customers: 80,
      terminals: 40,
      fraudScale: 20,
      activity: [{ share: 1, minPerDay: 2, maxPerDay: 10 }],
    });
    traffic.take(n).forEach(({ transaction, fraud }, i) => {
      engine.observeInto(transaction, features, i * FEATURE_COUNT);
      labels[i] = fraud ? 1 : 0;
    });
    const norm = fitModelNormalisation(features, n, config.identityFeatures);
    const x = normalise(norm, features, n);
    const model = buildClassifier(config, featureKnots(config, x, n));
    fixedBefore = Float32Array.from(model.layers[0]!.getWeights()[0]!.dataSync());
    await fitClassifier(model, x, labels, n, config);
    fixedAfter = Float32Array.from(model.layers[0]!.getWeights()[0]!.dataSync());
    expected = predictRaw(model, x, n).map((q) => unweight(q, config.positiveClassWeight));
    dir = mkdtempSync(join(tmpdir(), 'vigil-knots-'));
    await saveArtefact(
      model,
      join(dir, 'artifact'),
      {
        createdAt: new Date(0).toISOString(),
        featureNames: FEATURE_NAMES,
        normalisation: norm,
        positiveClassWeight: config.positiveClassWeight,
        architecture: describeClassifier(config),
        training: {},
        metrics: {},
      },
      'vigil-ffnn-test',
    );
    model.dispose();
    scorer = await TfjsModelScorer.load(join(dir, 'artifact'));
  }, 60_000);

  afterAll(() => {
    scorer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('puts the amount on its own scale and one ramp per distinct knot in a fixed first layer', () => {
    expect(scorer.metadata.normalisation.transforms[FEATURE_NAMES.indexOf('amount')]).toBe('identity');
    expect(defaultTransforms()[FEATURE_NAMES.indexOf('amount')]).toBe('log1p');
    expect(fixedBefore).toHaveLength(FEATURE_COUNT * (2 * FEATURE_COUNT + 3));
    // Not trained: the encoding is the same before and after fitting.
    expect(Array.from(fixedAfter)).toEqual(Array.from(fixedBefore));
    expect(describeClassifier(config)).toBe(
      'dense 62 → fixed ±x and knot ramps (amount at 3 quantiles) → 16 relu → 8 relu → 1 sigmoid (L2 0.0001, Adam 0.002, binary cross-entropy)',
    );
  });

  test('scores every row as the training side predicted it', () => {
    const live = scorer.score(features, n);
    let largest = 0;
    for (let i = 0; i < n; i++) largest = Math.max(largest, Math.abs(live[i]! - expected[i]!));
    expect(largest).toBeLessThan(1e-5);
    // Not vacuous: the scores spread.
    expect(new Set(Array.from(live, (p) => p.toFixed(3))).size).toBeGreaterThan(20);
  });

  test('the same weights with the build-default log1p amount score differently (control: the transform is carried)', async () => {
    const path = join(dir, 'artifact', 'metadata.json');
    const metadata = JSON.parse(readFileSync(path, 'utf8')) as ModelMetadata;
    const planted = join(dir, 'planted');
    saveArtefactCopy(join(dir, 'artifact'), planted, {
      ...metadata,
      normalisation: fitModelNormalisation(features, n),
    });
    const wrong = await TfjsModelScorer.load(planted);
    try {
      const live = wrong.score(features, n);
      let largest = 0;
      for (let i = 0; i < n; i++) largest = Math.max(largest, Math.abs(live[i]! - expected[i]!));
      expect(largest).toBeGreaterThan(1e-3);
    } finally {
      wrong.close();
    }
  });

  test('explains through the knot layer: group contributions sum to the score minus the baseline', () => {
    const rows = 5;
    const explanation = scorer.explain(features.subarray(0, rows * FEATURE_COUNT), rows);
    const scores = scorer.score(features.subarray(0, rows * FEATURE_COUNT), rows);
    const groups = explanation.contributions.length / rows;
    for (let r = 0; r < rows; r++) {
      const phi = explanation.contributions.subarray(r * groups, (r + 1) * groups);
      expect(phi.reduce((a, b) => a + b, 0)).toBeCloseTo(scores[r]! - explanation.baselineScore, 4);
    }
  });
});

/** A copy of an artefact directory with other metadata. */
function saveArtefactCopy(from: string, to: string, metadata: ModelMetadata): void {
  mkdirSync(to, { recursive: true });
  for (const file of ['model.json', 'weights.bin']) writeFileSync(join(to, file), readFileSync(join(from, file)));
  writeFileSync(join(to, 'metadata.json'), JSON.stringify(metadata));
}
