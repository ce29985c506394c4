import type { ClickHouseClient } from '@clickhouse/client';
import type { CustomerExportTransaction } from '../../schemas/api.js';
import { ClickHouseTables, type DecisionRow, type SelectedRow, epochMsColumn } from '../../schemas/clickhouse.js';
import { DECISION_TRANSACTION_COLUMNS, transactionOfDecision } from '../../schemas/decision-transaction.js';
import { decodeCursorValues, encodeCursorValues, isoTime, orNull, parseStoredJson, selectRows } from './select.js';

/** Where an export page starts: after this (event time, transaction id). */
export interface CustomerExportCursor {
  readonly eventTimeMs: number;
  readonly transactionId: string;
}

export const encodeCustomerExportCursor = (c: CustomerExportCursor): string =>
  encodeCursorValues([c.eventTimeMs, c.transactionId]);

/** The cursor in `text`, or undefined when it is not one {@link encodeCustomerExportCursor} made. */
export function decodeCustomerExportCursor(text: string): CustomerExportCursor | undefined {
  const values = decodeCursorValues(text, 2);
  if (values === undefined) return undefined;
  const [eventTimeMs, transactionId] = values;
  return typeof eventTimeMs === 'number' && Number.isSafeInteger(eventTimeMs) && typeof transactionId === 'string'
    ? { eventTimeMs, transactionId }
    : undefined;
}

type ExportRow = SelectedRow<
  DecisionRow,
  | (typeof DECISION_TRANSACTION_COLUMNS)[number]
  | 'decision'
  | 'score'
  | 'reasons_json'
  | 'features_json'
  | 'reporting_currency'
  | 'unconverted_currency'
  | 'transaction_json',
  'event_time' | 'received_at'
>;

/**
 * One page of the decided transactions of `customerId` (the decisions row's `customer_id`: ingest sets it to the
 * payer account when the request names no customer), oldest first, one row per transaction (the first stored).
 * Values are as stored: sealed personal values are opened by the caller.
 */
export async function customerTransactions(
  clickhouse: ClickHouseClient,
  customerId: string,
  page: { readonly limit: number; readonly after: CustomerExportCursor | undefined },
): Promise<{ transactions: CustomerExportTransaction[]; next: CustomerExportCursor | undefined }> {
  const rows = await selectRows<ExportRow>(
    clickhouse,
    `SELECT ${DECISION_TRANSACTION_COLUMNS.join(', ')}, decision, score, reasons_json, features_json, reporting_currency, unconverted_currency, transaction_json,
            ${epochMsColumn('event_time')}, ${epochMsColumn('received_at')}
     FROM (SELECT * FROM ${ClickHouseTables.decisions} WHERE customer_id = {customerId:String}
           ORDER BY stored_at LIMIT 1 BY transaction_id)
     WHERE {afterMs:Int64} < 0 OR (toUnixTimestamp64Milli(event_time), transaction_id) > ({afterMs:Int64}, {afterId:String})
     ORDER BY event_time, transaction_id
     LIMIT {limit:UInt32}`,
    {
      customerId,
      afterMs: page.after?.eventTimeMs ?? -1,
      afterId: page.after?.transactionId ?? '',
      limit: page.limit + 1,
    },
  );
  const more = rows.length > page.limit;
  const shown = more ? rows.slice(0, page.limit) : rows;
  const last = shown.at(-1);
  return {
    transactions: shown.map((r) => ({
      transactionId: r.transaction_id,
      eventTime: isoTime(r.event_time_ms),
      receivedAt: isoTime(r.received_at_ms),
      // The whole transaction: a slim row keeps in transaction_json only what no column gives back.
      transaction: transactionOfDecision(r, parseStoredJson(r.transaction_json)),
      decision: {
        outcome: r.decision,
        score: r.score,
        reasons: parseStoredJson(r.reasons_json) ?? [],
        features: parseStoredJson(r.features_json) ?? {},
        reportingCurrency: orNull(r.reporting_currency),
        unconvertedCurrency: orNull(r.unconverted_currency),
      },
    })),
    next:
      more && last !== undefined
        ? { eventTimeMs: Number(last.event_time_ms), transactionId: last.transaction_id }
        : undefined,
  };
}
