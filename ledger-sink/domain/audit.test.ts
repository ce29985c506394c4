import { sampleTransaction } from '../../schemas/fixtures.js';
import { createCodec } from '../../schemas/codec.js';
import { featureValueNames, featureValuesOf } from '../../schemas/features.js';
import type { FeatureValues, ScoredTransaction } from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import fc from 'fast-check';
import { STORABLE_TIME_MAX_MS, STORABLE_TIME_MIN_MS, auditJson, auditProblems, featuresJson } from './audit.js';

const scored = (overrides: Partial<ScoredTransaction> = {}): ScoredTransaction => ({
  transaction: sampleTransaction(),
  decision: 'APPROVE',
  score: 0.5,
  risk: 0.5,
  reasons: [],
  rulesFired: [],
  features: { a: 1 },
  featureValues: null,
  reportingCurrency: 'EUR',
  unconvertedCurrency: null,
  modelVersion: 'm',
  rulesVersion: 'r',
  scoredAtMs: 1_764_000_000_100,
  ...overrides,
});

/** A v2 decision as ledger-sink receives it: through the codec, so its FeatureValues is avsc's record instance. */
async function decodedV2(value: (i: number) => number): Promise<ScoredTransaction> {
  const codec = await createCodec<ScoredTransaction>(new EmbeddedSchemaRegistry(), Topics.transactionsScored);
  const featureValues = Object.fromEntries(
    featureValueNames().map((name, i) => [name, value(i)]),
  ) as unknown as FeatureValues;
  return codec.decode(codec.encode(scored({ features: {}, featureValues })));
}

describe('auditProblems', () => {
  it('given a well-formed decision, then there is nothing to report', () => {
    expect(auditProblems(scored())).toEqual([]);
  });

  it('given a decoded v2 decision, then its feature record is checked by its own fields only', async () => {
    // avsc's record instances carry enumerable prototype methods (clone, toBuffer…): a for…in walk took them
    // for features and refused every v2 decision as unstorable.
    expect(auditProblems(await decodedV2((i) => i / 4))).toEqual([]);
  });

  it('given a decoded v2 decision with a non-finite feature, then that feature is reported by name', async () => {
    const problems = auditProblems(await decodedV2((i) => (i === 3 ? Number.NaN : i)));
    expect(problems).toEqual([
      { path: `/features/${featureValueNames()[3]}`, message: 'must be a finite number, got NaN' },
    ]);
  });

  it('given times at the edges of the storable range, then they are accepted', () => {
    expect(
      auditProblems(
        scored({
          transaction: sampleTransaction({ eventTimeMs: STORABLE_TIME_MIN_MS, receivedAtMs: STORABLE_TIME_MAX_MS }),
        }),
      ),
    ).toEqual([]);
  });

  it('given several unstorable fields, then every one is reported with its path', () => {
    const problems = auditProblems(
      scored({
        transaction: sampleTransaction({ eventTimeMs: STORABLE_TIME_MIN_MS - 1 }),
        scoredAtMs: STORABLE_TIME_MAX_MS + 1,
        score: Number.NaN,
        features: { 'a/b': Infinity },
      }),
    );
    expect(problems.map((p) => p.path)).toEqual([
      '/transaction/eventTimeMs',
      '/scoredAtMs',
      '/score',
      '/features/a~1b',
    ]);
  });
});

describe('featuresJson', () => {
  it('given any finite feature values, decoded as ledger-sink gets them, then it writes the text auditJson writes', async () => {
    const values = fc.sample(fc.double({ noNaN: true, noDefaultInfinity: true }), { seed: 7, numRuns: 500 });
    for (let start = 0; start < values.length; start += 62) {
      const decoded = await decodedV2((i) => values[(start + i) % values.length]!);
      const features = featureValuesOf(decoded);
      expect(featuresJson(features)).toBe(auditJson(features));
    }
    expect(featuresJson({ b: -0, a: 1e21, c: 0.1 + 0.2 })).toBe('{"b":0,"a":1e+21,"c":0.30000000000000004}');
  });
});
