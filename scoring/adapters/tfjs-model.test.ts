import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FeatureEngine } from '../domain/features.js';
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

  test('explain gives one push per feature, consistent with occluding that feature', () => {
    const contributions = scorer.explain(features.subarray(0, 2 * FEATURE_COUNT), 2);
    expect(contributions).toHaveLength(2 * FEATURE_COUNT);
    expect(contributions.every((c) => Number.isFinite(c) && Math.abs(c) <= 1)).toBe(true);
  });

  test('an artefact that does not fit this build is refused with MODEL_UNAVAILABLE', async () => {
    await expect(TfjsModelScorer.load('/nonexistent/model')).rejects.toMatchObject({ code: 'MODEL_UNAVAILABLE' });
  });
});
