import type { ClickHouseClient } from '@clickhouse/client';
import type { AuditTrail } from '../../schemas/api.js';
import type { SourceDocument } from '../../schemas/generated/types.js';
import { moneyView } from '../domain/money.js';
import {
  type AnalystLabelRow,
  ClickHouseTables,
  type DecisionRow,
  type LedgerConflictRow,
  type LedgerEntryRow,
  type LedgerHoldResolutionRow,
  type LedgerHoldRow,
  type SelectedRow,
  epochMsColumn,
} from '../../schemas/clickhouse.js';
import { transactionOfDecision } from '../../schemas/decision-transaction.js';
import { isoTime, orNull, parseStoredJson, selectRows } from './select.js';

type DecisionTime = 'event_time' | 'received_at' | 'scored_at' | 'stored_at';
/** A whole `decisions` row, times as epoch ms. */
type StoredDecision = SelectedRow<DecisionRow, Exclude<keyof DecisionRow, DecisionTime>, DecisionTime>;

const decisionColumns = `transaction_id, fingerprint, channel, kind, source, submitted_by, amount_minor, currency, payer_account_id, payee_account_id,
  customer_id, card_token, card_last4, merchant_id, terminal_id, mcc, device_id, country, description, decision, score, risk,
  reasons_json, reason_codes, rules_fired, features_json, reporting_currency, unconverted_currency, model_version, rules_version, unposted_reason, transaction_json,
  ${epochMsColumn('event_time')}, ${epochMsColumn('received_at')}, ${epochMsColumn('scored_at')}, ${epochMsColumn('stored_at')}`;

/** What the label endpoint needs to know about a decided transaction. */
export interface DecidedTransaction {
  readonly transactionId: string;
  readonly payerAccountId: string;
  readonly cardToken: string | null;
  readonly terminalId: string | null;
  readonly eventTimeMs: number;
}

/** The decided transaction with `transactionId`, or undefined if `decisions` has never seen it. */
export async function findDecidedTransaction(
  clickhouse: ClickHouseClient,
  transactionId: string,
): Promise<DecidedTransaction | undefined> {
  const rows = await selectRows<
    SelectedRow<DecisionRow, 'payer_account_id' | 'card_token' | 'terminal_id', 'event_time'>
  >(
    clickhouse,
    `SELECT payer_account_id, card_token, terminal_id, ${epochMsColumn('event_time')}
     FROM ${ClickHouseTables.decisions} WHERE transaction_id = {transactionId:String} ORDER BY stored_at LIMIT 1`,
    { transactionId },
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    transactionId,
    payerAccountId: row.payer_account_id,
    cardToken: orNull(row.card_token),
    terminalId: orNull(row.terminal_id),
    eventTimeMs: Number(row.event_time_ms),
  };
}

/** The full audit trail of one transaction, or undefined if it was never decided. */
export async function auditTrail(clickhouse: ClickHouseClient, transactionId: string): Promise<AuditTrail | undefined> {
  const params = { transactionId };
  const [decisions, entries, labels, conflicts, holdLegs, resolutions] = await Promise.all([
    selectRows<StoredDecision>(
      clickhouse,
      `SELECT ${decisionColumns} FROM ${ClickHouseTables.decisions} WHERE transaction_id = {transactionId:String} ORDER BY stored_at`,
      params,
    ),
    selectRows<
      SelectedRow<
        LedgerEntryRow,
        'entry_id' | 'leg' | 'account_id' | 'amount_minor' | 'currency' | 'entry_type' | 'reverses_entry_id',
        'event_time' | 'posted_at'
      >
    >(
      clickhouse,
      `SELECT entry_id, leg, account_id, amount_minor, currency, entry_type, reverses_entry_id,
         ${epochMsColumn('event_time')}, ${epochMsColumn('posted_at')}
       FROM ${ClickHouseTables.ledgerEntries} WHERE transaction_id = {transactionId:String} ORDER BY leg`,
      params,
    ),
    selectRows<SelectedRow<AnalystLabelRow, 'label' | 'labelled_by' | 'note', 'labelled_at'>>(
      clickhouse,
      `SELECT label, labelled_by, ${epochMsColumn('labelled_at')}, note
       FROM ${ClickHouseTables.analystLabels} WHERE transaction_id = {transactionId:String} ORDER BY labelled_at`,
      params,
    ),
    selectRows<
      SelectedRow<
        LedgerConflictRow,
        'posted_fingerprint' | 'conflicting_fingerprint' | 'transaction_json',
        'detected_at'
      >
    >(
      clickhouse,
      `SELECT posted_fingerprint, conflicting_fingerprint, ${epochMsColumn('detected_at')}, transaction_json
       FROM ${ClickHouseTables.ledgerConflicts} WHERE transaction_id = {transactionId:String} ORDER BY detected_at`,
      params,
    ),
    selectRows<HoldLegRow>(
      clickhouse,
      `SELECT leg, account_id, amount_minor, currency, hold_kind, ${epochMsColumn('placed_at')}, ${epochMsColumn('expires_at')}
       FROM ${ClickHouseTables.ledgerHolds} WHERE transaction_id = {transactionId:String} ORDER BY leg`,
      params,
    ),
    selectRows<SelectedRow<LedgerHoldResolutionRow, 'resolution' | 'cause' | 'resolved_by', 'resolved_at'>>(
      clickhouse,
      `SELECT resolution, cause, resolved_by, ${epochMsColumn('resolved_at')}
       FROM ${ClickHouseTables.ledgerHoldResolutions} WHERE transaction_id = {transactionId:String} ORDER BY resolved_at`,
      params,
    ),
  ]);
  const d = decisions[0];
  if (!d) return undefined;
  // The whole transaction as ingest produced it: slim rows keep in transaction_json only what no column gives back.
  const input = transactionOfDecision(d, parseStoredJson(d.transaction_json));
  return {
    transactionId: d.transaction_id,
    fingerprint: d.fingerprint,
    transaction: {
      channel: d.channel,
      kind: d.kind,
      source: d.source,
      submittedBy: orNull(d.submitted_by),
      amount: moneyView(d.amount_minor, d.currency),
      payerAccountId: d.payer_account_id,
      payeeAccountId: d.payee_account_id,
      customerId: orNull(d.customer_id),
      card: d.card_token === '' ? null : { token: d.card_token, last4: orNull(d.card_last4) },
      merchantId: orNull(d.merchant_id),
      terminalId: orNull(d.terminal_id),
      mcc: orNull(d.mcc),
      deviceId: orNull(d.device_id),
      country: orNull(d.country),
      description: orNull(d.description),
      sourceDocument: sourceDocumentOf(input),
    },
    decision: {
      outcome: d.decision,
      score: d.score,
      combinedRisk: d.risk,
      reasons: parseStoredJson(d.reasons_json) ?? [],
      reasonCodes: d.reason_codes,
      rulesFired: d.rules_fired,
      modelVersion: d.model_version,
      rulesVersion: d.rules_version,
      unpostedReason: orNull(d.unposted_reason),
    },
    features: parseStoredJson(d.features_json) ?? {},
    reportingCurrency: orNull(d.reporting_currency),
    unconvertedCurrency: orNull(d.unconverted_currency),
    input,
    timeline: {
      eventTime: isoTime(d.event_time_ms),
      receivedAt: isoTime(d.received_at_ms),
      scoredAt: isoTime(d.scored_at_ms),
      storedAt: isoTime(d.stored_at_ms),
      receivedToScoredMs: Number(d.scored_at_ms) - Number(d.received_at_ms),
      scoredToStoredMs: Number(d.stored_at_ms) - Number(d.scored_at_ms),
    },
    decisionRecords: decisions.length,
    ledgerEntries: entries.map((e) => ({
      entryId: e.entry_id,
      leg: e.leg,
      accountId: e.account_id,
      amount: moneyView(e.amount_minor, e.currency),
      entryType: e.entry_type,
      eventTime: isoTime(e.event_time_ms),
      postedAt: isoTime(e.posted_at_ms),
      reversesEntryId: orNull(e.reverses_entry_id),
    })),
    hold: holdView(holdLegs, resolutions),
    labels: labels.map((l) => ({
      label: l.label,
      labelledBy: l.labelled_by,
      labelledAt: isoTime(l.labelled_at_ms),
      note: orNull(l.note),
    })),
    conflicts: conflicts.map((c) => ({
      postedFingerprint: c.posted_fingerprint,
      conflictingFingerprint: c.conflicting_fingerprint,
      detectedAt: isoTime(c.detected_at_ms),
      transaction: parseStoredJson(c.transaction_json),
    })),
  };
}

type HoldLegRow = SelectedRow<
  LedgerHoldRow,
  'leg' | 'account_id' | 'amount_minor' | 'currency' | 'hold_kind',
  'placed_at' | 'expires_at'
>;

/** The hold of a REVIEW or an AUTHORIZATION and how it ended, or null for a transaction that never had one. */
function holdView(
  legs: ReadonlyArray<HoldLegRow>,
  resolutions: ReadonlyArray<
    SelectedRow<LedgerHoldResolutionRow, 'resolution' | 'cause' | 'resolved_by', 'resolved_at'>
  >,
): AuditTrail['hold'] {
  const first = legs[0];
  if (first === undefined) return null;
  const resolution = resolutions[0];
  return {
    kind: first.hold_kind,
    status: resolution?.resolution ?? 'OPEN',
    placedAt: isoTime(first.placed_at_ms),
    expiresAt: isoTime(first.expires_at_ms),
    resolution:
      resolution === undefined
        ? null
        : {
            cause: resolution.cause,
            resolvedBy: resolution.resolved_by,
            resolvedAt: isoTime(resolution.resolved_at_ms),
          },
    legs: legs.map((l) => ({ leg: l.leg, accountId: l.account_id, amount: moneyView(l.amount_minor, l.currency) })),
    resolutionRecords: resolutions.length,
  };
}

/** The source document (Transaction v5) of a stored transaction's JSON; null for JSON requests and older records. */
function sourceDocumentOf(input: unknown): SourceDocument | null {
  const document = (input as { sourceDocument?: unknown } | null)?.sourceDocument;
  return document !== null && typeof document === 'object' ? (document as SourceDocument) : null;
}
