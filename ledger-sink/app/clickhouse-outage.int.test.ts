import { jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Client } from '@elastic/elasticsearch';
import { RedeliveryBackoff } from '../../platform/backoff.js';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { systemClock } from '../../platform/clock.js';
import { silentLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { KafkaTestContext, requireBroker, waitFor } from '../../platform/kafka/test-helpers.js';
import { type Codec, createCodec } from '../../schemas/codec.js';
import {
  connectTestElasticsearch,
  deleteAuditIndices,
  uniqueAuditPrefix,
} from '../../schemas/elasticsearch/test-helpers.js';
import type { AnalystLabel, ScoredTransaction } from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import { ClickHouseLedgerStore } from '../adapters/clickhouse-store.js';
import { ElasticsearchAuditIndex } from '../adapters/elasticsearch-audit-index.js';
import { postingsForDecision } from '../domain/postings.js';
import { TIMER_SLACK_MS, maxAttemptsWithin } from '../testing/backoff-bound.js';
import { ClickHouseLedgerReader } from '../testing/clickhouse-ledger-reader.js';
import { scoredTransaction } from '../testing/fixtures.js';
import {
  MemorySampler,
  committedLag,
  joinCountingLogger,
  produceScored,
  subscribeLedgerSink,
} from '../testing/outage-harness.js';
import { OutageLedgerStore } from '../testing/outage-ledger-store.js';
import { readAuditIds, readStoredLedger, suiteExpectation, suiteViolations } from '../testing/suite-oracle.js';

/**
 * Fault 8 of the suite: ClickHouse (chDB) errors for 60 s while decisions keep arriving, then recovers.
 *
 * The real chDB store is wrapped by OutageLedgerStore, which refuses every call (retriably, as the real adapter
 * does) while the outage is on. ledger-sink's real handler consumes a real Kafka topic through the real
 * subscription (redelivery backoff 100 ms doubling to 5 s, KafkaBus's defaults) and indexes audit documents in
 * the real Elasticsearch. The outage lasts at least 60 s of wall time and at least 3 refused attempts — both
 * conditions, so a slow machine makes it longer, never flaky. Pass/fail depends on counts only.
 */
jest.setTimeout(600_000);

const BEFORE = 2_000;
const DURING = 20_000;
const AFTER = 1_000;
const OUTAGE_MS = 60_000;
const MAX_BATCH_RECORDS = 2_000;
const REDELIVERY_INITIAL_MS = 100;
const REDELIVERY_MAX_MS = 5_000;
/** How long the backlog may take to drain once ClickHouse answers again; the test fails beyond it. */
const DRAIN_BOUND_MS = 300_000;
/**
 * How much the heap after a full collection may grow from before the outage to after the drain: the backlog stays on
 * the broker (one batch held, asserted), so what the outage may leave behind is that batch's garbage, not the backlog.
 */
const HEAP_GROWTH_BOUND_MIB = 64;

const dataDir = mkdtempSync(join(tmpdir(), 'vigil-clickhouse-outage-'));
const kafka = new KafkaTestContext();
const registry = new EmbeddedSchemaRegistry();
let clickhouse: ClickHouseClient;
let es: Client;
let scoredCodec: Codec<ScoredTransaction>;
let labelCodec: Codec<AnalystLabel>;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  await requireBroker();
  es = await connectTestElasticsearch();
  clickhouse = createClickHouseClient(`embedded:${dataDir}`);
  scoredCodec = await createCodec(registry, Topics.transactionsScored);
  labelCodec = await createCodec(registry, Topics.analystLabels);
});

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await kafka.cleanup();
  await es?.close();
  await clickhouse?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const transactions = (from: number, count: number): ScoredTransaction[] =>
  Array.from({ length: count }, (_, i) => scoredTransaction(from + i));

describe('fault 8: ClickHouse errors for 60 s', () => {
  it('backs off, holds one batch in memory, leaves the backlog on the broker, then drains it exactly', async () => {
    const realStore = new ClickHouseLedgerStore(clickhouse, { lookupChunkIds: 1000 });
    await realStore.ensureSchema();
    const store = new OutageLedgerStore(realStore);
    const prefix = uniqueAuditPrefix('ch-outage');
    cleanups.push(() => deleteAuditIndices(es, prefix));
    const auditIndex = new ElasticsearchAuditIndex(
      es,
      { indexPrefix: prefix, maxAttempts: 5, backoffMs: 200, maxBackoffMs: 5000, bulkDocuments: 1000, nowMs: Date.now },
      silentLogger,
      new MetricsRegistry(),
    );
    await auditIndex.ensureTemplate();

    const membership = joinCountingLogger();
    const bus = await kafka.bus({
      // Production's redelivery schedule and group session (KafkaBus defaults).
      redeliveryInitialBackoffMs: REDELIVERY_INITIAL_MS,
      redeliveryMaxBackoffMs: REDELIVERY_MAX_MS,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1_000,
      logger: membership.logger,
    });
    const topic = kafka.topic('vigil-ledger-ch-outage');
    const groupId = kafka.group('vigil-ledger-ch-outage');
    await bus.ensureTopics([{ topic, partitions: 3 }]);
    const sink = await subscribeLedgerSink({
      bus,
      topic,
      groupId,
      registry,
      scoredCodec,
      labelCodec,
      store,
      auditIndex,
      clock: systemClock,
      maxBatchRecords: MAX_BATCH_RECORDS,
    });
    cleanups.push(() => sink.subscription.close());
    const lag = () => committedLag(bus, topic, groupId);
    // Polled every 200 ms rather than every 5 ms: each probe is two admin requests to the shared broker.
    const drained = async () => (await pause(200)) === undefined && (await lag()) === 0;

    // Healthy: the first records are stored and committed.
    await produceScored(bus, topic, scoredCodec, transactions(0, BEFORE));
    await waitFor(drained, 'the healthy phase committed', 120_000);
    const heapBefore = MemorySampler.settled();

    // Outage: every store call refused; 20,000 more decisions arrive meanwhile.
    store.startOutage();
    const outageStartedMs = Date.now();
    const callsBeforeOutage = sink.calls.length;
    const sampler = new MemorySampler();
    sampler.start();
    await produceScored(bus, topic, scoredCodec, transactions(BEFORE, DURING));
    const refusedAttempts = () => sink.calls.slice(callsBeforeOutage).filter((c) => c.outcome === 'retriable');
    await waitFor(
      () => Date.now() - outageStartedMs >= OUTAGE_MS && refusedAttempts().length >= 3,
      '60 s of outage and 3 refused attempts',
      OUTAGE_MS + 120_000,
    );
    const lagDuringOutage = await lag();
    const during = sampler.stop();
    store.endOutage();
    const outageMs = Date.now() - outageStartedMs;
    const failed = refusedAttempts();

    // Recovery: more decisions arrive while the backlog drains.
    const recoveredAtMs = Date.now();
    await produceScored(bus, topic, scoredCodec, transactions(BEFORE + DURING, AFTER));
    await waitFor(drained, 'the backlog drained (lag 0)', DRAIN_BOUND_MS);
    const drainMs = Date.now() - recoveredAtMs;
    const heapAfter = MemorySampler.settled();

    // Backoff: attempt k + 1 of the stuck batch starts at least delay(k) after attempt k, so within the window
    // from the first refused attempt to the last no more than this many can fit, however fast the machine.
    const schedule = new RedeliveryBackoff(REDELIVERY_INITIAL_MS, REDELIVERY_MAX_MS);
    const windowMs = failed[failed.length - 1]!.startedAtMs - failed[0]!.startedAtMs;
    const bound = maxAttemptsWithin(windowMs, (retry) => schedule.delayMs(retry) - TIMER_SLACK_MS);
    const stuckBatches = new Set(failed.map((c) => `${c.partition}@${c.firstOffset}`));
    const fastestFailureMs = Math.min(
      ...failed.slice(1).map((c, i) => c.startedAtMs - failed[i]!.startedAtMs - schedule.delayMs(i + 1)),
    );
    console.log(
      `fault 8: outage ${outageMs} ms; ${failed.length} refused handler attempts (${store.refusedCallTimes().length} refused store calls) ` +
        `in a ${windowMs} ms window, bound from the backoff schedule ${bound}; a tight loop at the fastest observed ` +
        `turnaround (${Math.max(1, fastestFailureMs)} ms beyond the wait) would have made ~${Math.round(windowMs / Math.max(1, fastestFailureMs))}. ` +
        `Batches held during the outage: ${stuckBatches.size} (${failed[0]!.records} records); lag on the broker ${lagDuringOutage}. ` +
        `Heap MiB before ${heapBefore.heapMiB.toFixed(1)} / max during ${during.maxHeapMiB.toFixed(1)} / after ${heapAfter.heapMiB.toFixed(1)}; ` +
        `RSS MiB before ${heapBefore.rssMiB.toFixed(1)} / max during ${during.maxRssMiB.toFixed(1)} / after ${heapAfter.rssMiB.toFixed(1)}. ` +
        `Drained ${DURING + AFTER} records in ${drainMs} ms. Group joins: ${membership.joins()}.`,
    );

    expect(failed.length).toBeGreaterThanOrEqual(3);
    expect(failed.length).toBeLessThanOrEqual(bound);
    expect(sink.calls.slice(callsBeforeOutage).filter((c) => c.outcome === 'failed')).toHaveLength(0);
    // One batch is retried; the rest of the backlog stays on the broker, uncommitted, not in this process.
    expect(stuckBatches.size).toBe(1);
    expect(failed.every((c) => c.records === failed[0]!.records && c.records <= MAX_BATCH_RECORDS)).toBe(true);
    expect(lagDuringOutage).toBe(DURING);
    expect(heapAfter.heapMiB - heapBefore.heapMiB).toBeLessThan(HEAP_GROWTH_BOUND_MIB);
    // The member kept its partitions throughout: heartbeats between retries held the session.
    expect(membership.joins()).toBe(1);
    expect(sink.deadLetters.sent.get(Topics.deadLetters) ?? []).toHaveLength(0);

    // The suite's oracle, on what ClickHouse and Elasticsearch hold.
    const inputs = transactions(0, BEFORE + DURING + AFTER);
    const expected = suiteExpectation(inputs);
    const auditIds = await readAuditIds(es, prefix);
    for (const wantFinal of [false, true]) {
      const { view, mode } = await readStoredLedger(clickhouse, wantFinal);
      if (wantFinal)
        console.log(
          `fault 8: FINAL read ${mode.final ? 'used' : 'not applicable'} (${mode.engines.join(', ')}); ` +
            `${expected.acknowledged.size} acknowledged, ${view.decisionIds.length} decided, ` +
            `${new Set(view.legs.map((leg) => leg.transactionId)).size} posted of ${expected.entryIds.size} postable, ` +
            `${auditIds.length} audit documents`,
        );
      expect(suiteViolations({ ...view, auditIds }, expected)).toEqual([]);
      expect(view.decisionIds).toHaveLength(BEFORE + DURING + AFTER);
      expect(view.legs).toHaveLength([...expected.entryIds.values()].reduce((n, ids) => n + ids.length, 0));
    }
    expect(auditIds).toHaveLength(BEFORE + DURING + AFTER);
    const reader = new ClickHouseLedgerReader(clickhouse);
    expect(await reader.imbalances()).toEqual([]);
    for (const total of (await reader.totalsByCurrency()).values()) expect(total).toBe(0n);

    // Negative controls: the same oracle on planted faults — a posting stored twice (really inserted into
    // ClickHouse, as a handler without its "already stored?" check would), an audit document missing and an
    // acknowledged id without its decision (planted into the oracle's view).
    const twice = inputs.find((s) => postingsForDecision(s).length === 2)!;
    // Straight into the table: the store's insert-once path would (rightly) skip the copy.
    await new ClickHouseLedgerStore(clickhouse, { lookupChunkIds: 1000, insertOnce: false }).insertEntries(
      postingsForDecision(twice, Date.now()).map((e) => ({
        ...e,
        fingerprint: twice.transaction.fingerprint,
        reversesEntryId: '',
        capturesTransactionId: '',
        refundsTransactionId: '',
      })),
    );
    const { view: planted } = await readStoredLedger(clickhouse, false);
    const lostDecision = inputs[7]!.transaction.transactionId;
    const lostAudit = inputs[11]!.transaction.transactionId;
    const violations = suiteViolations(
      {
        decisionIds: planted.decisionIds.filter((id) => id !== lostDecision),
        legs: planted.legs,
        auditIds: auditIds.filter((id) => id !== lostAudit),
      },
      expected,
    );
    const [leg0, leg1] = postingsForDecision(twice).map((e) => e.entryId);
    expect(violations).toEqual([
      `acknowledged without a decision: 1 (${lostDecision})`,
      `acknowledged without an audit document: 1 (${lostAudit})`,
      `entries posted more than once: 2 (${leg0}, ${leg1})`,
    ]);
    await sink.subscription.close();
  });
});
