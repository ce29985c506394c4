/**
 * The time-split protocols of ML-EVAL.md (after the handbook's `get_train_test_set` and prequential folds),
 * as pure arithmetic on whole UTC days. A day number is ⌊eventTimeMs / 86,400,000⌋.
 */
export const DAY_MS = 86_400_000;

export const EvalProtocol = {
  singleSplit: 'single-split',
  prequential: 'prequential',
} as const;
export type EvalProtocol = (typeof EvalProtocol)[keyof typeof EvalProtocol];

export interface ProtocolOptions {
  readonly protocol: EvalProtocol;
  /** First training day of the single split (fold 0), as a UTC day number. */
  readonly anchorTrainDay: number;
  /** Prequential folds (single-split always has 1). */
  readonly folds: number;
  readonly trainDays: number;
  /** Days between training and test: the label delay. */
  readonly delayDays: number;
  readonly testDays: number;
}

/** One fold's windows, each [from, to) in day numbers. */
export interface Fold {
  readonly index: number;
  readonly trainFromDay: number;
  readonly trainToDay: number;
  readonly testFromDay: number;
  readonly testToDay: number;
}

/** The handbook's single-split anchor: training starts on 2018-07-25, 115 days after the data set's 2018-04-01. */
export const HANDBOOK_TRAIN_START_DAY = Date.UTC(2018, 6, 25) / DAY_MS;
export const HANDBOOK_FIRST_DAY = Date.UTC(2018, 3, 1) / DAY_MS;

/**
 * The folds, fold 0 first: fold 0 is the single split; prequential fold i slides every window back by
 * i × testDays (one week), so the test windows tile the weeks before the single split's test week.
 */
export function protocolFolds(options: ProtocolOptions): Fold[] {
  const count = options.protocol === EvalProtocol.singleSplit ? 1 : options.folds;
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`folds must be a whole number ≥ 1, got ${count}`);
  for (const key of ['trainDays', 'testDays'] as const) {
    if (!Number.isSafeInteger(options[key]) || options[key] < 1)
      throw new RangeError(`${key} must be a whole number ≥ 1, got ${options[key]}`);
  }
  if (!Number.isSafeInteger(options.delayDays) || options.delayDays < 0)
    throw new RangeError(`delayDays must be a whole number ≥ 0, got ${options.delayDays}`);
  return Array.from({ length: count }, (_, index) => {
    const trainFromDay = options.anchorTrainDay - index * options.testDays;
    const trainToDay = trainFromDay + options.trainDays;
    const testFromDay = trainToDay + options.delayDays;
    return { index, trainFromDay, trainToDay, testFromDay, testToDay: testFromDay + options.testDays };
  });
}

/**
 * Where the single split's training starts for a file whose first transaction is on `firstDay`: on the
 * handbook's calendar date (2018-07-25) when the file reaches back far enough for every fold and a 30-day
 * feature warm-up before it, otherwise at the same offset from the file's first day (115 days).
 */
export function defaultAnchorTrainDay(firstDay: number, earliestFoldOffsetDays: number): number {
  const calendarFits = firstDay <= HANDBOOK_TRAIN_START_DAY - earliestFoldOffsetDays - 30;
  return calendarFits ? HANDBOOK_TRAIN_START_DAY : firstDay + (HANDBOOK_TRAIN_START_DAY - HANDBOOK_FIRST_DAY);
}

/**
 * Which test-window transactions stay in a fold's test set. A card (customer) with a fraud known by test day D
 * — a fraud on any day from the fold's first training day up to D − delayDays − 1, whose label has arrived —
 * is removed from day D: a bank would have blocked it. `days`, `cards`, `labels` are per transaction in
 * event-time order and must cover the fold's training start to its test end. Returns the kept indices.
 */
export function foldTestSet(
  fold: Fold,
  delayDays: number,
  days: ArrayLike<number>,
  cards: ArrayLike<number>,
  labels: ArrayLike<number>,
): number[] {
  const firstFraudDay = new Map<number, number>();
  for (let i = 0; i < days.length; i++) {
    const day = days[i]!;
    if (day < fold.trainFromDay || day >= fold.testToDay || !(labels[i]! > 0)) continue;
    const known = firstFraudDay.get(cards[i]!);
    if (known === undefined || day < known) firstFraudDay.set(cards[i]!, day);
  }
  const kept: number[] = [];
  for (let i = 0; i < days.length; i++) {
    const day = days[i]!;
    if (day < fold.testFromDay || day >= fold.testToDay) continue;
    const known = firstFraudDay.get(cards[i]!);
    if (known === undefined || known >= day - delayDays) kept.push(i);
  }
  return kept;
}
