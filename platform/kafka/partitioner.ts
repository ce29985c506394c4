/**
 * The kafkajs partitioner Vigil uses: keyed records go to `partitionForKey(key, partitionCount)` (murmur2, as
 * Java's BuiltInPartitioner and the embedded log do), so a key lands on the same partition number in every mode.
 * kafkajs's own `Partitioners.DefaultPartitioner` computes the same for keys (partitioner.test.ts checks it);
 * owning the function keeps that a property of this code rather than of a library default.
 */
import type { ICustomPartitioner } from 'kafkajs';
import { murmur2, partitionForKey } from '../murmur2.js';

/** Keyed: murmur2. Unkeyed: round-robin over partitions that have a leader, like kafkajs's default. */
export const murmur2Partitioner: ICustomPartitioner = () => {
  const counters = new Map<string, number>();
  return ({ topic, partitionMetadata, message }) => {
    if (message.partition !== undefined && message.partition !== null) return message.partition;
    const partitions = partitionMetadata.length;
    const key = message.key;
    if (typeof key === 'string') return partitionForKey(key, partitions);
    if (key instanceof Buffer) return (murmur2(key) & 0x7fffffff) % partitions;
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    const next = (counters.get(topic) ?? 0) + 1;
    counters.set(topic, next);
    return available.length > 0 ? available[next % available.length]!.partitionId : next % partitions;
  };
};
