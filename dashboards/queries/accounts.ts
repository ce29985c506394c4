import type { ClickHouseClient } from '@clickhouse/client';
import type { AccountBalance, AccountStatement, StatementLine } from '../../schemas/api.js';
import { ClickHouseTables as T, ClickHouseViews } from '../../schemas/clickhouse.js';
import { moneyView } from '../domain/money.js';
import { isoTime, orNull, selectRows } from './select.js';

/**
 * Account balances and statements from `ledger_entries` (booked legs) and `ledger_holds` (pending holds). Sums are
 * taken as Int128 so that no number of Int64 entries can overflow, and read back as decimal strings (quoted by
 * the client settings), so they are exact.
 */

/** Holds with a leg on `{accountId}` that no resolution ended before `{beforeMs}`. */
const openHoldsOf = (beforeMs: string): string => `
  account_id = {accountId:String}
  AND transaction_id NOT IN (
    SELECT transaction_id FROM ${T.ledgerHoldResolutions}
    WHERE resolved_at < ${beforeMs}
      AND transaction_id IN (SELECT transaction_id FROM ${T.ledgerHolds} WHERE account_id = {accountId:String}))`;

/** An account's balance policy: how far below zero debits may take its available balance in `currency`. */
export interface OverdraftLimit {
  readonly currency: string;
  /** Minor units ≥ 0 of `currency`. */
  readonly limitMinor: bigint;
}

/**
 * Balances per currency of `accountId`, or undefined when the ledger holds no entry and no open hold for it and it
 * has no `overdraft` policy. With one, `available` in the policy's currency includes the limit, and that currency
 * has a line even before the ledger saw the account (its whole available balance is then the limit).
 */
export async function accountBalance(
  clickhouse: ClickHouseClient,
  accountId: string,
  overdraft?: OverdraftLimit,
): Promise<AccountBalance | undefined> {
  const [booked, pending] = await Promise.all([
    selectRows<{ currency: string; posted: string; entries: string; last_ms: string }>(
      clickhouse,
      `SELECT currency, sum(toInt128(amount_minor)) AS posted, count() AS entries,
         toUnixTimestamp64Milli(max(posted_at)) AS last_ms
       FROM ${T.ledgerEntries} WHERE account_id = {accountId:String} GROUP BY currency`,
      { accountId },
    ),
    selectRows<{ currency: string; debits: string; credits: string; holds: string }>(
      clickhouse,
      // What open holds still reserve: an authorisation less what its captures booked (the view).
      `SELECT currency, sumIf(-toInt128(remaining_minor), remaining_minor < 0) AS debits,
         sumIf(toInt128(remaining_minor), remaining_minor > 0) AS credits, uniqExact(transaction_id) AS holds
       FROM ${ClickHouseViews.ledgerOpenHoldLegs} WHERE account_id = {accountId:String} GROUP BY currency`,
      { accountId },
    ),
  ]);
  const policyCurrency = overdraft === undefined ? [] : [overdraft.currency];
  const currencies = [...new Set([...booked, ...pending].map((r) => r.currency).concat(policyCurrency))].sort();
  if (currencies.length === 0) return undefined;
  const balances = currencies.map((currency) => {
    const b = booked.find((r) => r.currency === currency);
    const p = pending.find((r) => r.currency === currency);
    const posted = BigInt(b?.posted ?? 0);
    const debits = BigInt(p?.debits ?? 0);
    const limit = overdraft?.currency === currency ? overdraft.limitMinor : undefined;
    return {
      currency,
      posted: moneyView(posted, currency),
      pendingDebits: moneyView(debits, currency),
      pendingCredits: moneyView(p?.credits ?? 0n, currency),
      available: moneyView(posted - debits + (limit ?? 0n), currency),
      overdraftLimit: limit === undefined ? null : moneyView(limit, currency),
      entries: Number(b?.entries ?? 0),
      openHolds: Number(p?.holds ?? 0),
      lastBookedAt: b === undefined ? null : isoTime(b.last_ms),
    };
  });
  return { accountId, balances, entryCount: balances.reduce((n, b) => n + b.entries, 0) };
}

/**
 * The statement of `accountId` for booking times in [fromMs, toMs), oldest first, at most `limit` lines. It is cut
 * by booking time (when Vigil booked each leg), never by the client's event time, so a late or backdated event
 * books into the open period and a closed period never changes. Opening + Σ lines = closing, per currency.
 */
export async function accountStatement(
  clickhouse: ClickHouseClient,
  accountId: string,
  fromMs: number,
  toMs: number,
  limit: number,
): Promise<AccountStatement> {
  const params = { accountId, fromMs, toMs, limit: limit + 1 };
  const from = `fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC')`;
  const to = `fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')`;
  const [totals, entries, holds] = await Promise.all([
    selectRows<{ currency: string; opening: string; closing: string; in_period: string }>(
      clickhouse,
      `SELECT currency,
         sumIf(toInt128(amount_minor), posted_at < ${from}) AS opening,
         sum(toInt128(amount_minor)) AS closing,
         countIf(posted_at >= ${from}) AS in_period
       FROM ${T.ledgerEntries}
       WHERE account_id = {accountId:String} AND posted_at < ${to}
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
      reverses_entry_id: string;
      event_time_ms: string;
      posted_at_ms: string;
    }>(
      clickhouse,
      `SELECT entry_id, transaction_id, leg, entry_type, amount_minor, currency, reverses_entry_id,
         toUnixTimestamp64Milli(event_time) AS event_time_ms, toUnixTimestamp64Milli(posted_at) AS posted_at_ms
       FROM ${T.ledgerEntries}
       WHERE account_id = {accountId:String} AND posted_at >= ${from} AND posted_at < ${to}
       ORDER BY posted_at, transaction_id, leg
       LIMIT {limit:UInt32}`,
      params,
    ),
    selectRows<{
      transaction_id: string;
      amount_minor: string;
      currency: string;
      placed_ms: string;
      expires_ms: string;
    }>(
      clickhouse,
      // What each hold still reserved at the end of the period: an authorisation less the captures booked before
      // it (each capture leg once), as the ledger_open_hold_legs view computes it for now.
      `SELECT h.transaction_id AS transaction_id,
         toString(toInt64(sign(h.amount_minor) *
           greatest(toInt128(abs(h.amount_minor)) - ifNull(c.consumed, toInt128(0)), toInt128(0)))) AS amount_minor,
         h.currency AS currency,
         toUnixTimestamp64Milli(h.placed_at) AS placed_ms, toUnixTimestamp64Milli(h.expires_at) AS expires_ms
       FROM (
         SELECT transaction_id, leg, account_id, amount_minor, currency, placed_at, expires_at FROM ${T.ledgerHolds}
         WHERE placed_at < ${to} AND ${openHoldsOf(to)}
       ) AS h
       LEFT JOIN (
         SELECT authorization_id, leg_currency, side, sum(toInt128(abs(amount))) AS consumed
         FROM (
           SELECT entry_id, any(captures_transaction_id) AS authorization_id, any(currency) AS leg_currency,
             any(amount_minor) AS amount, sign(amount) AS side
           FROM ${T.ledgerEntries}
           WHERE account_id = {accountId:String} AND captures_transaction_id != '' AND reverses_entry_id = ''
             AND posted_at < ${to}
           GROUP BY entry_id
         )
         GROUP BY authorization_id, leg_currency, side
       ) AS c ON c.authorization_id = h.transaction_id AND c.leg_currency = h.currency
         AND c.side = sign(h.amount_minor)
       ORDER BY h.placed_at, h.transaction_id, h.leg
       LIMIT 10000
       SETTINGS join_use_nulls = 1`,
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
      reversesEntryId: orNull(e.reverses_entry_id),
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
    // A leg its captures consumed in full reserves nothing: not listed.
    openHoldsAtEnd: holds
      .filter((h) => BigInt(h.amount_minor) !== 0n)
      .map((h) => ({
        transactionId: h.transaction_id,
        amount: moneyView(h.amount_minor, h.currency),
        placedAt: isoTime(h.placed_ms),
        expiresAt: isoTime(h.expires_ms),
      })),
  };
}
