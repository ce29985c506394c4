import type { ClickHouseClient } from '@clickhouse/client';
import { ClickHouseTables, epochMsColumn } from '../../schemas/clickhouse.js';
import {
  DECISION_TRANSACTION_COLUMNS,
  type DecisionTransactionColumns,
  transactionOfDecision,
} from '../../schemas/decision-transaction.js';
import { readerType } from '../../schemas/codec.js';
import type { AnalystLabel, Decision, LabelValue, Transaction } from '../../schemas/generated/types.js';
import type { StoredDecision, StoredHistory } from './replay.js';

/** ClickHouse DateTime64(3) parameter text for epoch ms. */
const chTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

const transactionType = readerType('vigil.Transaction');

/**
 * The Transaction a decision row stores as JSON (`transaction_json`, bigints as decimal strings), as the engine
 * scored it. Throws when the text is not a valid Transaction, naming the transaction.
 */
export function transactionOf(json: string): Transaction {
  const value = JSON.parse(json, (key, v: unknown) =>
    key === 'amountMinor' && typeof v === 'string' ? BigInt(v) : v,
  ) as Transaction;
  if (!transactionType.isValid(value))
    throw new Error(`decision ${value.transactionId}: transaction_json is not a valid vigil.Transaction`);
  return value;
}

/**
 * Reads the stored history a backtest replays: every decision with event time in [startMs, toMs), once per
 * transaction (the first stored: the one the ledger acted on), in event-time order, and every verdict on a decided
 * transaction, whenever given (verdicts come late; the replay feeds the feature state only those given before each
 * transaction's event time), with that transaction's terminal and event time. The join is LEFT ANY with the
 * unmatched dropped: ANY INNER keeps one row per key on both sides, so a GENUINE verdict clearing a FRAUD was lost.
 */
export async function readStoredHistory(
  clickhouse: ClickHouseClient,
  startMs: number,
  toMs: number,
): Promise<StoredHistory> {
  const decisions = await clickhouse.query({
    query: `SELECT ${DECISION_TRANSACTION_COLUMNS.join(', ')}, ${epochMsColumn('event_time')}, ${epochMsColumn('received_at')},
              transaction_json, decision, rules_fired, reason_codes, rules_version
            FROM ${ClickHouseTables.decisions}
            WHERE event_time >= {start:DateTime64(3)} AND event_time < {to:DateTime64(3)}
            ORDER BY event_time, received_at, transaction_id, stored_at
            LIMIT 1 BY transaction_id`,
    query_params: { start: chTime(startMs), to: chTime(toMs) },
    format: 'JSONEachRow',
  });
  const rows = await decisions.json<
    DecisionTransactionColumns & {
      transaction_json: string;
      decision: Decision;
      rules_fired: string[];
      reason_codes: string[];
      rules_version: string;
    }
  >();
  const stored: StoredDecision[] = rows.map((r) => ({
    // A slim row keeps in transaction_json only what no column gives back: rebuild the whole record first.
    transaction: transactionOf(JSON.stringify(transactionOfDecision(r, JSON.parse(r.transaction_json)))),
    decision: r.decision,
    rulesFired: r.rules_fired,
    reasonCodes: r.reason_codes,
    rulesVersion: r.rules_version,
  }));
  const labelled = await clickhouse.query({
    query: `SELECT l.transaction_id AS transaction_id, l.label AS label, l.labelled_by AS labelled_by,
                   toUnixTimestamp64Milli(l.labelled_at) AS labelled_at_ms, l.note AS note,
                   d.terminal_id AS terminal_id, d.payer_account_id AS payer_account_id, d.card_token AS card_token,
                   toUnixTimestamp64Milli(d.event_time) AS event_time_ms
            FROM ${ClickHouseTables.analystLabels} AS l
            LEFT ANY JOIN ${ClickHouseTables.decisions} AS d ON d.transaction_id = l.transaction_id
            WHERE d.transaction_id != ''
            ORDER BY l.labelled_at, l.transaction_id`,
    format: 'JSONEachRow',
  });
  const labelRows = await labelled.json<{
    transaction_id: string;
    label: LabelValue;
    labelled_by: string;
    labelled_at_ms: string;
    note: string;
    terminal_id: string;
    payer_account_id: string;
    card_token: string;
    event_time_ms: string;
  }>();
  const labels: AnalystLabel[] = labelRows.map((r) => ({
    transactionId: r.transaction_id,
    label: r.label,
    labelledBy: r.labelled_by,
    labelledAtMs: Number(r.labelled_at_ms),
    transactionEventTimeMs: Number(r.event_time_ms),
    payerAccountId: r.payer_account_id === '' ? null : r.payer_account_id,
    cardToken: r.card_token === '' ? null : r.card_token,
    terminalId: r.terminal_id === '' ? null : r.terminal_id,
    note: r.note === '' ? null : r.note,
  }));
  return { decisions: stored, labels };
}
