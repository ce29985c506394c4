import { apiClient, waitFor } from '../embedded/testing.js';
import { committedLag } from '../ledger-sink/testing/outage-harness.js';
import type { BusRecord } from '../platform/bus.js';
import { canonicalJson } from '../platform/canonical-json.js';
import type { IngestBatchResponse } from '../schemas/api.js';
import { createCodec } from '../schemas/codec.js';
import type { Transaction } from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import { type ObservedRecord, partitionOrderViolations } from '../scoring/testing/partition-order.js';
import { TrafficSimulator } from '../simulator/generator.js';
import { residentMemoryMiB } from './processes.js';
import { FaultPipeline, violationKinds } from './testing/fault-pipeline.js';

/**
 * Fault 2 of the suite: the scoring service SIGKILLed mid-batch three times, at different points of its progress,
 * and restarted each time. Distributed mode on the shared Kafka and Elasticsearch, in a Kafka namespace of its own
 * (VIGIL_KAFKA_NAMESPACE: its topics and groups are `<namespace>.tx.raw`, … — no other run is touched): ingest,
 * one scoring process, ledger-sink with dashboards. Every transaction is acknowledged before scoring first starts,
 * so each kill lands while scoring works through a backlog. Kills are triggered by observed progress (records on
 * tx.scored passing 20 %, 50 % and 80 % of the transactions), never by elapsed time.
 *
 * Then one oracle: acknowledged ids = decisions = audit documents, each once; every postable decision posted
 * exactly once and balanced (read with and without FINAL); the scoring member's lag and ledger-sink's committed lag
 * back to 0 within DRAIN_BOUND_MS; each process's peak RSS under MEMORY_BOUND_MIB; and the order rule of
 * scoring/testing/partition-order.ts between tx.raw and tx.scored.
 */
const N = 6000;
const PARTITIONS = 6;
/** Small batches, so a kill lands between and inside many of them rather than after one big one. */
const SCORING_BATCH = 250;
const KILL_AT = [0.2, 0.5, 0.8] as const;
/** From the last restart until every decision is stored and every lag is 0; the test fails beyond it. */
const DRAIN_BOUND_MS = 300_000;
/** Peak resident memory any one process may reach (scoring's model and feature state, chDB in the sink). */
const MEMORY_BOUND_MIB = 1536;

describe('fault 2: scoring SIGKILLed mid-batch three times', () => {
  const pipeline = new FaultPipeline('fault2', PARTITIONS);

  beforeAll(() => pipeline.open(), 60_000);
  afterAll(() => pipeline.close(), 120_000);

  it('loses nothing, posts once, keeps each account in order, drains and stays bounded', async () => {
    const { bus, keys } = pipeline;
    const sink = await pipeline.startSink();
    const ingestService = await pipeline.startIngest();
    const startScoring = () => pipeline.startScoring({ VIGIL_SCORING_MAX_BATCH_RECORDS: String(SCORING_BATCH) });

    // Every transaction acknowledged (on tx.raw) before scoring starts: the backlog the kills interrupt.
    const simulator = new TrafficSimulator({
      seed: 23,
      startTimeMs: Date.now() - 3 * 86_400_000,
      customers: 400,
      terminals: 300,
      meanTxPerCustomerPerDay: 12,
      fraudScale: 3,
    });
    const requests = simulator.take(N).map((s) => s.request);
    const ingest = apiClient(ingestService.url, keys.ingest);
    const acknowledged = new Set<string>();
    for (let i = 0; i < N; i += 250) {
      const response = await ingest.post<IngestBatchResponse>('/v1/transactions/batch', requests.slice(i, i + 250));
      expect(response.status).toBe(200);
      for (const r of response.body.results) if (r.status === 'accepted') acknowledged.add(r.transactionId!);
    }
    expect(acknowledged.size).toBe(N);

    const onScored = async (): Promise<number> => sum(await bus.endOffsets(Topics.transactionsScored));
    const kills: Array<{ at: number; scoredRecords: number; rawLagCommitted: number; peakMiB: number }> = [];
    let scoring = await startScoring();
    for (const fraction of KILL_AT) {
      const scoredRecords = await waitFor(
        `${fraction * 100} % of the decisions on tx.scored`,
        async () => {
          const n = await onScored();
          return n >= fraction * N ? n : undefined;
        },
        300_000,
        50,
      );
      const memory = residentMemoryMiB(scoring.child.pid);
      await new Promise<void>((resolve) => {
        scoring.child.once('exit', () => resolve());
        scoring.child.kill('SIGKILL');
      });
      kills.push({
        at: fraction,
        scoredRecords,
        rawLagCommitted: await committedLag(bus, Topics.transactionsRaw, 'scoring'),
        peakMiB: memory?.peakMiB ?? NaN,
      });
      scoring = await startScoring();
    }
    // Each kill came while scoring still had work: fewer records on tx.scored than transactions, and backlog on
    // tx.raw past what the group had committed.
    for (const kill of kills) {
      expect(kill.scoredRecords).toBeLessThan(N);
      expect(kill.rawLagCommitted).toBeGreaterThan(0);
    }

    const drainMs = await pipeline.waitUntilDrained(sink, scoring, N, DRAIN_BOUND_MS);
    const memory = [...kills.map((k) => k.peakMiB), residentMemoryMiB(scoring.child.pid)?.peakMiB ?? NaN];
    const sinkMemory = residentMemoryMiB(sink.child.pid)?.peakMiB ?? NaN;

    // What is on the topics, decoded: tx.raw in offset order, and every decision (re-decided copies included).
    const rawCodec = await createCodec<Transaction>(new EmbeddedSchemaRegistry(), Topics.transactionsRaw);
    const raw: ObservedRecord[] = [];
    for (const record of await pipeline.readTopic(Topics.transactionsRaw)) {
      const tx = await rawCodec.decode(record.value);
      raw.push({ ...position(record), transactionId: tx.transactionId, content: '', outcome: '' });
    }
    const decisions = await pipeline.readDecisions();
    const firstDecisions = decisions.first;
    const scoredRecords: ObservedRecord[] = decisions.records.map(({ record, decision }) => ({
      ...position(record),
      transactionId: decision.transaction.transactionId,
      content: canonicalJson(decision.transaction),
      outcome: `${decision.decision} ${decision.score}`,
    }));

    // Order per account (the exact rule is in partition-order.ts), and its negative control: a swap of two
    // consecutive decisions of one account, planted in the checker's view, is reported.
    const order = partitionOrderViolations(raw, scoredRecords);
    expect(order.violations).toEqual([]);
    const planted = plantSwap(scoredRecords);
    expect(partitionOrderViolations(raw, planted.view).violations).toEqual([
      `decisions out of tx.raw order: ${planted.key}, transaction #${planted.index + 1}: tx.raw has ${planted.first}, tx.scored ${planted.second}`,
    ]);

    // The ledger, read by the test itself once the sink has let go of chDB's data directory; and the oracle's
    // negative control: one posting stored twice and one decision lost, planted in its view.
    expect(new Set(firstDecisions.keys())).toEqual(acknowledged);
    const ledger = await pipeline.checkLedger(sink, acknowledged, firstDecisions);
    expect(ledger.sinkExitCode).toBe(0);
    expect(ledger.plain).toEqual([]);
    expect(ledger.final).toEqual([]);
    expect(violationKinds(ledger.planted)).toEqual([
      'acknowledged without a decision',
      'entries posted more than once',
      'transactions whose legs do not sum to zero in a currency',
    ]);

    for (const peak of [...memory, sinkMemory]) expect(peak).toBeLessThan(MEMORY_BOUND_MIB);
    process.stdout.write(
      `fault 2: ${N} sent, ${acknowledged.size} acknowledged, ${firstDecisions.size} decided ` +
        `(${scoredRecords.length} records on tx.scored, ${order.duplicates} re-decided copies of which ${order.otherScore} with another score and ${order.otherDecision} another decision, ${order.keys} accounts in order), ` +
        `${ledger.posted} transactions posted; kills at ${kills.map((k) => `${k.scoredRecords} records (tx.raw committed lag ${k.rawLagCommitted})`).join(', ')}; ` +
        `drained ${(drainMs / 1000).toFixed(1)} s after the last restart; peak RSS scoring ${memory.map((m) => m.toFixed(0)).join('/')} MiB, sink ${sinkMemory.toFixed(0)} MiB\n`,
    );
  }, 900_000);
});

function sum(values: readonly number[]): number {
  return values.reduce((total, n) => total + n, 0);
}

function position(record: BusRecord): Pick<ObservedRecord, 'partition' | 'offset' | 'key'> {
  return { partition: record.partition, offset: record.offset, key: record.key };
}

/**
 * The view with the first two consecutive first occurrences of one account (with at least two transactions)
 * swapped: their offsets exchanged, as if scoring had sent the later one first.
 */
function plantSwap(scored: readonly ObservedRecord[]): {
  view: ObservedRecord[];
  key: string;
  index: number;
  first: string;
  second: string;
} {
  const seen = new Set<string>();
  const firsts = new Map<string, ObservedRecord[]>();
  for (const record of [...scored].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
    if (seen.has(record.transactionId)) continue;
    seen.add(record.transactionId);
    const list = firsts.get(record.key!) ?? [];
    list.push(record);
    firsts.set(record.key!, list);
  }
  const [key, list] = [...firsts].find(([, l]) => l.length >= 2)!;
  const [a, b] = [list[0]!, list[1]!];
  const view = scored.map((r) => (r === a ? { ...r, offset: b.offset } : r === b ? { ...r, offset: a.offset } : r));
  return { view, key, index: 0, first: a.transactionId, second: b.transactionId };
}
