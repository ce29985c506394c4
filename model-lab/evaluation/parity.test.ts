import type { Bus, OutgoingRecord, Producer, RecordBatch, RecordPosition } from '../../platform/bus.js';
import { ManualClock } from '../../platform/clock.js';
import { silentLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { createCodec } from '../../schemas/codec.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import type {
  AnalystLabel,
  FraudAlert,
  ScoredTransaction,
  Transaction,
  Account,
  LedgerBalance,
} from '../../schemas/generated/types.js';
import { featureValuesOf } from '../../schemas/features.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import { type HandbookRow, handbookCsvChunks, parseHandbookRow } from '../../simulator/handbook-csv.js';
import { DAY_MS } from './protocol.js';
import { FEATURE_COUNT, FEATURE_NAMES } from '../../scoring/domain/feature-names.js';
import { FEATURE_GROUP_COUNT } from '../../scoring/domain/explanation.js';
import type { ModelScorer } from '../../scoring/ports.js';
import { compileRules } from '../../scoring/domain/rules.js';
import { type ScoringCodecs, ScoringProcessor } from '../../scoring/app/scorer.js';
import { SEVEN_DAYS_MS, fraudLabel } from '../training/replay.js';
import { handbookTransaction } from './handbook-transactions.js';
import { replayHandbook } from './replay.js';

/**
 * The evaluation must see exactly the features live scoring computes. The same handbook rows go (1) through
 * the live path — ScoringProcessor on tx.raw batches, fraud labels on analyst.labels 7 days after their
 * transaction — capturing ScoredTransaction.features, and (2) through the evaluation replay.
 */
class CapturingProducer implements Producer {
  readonly scored: OutgoingRecord[] = [];
  send(topic: string, records: readonly OutgoingRecord[]): Promise<RecordPosition[]> {
    if (topic === Topics.transactionsScored) this.scored.push(...records);
    return Promise.resolve(records.map((_, i) => ({ topic, partition: 0, offset: i })));
  }
}

const constantModel: ModelScorer = {
  version: 'parity',
  score: (_features, n) => new Float32Array(n),
  explain: (_features, n) => ({
    baselineScore: 0,
    contributions: new Float32Array(n * FEATURE_GROUP_COUNT),
    standardised: new Float32Array(n * FEATURE_COUNT),
  }),
  close: () => undefined,
};

let codecs: ScoringCodecs;
let rows: HandbookRow[];
beforeAll(async () => {
  const registry = new EmbeddedSchemaRegistry();
  codecs = {
    transactions: await createCodec<Transaction>(registry, Topics.transactionsRaw),
    labels: await createCodec<AnalystLabel>(registry, Topics.analystLabels),
    accounts: await createCodec<Account>(registry, Topics.accounts),
    balances: await createCodec<LedgerBalance>(registry, Topics.ledgerBalances),
    scored: await createCodec<ScoredTransaction>(registry, Topics.transactionsScored),
    alerts: await createCodec<FraudAlert>(registry, Topics.fraudAlerts),
  };
  // 24 days of a small population: long enough for 7-day-late labels to reach the terminal risk features.
  const text = Buffer.concat([
    ...handbookCsvChunks({ days: 24, seed: 5, customers: 300, terminals: 300, startTimeMs: Date.UTC(2018, 3, 1) }),
  ]).toString('latin1');
  rows = text.trimEnd().split('\n').slice(1).map(parseHandbookRow);
}, 120_000);

/** Live features by transaction id; `labelDelayMs` is when each fraud label is published after its transaction. */
async function liveFeatures(labelDelayMs: number): Promise<Map<string, Record<string, number>>> {
  const producer = new CapturingProducer();
  const clock = new ManualClock(Date.UTC(2018, 3, 1));
  const processor = new ScoringProcessor({
    producer,
    codecs,
    deadLetters: await DeadLetterWriter.create(
      { producer: () => producer } as unknown as Bus,
      new EmbeddedSchemaRegistry(),
      'scoring',
      clock,
    ),
    model: constantModel,
    rules: compileRules({ version: 'none', lists: {}, rules: [] }),
    thresholds: { review: 0.5, decline: 0.9 },
    clock,
    metrics: new MetricsRegistry(),
    logger: silentLogger,
  });
  const labels: AnalystLabel[] = [];
  let labelOffset = 0;
  let txOffset = 0;
  let batch: Transaction[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const records = batch.map((tx) => ({
      topic: Topics.transactionsRaw,
      partition: 0,
      offset: txOffset++,
      key: tx.payerAccountId,
      value: codecs.transactions.encode(tx),
      headers: {},
      timestampMs: tx.eventTimeMs,
    }));
    await processor.handle({ topic: Topics.transactionsRaw, partition: 0, records });
    batch = [];
  };
  for (const row of rows) {
    const tx = handbookTransaction(row);
    // Labels published by now reach the stage before this transaction (a consumer that is caught up).
    const due: AnalystLabel[] = [];
    while (labels.length > 0 && labels[0]!.labelledAtMs <= tx.eventTimeMs) due.push(labels.shift()!);
    if (due.length > 0) {
      await flush();
      const labelBatch: RecordBatch = {
        topic: Topics.analystLabels,
        partition: 0,
        records: due.map((label) => ({
          topic: Topics.analystLabels,
          partition: 0,
          offset: labelOffset++,
          key: label.transactionId,
          value: codecs.labels.encode(label),
          headers: {},
          timestampMs: label.labelledAtMs,
        })),
      };
      await processor.handle(labelBatch);
    }
    batch.push(tx);
    if (batch.length === 500) await flush();
    if (row.txFraud === 1) labels.push(fraudLabel(tx, tx.eventTimeMs + labelDelayMs));
  }
  await flush();
  const scored = await Promise.all(producer.scored.map((r) => codecs.scored.decode(r.value)));
  return new Map(scored.map((s) => [s.transaction.transactionId, featureValuesOf(s)]));
}

async function evaluationFeatures(): Promise<Map<string, Record<string, number>>> {
  const { rows: replayed } = await replayHandbook(
    rows,
    (firstDay) => ({ fromDay: firstDay, toDay: firstDay + 1_000 }),
    { labelDelayMs: 7 * DAY_MS },
  );
  const byId = new Map<string, Record<string, number>>();
  for (let r = 0; r < replayed.n; r++) {
    const record: Record<string, number> = {};
    FEATURE_NAMES.forEach((name, j) => (record[name] = replayed.features[r * FEATURE_COUNT + j]!));
    byId.set(`hb-tx-${replayed.transactionIds[r]}`, record);
  }
  return byId;
}

/** Transactions whose feature maps differ, with the first differing feature. */
function differences(
  live: Map<string, Record<string, number>>,
  offline: Map<string, Record<string, number>>,
): string[] {
  const out: string[] = [];
  for (const [id, features] of offline) {
    const other = live.get(id);
    if (!other) {
      out.push(`${id}: not scored live`);
      continue;
    }
    const name = FEATURE_NAMES.find((n) => other[n] !== features[n]);
    if (name !== undefined) out.push(`${id}: ${name} live ${other[name]} evaluation ${features[name]}`);
  }
  return out;
}

describe('evaluation features equal live scoring features', () => {
  test('given the same transactions and 7-day-late labels, every transaction has identical features', async () => {
    const [live, offline] = [await liveFeatures(SEVEN_DAYS_MS), await evaluationFeatures()];
    expect(offline.size).toBe(rows.length);
    expect(live.size).toBe(rows.length);
    expect(differences(live, offline)).toEqual([]);
    // The comparison covers the label-driven features, not only zeros.
    const risky = [...offline.values()].filter((f) => f['term_risk_30d_delay7']! > 0);
    expect(risky.length).toBeGreaterThan(50);
  }, 120_000);

  test('planted fault: labels published without the 7-day delay make the features differ', async () => {
    const [live, offline] = [await liveFeatures(0), await evaluationFeatures()];
    const diff = differences(live, offline);
    expect(diff.length).toBeGreaterThan(0);
    expect(diff.some((d) => /term_(fraud_ratio|risk)/.test(d))).toBe(true);
  }, 120_000);
});
