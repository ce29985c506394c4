import type { ClickHouseClient } from '@clickhouse/client';
import type { AccessLogPage } from '../../schemas/api.js';
import { type AccessLogRow, ClickHouseTables, type SelectedRow, epochMsColumn } from '../../schemas/clickhouse.js';
import { decodeCursorValues, encodeCursorValues, isoTime, parseStoredJson, selectRows } from './select.js';

/**
 * Paging cursor of the access log. Rows carry no unique id (two identical reads in one millisecond are two
 * identical rows), so a keyset cannot tell ties apart; instead the first page pins an upper bound (`asOfMs`) and
 * later pages skip `offset` rows below it. Rows recorded after the first page cannot shift the pages.
 */
export interface AccessLogCursor {
  readonly asOfMs: number;
  readonly offset: number;
}

export function encodeAccessLogCursor(cursor: AccessLogCursor): string {
  return encodeCursorValues([cursor.asOfMs, cursor.offset]);
}

/** The cursor `encodeAccessLogCursor` made, or undefined when `text` is not one. */
export function decodeAccessLogCursor(text: string): AccessLogCursor | undefined {
  const [asOfMs, offset] = decodeCursorValues(text, 2) ?? [];
  return Number.isSafeInteger(asOfMs) && Number.isSafeInteger(offset) && (offset as number) >= 0
    ? { asOfMs: asOfMs as number, offset: offset as number }
    : undefined;
}

export interface AccessLogQuery {
  readonly resource: string | undefined;
  readonly principal: string | undefined;
  readonly action: string | undefined;
  readonly fromMs: number | undefined;
  /** Exclusive upper bound; with no cursor, the first page's `asOfMs`. */
  readonly toMs: number;
  readonly limit: number;
  readonly cursor: AccessLogCursor | undefined;
}

/** Access-log rows matching every given filter, newest first (ties in a stable order), one page. */
export async function listAccessLog(clickhouse: ClickHouseClient, q: AccessLogQuery): Promise<AccessLogPage> {
  const asOfMs = q.cursor?.asOfMs ?? q.toMs;
  const offset = q.cursor?.offset ?? 0;
  const rows = await selectRows<
    SelectedRow<AccessLogRow, 'principal' | 'principal_name' | 'role' | 'action' | 'resource' | 'query_json', 'at'>
  >(
    clickhouse,
    `SELECT ${epochMsColumn('at')}, principal, principal_name, role, action, resource, query_json
     FROM ${ClickHouseTables.accessLog}
     WHERE at < fromUnixTimestamp64Milli({asOfMs:Int64}, 'UTC')
       AND ({fromMs:Int64} < 0 OR at >= fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC'))
       AND ({resource:String} = '' OR resource = {resource:String})
       AND ({principal:String} = '' OR principal = {principal:String})
       AND ({action:String} = '' OR action = {action:String})
     ORDER BY at DESC, principal, action, resource, query_json
     LIMIT {limit:UInt32} OFFSET {offset:UInt32}`,
    {
      asOfMs,
      fromMs: q.fromMs ?? -1,
      resource: q.resource ?? '',
      principal: q.principal ?? '',
      action: q.action ?? '',
      limit: q.limit + 1,
      offset,
    },
  );
  const page = rows.slice(0, q.limit);
  return {
    entries: page.map((r) => ({
      at: isoTime(r.at_ms),
      principal: r.principal,
      principalName: r.principal_name === '' ? null : r.principal_name,
      role: r.role,
      action: r.action,
      resource: r.resource,
      query: parseStoredJson(r.query_json),
    })),
    nextCursor: rows.length > q.limit ? encodeAccessLogCursor({ asOfMs, offset: offset + q.limit }) : null,
  };
}
