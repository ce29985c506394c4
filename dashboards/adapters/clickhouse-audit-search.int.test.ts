import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { clickhouseTableStatements } from '../../schemas/clickhouse.js';
import type { ScoredTransaction } from '../../schemas/generated/types.js';
import { auditSearchContract } from '../testing/audit-search.contract.js';
import { ClickHouseAuditSearch } from './clickhouse-audit-search.js';

/** The audit-search contract against ClickHouse (chDB in-process, a fresh data directory): the embedded default. */

const chTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** A `decisions` row as ledger-sink writes it (schemas/clickhouse/tables.sql). */
function decisionRow(scored: ScoredTransaction): Record<string, unknown> {
  const tx = scored.transaction;
  return {
    transaction_id: tx.transactionId,
    fingerprint: tx.fingerprint,
    channel: tx.channel,
    kind: tx.kind,
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
    reasons_json: JSON.stringify(scored.reasons),
    reason_codes: scored.reasons.map((r) => r.code),
    rules_fired: scored.rulesFired,
    features_json: JSON.stringify(scored.features),
    model_version: scored.modelVersion,
    rules_version: scored.rulesVersion,
    transaction_json: '{}',
    event_time: chTime(tx.eventTimeMs),
    received_at: chTime(tx.receivedAtMs),
    scored_at: chTime(scored.scoredAtMs),
    stored_at: chTime(scored.scoredAtMs + 15),
  };
}

auditSearchContract('ClickHouse (chDB)', async (decisions, onCleanup) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-audit-search-'));
  onCleanup(() => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })));
  const clickhouse = createClickHouseClient(`embedded:${join(dataDir, 'chdb')}`);
  onCleanup(() => clickhouse.close());
  for (const statement of clickhouseTableStatements()) await clickhouse.command({ query: statement });
  await clickhouse.insert({ table: 'decisions', format: 'JSONEachRow', values: decisions.map(decisionRow) });
  return new ClickHouseAuditSearch(clickhouse);
});
