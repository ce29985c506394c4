/**
 * Idempotency decisions for one batch, made on plain data: what the store already holds (fingerprint per
 * transaction id, per table) and the batch in order. Nothing here relies on background merges — a row is
 * written only when its table does not hold the transaction yet.
 *
 * Each table is judged on its own, so a crash between the ledger insert and the decisions insert is repaired
 * when the batch is redelivered: the ledger is found complete (skipped) and the decision row is written.
 */

/** One decoded scored transaction, reduced to what the decision needs. */
export interface Candidate {
  readonly transactionId: string;
  readonly fingerprint: string;
  /** Whether this transaction posts ledger entries at all (declined and authorisations do not). */
  readonly posts: boolean;
}

/** The fingerprint already stored per transaction id, per table. */
export interface StoredFingerprints {
  readonly ledger: ReadonlyMap<string, string>;
  readonly decisions: ReadonlyMap<string, string>;
}

export type Verdict =
  /** First time this transaction id is seen: write everything it posts. */
  | { readonly kind: 'new'; readonly writeEntries: boolean; readonly writeDecision: boolean }
  /** Seen before with the same fingerprint: write only what a table is still missing (usually nothing). */
  | { readonly kind: 'duplicate'; readonly writeEntries: boolean; readonly writeDecision: boolean }
  /** Seen before with another fingerprint: never posted, reported as a conflict. */
  | { readonly kind: 'conflict'; readonly acceptedFingerprint: string };

/**
 * One verdict per candidate, in batch order. Within the batch the first occurrence of an id is the accepted
 * one; later occurrences are duplicates or conflicts of it, exactly as if they had arrived in a later batch.
 */
export function decideBatch(candidates: readonly Candidate[], stored: StoredFingerprints): Verdict[] {
  const acceptedInBatch = new Map<string, string>();
  const entriesWritten = new Set<string>();
  const decisionsWritten = new Set<string>();
  return candidates.map((candidate): Verdict => {
    const id = candidate.transactionId;
    const known = [stored.ledger.get(id), stored.decisions.get(id), acceptedInBatch.get(id)].filter(
      (fp): fp is string => fp !== undefined,
    );
    const other = known.find((fp) => fp !== candidate.fingerprint);
    if (other !== undefined) return { kind: 'conflict', acceptedFingerprint: other };

    const writeEntries = candidate.posts && !stored.ledger.has(id) && !entriesWritten.has(id);
    const writeDecision = !stored.decisions.has(id) && !decisionsWritten.has(id);
    if (writeEntries) entriesWritten.add(id);
    if (writeDecision) decisionsWritten.add(id);
    acceptedInBatch.set(id, candidate.fingerprint);
    return { kind: known.length === 0 ? 'new' : 'duplicate', writeEntries, writeDecision };
  });
}
