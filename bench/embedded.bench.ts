/**
 * `npm run bench`: end-to-end throughput and latency of the embedded default on this machine.
 *
 * Phase 1 (throughput): N simulated transactions are posted through the HTTP batch endpoint as fast as ingest
 * accepts them; the clock stops when ledger-sink has stored the decision of every one. Reports accepted/s and
 * end-to-end (HTTP in → decision stored in ClickHouse) transactions/s.
 * Phase 2 (latency): transactions are posted at a fixed rate; a consumer on tx.scored and fraud.alerts measures
 * ingest→decision and ingest→alert latency (receivedAtMs stamped by ingest to the moment the record is read).
 *
 * Options (env): BENCH_TRANSACTIONS (default 100000), BENCH_RATE_TPS (5000), BENCH_RATE_SECONDS (20),
 * BENCH_BATCH (500 per HTTP request), BENCH_CONCURRENCY (4 requests in flight).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPipeline } from '../embedded/pipeline.js';
import { apiClient, waitFor } from '../embedded/testing.js';
import { readInt } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { createCodec } from '../schemas/codec.js';
import type { TransactionRequest } from '../schemas/api.js';
import type { FraudAlert, ScoredTransaction } from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import { TrafficSimulator } from '../simulator/generator.js';

const env = process.env;
const total = readInt(env, 'BENCH_TRANSACTIONS', 100_000, { min: 1000 });
const rateTps = readInt(env, 'BENCH_RATE_TPS', 5000, { min: 1 });
const rateSeconds = readInt(env, 'BENCH_RATE_SECONDS', 20, { min: 1 });
const batchSize = readInt(env, 'BENCH_BATCH', 500, { min: 1, max: 10_000 });
const concurrency = readInt(env, 'BENCH_CONCURRENCY', 4, { min: 1, max: 64 });

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const summarize = (values: number[]): string => {
  const sorted = [...values].sort((a, b) => a - b);
  return `n=${sorted.length} p50=${percentile(sorted, 50)} ms p90=${percentile(sorted, 90)} ms p99=${percentile(sorted, 99)} ms max=${sorted.at(-1)} ms`;
};

function requests(count: number, seed: number, startTimeMs: number): TransactionRequest[] {
  // A large population so per-customer activity stays realistic at benchmark volume.
  const simulator = new TrafficSimulator({ seed, startTimeMs, customers: 50_000, terminals: 20_000, meanTxPerCustomerPerDay: 4 });
  return simulator.take(count).map((s) => s.request);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
  const ingestKey = 'bench-ingest-key-0123456789';
  const adminKey = 'bench-admin-key-0123456789';
  const pipeline = await startEmbeddedPipeline({
    env: { ...env, VIGIL_DATA_DIR: dataDir, VIGIL_HTTP_PORT: '0', VIGIL_SIMULATOR_TPS: '0', VIGIL_API_KEYS: `ingest:${ingestKey},admin:${adminKey}` },
    logger: createLogger({ level: 'warn' }),
  });
  const ingest = apiClient(pipeline.url, ingestKey);
  const admin = apiClient(pipeline.url, adminKey);
  const decided = async (): Promise<number> => (await admin.get<{ decisionRows: number }>('/v1/reports/ledger-integrity')).body.decisionRows;

  const post = async (items: TransactionRequest[]): Promise<void> => {
    const response = await ingest.post('/v1/transactions/batch', items);
    if (response.status >= 300) throw new Error(`batch answered ${response.status}: ${JSON.stringify(response.body).slice(0, 300)}`);
  };

  process.stdout.write(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}\n`);
  try {
    // Phase 1: throughput.
    const now = Date.now();
    const all = requests(total, 1, now - 2 * 86_400_000);
    const batches: TransactionRequest[][] = [];
    for (let i = 0; i < all.length; i += batchSize) batches.push(all.slice(i, i + batchSize));
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < batches.length) await post(batches[next++]!);
      }),
    );
    const acceptedMs = performance.now() - started;
    await waitFor('every decision stored', async () => ((await decided()) >= total ? true : undefined), 600_000, 50);
    const storedMs = performance.now() - started;
    process.stdout.write(
      `throughput: ${total} transactions, batches of ${batchSize} × ${concurrency} in flight\n` +
        `  accepted by ingest (durable on the log): ${Math.round(total / (acceptedMs / 1000))} tx/s\n` +
        `  end to end (HTTP in → decision + ledger stored in ClickHouse): ${Math.round(total / (storedMs / 1000))} tx/s\n`,
    );

    // Phase 2: latency at a fixed rate.
    const registry = new EmbeddedSchemaRegistry();
    const scoredCodec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    const alertCodec = await createCodec<FraudAlert>(registry, Topics.fraudAlerts);
    const decisionLatency: number[] = [];
    const alertLatency: number[] = [];
    const scoredSub = await pipeline.bus.subscribe({ groupId: 'bench-scored', topics: [Topics.transactionsScored], startFrom: 'latest' }, async (batch) => {
      const seenAt = Date.now();
      for (const r of batch.records) decisionLatency.push(seenAt - (await scoredCodec.decode(r.value)).transaction.receivedAtMs);
    });
    const alertSub = await pipeline.bus.subscribe({ groupId: 'bench-alerts', topics: [Topics.fraudAlerts], startFrom: 'latest' }, async (batch) => {
      const seenAt = Date.now();
      for (const r of batch.records) alertLatency.push(seenAt - (await alertCodec.decode(r.value)).receivedAtMs);
    });
    const paced = requests(rateTps * rateSeconds, 2, Date.now() - 86_400_000);
    const tickMs = 10;
    const perTick = Math.max(1, Math.round((rateTps * tickMs) / 1000));
    const pacedStart = performance.now();
    const inFlight: Promise<void>[] = [];
    for (let i = 0, tick = 0; i < paced.length; i += perTick, tick++) {
      const due = pacedStart + tick * tickMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      inFlight.push(post(paced.slice(i, i + perTick)));
    }
    await Promise.all(inFlight);
    const achieved = paced.length / ((performance.now() - pacedStart) / 1000);
    await waitFor('every paced decision seen', () => (decisionLatency.length >= paced.length ? true : undefined), 120_000, 50);
    await scoredSub.close();
    await alertSub.close();
    process.stdout.write(
      `latency at ${rateTps} tx/s for ${rateSeconds} s (achieved ${Math.round(achieved)} tx/s, ${perTick} per request every ${tickMs} ms):\n` +
        `  ingest → decision on tx.scored: ${summarize(decisionLatency)}\n` +
        `  ingest → alert on fraud.alerts: ${summarize(alertLatency)}\n`,
    );
  } finally {
    await pipeline.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
