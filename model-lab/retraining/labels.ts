import type { AnalystLabel, LabelValue, Transaction } from '../../schemas/generated/types.js';
import type { StoredDecision } from '../backtest/replay.js';

/**
 * Where a training label comes from: an analyst's verdict or a chargeback (both on analyst.labels, stored in
 * `analyst_labels`), or a bank return whose reason says the original payment was not authorised (stored as the
 * return's own decision: a REFUND naming its original).
 */
export type LabelSource = 'analyst' | 'chargeback' | 'return';

/** One verdict on one transaction, with when it became known to the pipeline. */
export interface Verdict {
  readonly transactionId: string;
  readonly label: LabelValue;
  readonly source: LabelSource;
  /** When the verdict arrived (a label's labelled_at, a return's receipt); only from then on may it be used. */
  readonly knownAtMs: number;
}

/**
 * Return reasons that mean "the account holder did not authorise this payment" — NACHA R05, R07, R10, R11, R29, R51
 * and ISO 20022's FR01 (fraud). Other returns (insufficient funds, closed account, wrong account…) say nothing about
 * fraud and give no label.
 */
export const UNAUTHORISED_RETURN_REASONS: ReadonlySet<string> = new Set([
  'R05',
  'R07',
  'R10',
  'R11',
  'R29',
  'R51',
  'FR01',
]);

/** The reason a return gives for sending money back: NACHA's ReturnReason or pacs.004's RtrRsn reference. */
function returnReason(tx: Transaction): string | undefined {
  const references = tx.sourceDocument?.references;
  return references?.['ReturnReason'] ?? references?.['RtrRsn'];
}

/**
 * Every verdict a stored history holds: analyst and chargeback labels as given, and a FRAUD verdict on the original
 * of each return whose reason is an unauthorised one, known from when the return was received.
 */
export function verdictsOf(decisions: readonly StoredDecision[], labels: readonly AnalystLabel[]): Verdict[] {
  const verdicts: Verdict[] = labels.map((l) => ({
    transactionId: l.transactionId,
    label: l.label,
    source: l.labelledBy === 'chargeback' ? 'chargeback' : 'analyst',
    knownAtMs: l.labelledAtMs,
  }));
  for (const { transaction: tx } of decisions) {
    const reason = returnReason(tx);
    if (tx.kind !== 'REFUND' || tx.originalTransactionId === null || reason === undefined) continue;
    if (!UNAUTHORISED_RETURN_REASONS.has(reason)) continue;
    verdicts.push({
      transactionId: tx.originalTransactionId,
      label: 'FRAUD',
      source: 'return',
      knownAtMs: tx.receivedAtMs,
    });
  }
  return verdicts;
}

/**
 * What the pipeline knew at `asOfMs`: per transaction, the latest verdict that had arrived by then (a GENUINE
 * verdict after a FRAUD one clears it, and the other way round). A verdict arriving later is not known.
 */
export function verdictsKnownAt(verdicts: readonly Verdict[], asOfMs: number): Map<string, Verdict> {
  const known = new Map<string, Verdict>();
  for (const v of verdicts) {
    if (v.knownAtMs > asOfMs) continue;
    const before = known.get(v.transactionId);
    if (before === undefined || before.knownAtMs <= v.knownAtMs) known.set(v.transactionId, v);
  }
  return known;
}

/** How a transaction counts in a labelled set as of some instant. */
export type RowLabel = 'fraud' | 'genuine' | 'not-yet-known';

/**
 * A transaction's training label as of `asOfMs`: its latest known verdict if it has one; otherwise genuine once its
 * label delay has passed (a fraud would have been reported by then), and not yet known before that — such a
 * transaction is no negative, it is left out.
 */
export function rowLabel(
  tx: Transaction,
  known: ReadonlyMap<string, Verdict>,
  asOfMs: number,
  labelDelayMs: number,
): RowLabel {
  const verdict = known.get(tx.transactionId);
  if (verdict !== undefined) return verdict.label === 'FRAUD' ? 'fraud' : 'genuine';
  return tx.eventTimeMs + labelDelayMs <= asOfMs ? 'genuine' : 'not-yet-known';
}
