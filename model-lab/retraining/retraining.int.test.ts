import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import type { OutgoingRecord, Producer, RecordPosition } from '../../platform/bus.js';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { ManualClock } from '../../platform/clock.js';
import { silentLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { clickhouseTableStatements } from '../../schemas/clickhouse.js';
import { createCodec } from '../../schemas/codec.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
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
import { type CandidateReport, UsageError, retrainCommand } from './command.js';

/**
 * Retraining on a small stored history in chDB: 20 cards paying once a day for 14 days, decided by the live scoring
 * path and stored by ledger-sink's own writer, with verdicts from analysts, a chargeback and two bank returns (one
 * unauthorised, one not). Cut-off day 10, label delay 2 days, training days 2–9, test days 10–12. Every count below
 * follows from the history as written; the test plants verdicts that must not count (a late label, a GENUINE after a
 * FRAUD, a return for insufficient funds) and one that must.
 */
const START_MS = Date.UTC(2026, 9, 1);
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const CUTOFF_MS = START_MS + 10 * DAY_MS;
const CARDS = 20;
const DAYS = 14;
const champion = fileURLToPath(new URL('../../scoring/model/artifact', import.meta.url));

/** Scoring's outputs are read from `score()` directly; nothing is sent. */
class NoProducer implements Producer {
  send(topic: string, records: readonly OutgoingRecord[]): Promise<RecordPosition[]> {
    return Promise.resolve(records.map((_, i) => ({ topic, partition: 0, offset: i })));
  }
}

const txId = (card: number, day: number): string => `rt-c${card}-d${day}`;
/** Card `card` pays once a day, at 08:00 + (card mod 10) hours + card minutes. */
const timeOf = (card: number, day: number): number =>
  START_MS + day * DAY_MS + (8 + (card % 10)) * HOUR_MS + card * 60_000;

function aTransaction(fields: Pick<Transaction, 'transactionId' | 'eventTimeMs'> & Partial<Transaction>): Transaction {
  return {
    fingerprint: `fp-${fields.transactionId}`,
    channel: 'CARD',
    kind: 'PURCHASE',
    amountMinor: 2_500n,
    currency: 'EUR',
    settlement: null,
    sourceDocument: null,
    payerAccountId: 'acct-rt',
    payeeAccountId: 'acct-rt-merchant',
    customerId: null,
    card: null,
    merchantId: 'merch-rt',
    terminalId: 'term-rt',
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

function history(): Transaction[] {
  const txs: Transaction[] = [];
  for (let day = 0; day < DAYS; day++)
    for (let card = 0; card < CARDS; card++)
      txs.push(
        aTransaction({
          transactionId: txId(card, day),
          eventTimeMs: timeOf(card, day),
          payerAccountId: `acct-rt-${card}`,
          customerId: `cust-rt-${card}`,
          card: { token: `tok-rt-${card}`, bin: '411111', last4: String(1000 + card), present: false },
          terminalId: `term-rt-${card % 5}`,
          amountMinor: BigInt(1_000 + 150 * card + 10 * day),
        }),
      );
  // Two ACH returns received on day 7: one for an unauthorised debit (R10), one for insufficient funds (R01).
  const aReturn = (id: string, original: string, reason: string): Transaction =>
    aTransaction({
      transactionId: id,
      eventTimeMs: START_MS + 7 * DAY_MS + 12 * HOUR_MS,
      channel: 'ACH',
      kind: 'REFUND',
      payerAccountId: 'acct-rt-merchant',
      payeeAccountId: 'acct-rt-7',
      originalTransactionId: original,
      sourceDocument: { format: 'nacha', references: { ReturnReason: reason }, location: 'record 3' },
    });
  txs.push(aReturn('rt-return-r10', txId(7, 5), 'R10'), aReturn('rt-return-r01', txId(8, 5), 'R01'));
  return txs.sort((a, b) => a.eventTimeMs - b.eventTimeMs);
}

function label(id: string, value: 'FRAUD' | 'GENUINE', labelledAtMs: number, by = 'analyst-3'): AnalystLabel {
  const [, card, day] = /^rt-c(\d+)-d(\d+)$/.exec(id)!.map(Number);
  return {
    transactionId: id,
    label: value,
    labelledBy: by,
    labelledAtMs,
    transactionEventTimeMs: timeOf(card!, day!),
    payerAccountId: `acct-rt-${card}`,
    cardToken: `tok-rt-${card}`,
    terminalId: `term-rt-${card! % 5}`,
    note: null,
  };
}

const verdicts: AnalystLabel[] = [
  // Known by the cut-off, on mature training transactions: 3 analyst frauds and a chargeback.
  label(txId(1, 3), 'FRAUD', timeOf(1, 3) + DAY_MS),
  label(txId(2, 4), 'FRAUD', timeOf(2, 4) + DAY_MS),
  label(txId(3, 5), 'FRAUD', timeOf(3, 5) + DAY_MS),
  label(txId(4, 6), 'FRAUD', timeOf(4, 6) + DAY_MS, 'chargeback'),
  // Inside the label delay, known by the cut-off: a fraud and a genuine verdict keep their rows.
  label(txId(5, 9), 'FRAUD', timeOf(5, 9) + HOUR_MS),
  label(txId(6, 9), 'GENUINE', timeOf(6, 9) + HOUR_MS),
  // FRAUD, then cleared: genuine.
  label(txId(9, 4), 'FRAUD', timeOf(9, 4) + DAY_MS),
  label(txId(9, 4), 'GENUINE', timeOf(9, 4) + 2 * DAY_MS),
  // Arriving after the cut-off: no positive. One is inside the label delay (left out), one is mature (a negative).
  label(txId(10, 9), 'FRAUD', CUTOFF_MS + HOUR_MS),
  label(txId(11, 4), 'FRAUD', CUTOFF_MS + HOUR_MS),
  // Test window: two frauds, and a genuine verdict on day 12 given last (the history's end).
  label(txId(12, 10), 'FRAUD', timeOf(12, 10) + DAY_MS),
  label(txId(13, 11), 'FRAUD', timeOf(13, 11) + DAY_MS),
  label(txId(0, 12), 'GENUINE', START_MS + 13 * DAY_MS + 23 * HOUR_MS),
];

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('npm run train -- --from-history over stored history (chDB)', () => {
  let dir: string;
  let clickhouse: ClickHouseClient;
  let store: ClickHouseLedgerStore;
  const championBefore = (): Record<string, string> =>
    Object.fromEntries(readdirSync(champion).map((f) => [f, sha256(join(champion, f))]));
  let championHashes: Record<string, string>;
  const run = (out: string): Promise<CandidateReport> =>
    retrainCommand(
      [
        '--from-history',
        '--cutoff',
        new Date(CUTOFF_MS).toISOString(),
        '--label-delay',
        '2d',
        '--train',
        '8d',
        '--test',
        '3d',
        '--top-k',
        '5',
        '--out',
        join(dir, out),
      ],
      { clickhouse },
    );

  beforeAll(async () => {
    championHashes = championBefore();
    dir = mkdtempSync(join(tmpdir(), 'vigil-retrain-'));
    clickhouse = createClickHouseClient(`embedded:${join(dir, 'clickhouse')}`);
    for (const statement of clickhouseTableStatements()) await clickhouse.command({ query: statement });
    const model = await TfjsModelScorer.load(champion);
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
    const clock = new ManualClock(START_MS + DAYS * DAY_MS);
    const bus = { producer: () => producer } as unknown as Parameters<typeof DeadLetterWriter.create>[0];
    const rules = JSON.parse(
      readFileSync(fileURLToPath(new URL('../../scoring/rules.json', import.meta.url)), 'utf8'),
    ) as unknown;
    const processor = new ScoringProcessor({
      producer,
      codecs,
      deadLetters: await DeadLetterWriter.create(bus, registry, 'scoring', clock),
      model,
      rules: compileRules(rules, 'rules-rt'),
      thresholds: { review: 0.5, decline: 0.9 },
      clock,
      metrics: new MetricsRegistry(),
      logger: silentLogger,
    });
    const stored = await Promise.all(processor.score(history()).scored.map((r) => codecs.scored.decode(r.value)));
    model.close();
    store = new ClickHouseLedgerStore(clickhouse);
    await store.insertDecisions(stored.map((scored) => ({ scored, storedAtMs: scored.scoredAtMs })));
    await store.insertLabels(verdicts);
  }, 120_000);

  afterAll(async () => {
    await clickhouse.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('labels as of the cut-off, leaves out what could not be known yet, and writes a candidate with its evaluation', async () => {
    const report = await run('candidate-a');
    // Training days 2–9: 8 × 20 card payments and the 2 returns. Days 8 and 9 are inside the 2-day label delay: their
    // 40 transactions count only with a verdict known by the cut-off (c5-d9 FRAUD, c6-d9 GENUINE); c10-d9's FRAUD
    // came after it, so 38 are left out.
    expect(report.train).toEqual({
      transactions: 162,
      rows: 124,
      positives: 6,
      // c1-d3, c2-d4, c3-d5, c5-d9; the chargeback c4-d6; the R10 return's original c7-d5. Not c9-d4 (cleared),
      // c8-d5 (R01 is no fraud) or c11-d4 (labelled after the cut-off).
      positivesBy: { analyst: 4, chargeback: 1, return: 1 },
      notYetKnown: 38,
    });
    // Test days 10–12 with the verdicts known at the history's end (day 13, 23:00): day 12 is inside the label delay,
    // and only c0-d12 has a verdict.
    expect(report.test).toEqual({
      transactions: 60,
      rows: 41,
      positives: 2,
      positivesBy: { analyst: 2, chargeback: 0, return: 0 },
      notYetKnown: 19,
    });
    expect(report.windows).toEqual({
      trainFrom: new Date(START_MS + 2 * DAY_MS).toISOString(),
      cutoff: new Date(CUTOFF_MS).toISOString(),
      testTo: new Date(START_MS + 13 * DAY_MS).toISOString(),
      historyEnds: new Date(START_MS + 13 * DAY_MS + 23 * HOUR_MS).toISOString(),
      labelDelayMs: 2 * DAY_MS,
    });
    // Everything before day 13 was replayed (days 0–1 only as warm-up) and every label given by then applied.
    expect(report.replayed).toBe(13 * CARDS + 2);
    expect(report.labelsApplied).toBe(12);
    for (const metric of [report.auc_roc, report.average_precision, report.card_precision_at_k])
      expect(metric !== null && metric >= 0 && metric <= 1).toBe(true);

    // The candidate is a loadable artefact with its evaluation; the champion is untouched.
    const out = join(dir, 'candidate-a');
    expect(JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(report)));
    const candidate = await TfjsModelScorer.load(out);
    expect(candidate.version).toBe(report.candidate.version);
    expect(candidate.version).toMatch(/^vigil-ffnn-history-\d{8}-[0-9a-f]{8}$/);
    candidate.close();
    expect(championBefore()).toEqual(championHashes);
  }, 180_000);

  it('counts a verdict as a positive once it arrived before the cut-off (negative control for the late label)', async () => {
    // The same fraud on c11-d4, now also reported before the cut-off: one positive more, one negative less.
    await store.insertLabels([label(txId(11, 4), 'FRAUD', CUTOFF_MS - HOUR_MS)]);
    const report = await run('candidate-b');
    expect(report.train.positives).toBe(7);
    expect(report.train.positivesBy).toEqual({ analyst: 5, chargeback: 1, return: 1 });
    expect(report.train.rows).toBe(124);
    expect(report.train.notYetKnown).toBe(38);
  }, 180_000);

  it("refuses the champion's directory as --out and writes nothing there", async () => {
    await expect(
      retrainCommand(['--from-history', '--out', champion, '--label-delay', '2d'], { clickhouse }),
    ).rejects.toThrow(UsageError);
    expect(championBefore()).toEqual(championHashes);
    expect(existsSync(`${champion}.tmp-${process.pid}`)).toBe(false);
  }, 60_000);
});
