import type { HandbookRow } from '../../simulator/handbook-csv.js';
import { DAY_MS } from './protocol.js';
import { FEATURE_COUNT } from '../../scoring/domain/feature-names.js';
import { FeatureEngine } from '../../scoring/domain/features.js';
import { DelayedLabelReplay, SEVEN_DAYS_MS } from '../training/replay.js';
import { FeatureRows } from '../training/rows.js';
import { handbookEventTimeMs, handbookTransaction } from './handbook-transactions.js';

/**
 * The evaluation's only feature path: handbook rows become canonical Transactions and go, in event time,
 * through the scoring stage's own FeatureEngine, with each fraud label applied only `labelDelayMs` after its
 * transaction (DelayedLabelReplay → FeatureEngine.applyLabel, as the analyst.labels topic delivers them).
 * Every row is observed (feature state needs the whole history); only rows inside the kept window are stored.
 */
export class ReplayedRows extends FeatureRows {
  cards = new Int32Array(this.labels.length);
  days = new Int32Array(this.labels.length);
  transactionIds = new Float64Array(this.labels.length);

  protected override grow(rows: number): void {
    super.grow(rows);
    const grow = <T extends Int32Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const next = make(rows);
      next.set(old);
      return next;
    };
    this.cards = grow(this.cards, (n) => new Int32Array(n));
    this.days = grow(this.days, (n) => new Int32Array(n));
    this.transactionIds = grow(this.transactionIds, (n) => new Float64Array(n));
  }
}

export interface ReplayWindow {
  /** First UTC day number whose rows are stored. */
  readonly fromDay: number;
  /** Day number after the last one needed; reading stops at the first row on or after it. */
  readonly toDay: number;
}

export interface ReplayResult {
  readonly rows: ReplayedRows;
  readonly rowsRead: number;
  /** Rows whose TX_AMOUNT had digits beyond cents (pandas' float noise) and was rounded half-even. */
  readonly amountsRounded: number;
  readonly firstDay: number;
  readonly lastDay: number;
  readonly seconds: number;
}

/**
 * Replays `source` (event-time order; throws RangeError on a row earlier than the one before it) until the
 * first row on or after the window's end. `planWindow` receives the first row's day number and returns
 * the window to keep, so a protocol can anchor itself on the file's start.
 */
export async function replayHandbook(
  source: AsyncIterable<HandbookRow> | Iterable<HandbookRow>,
  planWindow: (firstDay: number) => ReplayWindow,
  options: { readonly labelDelayMs?: number; readonly engine?: FeatureEngine } = {},
): Promise<ReplayResult> {
  const started = performance.now();
  const engine = options.engine ?? new FeatureEngine();
  const replay = new DelayedLabelReplay(engine, options.labelDelayMs ?? SEVEN_DAYS_MS);
  const rows = new ReplayedRows();
  const scratch = new Float32Array(FEATURE_COUNT);
  let window: ReplayWindow | undefined;
  let rowsRead = 0;
  let amountsRounded = 0;
  let firstDay = NaN;
  let lastDay = NaN;
  let lastMs = -Infinity;
  // TX_DATETIME parsing per row is the hot spot: parse the date once per day, the time by arithmetic.
  let cachedDate = '';
  let cachedDayMs = 0;
  for await (const row of source) {
    const dt = row.txDatetime;
    const date = dt.slice(0, 10);
    if (date !== cachedDate) {
      cachedDate = date;
      cachedDayMs = handbookEventTimeMs(`${date} 00:00:00`);
    }
    const eventTimeMs =
      cachedDayMs + (Number(dt.slice(11, 13)) * 3600 + Number(dt.slice(14, 16)) * 60 + Number(dt.slice(17, 19))) * 1000;
    if (eventTimeMs < lastMs)
      throw new RangeError(
        `transaction ${row.transactionId} (${dt}) is earlier than the one before it; the file must be in event-time order`,
      );
    lastMs = eventTimeMs;
    const day = Math.floor(eventTimeMs / DAY_MS);
    window ??= planWindow((firstDay = day));
    if (day >= window.toDay) break;
    rowsRead++;
    if (row.txAmountRounded) amountsRounded++;
    lastDay = day;
    const tx = handbookTransaction(row, eventTimeMs);
    const fraud = row.txFraud === 1;
    if (day < window.fromDay) {
      replay.observeInto(tx, fraud, scratch, 0);
      continue;
    }
    const at = rows.slot();
    replay.observeInto(tx, fraud, rows.features, at * FEATURE_COUNT);
    rows.labels[at] = row.txFraud;
    rows.cards[at] = row.customerId;
    rows.days[at] = day;
    rows.transactionIds[at] = row.transactionId;
  }
  return { rows, rowsRead, amountsRounded, firstDay, lastDay, seconds: (performance.now() - started) / 1000 };
}
