import type { TopicSpec } from '../platform/bus.js';
import { Topics } from './topics.js';

/**
 * Partition counts per topic. The number of partitions caps how many consumers of one group can work in
 * parallel; keys (account ids) spread over them with murmur2. Changing a count re-maps keys, so it is fixed here.
 */
export function topicSpecs(partitions = 8): TopicSpec[] {
  return [
    { topic: Topics.transactionsRaw, partitions },
    { topic: Topics.transactionsScored, partitions },
    { topic: Topics.fraudAlerts, partitions },
    { topic: Topics.analystLabels, partitions },
    { topic: Topics.deadLetters, partitions: 1 },
    // Keyed by account id with tx.raw's partitioner and count, so an account's policy and balances land on the
    // partition number its debits do (scoring reads them in the same group; see scoring/domain/funds.ts).
    { topic: Topics.accounts, partitions, compacted: true },
    { topic: Topics.ledgerBalances, partitions },
    { topic: Topics.ledgerEvents, partitions },
    // Small and read whole by every process: one partition keeps the changes to all keys in one order.
    { topic: Topics.apiKeys, partitions: 1, compacted: true },
    { topic: Topics.rulesVersions, partitions: 1, compacted: true },
    // Compacted with a unique key per record: kept for ever on Kafka and exempt from the embedded log's retention.
    { topic: Topics.caseEvents, partitions: 1, compacted: true },
    { topic: Topics.shadowSettings, partitions: 1, compacted: true },
    { topic: Topics.shadowDecisions, partitions },
  ];
}
