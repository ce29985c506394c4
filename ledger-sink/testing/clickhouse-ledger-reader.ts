import type { ClickHouseClient } from '@clickhouse/client';
import {
  ClickHouseTables,
  type DecisionRow,
  type LedgerConflictRow,
  type LedgerEntryRow,
  type SelectedRow,
  epochMsColumn,
} from '../../schemas/clickhouse.js';
import {
  DECISION_TRANSACTION_COLUMNS,
  type DecisionTransactionColumns,
  transactionOfDecision,
} from '../../schemas/decision-transaction.js';

/**
 * Read-side checks over what ledger-sink wrote, for ledger-sink's own tests and operators' spot checks
 * (dashboards has its own queries). Sums are taken over Int128: `sum(Int64)` in ClickHouse is Int64 and wraps
 * around silently on overflow, which would let an imbalance of exactly 2^64 read as zero. Int64/Int128 arrive as
 * JSON strings (`output_format_json_quote_64bit_integers=1`) and become bigint here, never a float.
 */
export interface Imbalance {
  readonly transactionId: string;
  readonly currency: string;
  readonly sumMinor: bigint;
}

export interface TableCounts {
  readonly entries: number;
  readonly postedTransactions: number;
  readonly decisions: number;
  readonly conflicts: number;
  readonly labels: number;
}

export interface HoldCounts {
  readonly holdLegs: number;
  readonly heldTransactions: number;
  readonly resolutions: number;
}

/** The decision row with times back as epoch ms, for round-trip checks. */
export interface StoredDecision {
  readonly transactionId: string;
  readonly fingerprint: string;
  readonly decision: string;
  readonly amountMinor: bigint;
  readonly score: number;
  readonly reasonsJson: string;
  readonly reasonCodes: readonly string[];
  readonly rulesFired: readonly string[];
  readonly featuresJson: string;
  /** The currency of the amounts in `featuresJson`; null for decisions scored before ScoredTransaction v6. */
  readonly reportingCurrency: string | null;
  /** The debit currency when it had no rate and `amount` went in unconverted; null when converted or not recorded. */
  readonly unconvertedCurrency: string | null;
  readonly modelVersion: string;
  readonly rulesVersion: string;
  /** `transaction_json` as stored: the fields the columns cannot give back. */
  readonly transactionJson: string;
  /** The transaction rebuilt from the columns and `transaction_json`, as the audit trail shows it. */
  readonly transaction: unknown;
  readonly eventTimeMs: number;
  readonly receivedAtMs: number;
  readonly scoredAtMs: number;
  readonly storedAtMs: number;
}

type StoredDecisionRow = DecisionTransactionColumns &
  SelectedRow<
    DecisionRow,
    | 'decision'
    | 'score'
    | 'reasons_json'
    | 'reason_codes'
    | 'rules_fired'
    | 'features_json'
    | 'reporting_currency'
    | 'unconverted_currency'
    | 'model_version'
    | 'rules_version'
    | 'transaction_json',
    'event_time' | 'received_at' | 'scored_at' | 'stored_at'
  >;

export class ClickHouseLedgerReader {
  constructor(private readonly client: ClickHouseClient) {}

  /** Every (transaction, currency) whose entries do not sum to zero. Empty on a sound ledger. */
  async imbalances(): Promise<Imbalance[]> {
    const rows = await this.rows<{ transaction_id: string; currency: string; sum_minor: string }>(
      `SELECT transaction_id, currency, toString(sum(toInt128(amount_minor))) AS sum_minor
       FROM ${ClickHouseTables.ledgerEntries} GROUP BY transaction_id, currency HAVING sum(toInt128(amount_minor)) != 0
       ORDER BY transaction_id, currency`,
    );
    return rows.map((r) => ({ transactionId: r.transaction_id, currency: r.currency, sumMinor: BigInt(r.sum_minor) }));
  }

  /** The grand total per currency over the whole ledger (0n for each on a sound ledger). */
  async totalsByCurrency(): Promise<Map<string, bigint>> {
    const rows = await this.rows<{ currency: string; sum_minor: string }>(
      `SELECT currency, toString(sum(toInt128(amount_minor))) AS sum_minor FROM ${ClickHouseTables.ledgerEntries} GROUP BY currency ORDER BY currency`,
    );
    return new Map(rows.map((r) => [r.currency, BigInt(r.sum_minor)]));
  }

  /** Sum of absolute amounts per currency: changes when a posting is doubled even though totals stay 0. */
  async turnoverByCurrency(): Promise<Map<string, bigint>> {
    const rows = await this.rows<{ currency: string; turnover: string }>(
      `SELECT currency, toString(sum(abs(toInt128(amount_minor)))) AS turnover FROM ${ClickHouseTables.ledgerEntries} GROUP BY currency ORDER BY currency`,
    );
    return new Map(rows.map((r) => [r.currency, BigInt(r.turnover)]));
  }

  /** Entry ids stored more than once: a posting written twice. Empty when idempotency holds. */
  async duplicatedEntryIds(): Promise<string[]> {
    const rows = await this.rows<SelectedRow<LedgerEntryRow, 'entry_id'>>(
      `SELECT entry_id FROM ${ClickHouseTables.ledgerEntries} GROUP BY entry_id HAVING count() > 1 ORDER BY entry_id`,
    );
    return rows.map((r) => r.entry_id);
  }

  /** Transaction ids with more than one decision row. Empty when idempotency holds. */
  async duplicatedDecisionIds(): Promise<string[]> {
    const rows = await this.rows<SelectedRow<DecisionRow, 'transaction_id'>>(
      `SELECT transaction_id FROM ${ClickHouseTables.decisions} GROUP BY transaction_id HAVING count() > 1 ORDER BY transaction_id`,
    );
    return rows.map((r) => r.transaction_id);
  }

  async balance(accountId: string, currency: string): Promise<bigint> {
    const rows = await this.rows<{ balance: string }>(
      `SELECT toString(sum(toInt128(amount_minor))) AS balance FROM ${ClickHouseTables.ledgerEntries} WHERE account_id = {account:String} AND currency = {currency:String}`,
      { account: accountId, currency },
    );
    return BigInt(rows[0]?.balance ?? '0');
  }

  async counts(): Promise<TableCounts> {
    const [row] = await this.rows<{
      entries: string;
      posted: string;
      decisions: string;
      conflicts: string;
      labels: string;
    }>(
      `SELECT
         (SELECT count() FROM ${ClickHouseTables.ledgerEntries}) AS entries,
         (SELECT uniqExact(transaction_id) FROM ${ClickHouseTables.ledgerEntries}) AS posted,
         (SELECT count() FROM ${ClickHouseTables.decisions}) AS decisions,
         (SELECT count() FROM ${ClickHouseTables.ledgerConflicts}) AS conflicts,
         (SELECT count() FROM ${ClickHouseTables.analystLabels}) AS labels`,
    );
    if (row === undefined) throw new Error('count query returned no row');
    return {
      entries: Number(row.entries),
      postedTransactions: Number(row.posted),
      decisions: Number(row.decisions),
      conflicts: Number(row.conflicts),
      labels: Number(row.labels),
    };
  }

  /** Rows of the holds and their resolutions: hold legs, held transactions, resolutions (a hold ends once). */
  async holdCounts(): Promise<HoldCounts> {
    const [row] = await this.rows<{ legs: string; held: string; resolutions: string }>(
      `SELECT
         (SELECT count() FROM ${ClickHouseTables.ledgerHolds}) AS legs,
         (SELECT uniqExact(transaction_id) FROM ${ClickHouseTables.ledgerHolds}) AS held,
         (SELECT count() FROM ${ClickHouseTables.ledgerHoldResolutions}) AS resolutions`,
    );
    if (row === undefined) throw new Error('count query returned no row');
    return { holdLegs: Number(row.legs), heldTransactions: Number(row.held), resolutions: Number(row.resolutions) };
  }

  async entriesOf(
    transactionId: string,
  ): Promise<Array<{ entryId: string; accountId: string; amountMinor: bigint; currency: string; entryType: string }>> {
    const rows = await this.rows<
      SelectedRow<LedgerEntryRow, 'entry_id' | 'account_id' | 'amount_minor' | 'currency' | 'entry_type'>
    >(
      `SELECT entry_id, account_id, amount_minor, currency, entry_type FROM ${ClickHouseTables.ledgerEntries} WHERE transaction_id = {id:String} ORDER BY leg`,
      { id: transactionId },
    );
    return rows.map((r) => ({
      entryId: r.entry_id,
      accountId: r.account_id,
      amountMinor: BigInt(r.amount_minor),
      currency: r.currency,
      entryType: r.entry_type,
    }));
  }

  async decision(transactionId: string): Promise<StoredDecision | undefined> {
    const rows = await this.rows<StoredDecisionRow>(
      `SELECT ${DECISION_TRANSACTION_COLUMNS.join(', ')}, decision, score, reasons_json, reason_codes, rules_fired, features_json,
              reporting_currency, unconverted_currency, model_version, rules_version, transaction_json, ${epochMsColumn('event_time')}, ${epochMsColumn('received_at')},
              ${epochMsColumn('scored_at')}, ${epochMsColumn('stored_at')}
       FROM ${ClickHouseTables.decisions} WHERE transaction_id = {id:String}`,
      { id: transactionId },
    );
    const r = rows[0];
    if (r === undefined) return undefined;
    return {
      transactionId: r.transaction_id,
      fingerprint: r.fingerprint,
      decision: r.decision,
      amountMinor: BigInt(r.amount_minor),
      score: r.score,
      reasonsJson: r.reasons_json,
      reasonCodes: r.reason_codes,
      rulesFired: r.rules_fired,
      featuresJson: r.features_json,
      reportingCurrency: r.reporting_currency === '' ? null : r.reporting_currency,
      unconvertedCurrency: r.unconverted_currency === '' ? null : r.unconverted_currency,
      modelVersion: r.model_version,
      rulesVersion: r.rules_version,
      transactionJson: r.transaction_json,
      transaction: transactionOfDecision(r, JSON.parse(r.transaction_json)),
      eventTimeMs: Number(r.event_time_ms),
      receivedAtMs: Number(r.received_at_ms),
      scoredAtMs: Number(r.scored_at_ms),
      storedAtMs: Number(r.stored_at_ms),
    };
  }

  async conflicts(): Promise<
    Array<{ transactionId: string; postedFingerprint: string; conflictingFingerprint: string }>
  > {
    const rows = await this.rows<
      SelectedRow<LedgerConflictRow, 'transaction_id' | 'posted_fingerprint' | 'conflicting_fingerprint'>
    >(
      `SELECT transaction_id, posted_fingerprint, conflicting_fingerprint FROM ${ClickHouseTables.ledgerConflicts} ORDER BY transaction_id, detected_at`,
    );
    return rows.map((r) => ({
      transactionId: r.transaction_id,
      postedFingerprint: r.posted_fingerprint,
      conflictingFingerprint: r.conflicting_fingerprint,
    }));
  }

  /**
   * Transaction ids stored under more than one fingerprint across `decisions` and `ledger_entries`. The write
   * path prevents this within a partition; a reconciliation run catches the one case it cannot see (the same id
   * with a different payer, hence keyed to another partition and consumer, written at the same moment).
   */
  async fingerprintCollisions(): Promise<string[]> {
    const rows = await this.rows<{ transaction_id: string }>(
      `SELECT transaction_id FROM (
         SELECT transaction_id, fingerprint FROM ${ClickHouseTables.decisions}
         UNION ALL SELECT transaction_id, fingerprint FROM ${ClickHouseTables.ledgerEntries})
       GROUP BY transaction_id HAVING uniqExact(fingerprint) > 1 ORDER BY transaction_id`,
    );
    return rows.map((r) => r.transaction_id);
  }

  private async rows<Row>(query: string, query_params?: Record<string, unknown>): Promise<Row[]> {
    const resultSet = await this.client.query({ query, query_params, format: 'JSONEachRow' });
    return resultSet.json<Row>();
  }
}
