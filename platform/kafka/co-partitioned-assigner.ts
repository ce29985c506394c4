import kafkajs, { type Assigner, type PartitionAssigner } from 'kafkajs';

// kafkajs is CommonJS: under Node's ESM loader (tsx) only its default export carries these.
const { AssignerProtocol } = kafkajs;

/** The name members announce for this assignment strategy; every member of a group must support it. */
export const CO_PARTITIONED_ASSIGNER = 'VigilCoPartitioned';

/**
 * Which partitions of which topics each member gets: partition p of **every** subscribed topic goes to the same
 * member (members sorted by id, partition p to member p mod n). Vigil keys every topic a stage reads together by
 * account with one partitioner and one partition count (`VIGIL_PARTITIONS`), so an account's records on `tx.raw`,
 * `accounts`, `ledger.balances` and `analyst.labels` share a partition number: with this assignment one member
 * decides an account's debits *and* reads its policy and balances (scoring's funds check), and one ledger-sink
 * member handles a transaction's decision *and* its verdicts. kafkajs's round-robin strategy deals the
 * topic-partitions out in one list, which splits them whenever the total is not a multiple of the member count.
 *
 * Pure: the partition counts come from `partitionsOf`. Topics with fewer partitions than others simply have no
 * partition p for the higher numbers; nothing is assigned twice or left out.
 */
export function coPartitionedAssignment(
  memberIds: readonly string[],
  topics: readonly string[],
  partitionsOf: (topic: string) => readonly number[],
): Map<string, Record<string, number[]>> {
  const members = [...memberIds].sort();
  const assignment = new Map<string, Record<string, number[]>>(members.map((id) => [id, {}]));
  if (members.length === 0) return assignment;
  for (const topic of [...topics].sort())
    for (const partition of [...partitionsOf(topic)].sort((a, b) => a - b)) {
      const owned = assignment.get(members[partition % members.length]!)!;
      (owned[topic] ??= []).push(partition);
    }
  return assignment;
}

/** {@link coPartitionedAssignment} as a kafkajs partition assigner (protocol version 0, no user data). */
export const coPartitionedAssigner: PartitionAssigner = ({ cluster }): Assigner => ({
  name: CO_PARTITIONED_ASSIGNER,
  version: 0,
  assign({ members, topics }) {
    const assignment = coPartitionedAssignment(
      members.map((m) => m.memberId),
      topics,
      (topic) => cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId),
    );
    return Promise.resolve(
      [...assignment].map(([memberId, owned]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 0,
          assignment: owned,
          userData: Buffer.alloc(0),
        }),
      })),
    );
  },
  protocol({ topics }) {
    return {
      name: CO_PARTITIONED_ASSIGNER,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    };
  },
});
