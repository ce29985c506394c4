import type { LiveAlertMessage } from '../../../schemas/api.js';
import type { paths } from './api/openapi.js';
import { formatMinor, formatMoney } from './money.js';

type AlertRow = paths['/v1/alerts']['get']['responses'][200]['content']['application/json']['alerts'][number];

/** One alert as the list shows it, from the live feed or from `GET /v1/alerts`. */
export interface AlertItem {
  readonly transactionId: string;
  readonly decision: string;
  readonly score: number;
  readonly reasons: ReadonlyArray<{ readonly code: string; readonly description: string }>;
  readonly channel: string;
  readonly amountText: string;
  readonly payer: string;
  readonly card: string | null;
  readonly country: string | null;
  readonly atMs: number;
  readonly label: { readonly label: string; readonly labelledBy: string } | null;
  /** Arrived live in this session (highlighted), not read from the history. */
  readonly fresh: boolean;
}

export const fromLive = (alert: LiveAlertMessage['alert']): AlertItem => ({
  transactionId: alert.transactionId,
  decision: alert.decision,
  score: alert.score,
  reasons: alert.reasons,
  channel: alert.channel,
  amountText: formatMinor(alert.amountMinor, alert.currency),
  payer: alert.payerAccountId,
  card: alert.cardLast4,
  country: alert.country,
  atMs: alert.raisedAtMs,
  label: null,
  fresh: true,
});

export const fromHistory = (row: AlertRow): AlertItem => ({
  transactionId: row.transactionId,
  decision: row.decision,
  score: row.score,
  reasons: row.reasons,
  channel: row.channel,
  amountText: formatMoney(row.amount),
  payer: row.payerAccountId,
  card: row.cardLast4,
  country: row.country,
  atMs: Date.parse(row.scoredAt),
  label: row.label === null ? null : { label: row.label.label.toLowerCase(), labelledBy: row.label.labelledBy },
  fresh: false,
});

/**
 * The alerts the console lists, newest first, each once, at most `limit`. The history (`GET /v1/alerts`) is read
 * from the ledger's store, which lags the live feed, so live alerts that arrive while a history load is in flight are
 * put back on top after it, never wiped.
 */
export class AlertBook {
  private items: AlertItem[] = [];
  private readonly ids = new Set<string>();
  private readonly loads = new Set<AlertItem[]>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly limit: number) {}

  get list(): readonly AlertItem[] {
    return this.items;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** An alert from the live feed: on top, and remembered by every history load in flight. */
  addLive(alert: AlertItem): void {
    for (const arrived of this.loads) arrived.push(alert);
    this.add(alert, true);
    this.changed();
  }

  /** Redraws the list from a history page read by `read`; live alerts that arrived meanwhile stay on top. */
  async reload(read: () => Promise<readonly AlertItem[]>): Promise<void> {
    const arrived: AlertItem[] = [];
    this.loads.add(arrived);
    try {
      const rows = await read();
      this.items = [];
      this.ids.clear();
      for (const row of rows) this.add(row, false);
      for (const alert of arrived) this.add(alert, true);
      this.changed();
    } finally {
      this.loads.delete(arrived);
    }
  }

  /** The verdict given on the page, shown in place of its buttons. */
  labelled(transactionId: string, label: string, labelledBy: string): void {
    this.items = this.items.map((a) =>
      a.transactionId === transactionId ? { ...a, label: { label, labelledBy } } : a,
    );
    this.changed();
  }

  private add(alert: AlertItem, atTop: boolean): void {
    if (this.ids.has(alert.transactionId)) return;
    this.ids.add(alert.transactionId);
    this.items = atTop ? [alert, ...this.items] : [...this.items, alert];
    while (this.items.length > this.limit) this.ids.delete(this.items.pop()!.transactionId);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
