import { decodeSnapshot, encodeSnapshot } from '../adapters/snapshot-store.js';
import type { Bus, BusRecord, OutgoingRecord, Producer, RecordBatch, RecordPosition } from '../../platform/bus.js';
import { ManualClock } from '../../platform/clock.js';
import { UnavailableError, VigilError } from '../../platform/errors.js';
import { silentLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { createCodec } from '../../schemas/codec.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import type {
  AnalystLabel,
  DeadLetter,
  FraudAlert,
  ScoredTransaction,
  Transaction,
  Account,
  LedgerBalance,
} from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { featureValuesOf } from '../../schemas/features.js';
import { HeaderNames, Topics } from '../../schemas/topics.js';
import { FEATURE_COUNT, fi } from '../domain/feature-names.js';
import { FEATURE_GROUP_COUNT, FEATURE_GROUPS } from '../domain/explanation.js';
import type { ModelScorer, ScoringSnapshot } from '../ports.js';
import { compileRules } from '../domain/rules.js';
import { FeatureEngine } from '../domain/features.js';
import { ReportingCurrency, compileFxRates } from '../domain/fx-rates.js';
import { REFERENCE_FX_RATES } from '../domain/reference-fx-rates.js';
import { type ScoringCodecs, ScoringProcessor, alertIdFor } from './scorer.js';
import { aTransaction } from '../testing/transactions.js';

/** Captures every send; can be told to fail the next sends. */
class CapturingProducer implements Producer {
  readonly sent: Array<{ topic: string; records: readonly OutgoingRecord[] }> = [];
  failNext = 0;
  /** Records the broker refuses for good (as RECORD_TOO_LARGE), e.g. one output larger than the topic accepts. */
  refuse: (topic: string, record: OutgoingRecord) => boolean = () => false;
  send(topic: string, records: readonly OutgoingRecord[]): Promise<RecordPosition[]> {
    if (records.some((r) => this.refuse(topic, r)))
      return Promise.reject(
        new VigilError('RECORD_TOO_LARGE', `a record on ${topic} is larger than the topic accepts`),
      );
    if (this.failNext > 0) {
      this.failNext--;
      return Promise.reject(new UnavailableError('LOG_IO_FAILED', 'log is down'));
    }
    this.sent.push({ topic, records });
    return Promise.resolve(records.map((_, i) => ({ topic, partition: 0, offset: i })));
  }
  on(topic: string): OutgoingRecord[] {
    return this.sent.filter((s) => s.topic === topic).flatMap((s) => s.records);
  }
}

/** A deterministic stand-in model: the score grows with the card's 1 h count. */
const stubModel: ModelScorer = {
  version: 'stub-1',
  score: (features, n) =>
    Float32Array.from({ length: n }, (_, i) => Math.min(1, features[i * FEATURE_COUNT + fi('card_count_1h')]! / 100)),
  // All of the stub's score comes from the card group, against a baseline of 0.
  explain: (features, n) => {
    const contributions = new Float32Array(n * FEATURE_GROUP_COUNT);
    const standardised = new Float32Array(n * FEATURE_COUNT);
    const card = FEATURE_GROUPS.findIndex((g) => g.code === 'CARD_ACTIVITY');
    for (let i = 0; i < n; i++) {
      const count = features[i * FEATURE_COUNT + fi('card_count_1h')]!;
      contributions[i * FEATURE_GROUP_COUNT + card] = Math.min(1, count / 100);
      standardised[i * FEATURE_COUNT + fi('card_count_1h')] = count;
    }
    return { baselineScore: 0, contributions, standardised };
  },
  close: () => undefined,
};

const rules = compileRules({
  version: 'test-1',
  lists: { denied: ['KP'] },
  rules: [
    {
      code: 'R_DENIED_COUNTRY',
      description: 'country {country}',
      when: { field: 'country', in: 'denied' },
      action: 'DECLINE',
    },
  ],
});

let codecs: ScoringCodecs;
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
});

async function newProcessor(
  producer: CapturingProducer,
  metrics = new MetricsRegistry(),
  ruleSet = rules,
  engine?: FeatureEngine,
): Promise<ScoringProcessor> {
  const clock = new ManualClock(Date.UTC(2024, 5, 1));
  const bus = { producer: () => producer } as unknown as Bus;
  const registry = new EmbeddedSchemaRegistry();
  return new ScoringProcessor({
    producer,
    codecs,
    deadLetters: await DeadLetterWriter.create(bus, registry, 'scoring', clock),
    model: stubModel,
    rules: ruleSet,
    thresholds: { review: 0.5, decline: 0.9 },
    clock,
    metrics,
    logger: silentLogger,
    ...(engine && { engine }),
  });
}

const T0 = Date.UTC(2024, 0, 1, 12);
/** Twenty card transactions a minute apart on one card, as tx.raw partition 0 offsets 0–19. */
const stream: BusRecord[] = Array.from({ length: 20 }, (_, i) => i).map((offset) => ({
  topic: Topics.transactionsRaw,
  partition: 0,
  offset,
  key: 'acct-1',
  value: Buffer.alloc(0),
  headers: {},
  timestampMs: T0,
}));
function batch(from: number, to: number): RecordBatch {
  const records = stream.slice(from, to + 1).map((r) => ({
    ...r,
    value: codecs.transactions.encode(
      aTransaction({
        transactionId: `tx-${r.offset}`,
        eventTimeMs: T0 + r.offset * 60_000,
        country: r.offset === 15 ? 'KP' : 'FR',
      }),
    ),
  }));
  return { topic: Topics.transactionsRaw, partition: 0, records };
}
const decodeScored = (records: readonly OutgoingRecord[]) =>
  Promise.all(records.map((r) => codecs.scored.decode(r.value)));
const byId = (scored: readonly ScoredTransaction[]) => new Map(scored.map((s) => [s.transaction.transactionId, s]));

describe('ScoringProcessor', () => {
  test('given other rules put in force between batches, then the next batch is decided by them and names their version', async () => {
    const producer = new CapturingProducer();
    const processor = await newProcessor(producer);
    await processor.handle(batch(0, 9));
    const allowKp = compileRules({
      version: 'test-2',
      rules: [{ code: 'R_NOTHING', description: 'never', when: { field: 'country', in: [] }, action: 'REVIEW' }],
    });
    processor.useRules(allowKp);
    await processor.handle(batch(10, 19));
    const scored = await decodeScored(producer.on(Topics.transactionsScored));
    expect(scored.map((s) => s.rulesVersion)).toEqual([
      ...Array<string>(10).fill('test-1'),
      ...Array<string>(10).fill('test-2'),
    ]);
    // tx-15 is in KP: under test-1 it would be declined by R_DENIED_COUNTRY; test-2 has no such rule.
    expect(byId(scored).get('tx-15')!.rulesFired).toEqual([]);
    expect(processor.rulesInForce).toBe(allowKp);
  });

  test('scores a batch with one send per topic: every decision to tx.scored, REVIEW/DECLINE to fraud.alerts', async () => {
    const producer = new CapturingProducer();
    const metrics = new MetricsRegistry();
    const processor = await newProcessor(producer, metrics);
    await processor.handle(batch(0, 19));

    expect(producer.sent.map((s) => s.topic)).toEqual([Topics.transactionsScored, Topics.fraudAlerts]);
    const scored = await decodeScored(producer.on(Topics.transactionsScored));
    expect(scored).toHaveLength(20);
    expect(scored[4]).toMatchObject({ decision: 'APPROVE', modelVersion: 'stub-1', rulesVersion: 'test-1' });
    expect(featureValuesOf(scored[4]!)['card_count_1h']).toBe(5);
    expect(producer.on(Topics.transactionsScored)[0]!.key).toBe('acct-1');
    // The headers copy the value's id, decision and score exactly, for consumers that do not decode.
    expect(producer.on(Topics.transactionsScored).map((r) => r.headers)).toEqual(
      scored.map((s) => ({
        [HeaderNames.scoredTransactionId]: s.transaction.transactionId,
        [HeaderNames.scoredDecision]: s.decision,
        [HeaderNames.scoredScore]: String(s.score),
      })),
    );

    const alerts = await Promise.all(producer.on(Topics.fraudAlerts).map((r) => codecs.alerts.decode(r.value)));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      transactionId: 'tx-15',
      alertId: alertIdFor('tx-15'),
      decision: 'DECLINE',
      modelVersion: 'stub-1',
    });
    expect(alerts[0]!.reasons.map((r) => [r.source, r.code])).toEqual([
      ['RULE', 'R_DENIED_COUNTRY'],
      ['MODEL', 'M_CARD_ACTIVITY'],
    ]);
    expect(metrics.render()).toMatch(/vigil_scoring_decisions_total\{decision="DECLINE"\} 1/);
  });

  test('records the combined risk that crossed the threshold, not only the model score', async () => {
    const addRisk = compileRules({
      version: 'test-risk',
      lists: { watched: ['FR'] },
      rules: [
        {
          code: 'R_WATCHED',
          description: 'country {country}',
          when: { field: 'country', in: 'watched' },
          action: 'ADD_RISK',
          risk: 0.45,
        },
      ],
    });
    const producer = new CapturingProducer();
    await (await newProcessor(producer, new MetricsRegistry(), addRisk)).handle(batch(0, 4));
    const scored = (await decodeScored(producer.on(Topics.transactionsScored)))[4];
    // The stub model scores the fifth payment on the card 0.05; the rule adds 0.45: risk 0.5 meets review 0.5.
    expect({ decision: scored!.decision, score: scored!.score, risk: scored!.risk }).toEqual({
      decision: 'REVIEW',
      score: Math.fround(0.05),
      risk: Math.fround(0.05) + 0.45,
    });
    // Negative control: the model score alone is below the review threshold, so it could not explain the REVIEW.
    expect(scored!.score).toBeLessThan(0.5);
  });

  test('given a reporting currency other than the default, then every decision names it as the currency of its amount features', async () => {
    const pounds = new FeatureEngine({ reporting: new ReportingCurrency(compileFxRates(REFERENCE_FX_RATES), 'GBP') });
    const producer = new CapturingProducer();
    await (await newProcessor(producer, new MetricsRegistry(), rules, pounds)).handle(batch(0, 4));
    const scored = await decodeScored(producer.on(Topics.transactionsScored));
    expect(scored.map((s) => s.reportingCurrency)).toEqual(['GBP', 'GBP', 'GBP', 'GBP', 'GBP']);
    // The label belongs to the values: 25.00 EUR at the shipped 0.83465 GBP per EUR is 20.87 GBP (half to even).
    expect(featureValuesOf(scored[0]!)['amount']).toBe(Math.fround(20.87));
    // Negative control: the default engine measures the same payment as 25 EUR and says so.
    const euros = new CapturingProducer();
    await (await newProcessor(euros)).handle(batch(0, 0));
    const [inEuros] = await decodeScored(euros.on(Topics.transactionsScored));
    expect([inEuros!.reportingCurrency, featureValuesOf(inEuros!)['amount']]).toEqual(['EUR', 25]);
  });

  test('given a debit in a currency the rate table has no rate for, then its decision names that currency as unconverted, and a converted one names none', async () => {
    const inputs = [
      // KES is not in the shipped ECB table: the amount feature holds 6500 KES, unconverted.
      aTransaction({ transactionId: 'tx-kes', currency: 'KES', amountMinor: 650_000n }),
      // The debited currency is the settlement's: USD converts, the KES debited does not.
      aTransaction({
        transactionId: 'tx-usd-settled-kes',
        currency: 'USD',
        amountMinor: 5_000n,
        settlement: { amountMinor: 650_000n, currency: 'KES' },
      }),
      aTransaction({ transactionId: 'tx-usd', currency: 'USD', amountMinor: 5_000n }),
    ];
    const records = inputs.map((tx, offset) => ({ ...stream[offset]!, value: codecs.transactions.encode(tx) }));
    const producer = new CapturingProducer();
    await (await newProcessor(producer)).handle({ topic: Topics.transactionsRaw, partition: 0, records });
    const scored = await decodeScored(producer.on(Topics.transactionsScored));
    expect(scored.map((s) => [s.transaction.transactionId, s.reportingCurrency, s.unconvertedCurrency])).toEqual([
      ['tx-kes', 'EUR', 'KES'],
      ['tx-usd-settled-kes', 'EUR', 'KES'],
      ['tx-usd', 'EUR', null],
    ]);
    expect(featureValuesOf(scored[0]!)['amount']).toBe(6500);
  });

  test('after a restart, records below the snapshot offsets are skipped and later ones get the same features (no double counting)', async () => {
    const continuous = new CapturingProducer();
    await (await newProcessor(continuous)).handle(batch(0, 19));
    const expected = byId(await decodeScored(continuous.on(Topics.transactionsScored)));

    // First life: handles offsets 0–9, snapshots, then crashes before committing beyond offset 5.
    const first = await newProcessor(new CapturingProducer());
    await first.handle(batch(0, 9));
    const snapshot = decodeSnapshot(Buffer.concat(encodeSnapshot(first.snapshot(0))));
    expect(snapshot.offsets).toEqual([{ topic: Topics.transactionsRaw, partition: 0, nextOffset: 10 }]);

    // Second life: restores, and the bus redelivers from the committed offset 5.
    const producer = new CapturingProducer();
    const metrics = new MetricsRegistry();
    const second = await newProcessor(producer, metrics);
    second.restore(snapshot);
    await second.handle(batch(5, 19));

    const rescored = await decodeScored(producer.on(Topics.transactionsScored));
    expect(rescored.map((s) => s.transaction.transactionId)).toEqual(
      Array.from({ length: 10 }, (_, i) => `tx-${i + 10}`),
    );
    for (const s of rescored) {
      expect(featureValuesOf(s)).toEqual(featureValuesOf(expected.get(s.transaction.transactionId)!));
      expect(s.score).toBe(expected.get(s.transaction.transactionId)!.score);
    }
    expect(metrics.render()).toMatch(/vigil_scoring_skipped_records_total\{topic="tx.raw"\} 5/);
  });

  test('planted fault: restoring state without its offsets double-counts — the check above would catch it', async () => {
    const continuous = new CapturingProducer();
    await (await newProcessor(continuous)).handle(batch(0, 19));
    const expected = byId(await decodeScored(continuous.on(Topics.transactionsScored)));

    const first = await newProcessor(new CapturingProducer());
    await first.handle(batch(0, 9));
    const faulty: ScoringSnapshot = { ...first.snapshot(0), offsets: [] };
    const producer = new CapturingProducer();
    const second = await newProcessor(producer);
    second.restore(faulty);
    await second.handle(batch(5, 19));
    const tx10 = byId(await decodeScored(producer.on(Topics.transactionsScored))).get('tx-10')!;
    expect(featureValuesOf(tx10)['card_count_1h']).toBe(16); // 11 real + 5 counted twice
    expect(featureValuesOf(tx10)).not.toEqual(featureValuesOf(expected.get('tx-10')!));
  });

  test('a failed send is retried on redelivery without observing the batch again', async () => {
    const continuous = new CapturingProducer();
    await (await newProcessor(continuous)).handle(batch(0, 19));
    const expected = byId(await decodeScored(continuous.on(Topics.transactionsScored)));

    const producer = new CapturingProducer();
    const processor = await newProcessor(producer);
    producer.failNext = 1;
    await expect(processor.handle(batch(0, 9))).rejects.toMatchObject({ code: 'LOG_IO_FAILED' });
    await processor.handle(batch(0, 9)); // the bus redelivers the same batch
    await processor.handle(batch(10, 19));
    const scored = await decodeScored(producer.on(Topics.transactionsScored));
    expect(scored.map((s) => s.transaction.transactionId)).toEqual(Array.from({ length: 20 }, (_, i) => `tx-${i}`));
    for (const s of scored)
      expect(featureValuesOf(s)).toEqual(featureValuesOf(expected.get(s.transaction.transactionId)!));
  });

  test('a batch across partitions moves each partition on by its own records, so a redelivery of one is skipped', async () => {
    // Partition 0's records 0–4 and partition 1's records 0–2 (another account) in one batch, as the loop's
    // subscription across partitions hands them over.
    const onPartition1 = (from: number, to: number): BusRecord[] =>
      batch(from, to).records.map((r) => ({
        ...r,
        partition: 1,
        key: 'acct-2',
        value: codecs.transactions.encode(
          aTransaction({
            transactionId: `p1-${r.offset}`,
            eventTimeMs: T0 + r.offset * 60_000,
            payerAccountId: 'acct-2',
          }),
        ),
      }));
    const producer = new CapturingProducer();
    const metrics = new MetricsRegistry();
    const processor = await newProcessor(producer, metrics);
    await processor.handle({
      topic: Topics.transactionsRaw,
      partition: 0,
      records: [...batch(0, 4).records, ...onPartition1(0, 2)],
    });
    expect(processor.snapshot(0).offsets).toEqual(
      expect.arrayContaining([
        { topic: Topics.transactionsRaw, partition: 0, nextOffset: 5 },
        { topic: Topics.transactionsRaw, partition: 1, nextOffset: 3 },
      ]),
    );
    expect(processor.snapshot(0).offsets).toHaveLength(2);

    // Partition 1 redelivered from offset 1 (its part of a batch whose commit was lost), then its next record.
    await processor.handle({ topic: Topics.transactionsRaw, partition: 1, records: onPartition1(1, 3) });
    const ids = (await decodeScored(producer.on(Topics.transactionsScored))).map((s) => s.transaction.transactionId);
    expect(ids).toEqual(['tx-0', 'tx-1', 'tx-2', 'tx-3', 'tx-4', 'p1-0', 'p1-1', 'p1-2', 'p1-3']);
    expect(metrics.render()).toMatch(/vigil_scoring_skipped_records_total\{topic="tx.raw"\} 2/);

    // Negative control: partition 1's records taken as partition 0's (the batch's first) leave partition 1 unrecorded,
    // and its redelivery is decided again.
    const mislabelled = new CapturingProducer();
    const naive = await newProcessor(mislabelled);
    await naive.handle({
      topic: Topics.transactionsRaw,
      partition: 0,
      records: [
        ...batch(0, 4).records,
        ...onPartition1(0, 2).map((r) => ({ ...r, partition: 0, offset: r.offset + 5 })),
      ],
    });
    await naive.handle({ topic: Topics.transactionsRaw, partition: 1, records: onPartition1(1, 3) });
    expect(mislabelled.on(Topics.transactionsScored)).toHaveLength(11);
  });

  test('a record that does not decode goes to the dead-letter topic and the rest are scored', async () => {
    const producer = new CapturingProducer();
    const processor = await newProcessor(producer);
    const good = batch(0, 1);
    const poisoned: RecordBatch = {
      ...good,
      records: [good.records[0]!, { ...good.records[1]!, value: Buffer.from([9, 9, 9]) }],
    };
    await processor.handle(poisoned);
    expect(producer.on(Topics.deadLetters)).toHaveLength(1);
    expect(producer.on(Topics.transactionsScored)).toHaveLength(1);
  });

  test('analyst labels feed terminal fraud ratios and count once across restarts', async () => {
    const producer = new CapturingProducer();
    const processor = await newProcessor(producer);
    const label: AnalystLabel = {
      transactionId: 'tx-x',
      label: 'FRAUD',
      labelledBy: 'a1',
      labelledAtMs: T0,
      transactionEventTimeMs: T0,
      payerAccountId: null,
      cardToken: null,
      terminalId: 'term-1',
      note: null,
    };
    const labelBatch: RecordBatch = {
      topic: Topics.analystLabels,
      partition: 3,
      records: [
        {
          topic: Topics.analystLabels,
          partition: 3,
          offset: 0,
          key: 'tx-x',
          value: codecs.labels.encode(label),
          headers: {},
          timestampMs: T0,
        },
      ],
    };
    await processor.handle(labelBatch);
    await processor.handle(batch(0, 0));
    const [scored] = await decodeScored(producer.on(Topics.transactionsScored));
    expect(featureValuesOf(scored!)['term_fraud_ratio_30d']).toBe(1);
    expect(processor.snapshot(0).offsets).toEqual(
      expect.arrayContaining([
        { topic: Topics.analystLabels, partition: 3, nextOffset: 1 },
        { topic: Topics.transactionsRaw, partition: 0, nextOffset: 1 },
      ]),
    );
  });

  it('given an output the broker refuses for good, then that one is dead-lettered and the rest of the batch and the next go out', async () => {
    const producer = new CapturingProducer();
    producer.refuse = (topic, r) => topic === Topics.transactionsScored && r.value.includes('tx-13');
    const processor = await newProcessor(producer);
    await processor.handle(batch(10, 14));
    await processor.handle(batch(15, 16));
    const scoredIds = (await decodeScored(producer.on(Topics.transactionsScored))).map(
      (s) => s.transaction.transactionId,
    );
    expect(scoredIds).toEqual(['tx-10', 'tx-11', 'tx-12', 'tx-14', 'tx-15', 'tx-16']);
    const letters = producer.on(Topics.deadLetters);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.headers).toMatchObject({ 'vigil.dlq.error-code': 'RECORD_TOO_LARGE' });
    const letter = await (
      await createCodec<DeadLetter>(new EmbeddedSchemaRegistry(), Topics.deadLetters)
    ).decode(letters[0]!.value);
    expect(letter).toMatchObject({ stage: 'scoring', errorCode: 'RECORD_TOO_LARGE' });
    const refused = await codecs.scored.decode(Buffer.from(letter.originalBytes));
    expect(refused.transaction.transactionId).toBe('tx-13');
  });
});

describe('ScoringProcessor replay horizon (funds)', () => {
  const T = Date.UTC(2024, 0, 2, 12);
  const record = (topic: string, offset: number, value: Buffer): BusRecord => ({
    topic,
    partition: 0,
    offset,
    key: 'alice',
    value,
    headers: {},
    timestampMs: T,
  });
  const debits = (amounts: readonly bigint[]): RecordBatch => ({
    topic: Topics.transactionsRaw,
    partition: 0,
    records: amounts.map((amountMinor, offset) =>
      record(
        Topics.transactionsRaw,
        offset,
        codecs.transactions.encode(
          aTransaction({
            transactionId: `d-${offset}`,
            payerAccountId: 'alice',
            amountMinor,
            currency: 'EUR',
            settlement: null,
            kind: 'PURCHASE',
            country: 'FR',
            eventTimeMs: T + offset * 60_000,
          }),
        ),
      ),
    ),
  });

  /** Alice: limit 0, 100.00 EUR posted; then 150.00 (declined: too much) and 1.00, with tx.raw ending at `end` at start. */
  async function decisionsWithHorizon(end: number): Promise<string[]> {
    const producer = new CapturingProducer();
    const processor = await newProcessor(producer);
    const account: Account = {
      accountId: 'alice',
      type: 'CUSTOMER',
      currency: 'EUR',
      overdraftLimitMinor: 0n,
      scheme: null,
      updatedBy: 'admin',
      updatedAtMs: 1,
    };
    const balance: LedgerBalance = {
      accountId: 'alice',
      version: 1n,
      balances: [{ currency: 'EUR', postedMinor: 10_000n, pendingDebitsMinor: 0n }],
      settledTransactionIds: [],
      publishedAtMs: 1,
    };
    await processor.handle({
      topic: Topics.accounts,
      partition: 0,
      records: [record(Topics.accounts, 0, codecs.accounts.encode(account))],
    });
    await processor.handle({
      topic: Topics.ledgerBalances,
      partition: 0,
      records: [record(Topics.ledgerBalances, 0, codecs.balances.encode(balance))],
    });
    processor.setReplayHorizon([end]);
    await processor.handle(debits([15_000n, 100n]));
    return (await decodeScored(producer.on(Topics.transactionsScored))).map((s) => s.decision);
  }

  it('given a debit re-decided DECLINE below the horizon, then it counts in flight: the run before may have approved it', async () => {
    // 150.00 was re-decided DECLINE, but the ledger may book an earlier APPROVE of it: 1.00 must not spend that money.
    expect(await decisionsWithHorizon(1)).toEqual(['DECLINE', 'DECLINE']);
  });

  it('negative control: with no horizon (a first decision), a DECLINE frees nothing and the 1.00 is approved', async () => {
    expect(await decisionsWithHorizon(0)).toEqual(['DECLINE', 'APPROVE']);
  });
});

describe('ScoringProcessor after a restart: decisions published since the snapshot', () => {
  const allowKp = compileRules({
    version: 'test-2',
    rules: [{ code: 'R_NOTHING', description: 'never', when: { field: 'country', in: [] }, action: 'REVIEW' }],
  });
  /** tx.scored as the bus hands it back: the outgoing records at offsets from 0. */
  const asRead = (records: readonly OutgoingRecord[]): BusRecord[] =>
    records.map((r, offset) => ({
      topic: Topics.transactionsScored,
      partition: 0,
      offset,
      key: r.key,
      value: r.value,
      headers: r.headers ?? {},
      timestampMs: r.timestampMs ?? 0,
    }));

  /**
   * The first run decides tx-0…9, snapshots, then publishes tx-10…19 (tx-15 in KP: DECLINE, with an alert) and dies.
   * The restart restores the snapshot under rules that would approve tx-15 and handles tx-10…19 again.
   */
  async function replay(options: { remember: boolean }) {
    const first = new CapturingProducer();
    const before = await newProcessor(first);
    await before.handle(batch(0, 9));
    const snapshot = before.snapshot(0, [10]);
    const firstRunAfterSnapshot = first.sent.length;
    await before.handle(batch(10, 19));
    const published = first.sent.slice(firstRunAfterSnapshot);
    const publishedOn = (topic: string) => published.filter((s) => s.topic === topic).flatMap((s) => s.records);

    const second = new CapturingProducer();
    const metrics = new MetricsRegistry();
    const after = await newProcessor(second, metrics, allowKp);
    after.restore(snapshot);
    if (options.remember) await after.rememberPublished(asRead(publishedOn(Topics.transactionsScored)));
    await after.handle(batch(10, 19));
    return { before, after, second, metrics, firstAlerts: publishedOn(Topics.fraudAlerts) };
  }

  it('given the replayed transactions already published, then none is published again, the alert goes out identical, and the state is the first run’s', async () => {
    const { before, after, second, metrics, firstAlerts } = await replay({ remember: true });
    expect(second.on(Topics.transactionsScored)).toEqual([]);
    expect(firstAlerts).toHaveLength(1);
    expect(second.on(Topics.fraudAlerts).map((r) => r.value)).toEqual(firstAlerts.map((r) => r.value));
    expect(after.engine.snapshot()).toEqual(before.engine.snapshot());
    expect(metrics.render()).toContain('vigil_scoring_replayed_not_republished_total 10');
  });

  it('given remembered decisions not replayed yet at a snapshot, then it keeps their window start, and moves it on once they are', async () => {
    const first = new CapturingProducer();
    const before = await newProcessor(first);
    await before.handle(batch(0, 9));
    const snapshot = before.snapshot(0, [10]);
    const sentBefore = first.sent.length;
    await before.handle(batch(10, 19));
    const publishedScored = first.sent.slice(sentBefore).filter((x) => x.topic === Topics.transactionsScored);

    const after = await newProcessor(new CapturingProducer());
    after.restore(snapshot);
    await after.rememberPublished(asRead(publishedScored.flatMap((x) => x.records)), [10]);
    after.setReplayHorizon([20]);
    await after.handle(batch(10, 14));
    // tx-15…19 were published after offset 10 and the state does not reflect them yet: a kill now must read them back.
    expect(after.snapshot(0, [25]).scoredEndOffsets).toEqual([10]);
    await after.handle(batch(15, 19));
    expect(after.snapshot(0, [25]).scoredEndOffsets).toEqual([25]);
  });

  it('negative control: without them, every replayed transaction is published again and tx-15 is approved this time, contradicting its alert', async () => {
    const { second } = await replay({ remember: false });
    const again = await decodeScored(second.on(Topics.transactionsScored));
    expect(again).toHaveLength(10);
    expect(byId(again).get('tx-15')!.decision).toBe('APPROVE');
    expect(second.on(Topics.fraudAlerts)).toEqual([]);
  });
});
