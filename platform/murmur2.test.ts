import { murmur2, partitionForKey } from './murmur2.js';

describe('murmur2 (Kafka default partitioner)', () => {
  // Vectors from Kafka's UtilsTest.testMurmur2 (clients/src/test/java/org/apache/kafka/common/utils).
  const vectors: Array<[string, number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  it.each(vectors)('hashes %j like Kafka', (key, expected) => {
    expect(murmur2(Buffer.from(key, 'utf8'))).toBe(expected);
  });

  it('maps a key to a stable partition in range', () => {
    for (let i = 0; i < 1000; i++) {
      const p = partitionForKey(`acct-${i}`, 12);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(12);
      expect(partitionForKey(`acct-${i}`, 12)).toBe(p);
    }
  });
});
