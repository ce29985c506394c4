import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import { UnavailableError, VigilError, ErrorCategory } from '../../platform/errors.js';
import {
  type AnalystLabelRow,
  ClickHouseInsertOnce,
  ClickHouseTables,
  ClickHouseViews,
  type DecisionRow,
  type LedgerConflictRow,
  type LedgerEntryRow,
  type LedgerHoldResolutionRow,
  type LedgerHoldRow,
  type SelectedRow,
  type ShadowDecisionRow,
  clickhouseTableStatements,
  epochMsColumn,
} from '../../schemas/clickhouse.js';
import { transactionExtraOf } from '../../schemas/decision-transaction.js';
import { featureValuesOf } from '../../schemas/features.js';
import type {
  AnalystLabel,
  Decision,
  LedgerEntry,
  ShadowDecision,
  TransactionKind,
} from '../../schemas/generated/types.js';
import { STORABLE_TIME_MAX_MS, STORABLE_TIME_MIN_MS, auditJson, featuresJson } from '../domain/audit.js';
import {
  type BookedEntry,
  type Hold,
  type HoldKind,
  type HoldResolutionRecord,
  type LegLinks,
  type TransactionLedger,
  type Verdict,
  ledgersOf,
} from '../domain/holds.js';
import type { StoredFingerprints } from '../domain/idempotency.js';
import {
  type ConflictRecord,
  conflictKey,
  type DecisionRecord,
  type LedgerStore,
  type PostedEntry,
  type ShadowDecisionStore,
  type StoredAccountBalance,
} from '../ports.js';

/**
 * {@link LedgerStore} over ClickHouse (a server, or chDB in-process) through `@clickhouse/client`.
 *
 * Writes: one `INSERT … FORMAT JSONCompactEachRow` per table per batch, into the table's insert-once entry
 * ({@link ClickHouseInsertOnce}), which stores only the rows whose key is not stored yet, checked in the same
 * statement: two writers of the same rows (a zombie member and the partition's new owner) store them once. A
 * MergeTree insert below `max_insert_block_size` rows is one block (the view passes on the rows it keeps of it as
 * one block), and one block becomes one part that appears atomically (written under a temporary name, then
 * renamed). The tables are unpartitioned, so a block is never split across partitions — that is what makes "all
 * legs of a batch or none" hold without transactions. `async_insert` is forced off so an insert that resolves is
 * already visible to the next lookup.
 *
 * Values: Int64 money is sent as a decimal string (JSON numbers lose precision past 2^53); DateTime64(3, 'UTC')
 * as 'YYYY-MM-DD hh:mm:ss.sss' in UTC, which ClickHouse parses in the column's own time zone whatever the
 * server's zone or `date_time_input_format` — unlike a bare integer, whose reading (ticks or seconds) has varied
 * between versions and input paths.
 *
 * Reads use query parameters (`{ids:Array(String)}`), never SQL built from values. Ids go in chunks so the
 * parameter stays well below HTTP URL limits on a server.
 */
export interface ClickHouseLedgerStoreOptions {
  /** Transaction ids per lookup query. */
  readonly lookupChunkIds: number;
  /**
   * Whether inserts go through the insert-once entries (the default) or straight into the tables, where rows already
   * stored are stored again — only for the tests that show what the insert-once entries prevent.
   */
  readonly insertOnce?: boolean;
}

const INSERT_SETTINGS: ClickHouseSettings = { async_insert: 0 };

// Everything the idempotency decision needs, in one query: chDB runs one query at a time, so four concurrent
// look-ups cost four round trips where one UNION ALL costs one (measured: two extra queries took ~30 % of
// end-to-end throughput in `npm run bench`).
const STORED_SQL = [
  `SELECT 'ledger' AS source, transaction_id, any(fingerprint) AS fingerprint, '' AS decision, 0 AS unposted FROM ${ClickHouseTables.ledgerEntries} WHERE transaction_id IN {ids:Array(String)} GROUP BY transaction_id`,
  `SELECT 'decision', transaction_id, any(fingerprint), toString(any(decision)), toUInt8(max(unposted_reason != '')) FROM ${ClickHouseTables.decisions} WHERE transaction_id IN {ids:Array(String)} GROUP BY transaction_id`,
  `SELECT 'hold', transaction_id, '', '', 0 FROM ${ClickHouseTables.ledgerHolds} WHERE transaction_id IN {ids:Array(String)} GROUP BY transaction_id`,
  `SELECT 'label', transaction_id, '', '', 0 FROM ${ClickHouseTables.analystLabels} WHERE transaction_id IN {ids:Array(String)} GROUP BY transaction_id`,
].join(' UNION ALL ');
const KINDS_SQL = `SELECT transaction_id, toString(any(kind)) AS kind FROM ${ClickHouseTables.decisions} WHERE transaction_id IN {ids:Array(String)} GROUP BY transaction_id`;
const CONFLICTS_SQL = `SELECT DISTINCT transaction_id, conflicting_fingerprint FROM ${ClickHouseTables.ledgerConflicts} WHERE transaction_id IN {ids:Array(String)}`;
const LABELS_SQL = `SELECT transaction_id, label, labelled_by, ${epochMsColumn('labelled_at')} FROM ${ClickHouseTables.analystLabels} WHERE transaction_id IN {ids:Array(String)} ORDER BY labelled_at, transaction_id`;
const ENTRY_COLUMNS = `entry_id, transaction_id, leg, account_id, amount_minor, currency, entry_type, fingerprint, reverses_entry_id, captures_transaction_id, refunds_transaction_id, ${epochMsColumn('event_time')}, ${epochMsColumn('posted_at')}`;
const ENTRIES_SQL = `SELECT ${ENTRY_COLUMNS} FROM ${ClickHouseTables.ledgerEntries} WHERE transaction_id IN {ids:Array(String)}`;
/** The legs captures booked against these authorisations (other transactions' entries naming them). */
const CAPTURE_ENTRIES_SQL = `SELECT ${ENTRY_COLUMNS} FROM ${ClickHouseTables.ledgerEntries} WHERE captures_transaction_id IN {ids:Array(String)}`;
/** The legs of refunds of these payments, or of the authorisations these captures captured (domain/holds.ts). */
const REFUND_ENTRIES_SQL = `SELECT ${ENTRY_COLUMNS} FROM ${ClickHouseTables.ledgerEntries} WHERE refunds_transaction_id IN {ids:Array(String)} OR refunds_transaction_id IN (SELECT captures_transaction_id FROM ${ClickHouseTables.ledgerEntries} WHERE transaction_id IN {ids:Array(String)} AND captures_transaction_id != '')`;
const HOLDS_SQL = `SELECT transaction_id, leg, entry_id, account_id, amount_minor, currency, entry_type, fingerprint, hold_kind, captures_transaction_id, refunds_transaction_id, ${epochMsColumn('event_time')}, ${epochMsColumn('placed_at')}, ${epochMsColumn('expires_at')} FROM ${ClickHouseTables.ledgerHolds} WHERE transaction_id IN {ids:Array(String)}`;
const RESOLUTIONS_SQL = `SELECT transaction_id, resolution, cause, resolved_by, ${epochMsColumn('resolved_at')} FROM ${ClickHouseTables.ledgerHoldResolutions} WHERE transaction_id IN {ids:Array(String)} ORDER BY resolved_at`;
/**
 * Per account and currency: booked sum, open holds' debits (what they still reserve, after captures), and the rows
 * both reflect (entries, hold legs, and a resolution counted on each leg of its hold). Sums as Int128 (no Int64
 * overflow), read back as strings.
 */
const ACCOUNT_BALANCES_SQL = `SELECT account_id, currency, toString(sum(posted)) AS posted, toString(sum(pending)) AS pending,
    toString(sum(rows)) AS rows
  FROM (
    SELECT account_id, currency, sum(toInt128(amount_minor)) AS posted, toInt128(0) AS pending, count() AS rows
    FROM ${ClickHouseTables.ledgerEntries} WHERE account_id IN {ids:Array(String)} GROUP BY account_id, currency
    UNION ALL
    SELECT account_id, currency, toInt128(0), toInt128(0), count() + countIf(resolved)
    FROM (
      SELECT account_id, currency,
        transaction_id IN (
          SELECT transaction_id FROM ${ClickHouseTables.ledgerHoldResolutions}
          WHERE transaction_id IN (SELECT transaction_id FROM ${ClickHouseTables.ledgerHolds} WHERE account_id IN {ids:Array(String)})
        ) AS resolved
      FROM ${ClickHouseTables.ledgerHolds} WHERE account_id IN {ids:Array(String)}
    )
    GROUP BY account_id, currency
    UNION ALL
    SELECT account_id, currency, toInt128(0), sumIf(-toInt128(remaining_minor), remaining_minor < 0), 0
    FROM ${ClickHouseViews.ledgerOpenHoldLegs} WHERE account_id IN {ids:Array(String)}
    GROUP BY account_id, currency
  )
  GROUP BY account_id, currency ORDER BY account_id, currency`;

// leg 0 stands for the hold (every hold has one); resolved holds are excluded by id.
const EXPIRED_HOLDS_SQL = `SELECT transaction_id FROM ${ClickHouseTables.ledgerHolds}
  WHERE leg = 0 AND expires_at <= fromUnixTimestamp64Milli({nowMs:Int64}, 'UTC')
    AND transaction_id NOT IN (SELECT transaction_id FROM ${ClickHouseTables.ledgerHoldResolutions})
  ORDER BY expires_at, transaction_id LIMIT {limit:UInt32}`;

type StoredEntryRow = SelectedRow<
  LedgerEntryRow,
  | 'entry_id'
  | 'transaction_id'
  | 'leg'
  | 'account_id'
  | 'amount_minor'
  | 'currency'
  | 'entry_type'
  | 'fingerprint'
  | 'reverses_entry_id'
  | 'captures_transaction_id'
  | 'refunds_transaction_id',
  'event_time' | 'posted_at'
>;
type StoredHoldRow = SelectedRow<
  LedgerHoldRow,
  | 'transaction_id'
  | 'leg'
  | 'entry_id'
  | 'account_id'
  | 'amount_minor'
  | 'currency'
  | 'entry_type'
  | 'fingerprint'
  | 'hold_kind'
  | 'captures_transaction_id'
  | 'refunds_transaction_id',
  'event_time' | 'placed_at' | 'expires_at'
>;
type StoredResolutionRow = SelectedRow<
  LedgerHoldResolutionRow,
  'transaction_id' | 'resolution' | 'cause' | 'resolved_by',
  'resolved_at'
>;

export class ClickHouseLedgerStore implements LedgerStore, ShadowDecisionStore {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly options: ClickHouseLedgerStoreOptions = { lookupChunkIds: 1000 },
  ) {}

  async ensureSchema(): Promise<void> {
    for (const statement of clickhouseTableStatements())
      await this.guard('create tables', () => this.client.command({ query: statement }));
  }

  async storedFingerprints(transactionIds: readonly string[]): Promise<StoredFingerprints> {
    const rows = await this.selectByIds<{
      source: 'ledger' | 'decision' | 'hold' | 'label';
      transaction_id: string;
      fingerprint: string;
      decision: string;
      unposted: number;
    }>(STORED_SQL, transactionIds);
    const stored = {
      ledger: new Map<string, string>(),
      decisions: new Map<string, string>(),
      decidedAs: new Map<string, Decision>(),
      held: new Set<string>(),
      labelled: new Set<string>(),
      unposted: new Set<string>(),
    };
    for (const r of rows) {
      if (r.source === 'ledger') stored.ledger.set(r.transaction_id, r.fingerprint);
      else if (r.source === 'decision') {
        stored.decisions.set(r.transaction_id, r.fingerprint);
        stored.decidedAs.set(r.transaction_id, r.decision as Decision);
        if (Number(r.unposted) !== 0) stored.unposted.add(r.transaction_id);
      } else if (r.source === 'hold') stored.held.add(r.transaction_id);
      else stored.labelled.add(r.transaction_id);
    }
    return stored;
  }

  async recordedConflicts(transactionIds: readonly string[]): Promise<ReadonlySet<string>> {
    const rows = await this.selectByIds<SelectedRow<LedgerConflictRow, 'transaction_id' | 'conflicting_fingerprint'>>(
      CONFLICTS_SQL,
      transactionIds,
    );
    return new Set(rows.map((r) => conflictKey(r.transaction_id, r.conflicting_fingerprint)));
  }

  async storedLabels(transactionIds: readonly string[]): Promise<readonly Verdict[]> {
    const rows = await this.selectByIds<
      SelectedRow<AnalystLabelRow, 'transaction_id' | 'label' | 'labelled_by', 'labelled_at'>
    >(LABELS_SQL, transactionIds);
    return rows
      .map((r) => ({
        transactionId: r.transaction_id,
        label: r.label,
        labelledBy: r.labelled_by,
        labelledAtMs: Number(r.labelled_at_ms),
      }))
      .sort((a, b) => a.labelledAtMs - b.labelledAtMs); // chunks are each ordered; the whole must be too
  }

  async transactionLedgers(transactionIds: readonly string[]): Promise<ReadonlyMap<string, TransactionLedger>> {
    const [entries, holds, resolutions, captures, refunds] = await Promise.all([
      this.selectByIds<StoredEntryRow>(ENTRIES_SQL, transactionIds),
      this.selectByIds<StoredHoldRow>(HOLDS_SQL, transactionIds),
      this.selectByIds<StoredResolutionRow>(RESOLUTIONS_SQL, transactionIds),
      this.selectByIds<StoredEntryRow>(CAPTURE_ENTRIES_SQL, transactionIds),
      this.selectByIds<StoredEntryRow>(REFUND_ENTRIES_SQL, transactionIds),
    ]);
    return ledgersOf(
      uniqueBy(entries.map(bookedEntryOf), (e) => e.entryId),
      holdsOf(holds.map(holdLegOf)),
      resolutions.map((r): HoldResolutionRecord => ({
        transactionId: r.transaction_id,
        resolution: r.resolution,
        cause: r.cause,
        resolvedBy: r.resolved_by,
        resolvedAtMs: Number(r.resolved_at_ms),
      })),
      uniqueBy(captures.map(bookedEntryOf), (e) => e.entryId),
      uniqueBy(refunds.map(bookedEntryOf), (e) => e.entryId),
    );
  }

  async transactionKinds(transactionIds: readonly string[]): Promise<ReadonlyMap<string, TransactionKind>> {
    const rows = await this.selectByIds<{ transaction_id: string; kind: TransactionKind }>(KINDS_SQL, transactionIds);
    return new Map(rows.map((r) => [r.transaction_id, r.kind]));
  }

  async accountBalances(accountIds: readonly string[]): Promise<readonly StoredAccountBalance[]> {
    const rows = await this.selectByIds<{
      account_id: string;
      currency: string;
      posted: string;
      pending: string;
      rows: string;
    }>(ACCOUNT_BALANCES_SQL, accountIds);
    const byAccount = new Map<string, { rows: bigint; balances: StoredAccountBalance['balances'][number][] }>();
    for (const r of rows) {
      const account = byAccount.get(r.account_id) ?? { rows: 0n, balances: [] };
      account.rows += BigInt(r.rows);
      account.balances.push({
        currency: r.currency,
        postedMinor: BigInt(r.posted),
        pendingDebitsMinor: BigInt(r.pending),
      });
      byAccount.set(r.account_id, account);
    }
    return [...byAccount].map(([accountId, { rows: count, balances }]) => ({ accountId, rows: count, balances }));
  }

  async expiredHolds(nowMs: number, limit: number): Promise<readonly string[]> {
    const rows = await this.guard('find expired holds', async () => {
      const resultSet = await this.client.query({
        query: EXPIRED_HOLDS_SQL,
        query_params: { nowMs, limit },
        format: 'JSONEachRow',
      });
      return resultSet.json<{ transaction_id: string }>();
    });
    return rows.map((r) => r.transaction_id);
  }

  insertHolds(holds: readonly Hold[]): Promise<void> {
    return this.insert(ClickHouseTables.ledgerHolds, holds.flatMap(ledgerHoldRows));
  }

  insertHoldResolutions(resolutions: readonly HoldResolutionRecord[]): Promise<void> {
    return this.insert(ClickHouseTables.ledgerHoldResolutions, resolutions.map(ledgerHoldResolutionRow));
  }

  insertEntries(entries: readonly PostedEntry[]): Promise<void> {
    return this.insert(ClickHouseTables.ledgerEntries, entries.map(ledgerEntryRow));
  }

  insertDecisions(records: readonly DecisionRecord[]): Promise<void> {
    return this.insert(ClickHouseTables.decisions, records.map(decisionRow));
  }

  insertConflicts(conflicts: readonly ConflictRecord[]): Promise<void> {
    return this.insert(ClickHouseTables.ledgerConflicts, conflicts.map(ledgerConflictRow));
  }

  insertLabels(labels: readonly AnalystLabel[]): Promise<void> {
    return this.insert(ClickHouseTables.analystLabels, labels.map(analystLabelRow));
  }

  insertShadowDecisions(decisions: readonly ShadowDecision[], storedAtMs: number): Promise<void> {
    return this.insert(
      ClickHouseTables.shadowDecisions,
      decisions.map((d) => shadowDecisionRow(d, storedAtMs)),
    );
  }

  /** Rows go as JSONCompactEachRow (arrays under an explicit column list): half the bytes of JSONEachRow to build and parse. */
  private async insert<Row extends object>(
    table: keyof typeof ClickHouseInsertOnce,
    rows: readonly Row[],
  ): Promise<void> {
    const first = rows[0];
    if (first === undefined) return;
    const columns = Object.keys(first) as [keyof Row & string, ...(keyof Row & string)[]];
    const values = rows.map((row) => columns.map((column) => row[column]));
    await this.guard(`insert into ${table}`, () =>
      this.client.insert({
        table: this.options.insertOnce === false ? table : ClickHouseInsertOnce[table],
        columns,
        values,
        format: 'JSONCompactEachRow',
        clickhouse_settings: INSERT_SETTINGS,
      }),
    );
  }

  private async selectByIds<Row>(sql: string, transactionIds: readonly string[]): Promise<Row[]> {
    const ids = [...new Set(transactionIds)];
    const rows: Row[] = [];
    for (let start = 0; start < ids.length; start += this.options.lookupChunkIds) {
      const chunk = ids.slice(start, start + this.options.lookupChunkIds);
      const result = await this.guard('look up transaction ids', async () => {
        const resultSet = await this.client.query({ query: sql, query_params: { ids: chunk }, format: 'JSONEachRow' });
        return resultSet.json<Row>();
      });
      rows.push(...result);
    }
    return rows;
  }

  /** Any failure of the store is retriable from the handler's point of view: the batch is redelivered. */
  private async guard<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (cause) {
      throw new UnavailableError(
        'LEDGER_STORE_UNAVAILABLE',
        `ClickHouse failed to ${action}: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause,
      );
    }
  }
}

/**
 * The row builders of the writer: the one place a domain record becomes a row of schemas/clickhouse.ts. Tests that
 * need rows in these tables use them (through the store's insert methods), never a hand-built copy.
 */
export function ledgerEntryRow(e: PostedEntry): LedgerEntryRow {
  return {
    entry_id: e.entryId,
    transaction_id: e.transactionId,
    leg: e.leg,
    account_id: e.accountId,
    amount_minor: e.amountMinor.toString(),
    currency: e.currency,
    entry_type: e.entryType,
    fingerprint: e.fingerprint,
    event_time: toDateTime64Text(e.eventTimeMs),
    posted_at: toDateTime64Text(e.postedAtMs),
    reverses_entry_id: e.reversesEntryId,
    captures_transaction_id: e.capturesTransactionId,
    refunds_transaction_id: e.refundsTransactionId,
  };
}

export function ledgerHoldRows(h: Hold): LedgerHoldRow[] {
  return h.legs.map((leg) => ({
    transaction_id: h.transactionId,
    leg: leg.leg,
    entry_id: leg.entryId,
    account_id: leg.accountId,
    amount_minor: leg.amountMinor.toString(),
    currency: leg.currency,
    entry_type: leg.entryType,
    fingerprint: h.fingerprint,
    event_time: toDateTime64Text(leg.eventTimeMs),
    placed_at: toDateTime64Text(h.placedAtMs),
    expires_at: toDateTime64Text(h.expiresAtMs),
    hold_kind: h.kind,
    captures_transaction_id: h.links.capturesTransactionId,
    refunds_transaction_id: h.links.refundsTransactionId,
  }));
}

export function ledgerHoldResolutionRow(r: HoldResolutionRecord): LedgerHoldResolutionRow {
  return {
    transaction_id: r.transactionId,
    resolution: r.resolution,
    cause: r.cause,
    resolved_by: r.resolvedBy,
    resolved_at: toDateTime64Text(r.resolvedAtMs),
  };
}

type StoredLegColumns = Pick<
  StoredEntryRow,
  'entry_id' | 'transaction_id' | 'leg' | 'account_id' | 'amount_minor' | 'currency' | 'entry_type' | 'event_time_ms'
>;

/** The leg a row of `ledger_entries` or `ledger_holds` stands for, booked (or placed) at `postedAtMs`. */
function legOf(r: StoredLegColumns, postedAtMs: number): LedgerEntry {
  return {
    entryId: r.entry_id,
    transactionId: r.transaction_id,
    leg: Number(r.leg),
    accountId: r.account_id,
    amountMinor: BigInt(r.amount_minor),
    currency: r.currency,
    entryType: r.entry_type,
    eventTimeMs: Number(r.event_time_ms),
    postedAtMs,
  };
}

function bookedEntryOf(r: StoredEntryRow): BookedEntry {
  return {
    ...legOf(r, Number(r.posted_at_ms)),
    fingerprint: r.fingerprint,
    reversesEntryId: r.reverses_entry_id,
    capturesTransactionId: r.captures_transaction_id,
    refundsTransactionId: r.refunds_transaction_id,
  };
}

interface HoldLeg {
  readonly entry: LedgerEntry;
  readonly fingerprint: string;
  readonly kind: HoldKind;
  readonly links: LegLinks;
  readonly placedAtMs: number;
  readonly expiresAtMs: number;
}

function holdLegOf(r: StoredHoldRow): HoldLeg {
  const placedAtMs = Number(r.placed_at_ms);
  return {
    entry: legOf(r, placedAtMs),
    fingerprint: r.fingerprint,
    kind: r.hold_kind,
    links: { capturesTransactionId: r.captures_transaction_id, refundsTransactionId: r.refunds_transaction_id },
    placedAtMs,
    expiresAtMs: Number(r.expires_at_ms),
  };
}

/** Hold legs grouped into one {@link Hold} per transaction id, legs in leg order, each entry id once. */
function holdsOf(holdLegs: readonly HoldLeg[]): Hold[] {
  const legsByHold = new Map<string, HoldLeg[]>();
  for (const leg of uniqueBy(holdLegs, (l) => l.entry.entryId)) {
    const legs = legsByHold.get(leg.entry.transactionId) ?? [];
    legs.push(leg);
    legsByHold.set(leg.entry.transactionId, legs);
  }
  return [...legsByHold].map(([transactionId, legs]) => ({
    transactionId,
    fingerprint: legs[0]!.fingerprint,
    kind: legs[0]!.kind,
    links: legs[0]!.links,
    legs: legs.map((l) => l.entry).sort((a, b) => a.leg - b.leg),
    placedAtMs: legs[0]!.placedAtMs,
    expiresAtMs: legs[0]!.expiresAtMs,
  }));
}

function uniqueBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function decisionRow({ scored, storedAtMs, unpostedReason }: DecisionRecord): DecisionRow {
  const tx = scored.transaction;
  return {
    transaction_id: tx.transactionId,
    fingerprint: tx.fingerprint,
    channel: tx.channel,
    kind: tx.kind,
    source: tx.source,
    submitted_by: tx.submittedBy ?? '',
    amount_minor: tx.amountMinor.toString(),
    currency: tx.currency,
    payer_account_id: tx.payerAccountId,
    payee_account_id: tx.payeeAccountId,
    customer_id: tx.customerId ?? '',
    card_token: tx.card?.token ?? '',
    card_last4: tx.card?.last4 ?? '',
    merchant_id: tx.merchantId ?? '',
    terminal_id: tx.terminalId ?? '',
    mcc: tx.mcc ?? '',
    device_id: tx.deviceId ?? '',
    country: tx.country ?? '',
    description: tx.description ?? '',
    decision: scored.decision,
    score: scored.score,
    risk: scored.risk,
    // Reasons keep their order (strongest first).
    reasons_json: auditJson(scored.reasons),
    reason_codes: scored.reasons.map((r) => r.code),
    rules_fired: scored.rulesFired,
    features_json: featuresJson(featureValuesOf(scored)),
    reporting_currency: scored.reportingCurrency ?? '',
    unconverted_currency: scored.unconvertedCurrency ?? '',
    model_version: scored.modelVersion,
    rules_version: scored.rulesVersion,
    unposted_reason: unpostedReason ?? '',
    // What the columns above cannot give back (schemas/decision-transaction.ts).
    transaction_json: auditJson(transactionExtraOf(tx)),
    event_time: toDateTime64Text(tx.eventTimeMs),
    received_at: toDateTime64Text(tx.receivedAtMs),
    scored_at: toDateTime64Text(scored.scoredAtMs),
    stored_at: toDateTime64Text(storedAtMs),
  };
}

export function ledgerConflictRow(c: ConflictRecord): LedgerConflictRow {
  return {
    transaction_id: c.transactionId,
    posted_fingerprint: c.acceptedFingerprint,
    conflicting_fingerprint: c.conflictingFingerprint,
    detected_at: toDateTime64Text(c.detectedAtMs),
    transaction_json: auditJson(c.transaction),
  };
}

export function analystLabelRow(l: AnalystLabel): AnalystLabelRow {
  return {
    transaction_id: l.transactionId,
    label: l.label,
    labelled_by: l.labelledBy,
    labelled_at: toDateTime64Text(l.labelledAtMs),
    note: l.note ?? '',
  };
}

/** The `shadow_decisions` row of a challenger's decision. */
export function shadowDecisionRow(d: ShadowDecision, storedAtMs: number): ShadowDecisionRow {
  return {
    transaction_id: d.transactionId,
    event_time: toDateTime64Text(d.eventTimeMs),
    scored_at: toDateTime64Text(d.scoredAtMs),
    champion_decision: d.championDecision,
    champion_score: d.championScore,
    champion_risk: d.championRisk,
    champion_reason_codes: d.championReasonCodes,
    champion_model_version: d.championModelVersion,
    champion_rules_version: d.championRulesVersion,
    challenger_decision: d.challengerDecision,
    challenger_score: d.challengerScore,
    challenger_risk: d.challengerRisk,
    challenger_reason_codes: d.challengerReasonCodes,
    challenger_model_version: d.challengerModelVersion,
    challenger_rules_version: d.challengerRulesVersion,
    stored_at: toDateTime64Text(storedAtMs),
  };
}

/**
 * Epoch milliseconds as the text ClickHouse reads into `DateTime64(3, 'UTC')` unambiguously:
 * `YYYY-MM-DD hh:mm:ss.sss` in UTC, e.g. 1764000000050 → '2025-11-24 16:00:00.050'.
 * @throws VigilError TIME_NOT_STORABLE outside 1900-01-01..2299-12-31 UTC (the handler checks before).
 */
export function toDateTime64Text(epochMs: number): string {
  if (!Number.isSafeInteger(epochMs) || epochMs < STORABLE_TIME_MIN_MS || epochMs > STORABLE_TIME_MAX_MS) {
    throw new VigilError('TIME_NOT_STORABLE', `epoch ms ${epochMs} cannot be stored as DateTime64(3)`, {
      category: ErrorCategory.invalidInput,
    });
  }
  // The text up to the second is cached per second in a few slots: a row's times (event, received, stored…) fall
  // in different seconds, often on different days, so one cached second or day was missed on nearly every call.
  // A miss is arithmetic only (no Date). Several of these per decision were a visible share of ledger-sink's CPU.
  const millis = ((epochMs % 1000) + 1000) % 1000;
  const second = (epochMs - millis) / 1000;
  const slot = second & (SECOND_SLOTS - 1); // ToInt32 keeps the low bits, so this is second mod SECOND_SLOTS
  let text = cachedSecondText[slot]!;
  if (cachedSecond[slot] !== second) {
    text = secondText(second);
    cachedSecond[slot] = second;
    cachedSecondText[slot] = text;
  }
  return `${text}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}`;
}

/** 'YYYY-MM-DD hh:mm:ss' in UTC of `second` (epoch seconds) within 1900..2299. */
function secondText(second: number): string {
  const days = Math.floor(second / SECONDS_PER_DAY);
  let rest = second - days * SECONDS_PER_DAY;
  const seconds = rest % 60;
  rest = (rest - seconds) / 60;
  const minutes = rest % 60;
  const hours = (rest - minutes) / 60;
  // Civil date from days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant, "chrono-Compatible
  // Low-Level Date Algorithms", days_from_civil's inverse): eras of 400 years, years starting on 1 March.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return `${year}-${two(month)}-${two(day)} ${two(hours)}:${two(minutes)}:${two(seconds)}`;
}

const SECONDS_PER_DAY = 86_400;
/** Slots of the per-second cache; a power of two. */
const SECOND_SLOTS = 16;
const cachedSecond = new Float64Array(SECOND_SLOTS).fill(Number.NaN);
const cachedSecondText: string[] = new Array<string>(SECOND_SLOTS).fill('');
const two = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
