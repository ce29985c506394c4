import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import type { OutgoingRecord, Producer, RecordPosition } from '../../platform/bus.js';
import { canonicalJson } from '../../platform/canonical-json.js';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { ManualClock } from '../../platform/clock.js';
import { ValidationError } from '../../platform/errors.js';
import { silentLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { type AnalystLabelRow, ClickHouseTables, clickhouseTableStatements } from '../../schemas/clickhouse.js';
import { createCodec } from '../../schemas/codec.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import { featureValuesOf } from '../../schemas/features.js';
import type {
  Account,
  AnalystLabel,
  FraudAlert,
  LedgerBalance,
  ScoredTransaction,
  Transaction,
} from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
// The history is written by ledger-sink's real writer: this test crosses that boundary on purpose.
// eslint-disable-next-line no-restricted-imports
import { ClickHouseLedgerStore } from '../../ledger-sink/adapters/clickhouse-store.js';
import { TfjsModelScorer } from '../../scoring/adapters/tfjs-model.js';
import { ScoringProcessor } from '../../scoring/app/scorer.js';
import { compileRules } from '../../scoring/domain/rules.js';
import { backtestCommand } from './command.js';
import type { BacktestReport } from './replay.js';

/**
 * The backtest on a small stored history in chDB: the history is what the live scoring path (ScoringProcessor, the
 * shipped model, the shipped rules) decided, stored as ledger-sink stores decisions. Replaying it with the same
 * rules must give no difference at all (the control for the diff); with the card-testing threshold lowered from 4
 * to 2 it must add exactly the approved card-not-present payments that had 2 or 3 small ones on their card within
 * the hour, and remove none.
 */
type RulesDocument = { version: string; rules: Array<{ code: string; when: { all?: Array<{ value: unknown }> } }> };
const rulesA = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../scoring/rules.json', import.meta.url)), 'utf8'),
) as RulesDocument;
const START_MS = Date.UTC(2026, 10, 2, 10);
const MINUTE_MS = 60_000;
const chTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** Scoring's outputs are read from `score()` directly; nothing is sent. */
class NoProducer implements Producer {
  send(topic: string, records: readonly OutgoingRecord[]): Promise<RecordPosition[]> {
    return Promise.resolve(records.map((_, i) => ({ topic, partition: 0, offset: i })));
  }
}

/** A card purchase in EUR; the fields the history varies are given. */
function aTransaction(
  fields: Pick<Transaction, 'transactionId' | 'payerAccountId' | 'customerId' | 'card' | 'eventTimeMs'> &
    Partial<Transaction>,
): Transaction {
  return {
    fingerprint: `fp-${fields.transactionId}`,
    channel: 'CARD',
    kind: 'PURCHASE',
    amountMinor: 2_500n,
    currency: 'EUR',
    settlement: null,
    sourceDocument: null,
    payeeAccountId: 'acct-bt-merchant',
    merchantId: 'merch-bt',
    terminalId: 'term-bt',
    mcc: '5411',
    deviceId: null,
    ipAddress: null,
    country: 'FR',
    latitude: null,
    longitude: null,
    description: null,
    bankTransfer: null,
    channelReference: null,
    originalTransactionId: null,
    source: 'SIMULATOR',
    submittedBy: null,
    receivedAtMs: fields.eventTimeMs,
    ...fields,
  };
}

/** Six cards, each with 1–6 small card-not-present payments two minutes apart, and one card-present payment. */
function history(): Transaction[] {
  const txs: Transaction[] = [];
  for (let card = 1; card <= 6; card++) {
    for (let k = 0; k < card; k++) {
      const at = START_MS + card * 20 * MINUTE_MS + k * 2 * MINUTE_MS;
      txs.push(
        aTransaction({
          transactionId: `bt-${card}-${k}`,
          payerAccountId: `acct-bt-${card}`,
          customerId: `cust-bt-${card}`,
          amountMinor: 500n,
          card: { token: `tok-bt-${card}`, bin: '411111', last4: `000${card}`, present: false },
          terminalId: `term-bt-${card}`,
          merchantId: `merch-bt-${card}`,
          eventTimeMs: at,
          receivedAtMs: at,
        }),
      );
    }
    const at = START_MS + card * 20 * MINUTE_MS + 15 * MINUTE_MS;
    txs.push(
      aTransaction({
        transactionId: `bt-${card}-present`,
        payerAccountId: `acct-bt-${card}`,
        customerId: `cust-bt-${card}`,
        card: { token: `tok-bt-${card}`, bin: '411111', last4: `000${card}`, present: true },
        eventTimeMs: at,
        receivedAtMs: at,
      }),
    );
  }
  return txs.sort((a, b) => a.eventTimeMs - b.eventTimeMs);
}

describe('backtest over stored history (chDB)', () => {
  let dir: string;
  let clickhouse: ClickHouseClient;
  let model: TfjsModelScorer;
  let stored: ScoredTransaction[];
  const rulesFile = (name: string, document: RulesDocument): string => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(document, null, 2));
    return path;
  };
  const range = ['--from', new Date(START_MS).toISOString(), '--to', new Date(START_MS + 6 * 3_600_000).toISOString()];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-backtest-'));
    clickhouse = createClickHouseClient(`embedded:${join(dir, 'clickhouse')}`);
    for (const statement of clickhouseTableStatements()) await clickhouse.command({ query: statement });
    model = await TfjsModelScorer.load(fileURLToPath(new URL('../../scoring/model/artifact', import.meta.url)));

    // What the live path decided, with the shipped rules under their content version.
    const registry = new EmbeddedSchemaRegistry();
    const codecs = {
      transactions: await createCodec<Transaction>(registry, Topics.transactionsRaw),
      labels: await createCodec<AnalystLabel>(registry, Topics.analystLabels),
      accounts: await createCodec<Account>(registry, Topics.accounts),
      balances: await createCodec<LedgerBalance>(registry, Topics.ledgerBalances),
      scored: await createCodec<ScoredTransaction>(registry, Topics.transactionsScored),
      alerts: await createCodec<FraudAlert>(registry, Topics.fraudAlerts),
    };
    const producer = new NoProducer();
    const clock = new ManualClock(START_MS + 7 * 3_600_000);
    const bus = { producer: () => producer } as unknown as Parameters<typeof DeadLetterWriter.create>[0];
    const versionA = createHash('sha256').update(canonicalJson(rulesA), 'utf8').digest('hex');
    const processor = new ScoringProcessor({
      producer,
      codecs,
      deadLetters: await DeadLetterWriter.create(bus, registry, 'scoring', clock),
      model,
      rules: compileRules(rulesA, versionA),
      thresholds: { review: 0.5, decline: 0.9 },
      clock,
      metrics: new MetricsRegistry(),
      logger: silentLogger,
    });
    stored = await Promise.all(processor.score(history()).scored.map((r) => codecs.scored.decode(r.value)));
    // Stored by ledger-sink's own writer, so the backtest reads rows exactly as production stores them (slim
    // transaction_json included).
    await new ClickHouseLedgerStore(clickhouse).insertDecisions(
      stored.map((scored) => ({ scored, storedAtMs: scored.scoredAtMs })),
    );
  }, 120_000);

  afterAll(async () => {
    model.close();
    await clickhouse.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (rules: string, extra: string[] = []): Promise<BacktestReport> =>
    backtestCommand(['--rules', rules, ...range, ...extra], { clickhouse, model });

  it('finds no difference when replaying with the rules that decided (the control for the diff)', async () => {
    const report = await run(rulesFile('a.json', rulesA));
    expect(report.compared).toBe(stored.length);
    expect(report.compared).toBe(27);
    expect(Object.keys(report.storedRulesVersions)).toEqual([report.rulesVersion]);
    expect([report.alerts.added, report.alerts.removed, report.changedDecision]).toEqual([0, 0, 0]);
    expect(report.alerts.replayed).toBe(report.alerts.stored);
    expect(report.byRule).toEqual({});
  }, 120_000);

  it('adds exactly the alerts a lowered card-testing threshold raises, and reports them by rule and fraud', async () => {
    const b = structuredClone(rulesA);
    b.version = '2026.12.1-card-testing-2';
    b.rules.find((r) => r.code === 'R_CARD_TESTING_1H')!.when.all![1]!.value = 2;
    // The 2nd and 3rd small CNP payment of each card (the count includes the payment itself): 4 > count ≥ 2. Those the
    // model had already sent to review are no new alerts.
    const lowered = [2, 3, 4, 5, 6].flatMap((card) => [`bt-${card}-1`, `bt-${card}-2`]).filter((id) => id !== 'bt-2-2');
    const decidedAs = new Map(stored.map((s) => [s.transaction.transactionId, s]));
    for (const id of lowered) expect(featureValuesOf(decidedAs.get(id)!)['card_cnp_small_count_1h']).toBeLessThan(4);
    const expected = lowered.filter((id) => decidedAs.get(id)!.decision === 'APPROVE').sort();
    expect(expected.length).toBeGreaterThan(0);
    // One of them was fraud (verdict given after the range, so no feature saw it).
    const fraudId = expected[0]!;
    const label: AnalystLabelRow = {
      transaction_id: fraudId,
      label: 'FRAUD',
      labelled_by: 'analyst-7',
      labelled_at: chTime(START_MS + 6 * 3_600_000 + MINUTE_MS),
      note: '',
    };
    await clickhouse.insert({ table: ClickHouseTables.analystLabels, values: [label], format: 'JSONEachRow' });

    const out = join(dir, 'b-report.json');
    const report = await run(rulesFile('b.json', b), ['--json', out]);
    expect(report.added.map((a) => a.transactionId).sort()).toEqual(expected);
    expect(report.removed).toEqual([]);
    expect(report.alerts.replayed).toBe(report.alerts.stored + expected.length);
    expect(report.byRule).toEqual({ R_CARD_TESTING_1H: { added: expected.length, removed: 0 } });
    expect(report.byReason['R_CARD_TESTING_1H']).toEqual({ added: expected.length, removed: 0 });
    // Verdicts count whenever they came (labels arrive late); the feature state saw none (given after the range).
    expect(report.frauds).toEqual({ labelled: 1, alertedStored: 0, alertedReplayed: 1, caught: 1, missed: 0 });
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(JSON.parse(JSON.stringify(report)));
  }, 120_000);

  it('refuses an invalid rules file whole, naming the file and every problem with its path', async () => {
    const bad = structuredClone(rulesA);
    bad.rules[0]!.code = 'lower case';
    const cardTesting = bad.rules.findIndex((r) => r.code === 'R_CARD_TESTING_1H');
    bad.rules[cardTesting]!.when.all![1]!.value = 'four';
    const path = rulesFile('bad.json', bad);
    const refusal = run(path);
    await expect(refusal).rejects.toBeInstanceOf(ValidationError);
    await expect(refusal).rejects.toMatchObject({
      code: 'RULES_INVALID',
      problems: [
        { path: '/rules/0/code', message: 'must match R_[A-Z0-9_]+' },
        { path: `/rules/${cardTesting}/when/all/1/value`, message: 'must be a finite number' },
      ],
    });
    await expect(refusal).rejects.toThrow(path);
    writeFileSync(join(dir, 'truncated.json'), '{"rules": [');
    await expect(run(join(dir, 'truncated.json'))).rejects.toMatchObject({ code: 'RULES_UNREADABLE' });
  }, 60_000);
});
