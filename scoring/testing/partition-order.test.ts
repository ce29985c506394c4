import { type ObservedRecord, partitionOrderViolations } from './partition-order.js';

const raw = (key: string, partition: number, ids: string[]): ObservedRecord[] =>
  ids.map((id, offset) => ({ partition, offset, key, transactionId: id, content: '', outcome: '' }));
const scored = (key: string, partition: number, ids: string[], from = 0): ObservedRecord[] =>
  ids.map((id, i) => ({
    partition,
    offset: from + i,
    key,
    transactionId: id,
    content: `transaction ${id}`,
    outcome: 'APPROVE 0.1',
  }));

describe('partitionOrderViolations', () => {
  const log = [...raw('acct-1', 0, ['a', 'b', 'c']), ...raw('acct-2', 1, ['x', 'y'])];

  it('accepts decisions in tx.raw order, with a redelivered run decided again identically', () => {
    const report = partitionOrderViolations(log, [
      ...scored('acct-1', 0, ['a', 'b', 'c', 'b', 'c']),
      ...scored('acct-2', 1, ['x', 'y']),
    ]);
    expect(report).toEqual({ violations: [], duplicates: 2, otherScore: 0, otherDecision: 0, keys: 2 });
  });

  it('reports two decisions swapped within an account', () => {
    const { violations } = partitionOrderViolations(log, [
      ...scored('acct-1', 0, ['a', 'c', 'b']),
      ...scored('acct-2', 1, ['x', 'y']),
    ]);
    expect(violations).toEqual(['decisions out of tx.raw order: acct-1, transaction #2: tx.raw has b, tx.scored c']);
  });

  it('accepts a repeat ahead of a first occurrence: only first occurrences carry the order', () => {
    // b's repeat before c's first occurrence is harmless; c first seen after b keeps the order.
    expect(
      partitionOrderViolations(log, [...scored('acct-1', 0, ['a', 'b', 'b', 'c']), ...scored('acct-2', 1, ['x', 'y'])])
        .violations,
    ).toEqual([]);
  });

  it('counts a repeat decided with another score or outcome without calling it a violation', () => {
    const [b, c] = scored('acct-1', 0, ['b', 'c'], 3);
    const report = partitionOrderViolations(log, [
      ...scored('acct-1', 0, ['a', 'b', 'c']),
      { ...b!, outcome: 'APPROVE 0.2' },
      { ...c!, outcome: 'REVIEW 0.7' },
      ...scored('acct-2', 1, ['x', 'y']),
    ]);
    expect(report).toEqual({ violations: [], duplicates: 2, otherScore: 2, otherDecision: 1, keys: 2 });
  });

  it('reports a repeated decision with other content, a missing decision, a foreign key and a split key', () => {
    const changed = { ...scored('acct-1', 0, ['b'], 3)[0]!, content: 'another decision' };
    const { violations } = partitionOrderViolations(log, [
      ...scored('acct-1', 0, ['a', 'b', 'c']),
      changed,
      ...scored('acct-2', 1, ['x']),
      ...scored('acct-2', 2, ['y']),
      ...scored('acct-9', 0, ['z'], 4),
    ]);
    expect(violations).toEqual([
      'a repeated decision differs from the first: b at 0/3',
      'key on more than one partition: acct-2 on 1, 2',
      'decisions for a key never on tx.raw: acct-9',
    ]);
    // acct-2's two records sort by partition, so its order happens to hold; drop y to see a missing decision.
    expect(
      partitionOrderViolations(log, [...scored('acct-1', 0, ['a', 'b', 'c']), ...scored('acct-2', 1, ['x'])])
        .violations,
    ).toEqual(['decisions out of tx.raw order: acct-2, transaction #2: tx.raw has y, tx.scored nothing']);
  });
});
