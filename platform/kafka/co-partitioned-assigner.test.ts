import kafkajs, { type Cluster, type Logger as KafkaLogger } from 'kafkajs';
import { coPartitionedAssigner, coPartitionedAssignment } from './co-partitioned-assigner.js';

const { AssignerProtocol, PartitionAssigners } = kafkajs;

const TOPICS = ['tx.raw', 'accounts', 'ledger.balances', 'analyst.labels'];
const partitions = (n: number) => () => Array.from({ length: n }, (_, p) => p);

/** For each member, the set of partition numbers it owns per topic, as `topic:partitions` strings. */
function partitionNumbersByMember(assignment: Map<string, Record<string, number[]>>): string[][] {
  return [...assignment.values()].map((owned) =>
    Object.entries(owned).map(([topic, ps]) => `${topic}:${ps.join(',')}`),
  );
}

/** True when every member owns the same partition numbers on every topic (what co-partitioning means). */
function coPartitioned(assignment: Map<string, Record<string, number[]>>, topics: readonly string[]): boolean {
  return [...assignment.values()].every((owned) => {
    const sets = topics.map((t) => (owned[t] ?? []).join(','));
    return sets.every((s) => s === sets[0]);
  });
}

/** Runs a kafkajs assigner over a fake cluster and decodes what it gives each member. */
async function assignWith(
  assigner: typeof coPartitionedAssigner,
  members: readonly string[],
  count: number,
): Promise<Map<string, Record<string, number[]>>> {
  const cluster = {
    findTopicPartitionMetadata: (topic: string) => partitions(count)().map((partitionId) => ({ topic, partitionId })),
  } as unknown as Cluster;
  const instance = assigner({ cluster, groupId: 'g', logger: {} as KafkaLogger });
  const result = await instance.assign({
    members: members.map((memberId) => ({ memberId, memberMetadata: Buffer.alloc(0) })),
    topics: TOPICS,
  });
  return new Map(
    result.map(({ memberId, memberAssignment }) => [
      memberId,
      AssignerProtocol.MemberAssignment.decode(memberAssignment)!.assignment,
    ]),
  );
}

describe('co-partitioned assignment', () => {
  it('given 8 partitions on four topics and 3 members, then partition p of every topic goes to member p mod 3', () => {
    const assignment = coPartitionedAssignment(['m-b', 'm-c', 'm-a'], TOPICS, partitions(8));
    expect(partitionNumbersByMember(assignment)).toEqual([
      ['accounts:0,3,6', 'analyst.labels:0,3,6', 'ledger.balances:0,3,6', 'tx.raw:0,3,6'],
      ['accounts:1,4,7', 'analyst.labels:1,4,7', 'ledger.balances:1,4,7', 'tx.raw:1,4,7'],
      ['accounts:2,5', 'analyst.labels:2,5', 'ledger.balances:2,5', 'tx.raw:2,5'],
    ]);
    expect([...assignment.keys()]).toEqual(['m-a', 'm-b', 'm-c']);
  });

  it('assigns every topic-partition exactly once, whatever the member count', () => {
    for (let members = 1; members <= 10; members++) {
      const assignment = coPartitionedAssignment(
        Array.from({ length: members }, (_, i) => `m-${i}`),
        TOPICS,
        partitions(8),
      );
      const all = [...assignment.values()].flatMap((owned) =>
        Object.entries(owned).flatMap(([topic, ps]) => ps.map((p) => `${topic}/${p}`)),
      );
      expect(all.sort()).toEqual(TOPICS.flatMap((t) => partitions(8)().map((p) => `${t}/${p}`)).sort());
      expect(coPartitioned(assignment, TOPICS)).toBe(true);
    }
  });

  it('through kafkajs: its encoded assignment decodes to the same co-partitioned sets', async () => {
    const assignment = await assignWith(coPartitionedAssigner, ['m-0', 'm-1', 'm-2'], 8);
    expect(coPartitioned(assignment, TOPICS)).toBe(true);
    expect(assignment.get('m-0')!['tx.raw']).toEqual([0, 3, 6]);
  });

  it('negative control: kafkajs round robin splits an account across members with 8 partitions and 3 members', async () => {
    const assignment = await assignWith(PartitionAssigners.roundRobin, ['m-0', 'm-1', 'm-2'], 8);
    expect(coPartitioned(assignment, TOPICS)).toBe(false);
  });
});
