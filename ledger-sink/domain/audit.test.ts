import { sampleTransaction } from '../../schemas/fixtures.js';
import type { ScoredTransaction } from '../../schemas/generated/types.js';
import { STORABLE_TIME_MAX_MS, STORABLE_TIME_MIN_MS, auditProblems, canonicalJson } from './audit.js';

const scored = (overrides: Partial<ScoredTransaction> = {}): ScoredTransaction => ({
  transaction: sampleTransaction(),
  decision: 'APPROVE',
  score: 0.5,
  reasons: [],
  rulesFired: [],
  features: { a: 1 },
  modelVersion: 'm',
  rulesVersion: 'r',
  scoredAtMs: 1_764_000_000_100,
  ...overrides,
});

describe('canonicalJson', () => {
  it('given the same value with keys in another order, then the text is identical', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [2, { y: 2, z: 1 }] }, b: 1 }),
    );
  });

  it('given bigint money, then it is written as an exact decimal string', () => {
    expect(canonicalJson({ amountMinor: 2n ** 63n - 1n })).toBe('{"amountMinor":"9223372036854775807"}');
  });
});

describe('auditProblems', () => {
  it('given a well-formed decision, then there is nothing to report', () => {
    expect(auditProblems(scored())).toEqual([]);
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
