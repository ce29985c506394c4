import type { ClickHouseClient } from '@clickhouse/client';
import type { ShadowReport } from '../../schemas/api.js';
import { ClickHouseTables } from '../../schemas/clickhouse.js';
import type { Decision } from '../../schemas/generated/types.js';
import { DECISIONS, type ShadowPairCounts, shadowPairReport } from '../domain/shadow-report.js';
import { isoTime, selectRows } from './select.js';

const cell = (champion: Decision, challenger: Decision): string => `m_${champion}_${challenger}`;

/**
 * Per version pair, over the shadow decisions scored in [from, to): the 3×3 matrix of decisions and, against each
 * transaction's latest verdict (analyst or chargeback, whenever it came), the labelled counts of each side. Every
 * count is exact: one row per transaction and challenger (the table's insert-once key), and one verdict per
 * transaction (the latest by `labelled_at`, so a GENUINE that cleared a FRAUD counts as GENUINE).
 */
export const SHADOW_REPORT_SQL = `
WITH
  fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC') AS period_from,
  fromUnixTimestamp64Milli({toMs:Int64}, 'UTC') AS period_to
SELECT
  s.champion_model_version AS champion_model_version,
  s.champion_rules_version AS champion_rules_version,
  s.challenger_model_version AS challenger_model_version,
  s.challenger_rules_version AS challenger_rules_version,
  count() AS transactions,
  countIf(l.label != '') AS labelled,
  countIf(l.label = 'FRAUD') AS labelled_fraud,
  ${DECISIONS.flatMap((a) =>
    DECISIONS.map((b) => `countIf(s.champion_decision = '${a}' AND s.challenger_decision = '${b}') AS ${cell(a, b)}`),
  ).join(',\n  ')},
  countIf(l.label = 'FRAUD' AND s.champion_decision != 'APPROVE') AS champion_tp,
  countIf(l.label = 'GENUINE' AND s.champion_decision != 'APPROVE') AS champion_fp,
  countIf(l.label = 'FRAUD' AND s.champion_decision = 'APPROVE') AS champion_fn,
  countIf(l.label = 'FRAUD' AND s.challenger_decision != 'APPROVE') AS challenger_tp,
  countIf(l.label = 'GENUINE' AND s.challenger_decision != 'APPROVE') AS challenger_fp,
  countIf(l.label = 'FRAUD' AND s.challenger_decision = 'APPROVE') AS challenger_fn
FROM ${ClickHouseTables.shadowDecisions} AS s
LEFT JOIN
(
  SELECT transaction_id, argMax(label, labelled_at) AS label
  FROM ${ClickHouseTables.analystLabels}
  WHERE transaction_id IN (
    SELECT transaction_id FROM ${ClickHouseTables.shadowDecisions}
    WHERE scored_at >= period_from AND scored_at < period_to
  )
  GROUP BY transaction_id
) AS l ON l.transaction_id = s.transaction_id
WHERE s.scored_at >= period_from AND s.scored_at < period_to
GROUP BY champion_model_version, champion_rules_version, challenger_model_version, challenger_rules_version
ORDER BY transactions DESC, champion_model_version, champion_rules_version, challenger_model_version,
  challenger_rules_version
SETTINGS join_use_nulls = 0
`;

/** Counts come back as decimal strings (64-bit integers are quoted); each is far below 2^53. */
type ReportRow = Record<string, string>;

/** The champion-challenger report for shadow decisions scored in [fromMs, toMs), epoch ms. */
export async function shadowReport(
  clickhouse: ClickHouseClient,
  q: { readonly fromMs: number; readonly toMs: number },
  sql = SHADOW_REPORT_SQL,
): Promise<ShadowReport> {
  const rows = await selectRows<ReportRow>(clickhouse, sql, { fromMs: q.fromMs, toMs: q.toMs });
  return { from: isoTime(q.fromMs), to: isoTime(q.toMs), pairs: rows.map((r) => shadowPairReport(countsOf(r))) };
}

function countsOf(r: ReportRow): ShadowPairCounts {
  const n = (column: string): number => Number(r[column]);
  const row = (champion: Decision): Record<Decision, number> =>
    Object.fromEntries(DECISIONS.map((challenger) => [challenger, n(cell(champion, challenger))])) as Record<
      Decision,
      number
    >;
  return {
    championModelVersion: r['champion_model_version']!,
    championRulesVersion: r['champion_rules_version']!,
    challengerModelVersion: r['challenger_model_version']!,
    challengerRulesVersion: r['challenger_rules_version']!,
    transactions: n('transactions'),
    labelled: n('labelled'),
    labelledFraud: n('labelled_fraud'),
    cells: { APPROVE: row('APPROVE'), REVIEW: row('REVIEW'), DECLINE: row('DECLINE') },
    champion: { truePositives: n('champion_tp'), falsePositives: n('champion_fp'), falseNegatives: n('champion_fn') },
    challenger: {
      truePositives: n('challenger_tp'),
      falsePositives: n('challenger_fp'),
      falseNegatives: n('challenger_fn'),
    },
  };
}
