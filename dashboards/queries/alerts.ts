import type { ClickHouseClient } from '@clickhouse/client';
import type { AlertListItem, AlertPage } from '../../schemas/api.js';
import { moneyView } from '../domain/money.js';
import {
  type AnalystLabelRow,
  ClickHouseTables,
  type DecisionRow,
  type SelectedRow,
  epochMsColumn,
} from '../../schemas/clickhouse.js';
import { decodeCursorValues, encodeCursorValues, isoTime, orNull, parseStoredJson, selectRows } from './select.js';

/** Keyset cursor of the alert list: the last row's scored time and transaction id, opaque to clients. */
export interface AlertCursor {
  readonly scoredAtMs: number;
  readonly transactionId: string;
}

export function encodeCursor(cursor: AlertCursor): string {
  return encodeCursorValues([cursor.scoredAtMs, cursor.transactionId]);
}

/** The cursor `encodeCursor` made, or undefined when `text` is not one. */
export function decodeCursor(text: string): AlertCursor | undefined {
  const [scoredAtMs, transactionId] = decodeCursorValues(text, 2) ?? [];
  return Number.isSafeInteger(scoredAtMs) && typeof transactionId === 'string'
    ? { scoredAtMs: scoredAtMs as number, transactionId }
    : undefined;
}

export interface AlertQuery {
  readonly decisions: readonly string[];
  readonly sinceMs: number;
  readonly limit: number;
  readonly cursor: AlertCursor | undefined;
}

/** REVIEW/DECLINE decisions, newest first, keyset-paginated on (scored_at, transaction_id). */
export async function listAlerts(clickhouse: ClickHouseClient, q: AlertQuery): Promise<AlertPage> {
  const rows = await selectRows<
    SelectedRow<
      DecisionRow,
      | 'transaction_id'
      | 'decision'
      | 'score'
      | 'reasons_json'
      | 'channel'
      | 'kind'
      | 'amount_minor'
      | 'currency'
      | 'payer_account_id'
      | 'payee_account_id'
      | 'card_last4'
      | 'merchant_id'
      | 'country'
      | 'model_version',
      'event_time' | 'scored_at'
    >
  >(
    clickhouse,
    `SELECT transaction_id, decision, score, reasons_json, channel, kind, amount_minor, currency, payer_account_id,
       payee_account_id, card_last4, merchant_id, country, model_version,
       ${epochMsColumn('event_time')}, ${epochMsColumn('scored_at')}
     FROM ${ClickHouseTables.decisions}
     WHERE decision IN {decisions:Array(String)}
       AND scored_at >= fromUnixTimestamp64Milli({sinceMs:Int64}, 'UTC')
       AND ({hasCursor:UInt8} = 0 OR (scored_at, transaction_id) < (fromUnixTimestamp64Milli({cursorAtMs:Int64}, 'UTC'), {cursorId:String}))
     ORDER BY scored_at DESC, transaction_id DESC
     LIMIT {limit:UInt32}`,
    {
      decisions: q.decisions,
      sinceMs: q.sinceMs,
      hasCursor: q.cursor ? 1 : 0,
      cursorAtMs: q.cursor?.scoredAtMs ?? 0,
      cursorId: q.cursor?.transactionId ?? '',
      limit: q.limit + 1,
    },
  );
  const page = rows.slice(0, q.limit);
  const labels = await latestLabels(
    clickhouse,
    page.map((r) => r.transaction_id),
  );
  const last = page[page.length - 1];
  return {
    alerts: page.map((r) => ({
      transactionId: r.transaction_id,
      decision: r.decision,
      score: r.score,
      reasons: parseStoredJson(r.reasons_json) ?? [],
      channel: r.channel,
      kind: r.kind,
      amount: moneyView(r.amount_minor, r.currency),
      payerAccountId: r.payer_account_id,
      payeeAccountId: r.payee_account_id,
      cardLast4: orNull(r.card_last4),
      merchantId: orNull(r.merchant_id),
      country: orNull(r.country),
      modelVersion: r.model_version,
      eventTime: isoTime(r.event_time_ms),
      scoredAt: isoTime(r.scored_at_ms),
      label: labels.get(r.transaction_id) ?? null,
    })),
    nextCursor:
      rows.length > q.limit && last
        ? encodeCursor({ scoredAtMs: Number(last.scored_at_ms), transactionId: last.transaction_id })
        : null,
  };
}

async function latestLabels(
  clickhouse: ClickHouseClient,
  transactionIds: readonly string[],
): Promise<Map<string, NonNullable<AlertListItem['label']>>> {
  if (transactionIds.length === 0) return new Map();
  // The latest label's columns under their own names (argMax), its time as epoch ms.
  const rows = await selectRows<
    SelectedRow<AnalystLabelRow, 'transaction_id' | 'label' | 'labelled_by' | 'note', 'labelled_at'>
  >(
    clickhouse,
    `SELECT transaction_id, argMax(label, labelled_at) AS label, argMax(labelled_by, labelled_at) AS labelled_by,
       toUnixTimestamp64Milli(max(labelled_at)) AS labelled_at_ms, argMax(note, labelled_at) AS note
     FROM ${ClickHouseTables.analystLabels} WHERE transaction_id IN {ids:Array(String)} GROUP BY transaction_id`,
    { ids: transactionIds },
  );
  return new Map(
    rows.map((r) => [
      r.transaction_id,
      { label: r.label, labelledBy: r.labelled_by, labelledAt: isoTime(r.labelled_at_ms), note: orNull(r.note) },
    ]),
  );
}
