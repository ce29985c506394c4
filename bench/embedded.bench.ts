/**
 * `npm run bench`: end-to-end throughput and latency of the embedded default on this machine.
 *
 * The pipeline runs in this process exactly as `npm start` runs it; the traffic comes from a separate client
 * process (bench/load-generator.ts) over HTTP, as a bank's systems would send it.
 *  1. Throughput: N simulated transactions posted as fast as ingest accepts them. Reports accepted/s (durable
 *     on the log) and end-to-end transactions/s (HTTP in → decision and ledger stored in ClickHouse).
 *  2. Latency at a fixed rate: ingest → decision (stamped by ingest, read back from tx.scored by a consumer
 *     here) and ingest → alert as an analyst's WebSocket client receives it.
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
import type { ScoredTransaction } from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import { runLoad, summarize } from './load.js';

const env = process.env;
const total = readInt(env, 'BENCH_TRANSACTIONS', 100_000, { min: 1000 });
const rateTps = readInt(env, 'BENCH_RATE_TPS', 5000, { min: 1 });
const rateSeconds = readInt(env, 'BENCH_RATE_SECONDS', 20, { min: 1 });
const batchSize = readInt(env, 'BENCH_BATCH', 500, { min: 1, max: 5000 });
const concurrency = readInt(env, 'BENCH_CONCURRENCY', 4, { min: 1, max: 64 });



async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
  const keys = { ingest: 'bench-ingest-key-0123456789', analyst: 'bench-analyst-key-0123456789', admin: 'bench-admin-key-0123456789' };
  const pipeline = await startEmbeddedPipeline({
    env: {
      ...env,
      VIGIL_DATA_DIR: dataDir,
      VIGIL_HTTP_PORT: '0',
      VIGIL_SIMULATOR_TPS: '0',
      VIGIL_API_KEYS: Object.entries(keys)
        .map(([role, key]) => `${role}:${key}`)
        .join(','),
    },
    logger: createLogger({ level: 'warn' }),
  });
  const admin = apiClient(pipeline.url, keys.admin);
  const decided = async (): Promise<number> => (await admin.get<{ decisionRows: number }>('/v1/reports/ledger-integrity')).body.decisionRows;
  // 50,000 customers × 4 a day = 200,000 transactions a simulated day: start the stream far enough back.
  const streamStartMs = Date.now() - Math.ceil((total + rateTps * rateSeconds) / 200_000 + 2) * 86_400_000;
  const job = { url: pipeline.url, seed: 1, streamStartMs, ingestKey: keys.ingest, analystKey: keys.analyst, batchSize, concurrency, rateTps, seconds: rateSeconds };

  process.stdout.write(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}\n`);
  try {
    // 1. Throughput.
    const burst = await runLoad({ ...job, mode: 'burst', skip: 0, count: total });
    await waitFor('every decision stored', async () => ((await decided()) >= total ? true : undefined), 900_000, 50);
    const storedMs = Date.now() - burst.startedAtMs;
    process.stdout.write(
      `throughput: ${total} transactions, batches of ${batchSize}, ${concurrency} requests in flight\n` +
        `  accepted by ingest (202, durable on the log): ${Math.round(total / (burst.elapsedMs / 1000))} tx/s\n` +
        `  end to end (HTTP in → decision and ledger stored in ClickHouse): ${Math.round(total / (storedMs / 1000))} tx/s\n`,
    );

    if (env['BENCH_METRICS']) {
      const text = await (await fetch(`${pipeline.url}/metrics`, { headers: { authorization: `Bearer ${keys.admin}` } })).text();
      process.stdout.write(text.split('\n').filter((l) => /_(sum|count)\b/.test(l) && !l.startsWith('#')).join('\n') + '\n');
    }

    // 2. Latency at a fixed rate.
    const scoredCodec = await createCodec<ScoredTransaction>(new EmbeddedSchemaRegistry(), Topics.transactionsScored);
    const decisionLatency: number[] = [];
    const scored = await pipeline.bus.subscribe({ groupId: 'bench-latency', topics: [Topics.transactionsScored], startFrom: 'latest' }, async (batch) => {
      const seenAt = Date.now();
      for (const r of batch.records) decisionLatency.push(seenAt - (await scoredCodec.decode(r.value)).transaction.receivedAtMs);
    });
    const paced = await runLoad({ ...job, mode: 'paced', skip: total, count: 0 });
    await waitFor('every paced decision seen', () => (decisionLatency.length >= paced.sent ? true : undefined), 300_000, 50);
    await scored.close();
    process.stdout.write(
      `latency: target ${rateTps} tx/s for ${rateSeconds} s, achieved ${Math.round(paced.sent / (paced.elapsedMs / 1000))} tx/s\n` +
        `  ingest → decision on tx.scored:  ${summarize(decisionLatency)}\n` +
        `  ingest → alert on the WebSocket: ${summarize(paced.alertLatenciesMs)}\n`,
    );
  } finally {
    await pipeline.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
