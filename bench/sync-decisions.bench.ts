/**
 * `npx tsx bench/sync-decisions.bench.ts`: the synchronous-decision phase of `npm run bench` alone, on a pipeline
 * that already knows its customers, with what the phase's answers wait on made visible.
 *
 * The embedded pipeline runs in this process; the load generator (bench/load-generator.ts) is its own process. First
 * BENCH_WARM_TRANSACTIONS (default 50,000) of the benchmark's stream go in through the batch endpoint and are stored,
 * as they would have been in a running system (and in `npm run bench`, whose sync phase comes after its throughput
 * and latency phases): a customer's first transaction writes their data key, which the phase should not measure on
 * every request. Then each rate of BENCH_SYNC_RATES (default 100,300,1000 requests/s) for BENCH_SYNC_SECONDS (10):
 * answer latency as the caller sees it, 200s and 202s, the pipeline's CPU per request (all threads; the JavaScript
 * thread alone), and the event loop's delay over the phase (`monitorEventLoopDelay`): every stage shares that loop,
 * so a long synchronous task anywhere shows up here and in every answer waiting behind it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { waitFor } from '../embedded/testing.js';
import { startEmbeddedPipeline } from '../embedded/pipeline.js';
import { readInt } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { Topics } from '../schemas/topics.js';
import { startCpuMeter } from './cpu-usage.js';
import { readSyncBenchOptions, runLoad } from './load.js';
import { formatLatencies, summarizeLatencies } from './stats.js';

const env = process.env;
const warm = readInt(env, 'BENCH_WARM_TRANSACTIONS', 50_000, { min: 0 });
const { syncRates, syncSeconds } = readSyncBenchOptions({
  ...env,
  BENCH_SYNC_RATES: env['BENCH_SYNC_RATES'] ?? '100,300,1000',
});
const loadAverage = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const dataDir = mkdtempSync(join(tmpdir(), 'vigil-bench-sync-'));
const keys = { ingest: 'bench-ingest-key-0123456789', analyst: 'bench-analyst-key-0123456789' };
const pipeline = await startEmbeddedPipeline({
  env: {
    ...env,
    VIGIL_DATA_DIR: dataDir,
    VIGIL_HTTP_PORT: '0',
    VIGIL_SIMULATOR_TPS: '0',
    VIGIL_API_KEYS: `ingest:${keys.ingest},analyst:${keys.analyst}`,
  },
  logger: createLogger({ level: 'warn' }),
});
const total = warm + syncRates.reduce((a, r) => a + r * syncSeconds, 0);
const job = {
  url: pipeline.url,
  ingestKey: keys.ingest,
  analystKey: keys.analyst,
  seed: 1,
  // 50,000 customers × 4 a day: start the stream far enough back that no event is in the future.
  streamStartMs: Date.now() - Math.ceil(total / 200_000 + 2) * 86_400_000,
  batchSize: 500,
  concurrency: 4,
  rateTps: 0,
  seconds: 0,
  count: 0,
};
try {
  process.stdout.write(`${new Date().toISOString()}; load average ${loadAverage()}\n`);
  let skip = 0;
  if (warm > 0) {
    const burst = await runLoad({ ...job, mode: 'burst', skip, count: warm });
    skip += burst.sent;
    const scored = async (): Promise<number> =>
      (await pipeline.bus.endOffsets(Topics.transactionsScored)).reduce((a, b) => a + b, 0);
    const stored = async (): Promise<number> =>
      (await pipeline.bus.committedOffsets('ledger-sink', Topics.transactionsScored)).reduce(
        (a, b) => a + Math.max(0, b),
        0,
      );
    await waitFor(
      'the warm-up stored',
      async () =>
        (await scored()) >= (burst.accepted ?? warm) && (await stored()) >= (await scored()) ? true : undefined,
      900_000,
      100,
    );
    process.stdout.write(`warm-up: ${burst.sent} transactions stored; load average ${loadAverage()}\n`);
  }
  const delay = monitorEventLoopDelay({ resolution: 1 });
  for (const rateTps of syncRates) {
    const before = loadAverage();
    delay.reset();
    delay.enable();
    const stopMeter = startCpuMeter();
    const result = await runLoad({ ...job, mode: 'sync', skip, rateTps, seconds: syncSeconds });
    const cpu = stopMeter();
    delay.disable();
    skip += result.sent;
    const ms = (ns: number): string => (ns / 1e6).toFixed(0);
    process.stdout.write(
      `sync ${rateTps} req/s for ${syncSeconds} s (load average ${before}): achieved ` +
        `${Math.round(result.sent / (result.elapsedMs / 1000))}/s; ${result.decided} × 200, ${result.pastDeadline} × 202\n` +
        `  answer: ${formatLatencies(summarizeLatencies(result.syncLatenciesMs ?? []))}\n` +
        `  CPU ${Math.round(cpu.processUs / result.sent)} µs/request (JavaScript thread ` +
        `${Math.round((cpu.mainThreadUs ?? NaN) / result.sent)}); event-loop delay p50 ${ms(delay.percentile(50))} ms, ` +
        `p99 ${ms(delay.percentile(99))} ms, max ${ms(delay.max)} ms\n`,
    );
  }
  process.stdout.write(`load average at the end: ${loadAverage()}\n`);
} finally {
  await pipeline.close();
  rmSync(dataDir, { recursive: true, force: true });
}
