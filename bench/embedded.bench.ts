/**
 * `npm run bench [-- --json FILE]`: throughput, latency and cost per transaction of the embedded default on this
 * machine, in one run.
 *
 * The pipeline runs in this process exactly as `npm start` runs it; the traffic comes from a separate client
 * process (bench/load-generator.ts) over HTTP, as a bank's systems would send it, and is not counted in the CPU.
 *  1. Throughput, twice: N simulated transactions posted as fast as ingest accepts them, first without and then with
 *     V8's CPU profiler on the pipeline's thread (the difference is the profiler's cost). Reports accepted/s (durable
 *     on the log), end-to-end/s (HTTP in → decision and ledger stored in ClickHouse), the process's CPU per
 *     transaction (all threads), and from the profiled run the JavaScript thread's CPU per stage with the top
 *     frames (bench/profile-attribution.ts says how samples are attributed).
 *  2. Latency at each offered rate: ingest → decision (stamped by ingest, read back from tx.scored by a consumer
 *     here) and ingest → alert as an analyst's WebSocket client receives it.
 *  3. Synchronous decisions (POST /v1/decisions) at BENCH_SYNC_RATES.
 *  4. The ceiling: the first run's transactions through the stages' work alone (bench/stage-work.ts), in a child
 *     process once the pipeline has stopped.
 *
 * Options (env): BENCH_TRANSACTIONS (default 50000 per throughput run), BENCH_RATES (offered tx/s, default
 * 1000,2000,5000; BENCH_RATE_TPS is read as a single rate) each for BENCH_RATE_SECONDS (10), BENCH_BATCH (500 per
 * HTTP request), BENCH_CONCURRENCY (4 requests in flight), BENCH_SYNC_RATES (1000,5000 requests/s; "" skips)
 * for BENCH_SYNC_SECONDS (10). `--json FILE` writes the figures (bench/report.ts), which `npm run bench:plot` draws.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startEmbeddedPipeline } from '../embedded/pipeline.js';
import { readInt } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import type { CeilingJob, CeilingResult } from './ceiling.js';
import { PROFILE_INTERVAL_US, measureThroughputAndLatency, readRates, readSyncBenchOptions, runChild } from './load.js';
import { buildReport, formatReport } from './report.js';

const { values: args } = parseArgs({ options: { json: { type: 'string' } }, strict: true });
const env = process.env;
const total = readInt(env, 'BENCH_TRANSACTIONS', 50_000, { min: 1000 });
const { rates, rateSeconds } = readRates(env, '1000,2000,5000');
const batchSize = readInt(env, 'BENCH_BATCH', 500, { min: 1, max: 5000 });
const concurrency = readInt(env, 'BENCH_CONCURRENCY', 4, { min: 1, max: 64 });
const { syncRates, syncSeconds } = readSyncBenchOptions(env);
const rootUrl = pathToFileURL(join(import.meta.dirname, '..')).href;
const loadAverage = (): number[] => loadavg().map((l) => Math.round(l * 100) / 100);

async function main(): Promise<void> {
  const startLoad = loadAverage();
  const date = new Date().toISOString();
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB`;
  const benchEnv = Object.entries(env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v} `)
    .join('');
  const command = `${benchEnv}npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  process.stdout.write(`${date}; machine: ${machine}; node ${process.version}; load average ${startLoad.join(' ')}\n`);

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
  let figures;
  try {
    figures = await measureThroughputAndLatency({
      ingestUrl: pipeline.url,
      dashboardsUrl: pipeline.url,
      keys,
      bus: pipeline.bus,
      ledgerGroupId: env['VIGIL_LEDGER_GROUP_ID'] ?? 'ledger-sink',
      acceptedMeans: 'durable on the log',
      endToEndMeans: 'HTTP in → decision and ledger stored in ClickHouse',
      total,
      rates,
      rateSeconds,
      batchSize,
      concurrency,
      syncRates,
      syncSeconds,
      cpu: { rootUrl },
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

  const ceilingJob: CeilingJob = { ...figures.slice, batchSize };
  const ceiling = await runChild<CeilingResult>('./ceiling.ts', ceilingJob);
  const report = buildReport(figures, ceiling, {
    command,
    options: { total, rates, rateSeconds, batchSize, concurrency, syncRates, syncSeconds },
    date,
    machine,
    node: process.version,
    loadAverage: { start: startLoad, end: loadAverage() },
    sampleIntervalUs: PROFILE_INTERVAL_US,
  });
  process.stdout.write(formatReport(report));
  process.stdout.write(`load average at the end: ${report.loadAverage.end.join(' ')}\n`);
  if (args.json !== undefined) {
    writeFileSync(args.json, JSON.stringify(report, null, 2) + '\n');
    process.stdout.write(`wrote ${args.json}\n`);
  }
}

await main();
