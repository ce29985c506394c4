import type { Bus, OutgoingRecord, Producer, RecordBatch, RecordPosition } from '../../platform/bus.js';
import { ManualClock } from '../../platform/clock.js';
import { silentLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { createCodec } from '../../schemas/codec.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import type {
  Account,
  AnalystLabel,
  FraudAlert,
  LedgerBalance,
  ScoredTransaction,
  ShadowDecision,
  Transaction,
} from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { featureValuesOf } from '../../schemas/features.js';
import { Topics } from '../../schemas/topics.js';
import { encodeSnapshot } from '../adapters/snapshot-store.js';
import { FEATURE_COUNT, fi } from '../domain/feature-names.js';
import { FEATURE_GROUP_COUNT } from '../domain/explanation.js';
import { type RuleSet, compileRules } from '../domain/rules.js';
import type { ModelScorer } from '../ports.js';
import { aTransaction } from '../testing/transactions.js';
import { type Challenger, type ScoringCodecs, ScoringProcessor } from './scorer.js';

/**
 * Champion-challenger in the scoring processor: the challenger scores every transaction the champion decides, from
 * the same feature rows, and what the champion publishes and the state it keeps are byte for byte what they are
 * without a challenger.
 */
class CapturingProducer implements Producer {
  readonly sent: Array<{ topic: string; records: readonly OutgoingRecord[] }> = [];
  send(topic: string, records: readonly OutgoingRecord[]): Promise<RecordPosition[]> {
    this.sent.push({ topic, records });
    return Promise.resolve(records.map((_, i) => ({ topic, partition: 0, offset: i })));
  }
  on(topic: string): OutgoingRecord[] {
    return this.sent.filter((s) => s.topic === topic).flatMap((s) => s.records);
  }
}

/** Scores by the card's 1 h count, times `factor`: a second model is the same one, scaled. */
function scaledModel(version: string, factor: number): ModelScorer {
  return {
    version,
    score: (features, n) =>
      Float32Array.from({ length: n }, (_, i) =>
        Math.min(1, (factor * features[i * FEATURE_COUNT + fi('card_count_1h')]!) / 100),
      ),
    explain: (_features, n) => ({
      baselineScore: 0,
      contributions: new Float32Array(n * FEATURE_GROUP_COUNT),
      standardised: new Float32Array(n * FEATURE_COUNT),
    }),
    close: () => undefined,
  };
}

const championRules = compileRules({
  version: 'champion-rules',
  rules: [
    { code: 'R_DENIED', description: 'country {country}', when: { field: 'country', in: ['KP'] }, action: 'DECLINE' },
  ],
});
/** Reviews every French payment: alerts far more than the champion. */
const challengerRules = compileRules({
  version: 'challenger-rules',
  rules: [
    { code: 'R_FRANCE', description: 'country {country}', when: { field: 'country', in: ['FR'] }, action: 'REVIEW' },
  ],
});

let codecs: Required<ScoringCodecs>;
beforeAll(async () => {
  const registry = new EmbeddedSchemaRegistry();
  codecs = {
    transactions: await createCodec<Transaction>(registry, Topics.transactionsRaw),
    labels: await createCodec<AnalystLabel>(registry, Topics.analystLabels),
    accounts: await createCodec<Account>(registry, Topics.accounts),
    balances: await createCodec<LedgerBalance>(registry, Topics.ledgerBalances),
    scored: await createCodec<ScoredTransaction>(registry, Topics.transactionsScored),
    alerts: await createCodec<FraudAlert>(registry, Topics.fraudAlerts),
    shadow: await createCodec<ShadowDecision>(registry, Topics.shadowDecisions),
  };
});

const T0 = Date.UTC(2024, 0, 1, 12);
/** 30 card payments a minute apart on one card from one payer with a balance policy; tx-12 is in KP. */
function batches(): RecordBatch[] {
  const records = Array.from({ length: 30 }, (_, offset) => ({
    topic: Topics.transactionsRaw,
    partition: 0,
    offset,
    key: 'acct-1',
    headers: {},
    timestampMs: T0,
    value: codecs.transactions.encode(
      aTransaction({
        transactionId: `tx-${offset}`,
        eventTimeMs: T0 + offset * 60_000,
        country: offset === 12 ? 'KP' : 'FR',
        amountMinor: 1_000n + BigInt(offset),
      }),
    ),
  }));
  return [0, 10, 20].map((from) => ({
    topic: Topics.transactionsRaw,
    partition: 0,
    records: records.slice(from, from + 10),
  }));
}

interface Run {
  readonly processor: ScoringProcessor;
  readonly producer: CapturingProducer;
  /** What the champion published and the state it keeps, as bytes. */
  readonly champion: { scored: Buffer[]; alerts: Buffer[]; state: Buffer };
}

/** Runs the three batches; `challengerOf` (given the processor) sets a challenger before the first. */
async function run(challengerOf?: (processor: ScoringProcessor) => Challenger): Promise<Run> {
  const producer = new CapturingProducer();
  const clock = new ManualClock(T0 + 3_600_000);
  const processor = new ScoringProcessor({
    producer,
    codecs,
    deadLetters: await DeadLetterWriter.create(
      { producer: () => producer } as unknown as Bus,
      new EmbeddedSchemaRegistry(),
      'scoring',
      clock,
    ),
    model: scaledModel('champion-model', 1),
    rules: championRules,
    thresholds: { review: 0.2, decline: 0.9 },
    clock,
    metrics: new MetricsRegistry(),
    logger: silentLogger,
  });
  if (challengerOf !== undefined) processor.useChallenger(challengerOf(processor));
  for (const b of batches()) await processor.handle(b);
  return {
    processor,
    producer,
    champion: {
      scored: producer.on(Topics.transactionsScored).map((r) => r.value),
      alerts: producer.on(Topics.fraudAlerts).map((r) => r.value),
      state: Buffer.concat(encodeSnapshot(processor.snapshot(0))),
    },
  };
}

/** True when two runs' champions published the same bytes and keep the same state. */
const sameChampion = (a: Run, b: Run): boolean =>
  a.champion.state.equals(b.champion.state) &&
  a.champion.scored.length === b.champion.scored.length &&
  a.champion.scored.every((v, i) => v.equals(b.champion.scored[i]!)) &&
  a.champion.alerts.length === b.champion.alerts.length &&
  a.champion.alerts.every((v, i) => v.equals(b.champion.alerts[i]!));

const decodeShadow = (r: Run) =>
  Promise.all(r.producer.on(Topics.shadowDecisions).map((o) => codecs.shadow.decode(o.value)));

describe('champion-challenger in ScoringProcessor', () => {
  test('given a challenger with its own rules and model, the champion publishes and keeps exactly what it does without one, and every decision has its shadow', async () => {
    const without = await run();
    const withChallenger = await run(() => ({ rules: challengerRules, model: scaledModel('challenger-model', 3) }));
    expect(sameChampion(without, withChallenger)).toBe(true);
    expect(without.producer.on(Topics.shadowDecisions)).toHaveLength(0);

    const scored = await Promise.all(without.champion.scored.map((v) => codecs.scored.decode(v)));
    const shadow = await decodeShadow(withChallenger);
    expect(shadow.map((s) => s.transactionId)).toEqual(scored.map((s) => s.transaction.transactionId));
    // The champion's side of each shadow record is the decision published.
    expect(
      shadow.map((s) => [s.championDecision, s.championScore, s.championModelVersion, s.championRulesVersion]),
    ).toEqual(scored.map((s) => [s.decision, s.score, 'champion-model', 'champion-rules']));
    // The challenger's side: its model (three times the score, from the same card count) and its rules.
    expect(shadow.map((s) => s.challengerScore)).toEqual(
      scored.map((s) => Math.fround(Math.min(1, (3 * featureValuesOf(s)['card_count_1h']!) / 100))),
    );
    expect(new Set(shadow.map((s) => `${s.challengerModelVersion} ${s.challengerRulesVersion}`))).toEqual(
      new Set(['challenger-model challenger-rules']),
    );
    const tx12 = shadow.find((s) => s.transactionId === 'tx-12')!;
    // KP is no rule of the challenger's, but its model's 3 × 13 % crosses the review threshold (0.2).
    expect([tx12.championDecision, tx12.challengerDecision, tx12.challengerReasonCodes]).toEqual([
      'DECLINE',
      'REVIEW',
      [],
    ]);
    const tx0 = shadow.find((s) => s.transactionId === 'tx-0')!;
    expect([tx0.championDecision, tx0.challengerDecision, tx0.challengerReasonCodes]).toEqual([
      'APPROVE',
      'REVIEW',
      ['R_FRANCE'],
    ]);
    // The challenger runs once the champion's outputs are sent: per batch, tx.scored (and alerts) go first.
    const topics = withChallenger.producer.sent.map((s) => s.topic);
    expect(topics.filter((t) => t === Topics.shadowDecisions)).toHaveLength(3);
    for (let i = 0; i < topics.length; i++)
      if (topics[i] === Topics.shadowDecisions) expect(topics.slice(0, i)).toContain(Topics.transactionsScored);
    expect(topics.indexOf(Topics.shadowDecisions)).toBeGreaterThan(topics.indexOf(Topics.transactionsScored));
  });

  test('given a rules-only challenger, the champion’s scores are reused and its model names the champion’s version', async () => {
    const r = await run(() => ({ rules: challengerRules }));
    const shadow = await decodeShadow(r);
    expect(shadow).toHaveLength(30);
    expect(shadow.every((s) => s.challengerScore === s.championScore)).toBe(true);
    expect(new Set(shadow.map((s) => s.challengerModelVersion))).toEqual(new Set(['champion-model']));
    // Every French payment is reviewed; tx-12 (KP, score 0.13) is approved by the challenger's rules and model.
    expect(shadow.filter((s) => s.challengerDecision !== 'APPROVE').map((s) => s.transactionId)).toEqual(
      shadow.map((s) => s.transactionId).filter((id) => id !== 'tx-12'),
    );
  });

  test('negative control: a planted challenger that writes feature state is caught by the same comparison', async () => {
    const without = await run();
    const scratch = new Float32Array(FEATURE_COUNT);
    const writing = await run((processor) => ({
      rules: {
        ...challengerRules,
        evaluate: (features, offset, tx, reporting) => {
          processor.engine.observeInto(tx, scratch, 0); // counts the transaction a second time
          return challengerRules.evaluate(features, offset, tx, reporting);
        },
      } satisfies RuleSet,
    }));
    expect(sameChampion(without, writing)).toBe(false);
    // And one that only changes the features it was handed reaches nothing: it has a copy.
    const scribbling = await run(() => ({
      rules: {
        ...challengerRules,
        evaluate: (features, offset, tx, reporting) => {
          features.fill(1e6, offset, offset + FEATURE_COUNT);
          return challengerRules.evaluate(features, offset, tx, reporting);
        },
      } satisfies RuleSet,
    }));
    expect(sameChampion(without, scribbling)).toBe(true);
  });

  test('stopping the challenger stops shadow records from the next batch on', async () => {
    const r = await run(() => ({ rules: challengerRules }));
    r.processor.useChallenger(undefined);
    await r.processor.handle({
      topic: Topics.transactionsRaw,
      partition: 0,
      records: [
        {
          topic: Topics.transactionsRaw,
          partition: 0,
          offset: 30,
          key: 'acct-1',
          headers: {},
          timestampMs: T0,
          value: codecs.transactions.encode(aTransaction({ transactionId: 'tx-30', eventTimeMs: T0 + 30 * 60_000 })),
        },
      ],
    });
    expect(r.producer.on(Topics.transactionsScored)).toHaveLength(31);
    expect(r.producer.on(Topics.shadowDecisions)).toHaveLength(30);
  });
});
