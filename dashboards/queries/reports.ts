import type { ClickHouseClient } from '@clickhouse/client';
import type { LargeCashReport, LedgerIntegrity, SummaryReport } from '../../schemas/api.js';
import { justUnderBand } from '../../schemas/cash-thresholds.js';
import { moneyView } from '../domain/money.js';
import { SCORE_BUCKETS } from '../domain/live-stats.js';
import { type DecisionRow, type Int64Text, type SelectedRow } from '../../schemas/clickhouse.js';
import type { IngestSource } from '../../schemas/generated/types.js';
import { isoTime, orNull, selectRows } from './select.js';

/** Money sums are Int128 (no overflow over any number of Int64 rows), read back as exact decimal strings. */

export interface SummaryQuery {
  /** Event time in [fromMs, toMs), epoch ms. */
  readonly fromMs: number;
  readonly toMs: number;
  /** Only transactions that came in through this source (e.g. SIMULATOR); every source when undefined. */
  readonly source?: IngestSource;
  /** Leave out transactions of this source (e.g. SIMULATOR, for a report of real traffic only); none when undefined. */
  readonly excludeSource?: IngestSource;
}

/**
 * Volumes, decision mix, fraud and alert rates, the score histogram and the split by source of the decisions with
 * event time in [fromMs, toMs), of one source or all, optionally without one source (simulated traffic).
 */
export async function summaryReport(clickhouse: ClickHouseClient, q: SummaryQuery): Promise<SummaryReport> {
  // The source conditions are constant fragments; the values are bound parameters ('' filters nothing).
  const inPeriod = `event_time >= fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC') AND event_time < fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')
    AND ({source:String} = '' OR source = {source:String})
    AND ({excludeSource:String} = '' OR source != {excludeSource:String})`;
  const params = { fromMs: q.fromMs, toMs: q.toMs, source: q.source ?? '', excludeSource: q.excludeSource ?? '' };
  const [volumeRows, labelRows, histogramRows] = await Promise.all([
    selectRows<
      SelectedRow<DecisionRow, 'channel' | 'currency' | 'decision' | 'source'> & { n: Int64Text; total: string }
    >(
      clickhouse,
      `SELECT channel, currency, decision, source, count() AS n, sum(toInt128(amount_minor)) AS total
       FROM decisions WHERE ${inPeriod}
       GROUP BY channel, currency, decision, source ORDER BY channel, currency, decision, source`,
      params,
    ),
    selectRows<{ labelled: string; fraud: string; genuine: string }>(
      clickhouse,
      `SELECT count() AS labelled, countIf(latest = 'FRAUD') AS fraud, countIf(latest = 'GENUINE') AS genuine
       FROM (
         SELECT transaction_id, upper(argMax(label, labelled_at)) AS latest FROM analyst_labels
         WHERE transaction_id IN (SELECT transaction_id FROM decisions WHERE ${inPeriod})
         GROUP BY transaction_id
       )`,
      params,
    ),
    selectRows<{ bucket: number; n: string }>(
      clickhouse,
      `SELECT toUInt8(least(greatest(floor(score * ${SCORE_BUCKETS}), 0), ${SCORE_BUCKETS - 1})) AS bucket, count() AS n
       FROM decisions WHERE ${inPeriod} GROUP BY bucket`,
      params,
    ),
  ]);

  const volumes = new Map<string, SummaryReport['volumes'][number] & { totalMinor: bigint }>();
  const bySource = new Map<IngestSource, { source: IngestSource; transactions: number; alerts: number }>();
  let transactions = 0;
  let alerts = 0;
  for (const row of volumeRows) {
    const count = Number(row.n);
    const perSource = bySource.get(row.source) ?? { source: row.source, transactions: 0, alerts: 0 };
    perSource.transactions += count;
    if (row.decision !== 'APPROVE') perSource.alerts += count;
    bySource.set(row.source, perSource);

    const key = `${row.channel}\u0000${row.currency}`;
    const entry = volumes.get(key) ?? {
      channel: row.channel,
      currency: row.currency,
      count: 0,
      amount: moneyView(0n, row.currency),
      byDecision: {},
      totalMinor: 0n,
    };
    entry.count += count;
    entry.totalMinor += BigInt(row.total);
    entry.amount = moneyView(entry.totalMinor, row.currency);
    // Rows are per source too: a decision's count and amount add up over its sources.
    const decided = entry.byDecision[row.decision];
    const decidedMinor = (decided ? BigInt(decided.amount.amountMinor) : 0n) + BigInt(row.total);
    entry.byDecision[row.decision] = {
      count: (decided?.count ?? 0) + count,
      amount: moneyView(decidedMinor, row.currency),
    };
    volumes.set(key, entry);
    transactions += count;
    if (row.decision !== 'APPROVE') alerts += count;
  }
  const counts = new Array<number>(SCORE_BUCKETS).fill(0);
  for (const row of histogramRows) counts[row.bucket] = Number(row.n);
  const labelled = Number(labelRows[0]?.labelled ?? 0);
  const fraud = Number(labelRows[0]?.fraud ?? 0);
  return {
    from: isoTime(q.fromMs),
    to: isoTime(q.toMs),
    source: q.source ?? null,
    excludeSource: q.excludeSource ?? null,
    totals: { transactions, alerts, alertRate: transactions === 0 ? null : alerts / transactions },
    bySource: [...bySource.values()].sort((a, b) => a.source.localeCompare(b.source)),
    volumes: [...volumes.values()].map(({ totalMinor: _totalMinor, ...volume }) => volume),
    labels: {
      labelled,
      fraud,
      genuine: Number(labelRows[0]?.genuine ?? 0),
      fraudRate: labelled === 0 ? null : fraud / labelled,
    },
    scoreHistogram: { bucketWidth: 1 / SCORE_BUCKETS, counts },
  };
}

export interface LargeCashQuery {
  /** The currencies to analyse, each with its own reporting threshold in minor units. */
  readonly thresholds: ReadonlyMap<string, bigint>;
  /** Transactions in [threshold × (1 − bandPercent/100), threshold) count as "just under". */
  readonly bandPercent: number;
  /** Transactions just under the threshold by one customer within 7 days that make a pattern. */
  readonly minTransactions: number;
  readonly fromMs: number;
  readonly toMs: number;
  readonly limit: number;
}

const SEVEN_DAYS_MS = 7 * 86_400_000;

/**
 * The customer's side of a cash transaction. Money flows from payer to payee, so a DEPOSIT credits the customer's
 * account (the payee; the payer is the bank's cash account at the branch) and a WITHDRAWAL debits it (the payer).
 */
const CUSTOMER_ACCOUNT_SQL = `if(kind = 'DEPOSIT', payee_account_id, payer_account_id)`;
/** Whom a pattern is attributed to: the customer when the transaction names one (they may use several accounts), else their account. */
const SUBJECT_SQL = `if(customer_id != '', customer_id, ${CUSTOMER_ACCOUNT_SQL})`;

/**
 * Cash transactions at or above each currency's reporting threshold, and structuring: a customer with
 * `minTransactions` or more cash deposits (or withdrawals) just under the threshold within any 7-day window (FinCEN /
 * FATF structuring typology). Every currency is analysed with its own threshold — amounts in different currencies
 * are never added up — and currencies with cash in the period but no threshold are listed, not silently skipped.
 */
export async function largeCashReport(clickhouse: ClickHouseClient, q: LargeCashQuery): Promise<LargeCashReport> {
  const period = {
    fromMs: q.fromMs,
    toMs: q.toMs,
    limit: q.limit,
    minTransactions: q.minTransactions,
    windowMs: SEVEN_DAYS_MS - 1,
  };
  const inPeriod = `event_time >= fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC') AND event_time < fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')`;
  const currencies: LargeCashReport['currencies'][number][] = [];
  // One currency after the other: chDB runs one query at a time, and a report covers a handful of currencies.
  for (const [currency, thresholdMinor] of [...q.thresholds].sort(([a], [b]) => a.localeCompare(b))) {
    const lowMinor = justUnderBand(thresholdMinor, q.bandPercent).fromMinor;
    const params = { ...period, currency, thresholdMinor: thresholdMinor.toString(), lowMinor: lowMinor.toString() };
    const large = await selectRows<{
      transaction_id: string;
      kind: string;
      amount_minor: string;
      payer_account_id: string;
      payee_account_id: string;
      customer_id: string;
      customer_account_id: string;
      event_time_ms: string;
      decision: string;
    }>(
      clickhouse,
      `SELECT transaction_id, kind, amount_minor, payer_account_id, payee_account_id, customer_id,
         ${CUSTOMER_ACCOUNT_SQL} AS customer_account_id, toUnixTimestamp64Milli(event_time) AS event_time_ms, decision
       FROM decisions
       WHERE channel = 'CASH' AND currency = {currency:String} AND amount_minor >= {thresholdMinor:Int64} AND ${inPeriod}
       ORDER BY event_time DESC, transaction_id LIMIT {limit:UInt32}`,
      params,
    );
    const patterns = await selectRows<{
      subject: string;
      kind: string;
      customer_id: string;
      customer_account_ids: string[];
      transactions: string;
      window_start_ms: string;
      window_total: string;
      transaction_ids: string[];
    }>(
      clickhouse,
      `SELECT subject, kind, any(customer_id) AS customer_id, arraySort(groupUniqArray(customer_account_id)) AS customer_account_ids,
         max(in_window) AS transactions, argMax(event_ms, in_window) AS window_start_ms,
         argMax(window_total, in_window) AS window_total, groupArray(50)(transaction_id) AS transaction_ids
       FROM (
         SELECT ${SUBJECT_SQL} AS subject, kind, customer_id, ${CUSTOMER_ACCOUNT_SQL} AS customer_account_id,
           transaction_id, toUnixTimestamp64Milli(event_time) AS event_ms,
           count() OVER w AS in_window, sum(toInt128(amount_minor)) OVER w AS window_total
         FROM decisions
         WHERE channel = 'CASH' AND kind IN ('DEPOSIT', 'WITHDRAWAL') AND currency = {currency:String}
           AND amount_minor >= {lowMinor:Int64} AND amount_minor < {thresholdMinor:Int64} AND ${inPeriod}
         WINDOW w AS (PARTITION BY subject, kind ORDER BY toUnixTimestamp64Milli(event_time) RANGE BETWEEN CURRENT ROW AND {windowMs:UInt64} FOLLOWING)
       )
       GROUP BY subject, kind HAVING transactions >= {minTransactions:UInt32}
       ORDER BY transactions DESC, subject, kind LIMIT {limit:UInt32}`,
      params,
    );
    currencies.push({
      currency,
      threshold: moneyView(thresholdMinor, currency),
      largeTransactions: large.map((r) => ({
        transactionId: r.transaction_id,
        kind: r.kind,
        amount: moneyView(r.amount_minor, currency),
        payerAccountId: r.payer_account_id,
        payeeAccountId: r.payee_account_id,
        customerId: orNull(r.customer_id),
        customerAccountId: r.customer_account_id,
        eventTime: isoTime(r.event_time_ms),
        decision: r.decision,
      })),
      structuring: patterns.map((r) => ({
        customerId: orNull(r.customer_id),
        customerAccountIds: r.customer_account_ids,
        kind: r.kind,
        transactionsIn7Days: Number(r.transactions),
        windowStart: isoTime(r.window_start_ms),
        windowTotal: moneyView(r.window_total, currency),
        transactionIds: r.transaction_ids,
      })),
    });
  }
  const seen = await selectRows<{ currency: string }>(
    clickhouse,
    `SELECT DISTINCT currency FROM decisions WHERE channel = 'CASH' AND ${inPeriod} ORDER BY currency`,
    period,
  );
  return {
    from: isoTime(q.fromMs),
    to: isoTime(q.toMs),
    bandPercent: q.bandPercent,
    minTransactions: q.minTransactions,
    currencies,
    currenciesWithoutThreshold: seen.map((r) => r.currency).filter((c) => !q.thresholds.has(c)),
  };
}

/** The report's plain number counters (every field but the nested and the per-currency ones). */
type IntegrityCounter = Exclude<keyof LedgerIntegrity, 'totalsByCurrency' | 'authorizationHolds'>;

/**
 * What captures booked against each authorisation per account, currency and side, as the `ledger_open_hold_legs`
 * view consumes holds: reversal legs do not count. Each entry id once, so a duplicated row (which
 * `duplicateEntries` reports) is not also reported as an over-capture.
 */
const CAPTURED_PER_SIDE_SQL = `
  SELECT captures_transaction_id, account_id, currency, sign(amount_minor) AS side,
         sum(toInt128(abs(amount_minor))) AS captured
  FROM (SELECT DISTINCT entry_id, captures_transaction_id, account_id, currency, amount_minor
        FROM ledger_entries WHERE captures_transaction_id != '' AND reverses_entry_id = '')
  GROUP BY captures_transaction_id, account_id, currency, side`;

/**
 * What refunds credited back on their payer leg (leg 0; a refund's signs are its payment's, flipped) per payment,
 * account and currency; each entry id once.
 */
const REFUNDED_PER_PAYER_SQL = `
  SELECT refunds_transaction_id AS original, account_id, currency, sum(toInt128(amount_minor)) AS refunded
  FROM (SELECT DISTINCT entry_id, refunds_transaction_id, account_id, currency, amount_minor
        FROM ledger_entries WHERE refunds_transaction_id != '' AND leg = 0 AND reverses_entry_id = '')
  GROUP BY original, account_id, currency`;

/**
 * The ledger-integrity report: counters a fault would break (most must be 0 on a sound ledger; see
 * {@link LedgerIntegrity} for which) and the card-flow business exceptions, plus the sum of all entries per
 * currency.
 */
export async function ledgerIntegrity(clickhouse: ClickHouseClient): Promise<LedgerIntegrity> {
  const [counts, totals] = await Promise.all([
    selectRows<
      Record<IntegrityCounter | 'openAuthorizations' | 'capturedAuthorizations' | 'voidedAuthorizations', string>
    >(
      clickhouse,
      `SELECT
         (SELECT count() FROM decisions) AS decisionRows,
         (SELECT uniqExact(transaction_id) FROM decisions) AS distinctDecisions,
         (SELECT uniqExact(transaction_id) FROM ledger_entries) AS postedTransactions,
         (SELECT count() FROM ledger_entries) AS entries,
         (SELECT count() - uniqExact(entry_id) FROM ledger_entries) AS duplicateEntries,
         (SELECT uniqExact(transaction_id) FROM (
            SELECT transaction_id FROM ledger_entries GROUP BY transaction_id, currency HAVING sum(toInt128(amount_minor)) != 0)) AS unbalancedTransactions,
         (SELECT uniqExact(transaction_id) FROM ledger_entries
            WHERE transaction_id IN (SELECT transaction_id FROM decisions WHERE decision = 'DECLINE')) AS declinedWithEntries,
         (SELECT uniqExact(transaction_id) FROM decisions
            WHERE decision = 'APPROVE' AND kind != 'AUTHORIZATION' AND unposted_reason = '') AS postableDecisions,
         (SELECT uniqExact(transaction_id) FROM decisions WHERE unposted_reason != '') AS unpostableDecisions,
         (SELECT uniqExact(transaction_id) FROM decisions
            WHERE unposted_reason = '' AND ((decision = 'APPROVE' AND kind != 'AUTHORIZATION')
                   OR transaction_id IN (SELECT transaction_id FROM ledger_hold_resolutions WHERE resolution = 'POSTED'))
              AND transaction_id NOT IN (SELECT transaction_id FROM ledger_entries)) AS decisionsWithoutEntries,
         (SELECT uniqExact(transaction_id) FROM ledger_entries
            WHERE transaction_id NOT IN (SELECT transaction_id FROM decisions)) AS entriesWithoutDecisions,
         (SELECT uniqExact(transaction_id) FROM decisions
            WHERE decision = 'REVIEW' AND kind != 'AUTHORIZATION' AND unposted_reason = '') AS heldDecisions,
         (SELECT uniqExact(transaction_id) FROM decisions
            WHERE decision = 'REVIEW' AND kind != 'AUTHORIZATION' AND unposted_reason = ''
              AND transaction_id NOT IN (SELECT transaction_id FROM ledger_holds)) AS reviewsWithoutHolds,
         (SELECT uniqExact(transaction_id) FROM ledger_holds
            WHERE hold_kind = 'REVIEW' AND transaction_id NOT IN (SELECT transaction_id FROM ledger_hold_resolutions)) AS openHolds,
         (SELECT uniqExact(transaction_id) FROM ledger_hold_resolutions WHERE resolution = 'POSTED') AS postedHolds,
         (SELECT uniqExact(transaction_id) FROM ledger_hold_resolutions WHERE resolution = 'VOIDED'
            AND transaction_id NOT IN (SELECT transaction_id FROM ledger_holds WHERE hold_kind = 'AUTHORIZATION')) AS voidedHolds,
         (SELECT uniqExact(transaction_id) FROM ledger_hold_resolutions WHERE cause = 'EXPIRED'
            AND transaction_id NOT IN (SELECT transaction_id FROM ledger_holds WHERE hold_kind = 'AUTHORIZATION')) AS expiredHolds,
         (SELECT count() - uniqExact(transaction_id) FROM ledger_hold_resolutions) AS holdsResolvedTwice,
         (SELECT uniqExact(transaction_id) FROM ledger_entries
            WHERE transaction_id IN (SELECT transaction_id FROM ledger_holds)
              AND transaction_id NOT IN (SELECT transaction_id FROM ledger_hold_resolutions WHERE resolution = 'POSTED')) AS entriesOfUnpostedHolds,
         (SELECT uniqExact(transaction_id) FROM ledger_entries WHERE reverses_entry_id != '') AS reversedTransactions,
         (SELECT countIf(reverses_entry_id != '') - uniqExactIf(reverses_entry_id, reverses_entry_id != '') FROM ledger_entries) AS entriesReversedTwice,
         (SELECT count() FROM ledger_entries WHERE reverses_entry_id != ''
            AND reverses_entry_id NOT IN (SELECT entry_id FROM ledger_entries)) AS reversalsWithoutOriginal,
         (SELECT count() FROM ledger_conflicts) AS conflicts,
         (SELECT uniqExact(transaction_id) FROM ledger_holds WHERE hold_kind = 'AUTHORIZATION'
            AND transaction_id NOT IN (SELECT transaction_id FROM ledger_hold_resolutions)) AS openAuthorizations,
         (SELECT uniqExact(transaction_id) FROM ledger_hold_resolutions WHERE resolution = 'CAPTURED') AS capturedAuthorizations,
         (SELECT uniqExact(transaction_id) FROM ledger_hold_resolutions WHERE resolution = 'VOIDED'
            AND transaction_id IN (SELECT transaction_id FROM ledger_holds WHERE hold_kind = 'AUTHORIZATION')) AS voidedAuthorizations,
         (SELECT uniqExact(h.transaction_id) FROM ledger_holds AS h
            INNER JOIN (${CAPTURED_PER_SIDE_SQL}) AS c
              ON c.captures_transaction_id = h.transaction_id AND c.account_id = h.account_id
             AND c.currency = h.currency AND c.side = sign(h.amount_minor)
            WHERE h.hold_kind = 'AUTHORIZATION' AND h.leg = 0
              AND c.captured > toInt128(abs(h.amount_minor))) AS overCapturedAuthorizations,
         (SELECT uniqExact(transaction_id) FROM ledger_entries WHERE captures_transaction_id != ''
            AND captures_transaction_id NOT IN (SELECT transaction_id FROM ledger_holds WHERE hold_kind = 'AUTHORIZATION')) AS capturesWithoutAuthorization,
         (SELECT uniqExact(transaction_id) FROM ledger_entries WHERE refunds_transaction_id != ''
            AND refunds_transaction_id NOT IN (SELECT transaction_id FROM ledger_entries)) AS refundsWithoutOriginal,
         (SELECT uniqExact(r.original) FROM (${REFUNDED_PER_PAYER_SQL}) AS r
            INNER JOIN (
              SELECT transaction_id, account_id, currency, -sum(toInt128(amount_minor)) AS debited
              FROM (SELECT DISTINCT entry_id, transaction_id, account_id, currency, amount_minor
                    FROM ledger_entries WHERE leg = 0 AND reverses_entry_id = '')
              GROUP BY transaction_id, account_id, currency
            ) AS o ON o.transaction_id = r.original AND o.account_id = r.account_id AND o.currency = r.currency
            WHERE r.refunded > o.debited) AS refundsBeyondOriginal`,
    ),
    selectRows<{ currency: string; sum_minor: string }>(
      clickhouse,
      `SELECT currency, sum(toInt128(amount_minor)) AS sum_minor FROM ledger_entries GROUP BY currency ORDER BY currency`,
    ),
  ]);
  const c = counts[0];
  const n = (v: string | undefined): number => Number(v ?? 0);
  return {
    decisionRows: n(c?.decisionRows),
    distinctDecisions: n(c?.distinctDecisions),
    postedTransactions: n(c?.postedTransactions),
    entries: n(c?.entries),
    duplicateEntries: n(c?.duplicateEntries),
    unbalancedTransactions: n(c?.unbalancedTransactions),
    declinedWithEntries: n(c?.declinedWithEntries),
    postableDecisions: n(c?.postableDecisions),
    unpostableDecisions: n(c?.unpostableDecisions),
    decisionsWithoutEntries: n(c?.decisionsWithoutEntries),
    entriesWithoutDecisions: n(c?.entriesWithoutDecisions),
    conflicts: n(c?.conflicts),
    heldDecisions: n(c?.heldDecisions),
    reviewsWithoutHolds: n(c?.reviewsWithoutHolds),
    openHolds: n(c?.openHolds),
    postedHolds: n(c?.postedHolds),
    voidedHolds: n(c?.voidedHolds),
    expiredHolds: n(c?.expiredHolds),
    holdsResolvedTwice: n(c?.holdsResolvedTwice),
    entriesOfUnpostedHolds: n(c?.entriesOfUnpostedHolds),
    reversedTransactions: n(c?.reversedTransactions),
    entriesReversedTwice: n(c?.entriesReversedTwice),
    reversalsWithoutOriginal: n(c?.reversalsWithoutOriginal),
    authorizationHolds: {
      open: n(c?.openAuthorizations),
      captured: n(c?.capturedAuthorizations),
      voided: n(c?.voidedAuthorizations),
    },
    overCapturedAuthorizations: n(c?.overCapturedAuthorizations),
    capturesWithoutAuthorization: n(c?.capturesWithoutAuthorization),
    refundsWithoutOriginal: n(c?.refundsWithoutOriginal),
    refundsBeyondOriginal: n(c?.refundsBeyondOriginal),
    totalsByCurrency: totals.map((t) => ({ currency: t.currency, sumMinor: t.sum_minor })),
  };
}
