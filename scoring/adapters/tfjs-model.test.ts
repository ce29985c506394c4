import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FeatureEngine } from '../domain/features.js';
import { FEATURE_GROUP_COUNT } from '../domain/explanation.js';
import { FEATURE_COUNT } from '../domain/feature-names.js';
import type { ModelMetadata } from '../domain/model.js';
import { SyntheticTraffic } from '../../model-lab/training/synthetic.js';
import { TfjsModelScorer } from './tfjs-model.js';

const artefact = fileURLToPath(new URL('../model/artifact', import.meta.url));

describe('TfjsModelScorer with the shipped artefact', () => {
  let scorer: TfjsModelScorer;
  const n = 500;
  const features = new Float32Array(n * FEATURE_COUNT);

  beforeAll(async () => {
    scorer = await TfjsModelScorer.load(artefact);
    const engine = new FeatureEngine();
    const traffic = new SyntheticTraffic({
      seed: 3,
      startTimeMs: Date.UTC(2024, 0, 1),
      customers: 50,
      terminals: 50,
      fraudScale: 10,
      activity: [{ share: 1, minPerDay: 2, maxPerDay: 10 }],
    });
    traffic.take(n).forEach(({ transaction }, i) => engine.observeInto(transaction, features, i * FEATURE_COUNT));
  });
  afterAll(() => scorer.close());

  test('carries the version recorded in metadata.json', () => {
    const metadata = JSON.parse(readFileSync(`${artefact}/metadata.json`, 'utf8')) as ModelMetadata;
    expect(scorer.version).toBe(metadata.version);
    expect(scorer.version).toMatch(/^vigil-ffnn-\d{8}-[0-9a-f]{8}$/);
  });

  test('scores a batch with probabilities in [0, 1], deterministically', () => {
    const first = scorer.score(features, n);
    expect(first).toHaveLength(n);
    for (const p of first) expect(p >= 0 && p <= 1).toBe(true);
    expect(new Set(Array.from(first, (p) => p.toFixed(3))).size).toBeGreaterThan(10);
    expect(Array.from(scorer.score(features, n))).toEqual(Array.from(first));
    // A row scores the same alone as inside a batch.
    expect(scorer.score(features.subarray(7 * FEATURE_COUNT, 8 * FEATURE_COUNT), 1)[0]).toBeCloseTo(first[7]!, 5);
  });

  test('explain: per feature group, summing to the score minus the baseline (the training-mean row)', () => {
    const rows = 3;
    const explanation = scorer.explain(features.subarray(0, rows * FEATURE_COUNT), rows);
    expect(explanation.contributions).toHaveLength(rows * FEATURE_GROUP_COUNT);
    expect(explanation.contributions.every((c) => Number.isFinite(c) && Math.abs(c) <= 1)).toBe(true);
    // The baseline in raw units: each feature at its training mean, the value that normalises to 0.
    const { transforms, mean } = scorer.metadata.normalisation;
    const meanRaw = Float32Array.from(mean, (m, j) => (transforms[j] === 'log1p' ? Math.expm1(m) : m));
    expect(explanation.baselineScore).toBeCloseTo(scorer.score(meanRaw, 1)[0]!, 5);
    const full = scorer.score(features.subarray(0, rows * FEATURE_COUNT), rows);
    for (let r = 0; r < rows; r++) {
      const phi = explanation.contributions.subarray(r * FEATURE_GROUP_COUNT, (r + 1) * FEATURE_GROUP_COUNT);
      expect(phi.reduce((a, b) => a + b, 0)).toBeCloseTo(full[r]! - explanation.baselineScore, 4);
    }
    // The log-odds agree with the scores: sigmoid(log-odds − ln w) is the score.
    const w = scorer.metadata.positiveClassWeight;
    const logOdds = scorer.logOdds(features.subarray(0, rows * FEATURE_COUNT), rows);
    for (let r = 0; r < rows; r++) expect(1 / (1 + Math.exp(-(logOdds[r]! - Math.log(w))))).toBeCloseTo(full[r]!, 5);
    // Not vacuous: some groups do push the score.
    expect(explanation.contributions.some((c) => Math.abs(c) > 1e-4)).toBe(true);
  });

  test('a missing artefact is refused with MODEL_UNAVAILABLE', async () => {
    await expect(TfjsModelScorer.load('/nonexistent/model')).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE' });
  });

  describe('an artefact whose metadata does not fit this build', () => {
    let dir: string;
    const original = JSON.parse(readFileSync(`${artefact}/metadata.json`, 'utf8')) as ModelMetadata;
    const withMetadata = (metadata: unknown): string => {
      writeFileSync(join(dir, 'metadata.json'), JSON.stringify(metadata));
      return dir;
    };
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'vigil-artefact-'));
      cpSync(artefact, dir, { recursive: true });
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test('control: the unaltered copy loads', async () => {
      const copy = await TfjsModelScorer.load(withMetadata(original));
      expect(copy.version).toBe(original.version);
      copy.close();
    });

    test('one feature name fewer is refused with MODEL_UNAVAILABLE naming /featureNames', async () => {
      const load = TfjsModelScorer.load(
        withMetadata({ ...original, featureNames: original.featureNames.slice(0, -1) }),
      );
      await expect(load).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE' });
      await expect(load).rejects.toThrow(/featureNames differ/);
    });

    test('renamed features are refused', async () => {
      const featureNames = [...original.featureNames];
      [featureNames[0], featureNames[1]] = [featureNames[1]!, featureNames[0]!];
      await expect(TfjsModelScorer.load(withMetadata({ ...original, featureNames }))).rejects.toThrow(
        /featureNames differ/,
      );
    });

    test('normalisation for a different feature count is refused', async () => {
      const normalisation = { ...original.normalisation, mean: [...original.normalisation.mean, 0] };
      await expect(TfjsModelScorer.load(withMetadata({ ...original, normalisation }))).rejects.toThrow(
        new RegExp(`/normalisation/mean must have ${FEATURE_COUNT} entries`),
      );
    });
  });
});
