import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { ClickHouseTables, clickhouseTableStatements } from '../../schemas/clickhouse.js';
import type { AnalystLabel, Decision, LabelValue, ShadowDecision } from '../../schemas/generated/types.js';
// Dashboards reads what ledger-sink writes: the rows go in through ledger-sink's real writer, never a re-typed copy.
// eslint-disable-next-line no-restricted-imports
import { ClickHouseLedgerStore } from '../../ledger-sink/adapters/clickhouse-store.js';
import { SHADOW_REPORT_SQL, shadowReport } from './shadow.js';

/**
 * The champion-challenger report against the real ClickHouse engine (chDB), on rows written by ledger-sink's own
 * writer: exact counts per version pair, one row per transaction however often its shadow decision is delivered, one
 * verdict per transaction (the latest), and nothing scored outside the period.
 */
const HOUR = 3_600_000;
const from = Date.UTC(2026, 11, 7, 0);
const to = from + 24 * HOUR;

const A = 'APPROVE';
const R = 'REVIEW';
const D = 'DECLINE';

function shadow(
  id: string,
  champion: Decision,
  challenger: Decision,
  pair: { challengerModel: string; challengerRules: string },
  scoredAtMs = from + HOUR,
): ShadowDecision {
  return {
    transactionId: id,
    eventTimeMs: scoredAtMs - 1_000,
    scoredAtMs,
    championDecision: champion,
    championScore: 0.1,
    championRisk: 0.1,
    championReasonCodes: [],
    championModelVersion: 'm1',
    championRulesVersion: 'r1',
    challengerDecision: challenger,
    challengerScore: 0.2,
    challengerRisk: 0.2,
    challengerReasonCodes: challenger === A ? [] : ['R_X'],
    challengerModelVersion: pair.challengerModel,
    challengerRulesVersion: pair.challengerRules,
  };
}

const label = (id: string, value: LabelValue, atMs: number, by = 'analyst:1'): AnalystLabel => ({
  transactionId: id,
  label: value,
  labelledBy: by,
  labelledAtMs: atMs,
  transactionEventTimeMs: from,
  payerAccountId: null,
  cardToken: null,
  terminalId: null,
  note: null,
});

const rulesPair = { challengerModel: 'm1', challengerRules: 'r2' };
const modelPair = { challengerModel: 'm2', challengerRules: 'r1' };

const decisions: ShadowDecision[] = [
  shadow('a1', A, A, rulesPair),
  shadow('a2', A, A, rulesPair),
  shadow('a3', A, R, rulesPair),
  shadow('a4', A, R, rulesPair),
  shadow('a5', A, R, rulesPair),
  shadow('a6', R, R, rulesPair),
  shadow('a7', R, D, rulesPair),
  shadow('a8', D, D, rulesPair),
  shadow('a9', A, A, rulesPair),
  shadow('a10', R, A, rulesPair),
  // Scored before the period: left out.
  shadow('a0', A, D, rulesPair, from - 2 * HOUR),
  shadow('b1', A, D, modelPair),
  shadow('b2', A, A, modelPair),
];
const labels: AnalystLabel[] = [
  label('a2', 'GENUINE', to + HOUR),
  // Two FRAUD verdicts on one transaction (an analyst's, then a chargeback): one labelled fraud.
  label('a3', 'FRAUD', to + HOUR),
  label('a3', 'FRAUD', to + 2 * HOUR, 'chargeback'),
  // A FRAUD cleared by a later GENUINE: genuine.
  label('a4', 'FRAUD', to + HOUR),
  label('a4', 'GENUINE', to + 2 * HOUR, 'analyst:2'),
  label('a6', 'FRAUD', to + HOUR),
  label('a7', 'GENUINE', to + HOUR),
  label('a8', 'FRAUD', to + HOUR),
  label('a9', 'FRAUD', to + HOUR),
  label('a10', 'GENUINE', to + HOUR),
  label('a0', 'FRAUD', to + HOUR),
  label('b1', 'FRAUD', to + HOUR),
];

/** What the report must say of the rules pair: counted by hand from the rows above. */
const rulesPairReport = {
  champion: { modelVersion: 'm1', rulesVersion: 'r1' },
  challenger: { modelVersion: 'm1', rulesVersion: 'r2' },
  transactions: 10,
  labelled: 8,
  labelledFraud: 4,
  matrix: {
    APPROVE: { APPROVE: 3, REVIEW: 3, DECLINE: 0 },
    REVIEW: { APPROVE: 1, REVIEW: 1, DECLINE: 1 },
    DECLINE: { APPROVE: 0, REVIEW: 0, DECLINE: 1 },
  },
  agreeing: 5,
  agreementRate: 0.5,
  championSide: {
    alerts: 4,
    alertRate: 0.4,
    truePositives: 2,
    falsePositives: 2,
    falseNegatives: 2,
    precision: 0.5,
    recall: 0.5,
  },
  challengerSide: {
    alerts: 6,
    alertRate: 0.6,
    truePositives: 3,
    falsePositives: 2,
    falseNegatives: 1,
    precision: 0.6,
    recall: 0.75,
  },
};

describe('shadow report (chDB)', () => {
  let dataDir: string;
  let clickhouse: ClickHouseClient;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-shadow-report-'));
    clickhouse = createClickHouseClient(`embedded:${join(dataDir, 'chdb')}`);
    for (const statement of clickhouseTableStatements()) await clickhouse.command({ query: statement });
    const store = new ClickHouseLedgerStore(clickhouse);
    await store.insertShadowDecisions(decisions, to);
    // A redelivered batch: stored once.
    await store.insertShadowDecisions(decisions.slice(2, 4), to + 1);
    await store.insertLabels(labels);
  });
  afterAll(async () => {
    await clickhouse?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stores a redelivered shadow decision once', async () => {
    const result = await clickhouse.query({
      query: `SELECT count() AS n FROM ${ClickHouseTables.shadowDecisions}`,
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual([{ n: String(decisions.length) }]);
  });

  it('counts each version pair exactly: decisions matrix, alert rates, precision and recall on the latest verdict', async () => {
    const report = await shadowReport(clickhouse, { fromMs: from, toMs: to });
    expect(report.from).toBe(new Date(from).toISOString());
    expect(report.pairs).toEqual([
      rulesPairReport,
      {
        champion: { modelVersion: 'm1', rulesVersion: 'r1' },
        challenger: { modelVersion: 'm2', rulesVersion: 'r1' },
        transactions: 2,
        labelled: 1,
        labelledFraud: 1,
        matrix: {
          APPROVE: { APPROVE: 1, REVIEW: 0, DECLINE: 1 },
          REVIEW: { APPROVE: 0, REVIEW: 0, DECLINE: 0 },
          DECLINE: { APPROVE: 0, REVIEW: 0, DECLINE: 0 },
        },
        agreeing: 1,
        agreementRate: 0.5,
        championSide: {
          alerts: 0,
          alertRate: 0,
          truePositives: 0,
          falsePositives: 0,
          falseNegatives: 1,
          precision: null,
          recall: 0,
        },
        challengerSide: {
          alerts: 1,
          alertRate: 0.5,
          truePositives: 1,
          falsePositives: 0,
          falseNegatives: 0,
          precision: 1,
          recall: 1,
        },
      },
    ]);
  });

  it('negative control: joining every verdict row instead of the latest per transaction miscounts, and the check sees it', async () => {
    const planted = SHADOW_REPORT_SQL.replace(
      /SELECT transaction_id, argMax\(label, labelled_at\) AS label\s+FROM (\w+)/,
      'SELECT transaction_id, label FROM $1',
    ).replace(/GROUP BY transaction_id\n\) AS l/, ') AS l');
    expect(planted).not.toBe(SHADOW_REPORT_SQL);
    const report = await shadowReport(clickhouse, { fromMs: from, toMs: to }, planted);
    // a3 and a4 each have two verdicts: 12 rows for 10 transactions.
    expect(report.pairs[0]!.transactions).toBe(12);
    expect(report.pairs[0]).not.toEqual(rulesPairReport);
  });
});
