import type * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TfjsModelScorer, initTfBackend, saveArtefact } from '../../scoring/adapters/tfjs-model.js';
import { FEATURE_COUNT, FEATURE_NAMES } from '../../scoring/domain/feature-names.js';
import { FeatureEngine } from '../../scoring/domain/features.js';
import { type Normalisation, normalise, unweight } from '../../scoring/domain/model.js';
import { fitModelNormalisation } from '../training/normalisation.js';
import { SyntheticTraffic } from '../training/synthetic.js';
import { type ClassifierConfig, describeClassifier, predictLogits, predictRaw } from '../training/tfjs-training.js';
import { type BlendedTreeConfig, blendedForArtefact, trainTrees } from '../training/gbdt.js';
import { type BlendedTrees, treeLogits } from '../../scoring/domain/trees.js';

/**
 * A model trained the way model-lab trains, saved as an artefact and loaded by scoring's own TfjsModelScorer: the
 * rows, what the training side predicted for them, and the live scorer, for tests that the two agree.
 */
export interface LiveScorerFixture {
  readonly n: number;
  /** Raw FeatureEngine rows (n × FEATURE_COUNT), as the live scorer receives them. */
  readonly features: Float32Array;
  readonly norm: Normalisation;
  /** The training side's probabilities for every row (with trees: of the blend, from the trees' own binned rows). */
  readonly expected: Float32Array;
  /** The training side's probability for the average training row (every standardised feature 0). */
  readonly expectedBaseline: number;
  /** The trees saved beside the network, when `trees` was given. */
  readonly trees: BlendedTrees | undefined;
  readonly scorer: TfjsModelScorer;
  /** Where the artefact lies (`<dir>/artifact`). */
  readonly dir: string;
  close(): void;
}

/**
 * `n` transactions of seeded synthetic traffic through a FeatureEngine; `train` fits a model on their normalised rows,
 * which is then saved and loaded as scoring loads an artefact. With `trees`, gradient-boosted trees are fitted on the
 * same rows and saved beside the network, blended as `npm run train` blends them.
 */
export async function trainedInLiveScorer(
  config: ClassifierConfig,
  traffic: { readonly seed: number; readonly n: number; readonly customers: number; readonly terminals: number },
  train: (x: Float32Array, labels: Float32Array, n: number) => Promise<tf.LayersModel>,
  trees?: BlendedTreeConfig,
): Promise<LiveScorerFixture> {
  await initTfBackend();
  const { n } = traffic;
  const features = new Float32Array(n * FEATURE_COUNT);
  const labels = new Float32Array(n);
  const engine = new FeatureEngine();
  new SyntheticTraffic({
    seed: traffic.seed,
    startTimeMs: Date.UTC(2024, 0, 1),
    customers: traffic.customers,
    terminals: traffic.terminals,
    fraudScale: 20,
    activity: [{ share: 1, minPerDay: 2, maxPerDay: 10 }],
  })
    .take(n)
    .forEach(({ transaction, fraud }, i) => {
      engine.observeInto(transaction, features, i * FEATURE_COUNT);
      labels[i] = fraud ? 1 : 0;
    });
  const norm = fitModelNormalisation(features, n, config.identityFeatures);
  const x = normalise(norm, features, n);
  const model = await train(x, labels, n);
  const dir = mkdtempSync(join(tmpdir(), 'vigil-live-scorer-'));
  try {
    let expected = predictRaw(model, x, n).map((q) => unweight(q, config.positiveClassWeight));
    const average = new Float32Array(FEATURE_COUNT);
    let expectedBaseline = unweight(predictRaw(model, average, 1)[0]!, config.positiveClassWeight);
    let blended: BlendedTrees | undefined;
    if (trees !== undefined) {
      const trained = trainTrees(trees, x, labels, n, config.seed);
      blended = blendedForArtefact(trained.ensemble, trees.blendWeight, config.positiveClassWeight);
      // The training side's blend: the network's log-odds and the trees' from the binned rows they were fitted on.
      const shift = Math.log(config.positiveClassWeight);
      const w = trees.blendWeight;
      expected = predictLogits(model, x, n).map((z, i) => sigmoid((1 - w) * (z - shift) + w * trained.logits[i]!));
      expectedBaseline = sigmoid(
        (1 - w) * (predictLogits(model, average, 1)[0]! - shift) + w * treeLogits(trained.ensemble, average, 1)[0]!,
      );
    }
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
      blended,
    );
    const scorer = await TfjsModelScorer.load(join(dir, 'artifact'));
    return {
      n,
      features,
      norm,
      expected,
      expectedBaseline,
      trees: blended,
      scorer,
      dir,
      close: () => {
        scorer.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  } finally {
    model.dispose();
  }
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** The largest absolute difference between two equally long score arrays. */
export function largestDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let largest = 0;
  for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs(a[i]! - b[i]!));
  return largest;
}

/** For each of the first `rows` rows: its group contributions and score − baseline, which must agree. */
export function contributionSums(
  fixture: LiveScorerFixture,
  rows: number,
): Array<{ sum: number; scoreOverBaseline: number }> {
  const slice = fixture.features.subarray(0, rows * FEATURE_COUNT);
  const explanation = fixture.scorer.explain(slice, rows);
  const scores = fixture.scorer.score(slice, rows);
  const groups = explanation.contributions.length / rows;
  return Array.from({ length: rows }, (_, r) => ({
    sum: explanation.contributions.subarray(r * groups, (r + 1) * groups).reduce((a, b) => a + b, 0),
    scoreOverBaseline: scores[r]! - explanation.baselineScore,
  }));
}
