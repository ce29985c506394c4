import { FEATURE_COUNT } from '../../scoring/domain/feature-names.js';
import { FeatureEngine } from '../../scoring/domain/features.js';
import type { StoredHistory } from '../backtest/replay.js';
import { FeatureRows } from '../training/rows.js';
import { type LabelSource, type Verdict, rowLabel, verdictsKnownAt, verdictsOf } from './labels.js';

const DAY_MS = 86_400_000;

/** The windows of a retraining run, all epoch ms. */
export interface RetrainingWindows {
  /** First event time trained on. */
  readonly trainFromMs: number;
  /**
   * The training cut-off: training rows end here and carry the labels known at this instant, as a retraining run
   * started then would have seen them. The test window starts here.
   */
  readonly cutoffMs: number;
  /** End of the test window (exclusive). */
  readonly testToMs: number;
  /** When the stored history ends: the test rows carry the labels known by then. */
  readonly asOfMs: number;
  /** A transaction with no verdict counts as genuine only once this long has passed since it (chargeback window). */
  readonly labelDelayMs: number;
}

/** What one labelled set holds, counted. */
export interface SetCounts {
  /** Transactions in the window. */
  readonly transactions: number;
  /** Rows kept: labelled fraud or genuine. */
  readonly rows: number;
  readonly positives: number;
  /** Positives by where their verdict came from. */
  readonly positivesBy: Readonly<Record<LabelSource, number>>;
  /** Transactions left out: no verdict known and still inside their label delay, so not known to be genuine. */
  readonly notYetKnown: number;
}

/** A labelled set's feature rows with what CP@k needs per row. */
export interface LabelledSet {
  readonly rows: FeatureRows;
  readonly transactionIds: string[];
  /** Card (token, else payer account) as a small integer, per row. */
  readonly cards: Int32Array;
  /** UTC day number of the event time, per row. */
  readonly days: Int32Array;
  readonly counts: SetCounts;
}

export interface LabelledHistory {
  readonly train: LabelledSet;
  readonly test: LabelledSet;
  /** Decisions replayed through the FeatureEngine (warm-up included). */
  readonly replayed: number;
  /** Analyst and chargeback labels the FeatureEngine was given, each at its arrival in event time. */
  readonly labelsApplied: number;
}

class SetBuilder {
  readonly rows = new FeatureRows(1024);
  readonly transactionIds: string[] = [];
  private readonly cards: number[] = [];
  private readonly days: number[] = [];
  private transactions = 0;
  private notYetKnown = 0;
  private readonly positivesBy: Record<LabelSource, number> = { analyst: 0, chargeback: 0, return: 0 };

  constructor(private readonly cardIds: Map<string, number>) {}

  count(): void {
    this.transactions++;
  }

  leaveOut(): void {
    this.notYetKnown++;
  }

  add(id: string, card: string, eventTimeMs: number, fraud: Verdict | undefined): number {
    const row = this.rows.slot();
    this.rows.labels[row] = fraud === undefined ? 0 : 1;
    if (fraud !== undefined) this.positivesBy[fraud.source]++;
    this.transactionIds.push(id);
    if (!this.cardIds.has(card)) this.cardIds.set(card, this.cardIds.size);
    this.cards.push(this.cardIds.get(card)!);
    this.days.push(Math.floor(eventTimeMs / DAY_MS));
    return row;
  }

  build(): LabelledSet {
    const positives = this.positivesBy.analyst + this.positivesBy.chargeback + this.positivesBy.return;
    return {
      rows: this.rows,
      transactionIds: this.transactionIds,
      cards: Int32Array.from(this.cards),
      days: Int32Array.from(this.days),
      counts: {
        transactions: this.transactions,
        rows: this.rows.n,
        positives,
        positivesBy: { ...this.positivesBy },
        notYetKnown: this.notYetKnown,
      },
    };
  }
}

/**
 * Replays a stored history through the scoring stage's own FeatureEngine in event time — from empty state, every
 * analyst and chargeback label applied at the first transaction at or after its arrival, as live scoring applies
 * it when it comes in — and keeps the feature rows of the training window [trainFrom, cutoff) and of the test window
 * [cutoff, testTo), each labelled with what was known then (`rowLabel`): training rows with the verdicts known at
 * the cut-off, test rows with those known when the history ends. Returns reach only the labels, never the feature
 * state: live scoring does not see them as labels either.
 */
export function labelledHistory(history: StoredHistory, windows: RetrainingWindows): LabelledHistory {
  const verdicts = verdictsOf(history.decisions, history.labels);
  const knownAtCutoff = verdictsKnownAt(verdicts, windows.cutoffMs);
  const knownAtEnd = verdictsKnownAt(verdicts, windows.asOfMs);
  const engineLabels = [...history.labels].sort((a, b) => a.labelledAtMs - b.labelledAtMs);
  const engine = new FeatureEngine();
  const cardIds = new Map<string, number>();
  const train = new SetBuilder(cardIds);
  const test = new SetBuilder(cardIds);
  const scratch = new Float32Array(FEATURE_COUNT);
  let nextLabel = 0;
  let replayed = 0;
  for (const { transaction: tx } of history.decisions) {
    const t = tx.eventTimeMs;
    if (t >= windows.testToMs) break;
    while (nextLabel < engineLabels.length && engineLabels[nextLabel]!.labelledAtMs <= t)
      engine.applyLabel(engineLabels[nextLabel++]!);
    replayed++;
    const [set, known, asOf] =
      t < windows.trainFromMs
        ? [undefined, knownAtCutoff, windows.cutoffMs]
        : t < windows.cutoffMs
          ? [train, knownAtCutoff, windows.cutoffMs]
          : [test, knownAtEnd, windows.asOfMs];
    const label = set === undefined ? 'not-yet-known' : rowLabel(tx, known, asOf, windows.labelDelayMs);
    if (set === undefined || label === 'not-yet-known') {
      set?.count();
      set?.leaveOut();
      engine.observeInto(tx, scratch, 0);
      continue;
    }
    set.count();
    const row = set.add(
      tx.transactionId,
      tx.card?.token ?? tx.payerAccountId,
      t,
      label === 'fraud' ? known.get(tx.transactionId) : undefined,
    );
    engine.observeInto(tx, set.rows.features, row * FEATURE_COUNT);
  }
  return { train: train.build(), test: test.build(), replayed, labelsApplied: nextLabel };
}
