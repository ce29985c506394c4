import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { partitionForKey } from '../murmur2.js';
import { murmur2Partitioner } from './partitioner.js';

function metadata(partitions: number): PartitionMetadata[] {
  return Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    partitionErrorCode: 0,
    replicas: [1],
    isr: [1],
  }));
}

/** Keys shaped like Vigil's (account ids, UUIDs) plus edge cases: empty, non-ASCII, every tail length. */
function keys(): string[] {
  const out = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'é', '账户-7', '🙂🙂', 'x'.repeat(1000)];
  for (let i = 0; i < 5000; i++) out.push(`acct-${i}`, `${(i * 2654435761) >>> 0}-${i % 7}`.padEnd(i % 40, 'z'));
  return out;
}

describe('murmur2Partitioner', () => {
  it.each([1, 2, 3, 6, 12, 64, 100])(
    'puts every key where partitionForKey does, and so does kafkajs DefaultPartitioner (%i partitions)',
    (partitions) => {
      const ours = murmur2Partitioner();
      const kafkajsDefault = Partitioners.DefaultPartitioner();
      const partitionMetadata = metadata(partitions);
      const mismatches: string[] = [];
      for (const key of keys()) {
        const expected = partitionForKey(key, partitions);
        const args = { topic: 't', partitionMetadata, message: { key, value: null } };
        const fromBuffer = ours({ ...args, message: { key: Buffer.from(key, 'utf8'), value: null } });
        if (ours(args) !== expected || fromBuffer !== expected || kafkajsDefault(args) !== expected)
          mismatches.push(key);
      }
      expect(mismatches).toEqual([]);
    },
  );

  it('would catch a different hash (the check can fail)', () => {
    const shifted = (key: string, partitions: number): number => (partitionForKey(key, partitions) + 1) % partitions;
    const partitionMetadata = metadata(6);
    const ours = murmur2Partitioner();
    expect(
      keys().some((key) => ours({ topic: 't', partitionMetadata, message: { key, value: null } }) !== shifted(key, 6)),
    ).toBe(true);
  });

  it('spreads unkeyed records round-robin and honours an explicit partition', () => {
    const ours = murmur2Partitioner();
    const partitionMetadata = metadata(3);
    const picks = Array.from({ length: 6 }, () =>
      ours({ topic: 't', partitionMetadata, message: { key: null, value: null } }),
    );
    expect([...picks].sort()).toEqual([0, 0, 1, 1, 2, 2]);
    expect(ours({ topic: 't', partitionMetadata, message: { key: 'k', value: null, partition: 2 } })).toBe(2);
  });
});
