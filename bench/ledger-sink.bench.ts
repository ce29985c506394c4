/**
 * What ledger-sink costs per transaction, alone, for BENCHMARKS.md (a command, not a test):
 *
 *   npx tsx bench/ledger-sink.bench.ts        (BENCH_TRANSACTIONS, default 20,000; BENCH_RUNS, default 2)
 *
 * The production batch handler over chDB (the embedded default's store), fed `tx.scored` batches of 1,000 Avro
 * records as the bus hands them over: decode, idempotency look-ups, postings, holds, the four inserts. Each
 * decision carries the full 62-value feature record (two thirds of them non-integers), an event time 40 days
 * before its receipt (the client's clock, another day), a customer and a description. Reports process CPU
 * (this thread and chDB's) and wall time per transaction; CPU is the steadier figure on a shared machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordBatch } from '../platform/bus.js';
import { createClickHouseClient } from '../platform/clickhouse.js';
import { ManualClock } from '../platform/clock.js';
import { readInt } from '../platform/config.js';
import { silentLogger } from '../platform/logger.js';
import { MetricsRegistry } from '../platform/metrics.js';
import { type Codec, createCodec } from '../schemas/codec.js';
import { DeadLetterWriter } from '../schemas/dead-letter.js';
import { featureValueNames } from '../schemas/features.js';
import type { AnalystLabel, FeatureValues, ScoredTransaction } from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import { ClickHouseLedgerStore } from '../ledger-sink/adapters/clickhouse-store.js';
import { LedgerBatchHandler } from '../ledger-sink/app/ledger-writer.js';
import { batchOf, capturingBus, scoredTransaction } from '../ledger-sink/testing/fixtures.js';

const DAY_MS = 86_400_000;
const BATCH = 1000;
const total = readInt(process.env, 'BENCH_TRANSACTIONS', 20_000, { min: BATCH, max: 1_000_000 });
const runs = readInt(process.env, 'BENCH_RUNS', 2, { min: 1, max: 20 });
const featureNames = featureValueNames();

/** Run `run`'s batches: distinct transaction ids per run, so every run books as much as the first. */
function batchesOf(run: number, codec: Codec<ScoredTransaction>): RecordBatch[] {
  const batches: RecordBatch[] = [];
  for (let first = 0; first < total; first += BATCH) {
    const items: ScoredTransaction[] = [];
    for (let i = first; i < first + BATCH; i++) {
      const featureValues = Object.fromEntries(
        featureNames.map((name, k) => [name, k % 3 === 0 ? (i * 31 + k) % 17 : Math.sin(i + k) * 1000]),
      ) as unknown as FeatureValues;
      const receivedAtMs = 1_764_100_000_000 + i * 3;
      items.push(
        scoredTransaction(
          i,
          {
            transactionId: `run${run}-tx-${i}`,
            customerId: `cust-${i % 1000}`,
            description: 'groceries at the corner shop',
            eventTimeMs: receivedAtMs - 40 * DAY_MS + i * 997,
            receivedAtMs,
          },
          { features: {}, featureValues, scoredAtMs: receivedAtMs + 12 },
        ),
      );
    }
    batches.push(
      batchOf(
        Topics.transactionsScored,
        items.map((s) => codec.encode(s)),
        { firstOffset: first, keys: items.map((s) => s.transaction.payerAccountId) },
      ),
    );
  }
  return batches;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-ledger-bench-'));
  const client = createClickHouseClient(`embedded:${dataDir}`);
  try {
    const store = new ClickHouseLedgerStore(client, { lookupChunkIds: 1000 });
    await store.ensureSchema();
    const registry = new EmbeddedSchemaRegistry();
    const clock = new ManualClock(1_764_100_000_000);
    const scoredCodec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    const handler = new LedgerBatchHandler({
      store,
      scoredCodec,
      labelCodec: await createCodec<AnalystLabel>(registry, Topics.analystLabels),
      deadLetters: await DeadLetterWriter.create(capturingBus(), registry, 'ledger-sink', clock),
      logger: silentLogger,
      metrics: new MetricsRegistry(),
      clock,
    });
    for (let run = 0; run < runs; run++) {
      const batches = batchesOf(run, scoredCodec);
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      for (const batch of batches) await handler.handle(batch);
      const wallMs = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      process.stdout.write(
        `run ${run}: ${total} transactions, CPU ${((cpu.user + cpu.system) / total).toFixed(1)} µs/tx, ` +
          `wall ${((wallMs * 1000) / total).toFixed(1)} µs/tx (load average ${loadavg()
            .map((l) => l.toFixed(1))
            .join(' ')})\n`,
      );
    }
  } finally {
    await client.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
