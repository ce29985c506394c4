import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import { UnavailableError, VigilError, ErrorCategory } from '../../platform/errors.js';
import {
  type AnalystLabelRow,
  ClickHouseTables,
  type DecisionRow,
  type LedgerConflictRow,
  type LedgerEntryRow,
  type SelectedRow,
  clickhouseTableStatements,
  epochMsColumn,
} from '../../schemas/clickhouse.js';
import { featureValuesOf } from '../../schemas/features.js';
import type { AnalystLabel } from '../../schemas/generated/types.js';
import { STORABLE_TIME_MAX_MS, STORABLE_TIME_MIN_MS, auditJson } from '../domain/audit.js';
import type { StoredFingerprints } from '../domain/idempotency.js';
import {
  type ConflictRecord,
  conflictKey,
  type DecisionRecord,
  type LedgerStore,
  labelKey,
  type PostedEntry,
} from '../ports.js';

/**
 * {@link LedgerStore} over ClickHouse (a server, or chDB in-process) through `@clickhouse/client`.
 *
 * Writes: one `INSERT … FORMAT JSONCompactEachRow` per table per batch. A MergeTree insert below
 * `max_insert_block_size` rows is one block, and one block becomes one part that appears atomically (written
 * under a temporary name, then renamed). The tables are unpartitioned, so a block is never split across
 * partitions — that is what makes "all legs of a batch or none" hold without transactions. `async_insert` is
 * forced off so an insert that resolves is already visible to the next lookup.
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
}

const INSERT_SETTINGS: ClickHouseSettings = { async_insert: 0 };

const FINGERPRINTS_SQL = {
  ledger: `SELECT transaction_id, any(fingerprint) AS fingerprint FROM ${ClickHouseTables.ledgerEntries} WHERE transaction_id IN {ids:Array(String)} GROUP BY transaction_id`,
  decisions: `SELECT transaction_id, any(fingerprint) AS fingerprint FROM ${ClickHouseTables.decisions} WHERE transaction_id IN {ids:Array(String)} GROUP BY transaction_id`,
} as const;
const CONFLICTS_SQL = `SELECT DISTINCT transaction_id, conflicting_fingerprint FROM ${ClickHouseTables.ledgerConflicts} WHERE transaction_id IN {ids:Array(String)}`;
const LABELS_SQL = `SELECT transaction_id, label, labelled_by, ${epochMsColumn('labelled_at')} FROM ${ClickHouseTables.analystLabels} WHERE transaction_id IN {ids:Array(String)}`;

export class ClickHouseLedgerStore implements LedgerStore {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly options: ClickHouseLedgerStoreOptions = { lookupChunkIds: 1000 },
  ) {}

  async ensureSchema(): Promise<void> {
    for (const statement of clickhouseTableStatements())
      await this.guard('create tables', () => this.client.command({ query: statement }));
  }

  async storedFingerprints(transactionIds: readonly string[]): Promise<StoredFingerprints> {
    const [ledger, decisions] = await Promise.all([
      this.fingerprints(FINGERPRINTS_SQL.ledger, transactionIds),
      this.fingerprints(FINGERPRINTS_SQL.decisions, transactionIds),
    ]);
    return { ledger, decisions };
  }

  async recordedConflicts(transactionIds: readonly string[]): Promise<ReadonlySet<string>> {
    const rows = await this.selectByIds<SelectedRow<LedgerConflictRow, 'transaction_id' | 'conflicting_fingerprint'>>(
      CONFLICTS_SQL,
      transactionIds,
    );
    return new Set(rows.map((r) => conflictKey(r.transaction_id, r.conflicting_fingerprint)));
  }

  async recordedLabels(transactionIds: readonly string[]): Promise<ReadonlySet<string>> {
    const rows = await this.selectByIds<
      SelectedRow<AnalystLabelRow, 'transaction_id' | 'label' | 'labelled_by', 'labelled_at'>
    >(LABELS_SQL, transactionIds);
    return new Set(
      rows.map((r) =>
        labelKey({
          transactionId: r.transaction_id,
          label: r.label,
          labelledBy: r.labelled_by,
          labelledAtMs: Number(r.labelled_at_ms),
        }),
      ),
    );
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

  /** Rows go as JSONCompactEachRow (arrays under an explicit column list): half the bytes of JSONEachRow to build and parse. */
  private async insert<Row extends object>(table: string, rows: readonly Row[]): Promise<void> {
    const first = rows[0];
    if (first === undefined) return;
    const columns = Object.keys(first) as [keyof Row & string, ...(keyof Row & string)[]];
    const values = rows.map((row) => columns.map((column) => row[column]));
    await this.guard(`insert into ${table}`, () =>
      this.client.insert({
        table,
        columns,
        values,
        format: 'JSONCompactEachRow',
        clickhouse_settings: INSERT_SETTINGS,
      }),
    );
  }

  private async fingerprints(sql: string, transactionIds: readonly string[]): Promise<Map<string, string>> {
    // The same two columns of `decisions` and `ledger_entries`.
    const rows = await this.selectByIds<SelectedRow<DecisionRow, 'transaction_id' | 'fingerprint'>>(
      sql,
      transactionIds,
    );
    return new Map(rows.map((r) => [r.transaction_id, r.fingerprint]));
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
  };
}

export function decisionRow({ scored, storedAtMs }: DecisionRecord): DecisionRow {
  const tx = scored.transaction;
  return {
    transaction_id: tx.transactionId,
    fingerprint: tx.fingerprint,
    channel: tx.channel,
    kind: tx.kind,
    source: tx.source,
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
    // Reasons keep their order (strongest first).
    reasons_json: auditJson(scored.reasons),
    reason_codes: scored.reasons.map((r) => r.code),
    rules_fired: scored.rulesFired,
    features_json: auditJson(featureValuesOf(scored)),
    model_version: scored.modelVersion,
    rules_version: scored.rulesVersion,
    transaction_json: auditJson(tx),
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
  // The date part is formatted once per UTC day (a batch's times fall on one or two days); the time of day is
  // plain arithmetic. Four of these per decision made Date#toISOString a visible share of ledger-sink's CPU.
  const dayMs = epochMs - (((epochMs % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY);
  if (dayMs !== cachedDayMs) {
    cachedDayText = new Date(dayMs).toISOString().slice(0, 10); // YYYY-MM-DD for years 0000..9999
    cachedDayMs = dayMs;
  }
  let rest = epochMs - dayMs;
  const millis = rest % 1000;
  rest = (rest - millis) / 1000;
  const seconds = rest % 60;
  rest = (rest - seconds) / 60;
  const minutes = rest % 60;
  const hours = (rest - minutes) / 60;
  return `${cachedDayText} ${two(hours)}:${two(minutes)}:${two(seconds)}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}`;
}

const MS_PER_DAY = 86_400_000;
let cachedDayMs = Number.NaN;
let cachedDayText = '';
const two = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
