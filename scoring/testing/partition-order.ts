/**
 * The order oracle of fault 2 (scoring killed mid-batch): per payer account, the decisions on `tx.scored` come in
 * the order their transactions were on `tx.raw`. Both topics are keyed by the payer account with the same
 * partitioner and partition count, so an account's records sit on one partition number of each and "order" is
 * the records' offsets there.
 *
 * The rule, exactly. For every key (payer account):
 * 1. its `tx.raw` records and its `tx.scored` records are each on one partition, the same number on both;
 * 2. the transaction ids of its `tx.scored` records in offset order, keeping only each id's first occurrence, are
 *    exactly its `tx.raw` ids in offset order (same ids, same order, none missing, none extra);
 * 3. a later occurrence of an id (a batch decided again after a crash) is allowed, but must decide the same
 *    transaction (identical content) — and by rule 2 it cannot move a first occurrence.
 * Keys on `tx.scored` with no record on `tx.raw` are reported. Pure, so a test can plant a fault in its view.
 *
 * A repeat's score and outcome are counted, not required equal: features keyed by terminal or device gather events
 * from every partition, and a restarted member replays its partitions in another interleaving with the others than
 * the first run did, so a re-decided copy can see other terminal counts. Downstream the first occurrence governs
 * (ledger-sink stores the first decision of an id; a later copy is a duplicate), which the ledger oracle checks.
 */
export interface ObservedRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly transactionId: string;
  /** What every copy of this record must repeat exactly (for decisions: the transaction decided); '' on tx.raw. */
  readonly content: string;
  /** The decision and score as text, e.g. `APPROVE 0.0123`; '' on tx.raw. */
  readonly outcome: string;
}

export interface PartitionOrderReport {
  readonly violations: string[];
  /** Later occurrences of an id on `tx.scored` (redelivered and decided again). */
  readonly duplicates: number;
  /** Of those, how many carry another score than the first occurrence, and how many another decision. */
  readonly otherScore: number;
  readonly otherDecision: number;
  /** Keys (payer accounts) checked. */
  readonly keys: number;
}

/** Checks `scored` against `raw` by the rule above; at most `limit` violations are listed per kind. */
export function partitionOrderViolations(
  raw: readonly ObservedRecord[],
  scored: readonly ObservedRecord[],
  limit = 10,
): PartitionOrderReport {
  const violations: string[] = [];
  const counts = new Map<string, number>();
  const report = (kind: string, line: string): void => {
    const n = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, n);
    if (n <= limit) violations.push(`${kind}: ${line}`);
  };
  const rawByKey = byKey(raw);
  const scoredByKey = byKey(scored);
  let duplicates = 0;
  let otherScore = 0;
  let otherDecision = 0;

  for (const [key, rawRecords] of rawByKey) {
    const scoredRecords = scoredByKey.get(key) ?? [];
    const partitions = new Set([...rawRecords, ...scoredRecords].map((r) => r.partition));
    if (partitions.size > 1) report('key on more than one partition', `${key} on ${[...partitions].join(', ')}`);

    const firsts = new Map<string, ObservedRecord>();
    const firstOrder: string[] = [];
    for (const record of scoredRecords) {
      const first = firsts.get(record.transactionId);
      if (first === undefined) {
        firsts.set(record.transactionId, record);
        firstOrder.push(record.transactionId);
      } else {
        duplicates += 1;
        if (first.outcome !== record.outcome) otherScore += 1;
        if (first.outcome.split(' ')[0] !== record.outcome.split(' ')[0]) otherDecision += 1;
        if (first.content !== record.content)
          report(
            'a repeated decision differs from the first',
            `${record.transactionId} at ${record.partition}/${record.offset}`,
          );
      }
    }
    const rawOrder = rawRecords.map((r) => r.transactionId);
    const diverges = firstOrder.findIndex((id, i) => id !== rawOrder[i]);
    if (diverges >= 0 || firstOrder.length !== rawOrder.length) {
      const at = diverges >= 0 ? diverges : Math.min(firstOrder.length, rawOrder.length);
      report(
        'decisions out of tx.raw order',
        `${key}, transaction #${at + 1}: tx.raw has ${rawOrder[at] ?? 'nothing'}, tx.scored ${firstOrder[at] ?? 'nothing'}`,
      );
    }
  }
  for (const key of scoredByKey.keys())
    if (!rawByKey.has(key)) report('decisions for a key never on tx.raw', String(key));
  for (const [kind, n] of counts) if (n > limit) violations.push(`${kind}: ${n - limit} more`);
  return { violations, duplicates, otherScore, otherDecision, keys: rawByKey.size };
}

function byKey(records: readonly ObservedRecord[]): Map<string | null, ObservedRecord[]> {
  const grouped = new Map<string | null, ObservedRecord[]>();
  for (const record of records) {
    let list = grouped.get(record.key);
    if (list === undefined) grouped.set(record.key, (list = []));
    list.push(record);
  }
  for (const list of grouped.values()) list.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  return grouped;
}
