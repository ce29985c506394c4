import {
  type CustomerKeyRecord,
  CustomerKeyLog,
  type KeyProposal,
  expiredThrough,
  proposalRecordKey,
} from './customer-key-log.js';

const DAY = 86_400_000;

function proposal(customerId: string, version: number, proposalId: string, createdAtMs = 0): KeyProposal {
  return {
    type: 'key',
    customerId,
    version,
    proposalId,
    masterKeyId: 'm1',
    wrapped: Buffer.from(proposalId),
    createdAtMs,
  };
}

function folded(records: readonly CustomerKeyRecord[]): CustomerKeyLog {
  const log = new CustomerKeyLog();
  for (const record of records) log.apply(record);
  return log;
}

describe('CustomerKeyLog', () => {
  it('gives a version to the first proposal on the log; a later one loses and is left to remove', () => {
    const log = folded([proposal('c', 1, 'a'), proposal('c', 1, 'b')]);
    expect(log.heldVersion('c', 1)?.proposalId).toBe('a');
    expect(log.removableRecordKeys('c')).toEqual([proposalRecordKey('c', 1, 'b')]);
  });

  it('destroys every version through the number, keeps the number, and refuses proposals of it again', () => {
    const log = folded([
      proposal('c', 1, 'a'),
      proposal('c', 2, 'b'),
      { type: 'destroyed', customerId: 'c', throughVersion: 2, erasure: true, atMs: 5 },
      proposal('c', 2, 'late'),
    ]);
    expect(log.customerKeys('c')).toMatchObject({ held: [], destroyedThrough: 2, highestVersion: 2, erasedAtMs: 5 });
    expect(log.removableRecordKeys('c').sort()).toEqual(
      [proposalRecordKey('c', 1, 'a'), proposalRecordKey('c', 2, 'b'), proposalRecordKey('c', 2, 'late')].sort(),
    );
  });

  it('leaves a version made after the erasure record alone (a transaction after the erasure)', () => {
    const log = folded([
      proposal('c', 1, 'a'),
      { type: 'destroyed', customerId: 'c', throughVersion: 1, erasure: true, atMs: 5 },
      proposal('c', 2, 'b'),
      { type: 'destroyed', customerId: 'c', throughVersion: 1, erasure: true, atMs: 9 },
    ]);
    expect(log.customerKeys('c').held.map((h) => h.version)).toEqual([2]);
    expect(log.customerKeys('c').erasedAtMs).toBe(9);
  });

  it('knows a destroyed number from the destroyed record alone, once compaction removed the proposals', () => {
    const log = folded([{ type: 'destroyed', customerId: 'c', throughVersion: 3, erasure: true, atMs: 1 }]);
    expect(log.customerKeys('c')).toMatchObject({ destroyedThrough: 3, highestVersion: 3 });
  });

  it('forgets a removable proposal once its tombstone is folded', () => {
    const log = folded([
      proposal('c', 1, 'a'),
      proposal('c', 1, 'b'),
      { type: 'removed', recordKey: proposalRecordKey('c', 1, 'b') },
    ]);
    expect(log.removableRecordKeys()).toEqual([]);
    expect(log.heldVersion('c', 1)?.proposalId).toBe('a');
  });
});

describe('expiredThrough', () => {
  const keys = folded([proposal('c', 1, 'a', 0), proposal('c', 2, 'b', 30 * DAY)]).customerKeys('c');

  it('expires a version once its last use is retention old: v1 sealed until v2 was made', () => {
    expect(expiredThrough(keys, 89 * DAY, 60 * DAY, 30 * DAY)).toBe(0);
    expect(expiredThrough(keys, 90 * DAY, 60 * DAY, 30 * DAY)).toBe(1);
    expect(expiredThrough(keys, 120 * DAY, 60 * DAY, 30 * DAY)).toBe(2);
  });

  it('never expires the newest version without rotation', () => {
    expect(expiredThrough(keys, 1000 * DAY, 60 * DAY, 0)).toBe(1);
  });
});
