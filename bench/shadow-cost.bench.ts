/**
 * What a challenger costs scoring: CPU per transaction of `ScoringProcessor.handle` with no challenger, with a rules
 * challenger, and with a rules + model challenger (a second TF.js model), the three run in turn round after round
 * (A/B/C alternation) so machine load shared with other work falls on all three alike; with the load average beside
 * each round. Also how long each batch waited for its tx.scored send (the synchronous answer): the challenger runs
 * after it. `npx tsx bench/shadow-cost.bench.ts [rounds] [transactions per round]`.
 */
import { loadavg } from 'node:os';
import type { Bus, OutgoingRecord, Producer, RecordBatch, RecordPosition } from '../platform/bus.js';
import { systemClock } from '../platform/clock.js';
import { silentLogger } from '../platform/logger.js';
import { MetricsRegistry } from '../platform/metrics.js';
import { createCodec } from '../schemas/codec.js';
import { DeadLetterWriter } from '../schemas/dead-letter.js';
import type {
  Account,
  AnalystLabel,
  FraudAlert,
  LedgerBalance,
  ScoredTransaction,
  ShadowDecision,
  Transaction,
} from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import { loadRulesFile, prepareRules } from '../scoring/adapters/rules-file.js';
import { TfjsModelScorer } from '../scoring/adapters/tfjs-model.js';
import { type Challenger, type ScoringCodecs, ScoringProcessor } from '../scoring/app/scorer.js';
import { readScoringConfig } from '../scoring/config.js';
import { aTransaction } from '../scoring/testing/transactions.js';

const rounds = Number(process.argv[2] ?? 6);
const perRound = Number(process.argv[3] ?? 4_000);
const BATCH = 500;

/** Notes when each batch's tx.scored send happened. */
class TimingProducer implements Producer {
  scoredAt = 0;
  send(topic: string, records: readonly OutgoingRecord[]): Promise<RecordPosition[]> {
    if (topic === Topics.transactionsScored) this.scoredAt = performance.now();
    return Promise.resolve(records.map((_, i) => ({ topic, partition: 0, offset: i })));
  }
}

/** A seeded stream over 3,000 cards, 2,000 customers and 500 terminals; a third card-not-present. */
function* stream(seed: number): Generator<Transaction> {
  let s = seed;
  const next = (): number => ((s = (s * 1_103_515_245 + 12_345) % 2 ** 31), s / 2 ** 31);
  const start = Date.UTC(2026, 10, 1);
  for (let i = 0; ; i++) {
    const card = Math.floor(next() * 3_000);
    yield aTransaction({
      transactionId: `bench-${seed}-${i}`,
      amountMinor: BigInt(100 + Math.floor(next() ** 3 * 500_000)),
      payerAccountId: `acct-${card % 2_000}`,
      customerId: `cust-${card % 2_000}`,
      card: { token: `tok-${card}`, bin: '411111', last4: String(1000 + (card % 9000)), present: next() > 0.33 },
      terminalId: `term-${Math.floor(next() * 500)}`,
      merchantId: `merch-${Math.floor(next() * 200)}`,
      country: next() < 0.02 ? 'KP' : 'FR',
      eventTimeMs: start + i * 2_000,
      receivedAtMs: start + i * 2_000,
    });
  }
}

async function main(): Promise<void> {
  const registry = new EmbeddedSchemaRegistry();
  const codecs: ScoringCodecs = {
    transactions: await createCodec<Transaction>(registry, Topics.transactionsRaw),
    labels: await createCodec<AnalystLabel>(registry, Topics.analystLabels),
    accounts: await createCodec<Account>(registry, Topics.accounts),
    balances: await createCodec<LedgerBalance>(registry, Topics.ledgerBalances),
    scored: await createCodec<ScoredTransaction>(registry, Topics.transactionsScored),
    alerts: await createCodec<FraudAlert>(registry, Topics.fraudAlerts),
    shadow: await createCodec<ShadowDecision>(registry, Topics.shadowDecisions),
  };
  const config = readScoringConfig(process.env);
  const { rules } = await loadRulesFile(config.rulesFile);
  const challengerRules = prepareRules({
    version: 'bench-challenger',
    rules: [
      {
        code: 'R_BENCH',
        description: 'country {country}',
        when: { field: 'country', in: ['KP', 'IR'] },
        action: 'REVIEW',
      },
    ],
  }).rules;
  const modes: Array<{ name: string; challenger: () => Promise<Challenger | undefined> }> = [
    { name: 'no challenger', challenger: () => Promise.resolve(undefined) },
    { name: 'rules challenger', challenger: () => Promise.resolve({ rules: challengerRules }) },
    {
      name: 'rules + model challenger',
      challenger: async () => ({ rules: challengerRules, model: await TfjsModelScorer.load(config.modelDir) }),
    },
  ];
  const runs = await Promise.all(
    modes.map(async (mode, m) => {
      const producer = new TimingProducer();
      const processor = new ScoringProcessor({
        producer,
        codecs,
        deadLetters: await DeadLetterWriter.create(
          { producer: () => producer } as unknown as Bus,
          registry,
          'scoring',
          systemClock,
        ),
        model: await TfjsModelScorer.load(config.modelDir),
        rules,
        thresholds: { review: config.reviewThreshold, decline: config.declineThreshold },
        clock: systemClock,
        metrics: new MetricsRegistry(),
        logger: silentLogger,
      });
      processor.useChallenger(await mode.challenger());
      return { mode, producer, processor, source: stream(7), offset: 0, cpuUs: 0, n: 0, toScoredMs: [] as number[], m };
    }),
  );
  const batchOf = (run: (typeof runs)[number]): RecordBatch => {
    const records = [];
    for (let i = 0; i < BATCH; i++) {
      const offset = run.offset++;
      records.push({
        topic: Topics.transactionsRaw,
        partition: 0,
        offset,
        key: 'k',
        headers: {},
        timestampMs: 0,
        value: codecs.transactions.encode(run.source.next().value as Transaction),
      });
    }
    return { topic: Topics.transactionsRaw, partition: 0, records };
  };
  // Warm-up: one round each, not counted.
  for (const run of runs) for (let b = 0; b < 2; b++) await run.processor.handle(batchOf(run));
  for (let r = 0; r < rounds; r++) {
    const line: string[] = [];
    for (const run of runs) {
      const batches = Array.from({ length: Math.ceil(perRound / BATCH) }, () => batchOf(run));
      let cpu = 0;
      for (const batch of batches) {
        const before = process.cpuUsage();
        const started = performance.now();
        await run.processor.handle(batch);
        const used = process.cpuUsage(before);
        cpu += used.user + used.system;
        run.toScoredMs.push(run.producer.scoredAt - started);
      }
      run.cpuUs += cpu;
      run.n += batches.length * BATCH;
      line.push(`${run.mode.name} ${(cpu / (batches.length * BATCH)).toFixed(1)} µs/tx`);
    }
    console.log(
      `round ${r + 1}: ${line.join(' | ')} | load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  }
  for (const run of runs) {
    const sorted = [...run.toScoredMs].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    console.log(
      `${run.mode.name}: ${(run.cpuUs / run.n).toFixed(1)} µs CPU/tx over ${run.n} tx; batch of ${BATCH} → tx.scored send, median ${median.toFixed(1)} ms`,
    );
  }
}

await main();
