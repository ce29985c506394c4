import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TfjsModelScorer } from '../../scoring/adapters/tfjs-model.js';
import {
  type LiveScorerFixture,
  contributionSums,
  largestDifference,
  trainedInLiveScorer,
} from '../testing/live-scorer.js';
import type { BlendedTreeConfig } from './gbdt.js';
import { type ClassifierConfig, trainClassifier } from './tfjs-training.js';

/**
 * A network with gradient-boosted trees ships as one artefact (trees.json beside model.json): scoring's own
 * TfjsModelScorer must score it as the training side predicted the blend, explain the blend, and refuse a broken
 * trees file.
 */
const config: ClassifierConfig = {
  seed: 5,
  hiddenUnits: [8],
  l2: 1e-4,
  epochs: 1,
  batchSize: 128,
  learningRate: 0.002,
  // A class weight, so the trees' move onto the network's raw scale is exercised.
  positiveClassWeight: 2,
  identityFeatures: ['amount'],
};
const trees: BlendedTreeConfig = {
  maxBins: 64,
  maxLeaves: 8,
  minSamplesLeaf: 10,
  l2: 1,
  learningRate: 0.3,
  maxRounds: 15,
  members: 2,
  blendWeight: 0.5,
};

describe('a network blended with trees in the live scorer', () => {
  let fixture: LiveScorerFixture;

  beforeAll(async () => {
    fixture = await trainedInLiveScorer(
      config,
      { seed: 7, n: 1_500, customers: 60, terminals: 30 },
      async (x, labels, n) => (await trainClassifier(config, x, labels, n)).model,
      trees,
    );
  }, 120_000);

  afterAll(() => fixture.close());

  test('scores every row as the training side predicted the blend', () => {
    expect(fixture.scorer.trees?.ensemble.trees.length).toBeGreaterThan(2);
    const live = fixture.scorer.score(fixture.features, fixture.n);
    expect(largestDifference(live, fixture.expected)).toBeLessThan(1e-5);
    expect(new Set(Array.from(live, (p) => p.toFixed(3))).size).toBeGreaterThan(20);
  });

  test('with trees.json dropped (a planted fault) the same artefact scores differently', async () => {
    const copy = join(fixture.dir, 'without-trees');
    cpSync(join(fixture.dir, 'artifact'), copy, { recursive: true });
    rmSync(join(copy, 'trees.json'));
    const networkOnly = await TfjsModelScorer.load(copy);
    try {
      expect(networkOnly.trees).toBeUndefined();
      expect(largestDifference(networkOnly.score(fixture.features, fixture.n), fixture.expected)).toBeGreaterThan(1e-3);
      expect(Math.abs(networkOnly.baselineScore - fixture.expectedBaseline)).toBeGreaterThan(1e-4);
    } finally {
      networkOnly.close();
    }
  });

  test('explains the blend: contributions sum to the score minus a baseline that includes the trees', () => {
    expect(fixture.scorer.baselineScore).toBeCloseTo(fixture.expectedBaseline, 5);
    for (const { sum, scoreOverBaseline } of contributionSums(fixture, 6))
      expect(sum).toBeCloseTo(scoreOverBaseline, 4);
  });

  test('refuses a trees.json that is not usable, naming what is wrong', async () => {
    const copy = join(fixture.dir, 'broken-trees');
    cpSync(join(fixture.dir, 'artifact'), copy, { recursive: true });
    const file = join(copy, 'trees.json');
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { blendWeight: number; ensemble: { trees: unknown[] } };
    writeFileSync(file, JSON.stringify({ ...saved, blendWeight: 2, ensemble: { ...saved.ensemble, trees: [{}] } }));
    await expect(TfjsModelScorer.load(copy)).rejects.toThrow(
      /trees\.json in .* is not usable: \/blendWeight must be a number in 0 … 1; \/ensemble\/trees\/0\/feature must be an array/,
    );
    writeFileSync(file, '{');
    await expect(TfjsModelScorer.load(copy)).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE' });
  });
});
