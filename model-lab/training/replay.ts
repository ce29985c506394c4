import type { AnalystLabel, Transaction } from '../../schemas/generated/types.js';
import type { FeatureEngine } from '../../scoring/domain/features.js';

/**
 * Replays labelled history through a FeatureEngine the way the live stage sees it: in event-time order, with
 * each fraud label delivered only `labelDelayMs` after its transaction (ML-EVAL.md: 7 days), so features that
 * use labels never see one the stream could not have had yet.
 */
export const SEVEN_DAYS_MS = 7 * 86_400_000;

export class DelayedLabelReplay {
  private readonly pending: AnalystLabel[] = [];
  private head = 0;

  constructor(
    private readonly engine: FeatureEngine,
    private readonly labelDelayMs = SEVEN_DAYS_MS,
  ) {}

  /** Applies every label visible by `tx`'s event time, then observes `tx` into `out` at `offset`. */
  observeInto(tx: Transaction, fraud: boolean, out: Float32Array, offset: number): void {
    while (this.head < this.pending.length && this.pending[this.head]!.labelledAtMs <= tx.eventTimeMs)
      this.engine.applyLabel(this.pending[this.head++]!);
    if (this.head > 10_000 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    this.engine.observeInto(tx, out, offset);
    if (fraud) this.pending.push(fraudLabel(tx, tx.eventTimeMs + this.labelDelayMs));
  }
}

/** The label an analyst or chargeback would produce for a fraudulent transaction. */
export function fraudLabel(tx: Transaction, labelledAtMs: number): AnalystLabel {
  return {
    transactionId: tx.transactionId,
    label: 'FRAUD',
    labelledBy: 'chargeback',
    labelledAtMs,
    transactionEventTimeMs: tx.eventTimeMs,
    payerAccountId: tx.payerAccountId,
    cardToken: tx.card?.token ?? null,
    terminalId: tx.terminalId,
    note: null,
  };
}
