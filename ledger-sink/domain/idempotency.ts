import type { Decision, TransactionKind } from '../../schemas/generated/types.js';
import { type Booking, bookingOf } from './postings.js';

/**
 * Idempotency decisions for one batch, made on plain data: what the store already holds (fingerprint per
 * transaction id, per table, and the decision stored) and the batch in order. Nothing here relies on background
 * merges — a row is written only when its table does not hold the transaction yet.
 *
 * Each table is judged on its own, so a crash between the ledger insert and the decisions insert is repaired
 * when the batch is redelivered: the ledger is found complete (skipped) and the decision row is written.
 *
 * The first decision stored for a transaction id governs its ledger. A later copy with the same content may carry
 * another decision (scoring re-run after a crash on a state that differs by a label, a rules reload): it is a
 * duplicate, and what it books is what the accepted decision books, never its own — nothing, when the decision was
 * stored with a not-posted reason.
 */

/** One decoded scored transaction, reduced to what the decision needs. */
export interface Candidate {
  readonly transactionId: string;
  readonly fingerprint: string;
  readonly decision: Decision;
  readonly kind: TransactionKind;
}

/**
 * What the store already holds for the transaction ids of a batch, from one round of concurrent look-ups: the
 * fingerprint per id in `ledger_entries` and in `decisions`, the decision stored, which ids have a hold, which
 * have a stored verdict (a label that may have arrived before its decision), and which decisions were stored as
 * booking nothing for a reason of the ledger's (a refund refused, domain/refunds.ts).
 */
export interface StoredFingerprints {
  readonly ledger: ReadonlyMap<string, string>;
  readonly decisions: ReadonlyMap<string, string>;
  readonly decidedAs: ReadonlyMap<string, Decision>;
  readonly held: ReadonlySet<string>;
  readonly labelled: ReadonlySet<string>;
  /** Ids whose stored decision carries a not-posted reason: they book nothing, however often they come again. */
  readonly unposted: ReadonlySet<string>;
}

export type Verdict =
  /** First time this transaction id is seen: write everything it posts. */
  | {
      readonly kind: 'new';
      readonly booking: Booking;
      readonly writeEntries: boolean;
      readonly writeDecision: boolean;
    }
  /**
   * Seen before with the same fingerprint: write only what a table is still missing (usually nothing). `booking`
   * follows the accepted decision; `decisionChanged` says this copy carries another one.
   */
  | {
      readonly kind: 'duplicate';
      readonly booking: Booking;
      readonly writeEntries: boolean;
      readonly writeDecision: boolean;
      readonly decisionChanged: boolean;
    }
  /** Seen before with another fingerprint: never posted, reported as a conflict. */
  | { readonly kind: 'conflict'; readonly acceptedFingerprint: string };

/**
 * One verdict per candidate, in batch order. Within the batch the first occurrence of an id is the accepted
 * one; later occurrences are duplicates or conflicts of it, exactly as if they had arrived in a later batch.
 */
export function decideBatch(candidates: readonly Candidate[], stored: StoredFingerprints): Verdict[] {
  const acceptedInBatch = new Map<string, { fingerprint: string; decision: Decision }>();
  const entriesWritten = new Set<string>();
  const decisionsWritten = new Set<string>();
  return candidates.map((candidate): Verdict => {
    const id = candidate.transactionId;
    const first = acceptedInBatch.get(id);
    const known = [stored.ledger.get(id), stored.decisions.get(id), first?.fingerprint].filter(
      (fp): fp is string => fp !== undefined,
    );
    const other = known.find((fp) => fp !== candidate.fingerprint);
    if (other !== undefined) return { kind: 'conflict', acceptedFingerprint: other };

    const decision = stored.decidedAs.get(id) ?? first?.decision ?? candidate.decision;
    // A refusal is part of the stored decision: a refund refused once stays refused when its payment changes later.
    const booking = stored.unposted.has(id) ? 'none' : bookingOf(decision, candidate.kind);
    const writeEntries = booking === 'post' && !stored.ledger.has(id) && !entriesWritten.has(id);
    const writeDecision = !stored.decisions.has(id) && !decisionsWritten.has(id);
    if (writeEntries) entriesWritten.add(id);
    if (writeDecision) decisionsWritten.add(id);
    if (first === undefined) acceptedInBatch.set(id, { fingerprint: candidate.fingerprint, decision });
    if (known.length === 0) return { kind: 'new', booking, writeEntries, writeDecision };
    return {
      kind: 'duplicate',
      booking,
      writeEntries,
      writeDecision,
      decisionChanged: decision !== candidate.decision,
    };
  });
}
