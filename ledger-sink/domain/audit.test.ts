import { sampleTransaction } from '../../schemas/fixtures.js';
import type { ScoredTransaction } from '../../schemas/generated/types.js';
import { STORABLE_TIME_MAX_MS, STORABLE_TIME_MIN_MS, auditProblems } from './audit.js';

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
