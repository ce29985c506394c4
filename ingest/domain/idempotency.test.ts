import { decideIdempotency, planAttempts, type Attempt } from './idempotency.js';
import type { IdempotencyRecord } from '../ports.js';

const stored = (...records: IdempotencyRecord[]) => new Map(records.map((r) => [r.transactionId, r]));
const record = (transactionId: string, fingerprint: string, offset = 7): IdempotencyRecord => ({
  transactionId,
  fingerprint,
  partition: 3,
  offset,
});
const attempt = (transactionId: string, fingerprint: string): Attempt => ({ transactionId, fingerprint });

describe('decideIdempotency', () => {
  it.each([
    [undefined, 'f1', 'new'],
    ['f1', 'f1', 'duplicate'],
    ['f1', 'f2', 'conflict'],
  ] as const)('given previous %s, when %s arrives, then %s', (previous, fingerprint, verdict) => {
    expect(decideIdempotency(previous, fingerprint)).toBe(verdict);
  });
});

describe('planAttempts', () => {
  it('given nothing stored, when distinct ids arrive, then all are new', () => {
    expect(planAttempts([attempt('a', 'f1'), attempt('b', 'f2')], stored())).toEqual([
      { verdict: 'new' },
      { verdict: 'new' },
    ]);
  });

  it('given an accepted id, when the same content arrives again, then it is a duplicate of the stored original', () => {
    const original = record('a', 'f1');
    expect(planAttempts([attempt('a', 'f1')], stored(original))).toEqual([
      { verdict: 'duplicate', original: { kind: 'stored', record: original }, originalFingerprint: 'f1' },
    ]);
  });

  it('given an accepted id, when other content arrives under it, then it is a conflict naming the original', () => {
    const original = record('a', 'f1');
    expect(planAttempts([attempt('a', 'f2')], stored(original))).toEqual([
      { verdict: 'conflict', original: { kind: 'stored', record: original }, originalFingerprint: 'f1' },
    ]);
  });

  it('given nothing stored, when a batch repeats an id, then the first is new and later ones refer to it', () => {
    expect(
      planAttempts([attempt('a', 'f1'), attempt('b', 'f9'), attempt('a', 'f1'), attempt('a', 'f2')], stored()),
    ).toEqual([
      { verdict: 'new' },
      { verdict: 'new' },
      { verdict: 'duplicate', original: { kind: 'batch', index: 0 }, originalFingerprint: 'f1' },
      { verdict: 'conflict', original: { kind: 'batch', index: 0 }, originalFingerprint: 'f1' },
    ]);
  });

  it('given an accepted id, when a batch repeats it, then every repeat is judged against the stored original', () => {
    const original = record('a', 'f1');
    const plan = planAttempts([attempt('a', 'f2'), attempt('a', 'f1')], stored(original));
    expect(plan.map((p) => p.verdict)).toEqual(['conflict', 'duplicate']);
  });
});
