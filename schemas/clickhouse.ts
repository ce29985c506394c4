import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Channel, Decision, EntryType, IngestSource, LabelValue, TransactionKind } from './generated/types.js';

/** The ClickHouse DDL shared by ledger-sink (writer) and dashboards (reader), one statement per entry. */
export function clickhouseTableStatements(): string[] {
  const sql = readFileSync(fileURLToPath(new URL('./clickhouse/tables.sql', import.meta.url)), 'utf8');
  return sql
    .split(/^;\s*$/m)
    .map((statement) =>
      statement
        .split('\n')
        .filter((line) => !line.trimStart().startsWith('--'))
        .join('\n')
        .trim(),
    )
    .filter((statement) => statement !== '');
}

export const ClickHouseTables = {
  ledgerEntries: 'ledger_entries',
  decisions: 'decisions',
  ledgerConflicts: 'ledger_conflicts',
  ledgerHolds: 'ledger_holds',
  ledgerHoldResolutions: 'ledger_hold_resolutions',
  analystLabels: 'analyst_labels',
  accessLog: 'access_log',
  rulesVersions: 'rules_versions',
  shadowDecisions: 'shadow_decisions',
} as const;

/**
 * The tables ledger-sink writes through, by the table they fill: each takes an INSERT and passes on to its table only
 * the rows whose key is not stored there yet, in the same statement (`tables.sql`, "Insert once").
 */
export const ClickHouseInsertOnce = {
  [ClickHouseTables.ledgerEntries]: 'ledger_entries_incoming',
  [ClickHouseTables.decisions]: 'decisions_incoming',
  [ClickHouseTables.ledgerHolds]: 'ledger_holds_incoming',
  [ClickHouseTables.ledgerHoldResolutions]: 'ledger_hold_resolutions_incoming',
  [ClickHouseTables.ledgerConflicts]: 'ledger_conflicts_incoming',
  [ClickHouseTables.analystLabels]: 'analyst_labels_incoming',
  [ClickHouseTables.shadowDecisions]: 'shadow_decisions_incoming',
} as const;

/** The views of `schemas/clickhouse/tables.sql`: queries over the tables, holding no rows of their own. */
export const ClickHouseViews = {
  /** Every open hold's legs with what they still reserve (`remaining_minor`, after captures). */
  ledgerOpenHoldLegs: 'ledger_open_hold_legs',
} as const;

/**
 * Text forms on the wire, both ways: a DateTime64(3, 'UTC') column is written as 'YYYY-MM-DD hh:mm:ss.sss' in UTC
 * (see ledger-sink's `toDateTime64Text`); Int64 money is a decimal string (JSON numbers lose precision past 2^53,
 * and the client quotes 64-bit integers on output, `output_format_json_quote_64bit_integers=1`).
 */
export type DateTime64Text = string;
/** An Int64 as a decimal string, e.g. "-9007199254740993". */
export type Int64Text = string;

/**
 * The row types of the tables above, typed to what ledger-sink's JSON(Compact)EachRow writer sends: one field per
 * column, absent optional text as '' (the columns are not Nullable). A SELECT of a column returns the same JSON
 * type, so readers pick their columns from these (see {@link SelectedRow}).
 */

/** One row of `ledger_entries`: one leg of a double-entry posting. */
export interface LedgerEntryRow {
  readonly entry_id: string;
  readonly transaction_id: string;
  readonly leg: number;
  readonly account_id: string;
  readonly amount_minor: Int64Text;
  readonly currency: string;
  readonly entry_type: EntryType;
  readonly fingerprint: string;
  readonly event_time: DateTime64Text;
  readonly posted_at: DateTime64Text;
  /** The entry id a reversal leg reverses; '' for every other leg. */
  readonly reverses_entry_id: string;
  /** A capture's leg: the authorisation whose hold it settles; '' otherwise. */
  readonly captures_transaction_id: string;
  /** A refund's leg: the payment it pays back; '' otherwise. */
  readonly refunds_transaction_id: string;
}

/** One row of `ledger_holds`: one leg of a pending hold. */
export interface LedgerHoldRow {
  readonly transaction_id: string;
  readonly leg: number;
  readonly entry_id: string;
  readonly account_id: string;
  readonly amount_minor: Int64Text;
  readonly currency: string;
  readonly entry_type: EntryType;
  readonly fingerprint: string;
  readonly event_time: DateTime64Text;
  readonly placed_at: DateTime64Text;
  readonly expires_at: DateTime64Text;
  /** REVIEW (waits for a verdict) or AUTHORIZATION (settled by its captures). */
  readonly hold_kind: 'REVIEW' | 'AUTHORIZATION';
  /** What the held legs follow up, carried onto the entries a posted hold books ('' where nothing). */
  readonly captures_transaction_id: string;
  readonly refunds_transaction_id: string;
}

/** One row of `ledger_hold_resolutions`: how one hold ended. */
export interface LedgerHoldResolutionRow {
  readonly transaction_id: string;
  readonly resolution: 'POSTED' | 'VOIDED' | 'CAPTURED';
  readonly cause: LabelValue | 'EXPIRED' | 'CAPTURED';
  readonly resolved_by: string;
  readonly resolved_at: DateTime64Text;
}

/** One row of `decisions`: the audit record of one scored transaction. */
export interface DecisionRow {
  readonly transaction_id: string;
  readonly fingerprint: string;
  readonly channel: Channel;
  readonly kind: TransactionKind;
  /** Where the transaction came in (the simulator's traffic is SIMULATOR). */
  readonly source: IngestSource;
  /** Who submitted it: an API key's principal id (never the key) or an internal feed; '' before Transaction v4. */
  readonly submitted_by: string;
  readonly amount_minor: Int64Text;
  readonly currency: string;
  readonly payer_account_id: string;
  readonly payee_account_id: string;
  readonly customer_id: string;
  readonly card_token: string;
  readonly card_last4: string;
  readonly merchant_id: string;
  readonly terminal_id: string;
  readonly mcc: string;
  readonly device_id: string;
  readonly country: string;
  readonly description: string;
  readonly decision: Decision;
  /** The model's fraud probability alone. */
  readonly score: number;
  /** The combined risk (model score plus rule risk, capped at 1) compared with the thresholds; null before v4. */
  readonly risk: number | null;
  /** The reasons in their order (strongest first), as JSON. */
  readonly reasons_json: string;
  readonly reason_codes: readonly string[];
  readonly rules_fired: readonly string[];
  /** Every feature value the model and rules saw, as canonical JSON. */
  readonly features_json: string;
  /**
   * ISO 4217 code of the currency the amounts in `features_json` are in (ScoredTransaction v6 `reportingCurrency`);
   * '' for decisions scored before v6, which did not record it.
   */
  readonly reporting_currency: string;
  /**
   * The transaction's debit currency when it had no rate to `reporting_currency` (ScoredTransaction v6
   * `unconvertedCurrency`): its `amount` in `features_json` is in that currency and the windows it joined counted it
   * unconverted. '' when it converted or was not recorded.
   */
  readonly unconverted_currency: string;
  readonly model_version: string;
  readonly rules_version: string;
  /** Why the ledger could not post it (`<error code>: <message>`), e.g. a reserved account id; '' otherwise. */
  readonly unposted_reason: string;
  /**
   * The fields of the Avro `Transaction` as scored that the columns above cannot give back, as JSON (whole records
   * in rows stored before); schemas/decision-transaction.ts writes and reads it.
   */
  readonly transaction_json: string;
  readonly event_time: DateTime64Text;
  readonly received_at: DateTime64Text;
  readonly scored_at: DateTime64Text;
  readonly stored_at: DateTime64Text;
}

/** One row of `ledger_conflicts`: a transaction id seen again with other content. */
export interface LedgerConflictRow {
  readonly transaction_id: string;
  readonly posted_fingerprint: string;
  readonly conflicting_fingerprint: string;
  readonly detected_at: DateTime64Text;
  readonly transaction_json: string;
}

/** One row of `analyst_labels`. */
export interface AnalystLabelRow {
  readonly transaction_id: string;
  readonly label: LabelValue;
  readonly labelled_by: string;
  readonly labelled_at: DateTime64Text;
  readonly note: string;
}

/** One row of `access_log`: who read what, when. */
export interface AccessLogRow {
  readonly at: DateTime64Text;
  readonly principal: string;
  /** A person's display name; '' for API keys. */
  readonly principal_name: string;
  readonly role: string;
  readonly action: string;
  readonly resource: string;
  readonly query_json: string;
}

/**
 * What a reader's SELECT returns: the `Columns` it picks, as stored, plus each DateTime64 column in `Times` read
 * as epoch milliseconds under `<column>_ms` (see {@link epochMsColumn}; Int64, so a decimal string).
 */
export type SelectedRow<Row, Columns extends keyof Row = never, Times extends keyof Row & string = never> = Pick<
  Row,
  Columns
> & { readonly [K in Times as `${K}_ms`]: Int64Text };

/** The select expression that reads DateTime64 `column` as `<column>_ms`, the name {@link SelectedRow} expects. */
export function epochMsColumn(column: string): string {
  return `toUnixTimestamp64Milli(${column}) AS ${column}_ms`;
}

/** One row of `rules_versions`: a rules document as scoring loaded it. */
export interface RulesVersionRow {
  /** SHA-256 (hex) of `rules_json`; what decisions record as their rules version. */
  readonly version: string;
  /** The document's own `version` field, a human label (e.g. 2024.11.1). */
  readonly label: string;
  /** The document as canonical JSON (platform/canonical-json.ts), so re-hashing it gives `version`. */
  readonly rules_json: string;
  readonly first_loaded_at: DateTime64Text;
}

/** One row of `shadow_decisions`: the challenger's decision beside the champion's for one transaction. */
export interface ShadowDecisionRow {
  readonly transaction_id: string;
  readonly event_time: DateTime64Text;
  readonly scored_at: DateTime64Text;
  readonly champion_decision: Decision;
  readonly champion_score: number;
  readonly champion_risk: number;
  readonly champion_reason_codes: readonly string[];
  readonly champion_model_version: string;
  readonly champion_rules_version: string;
  readonly challenger_decision: Decision;
  readonly challenger_score: number;
  readonly challenger_risk: number;
  readonly challenger_reason_codes: readonly string[];
  readonly challenger_model_version: string;
  readonly challenger_rules_version: string;
  readonly stored_at: DateTime64Text;
}
