import type { ClickHouseClient } from '@clickhouse/client';
import type { AccountBalance, AccountStatement, StatementLine } from '../../schemas/api.js';
import { moneyView } from '../domain/money.js';
import { isoTime, selectRows } from './select.js';

/**
 * Account balances and statements from `ledger_entries`. Sums are taken as Int128 so that no number of Int64
 * entries can overflow, and read back as decimal strings (quoted by the client settings), so they are exact.
 */
/** Balances per currency of `accountId`, or undefined when the ledger holds no entry for it. */
export async function accountBalance(
  clickhouse: ClickHouseClient,
  accountId: string,
): Promise<AccountBalance | undefined> {
  const rows = await selectRows<{ currency: string; balance: string; entries: string; last_ms: string }>(
    clickhouse,
    `SELECT currency, sum(toInt128(amount_minor)) AS balance, count() AS entries, toUnixTimestamp64Milli(max(event_time)) AS last_ms
     FROM ledger_entries WHERE account_id = {accountId:String} GROUP BY currency ORDER BY currency`,
    { accountId },
  );
  if (rows.length === 0) return undefined;
  return {
    accountId,
    balances: rows.map((r) => ({
      balance: moneyView(r.balance, r.currency),
      entries: Number(r.entries),
      lastEntryAt: isoTime(r.last_ms),
    })),
    entryCount: rows.reduce((n, r) => n + Number(r.entries), 0),
  };
}

/** The statement of `accountId` for [fromMs, toMs), oldest first, at most `limit` lines. */
export async function accountStatement(
  clickhouse: ClickHouseClient,
  accountId: string,
  fromMs: number,
  toMs: number,
  limit: number,
): Promise<AccountStatement> {
  const params = { accountId, fromMs, toMs, limit: limit + 1 };
  const [totals, entries] = await Promise.all([
    selectRows<{ currency: string; opening: string; closing: string; in_period: string }>(
      clickhouse,
      `SELECT currency,
         sumIf(toInt128(amount_minor), event_time < fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC')) AS opening,
         sum(toInt128(amount_minor)) AS closing,
         countIf(event_time >= fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC')) AS in_period
       FROM ledger_entries
       WHERE account_id = {accountId:String} AND event_time < fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')
       GROUP BY currency ORDER BY currency`,
      params,
    ),
    selectRows<{
      entry_id: string;
      transaction_id: string;
      leg: number;
      entry_type: string;
      amount_minor: string;
      currency: string;
      event_time_ms: string;
      posted_at_ms: string;
    }>(
      clickhouse,
      `SELECT entry_id, transaction_id, leg, entry_type, amount_minor, currency,
         toUnixTimestamp64Milli(event_time) AS event_time_ms, toUnixTimestamp64Milli(posted_at) AS posted_at_ms
       FROM ledger_entries
       WHERE account_id = {accountId:String}
         AND event_time >= fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC') AND event_time < fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')
       ORDER BY event_time, transaction_id, leg
       LIMIT {limit:UInt32}`,
      params,
    ),
  ]);
  const running = new Map(totals.map((t) => [t.currency, BigInt(t.opening)]));
  const lines = entries.slice(0, limit).map((e): StatementLine => {
    const after = (running.get(e.currency) ?? 0n) + BigInt(e.amount_minor);
    running.set(e.currency, after);
    return {
      entryId: e.entry_id,
      transactionId: e.transaction_id,
      leg: e.leg,
      entryType: e.entry_type,
      eventTime: isoTime(e.event_time_ms),
      postedAt: isoTime(e.posted_at_ms),
      amount: moneyView(e.amount_minor, e.currency),
      balanceAfter: moneyView(after, e.currency),
    };
  });
  return {
    accountId,
    from: isoTime(fromMs),
    to: isoTime(toMs),
    currencies: totals.map((t) => ({
      currency: t.currency,
      opening: moneyView(t.opening, t.currency),
      closing: moneyView(t.closing, t.currency),
      entriesInPeriod: Number(t.in_period),
    })),
    lines,
    truncated: entries.length > limit,
  };
}
