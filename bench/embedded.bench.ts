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
 * BENCH_BATCH (500 per HTTP request), BENCH_CONCURRENCY (4 requests in flight); then synchronous decisions at
 * BENCH_SYNC_RATES (default 1000,5000 requests/s, one transaction per POST /v1/decisions) for BENCH_SYNC_SECONDS (10).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPipeline } from '../embedded/pipeline.js';
import { readInt } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { measureThroughputAndLatency, readSyncBenchOptions } from './load.js';

const env = process.env;
const total = readInt(env, 'BENCH_TRANSACTIONS', 100_000, { min: 1000 });
const rateTps = readInt(env, 'BENCH_RATE_TPS', 5000, { min: 1 });
const rateSeconds = readInt(env, 'BENCH_RATE_SECONDS', 20, { min: 1 });
const batchSize = readInt(env, 'BENCH_BATCH', 500, { min: 1, max: 5000 });
const concurrency = readInt(env, 'BENCH_CONCURRENCY', 4, { min: 1, max: 64 });

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
  const keys = {
    ingest: 'bench-ingest-key-0123456789',
    analyst: 'bench-analyst-key-0123456789',
    admin: 'bench-admin-key-0123456789',
  };
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
  process.stdout.write(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}\n`,
  );
  try {
    await measureThroughputAndLatency({
      ingestUrl: pipeline.url,
      dashboardsUrl: pipeline.url,
      keys,
      bus: pipeline.bus,
      acceptedMeans: 'durable on the log',
      endToEndMeans: 'HTTP in → decision and ledger stored in ClickHouse',
      total,
      rateTps,
      rateSeconds,
      batchSize,
      concurrency,
      ...readSyncBenchOptions(process.env),
      afterThroughput: async () => {
        if (!env['BENCH_METRICS']) return;
        const text = await (
          await fetch(`${pipeline.url}/metrics`, { headers: { authorization: `Bearer ${keys.admin}` } })
        ).text();
        process.stdout.write(
          text
            .split('\n')
            .filter((l) => /_(sum|count)\b/.test(l) && !l.startsWith('#'))
            .join('\n') + '\n',
        );
      },
    });
  } finally {
    await pipeline.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
