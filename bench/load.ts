import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { apiClient, waitFor } from '../embedded/testing.js';
import type { Bus } from '../platform/bus.js';
import { type Env, readInt } from '../platform/config.js';
import { ConfigError } from '../platform/errors.js';
import { startProgress } from '../platform/progress.js';
import type { LedgerIntegrity } from '../schemas/api.js';
import { createCodec } from '../schemas/codec.js';
import type { ScoredTransaction } from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import { type CpuReading, startCpuMeter, startCpuProfiler } from './cpu-usage.js';
import type { LoadJob, LoadResult } from './load-generator.js';
import { type Attribution, type CpuProfile, attributeProfile } from './profile-attribution.js';
import { type LatencySummary, formatLatencies, summarizeLatencies } from './stats.js';
import type { TrafficSlice } from './traffic.js';

/**
 * Runs `script` (a bench/ file) as its own process with `job` as argv[2]; resolves with the last line it prints,
 * parsed. `onReady` answers a `{"ready":true}` line (the load generator's handshake) before the child goes on.
 */
export function runChild<R>(
  script: string,
  job: object,
  onReady?: () => Promise<void>,
  nodeFlags: readonly string[] = [],
): Promise<R> {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path, JSON.stringify(job)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    const ready = '{"ready":true}\n';
    if (!stdout.includes(ready)) return;
    stdout = stdout.replace(ready, '');
    void (onReady ?? (() => Promise.resolve()))().then(() => child.stdin.write('go\n'));
  });
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as R)
        : reject(new Error(`${script} exited with ${code}`)),
    ),
  );
}

/**
 * V8 flags of the load generator: a 64 MiB young generation. With the default (16 MiB) its own scavenges, at 1,000
 * requests a second, delayed its sending and its reading of answers by hundreds of ms — latency the pipeline did not
 * cause — and it fell short of the offered rate (BENCHMARKS.md, "The load generator's own pauses").
 */
const LOAD_GENERATOR_FLAGS = ['--max-semi-space-size=64'] as const;

/** Runs the load generator as its own process; resolves with its result line. */
export const runLoad = (job: LoadJob, onReady?: () => Promise<void>): Promise<LoadResult> =>
  runChild<LoadResult>('./load-generator.ts', job, onReady, LOAD_GENERATOR_FLAGS);

/**
 * Offered rates of the latency runs: BENCH_RATES (comma-separated tx/s, default `fallback`), each for
 * BENCH_RATE_SECONDS. BENCH_RATE_TPS, the single rate of earlier versions, is still read as one rate.
 */
export function readRates(env: Env, fallback: string): { rates: number[]; rateSeconds: number } {
  const raw = env['BENCH_RATES'] ?? env['BENCH_RATE_TPS'] ?? fallback;
  const rates = raw.split(',').map((r) => Number(r.trim()));
  if (raw.trim() === '' || !rates.every((r) => Number.isSafeInteger(r) && r > 0))
    throw new ConfigError('BENCH_RATES', raw, 'comma-separated positive integers (transactions per second)');
  return { rates, rateSeconds: readInt(env, 'BENCH_RATE_SECONDS', 10, { min: 1, max: 600 }) };
}

/**
 * The synchronous-decision phase's options: BENCH_SYNC_RATES (comma-separated requests/s, default "1000,5000";
 * "" skips the phase) and BENCH_SYNC_SECONDS (per rate, default 10).
 */
export function readSyncBenchOptions(env: Env): { syncRates: number[]; syncSeconds: number } {
  const raw = env['BENCH_SYNC_RATES'] ?? '1000,5000';
  const syncRates = raw.trim() === '' ? [] : raw.split(',').map((r) => Number(r.trim()));
  if (!syncRates.every((r) => Number.isSafeInteger(r) && r > 0))
    throw new ConfigError('BENCH_SYNC_RATES', raw, 'comma-separated positive integers (requests per second)');
  return { syncRates, syncSeconds: readInt(env, 'BENCH_SYNC_SECONDS', 10, { min: 1, max: 600 }) };
}

export interface BenchTarget {
  /** Base URLs of ingest and of dashboards (the same process in the embedded default). */
  readonly ingestUrl: string;
  readonly dashboardsUrl: string;
  readonly keys: { readonly ingest: string; readonly analyst: string; readonly admin: string };
  /** The pipeline's bus, for the latency consumer on tx.scored and ledger-sink's committed offsets. */
  readonly bus: Bus;
  /** ledger-sink's consumer group: its commits on tx.scored say what is stored (it commits after each batch). */
  readonly ledgerGroupId: string;
  /** What "accepted" means in this mode, e.g. "durable on the log". */
  readonly acceptedMeans: string;
  /** What "end to end" covers in this mode. */
  readonly endToEndMeans: string;
  /** Transactions per throughput run. */
  readonly total: number;
  /** Offered rates of the latency runs (tx/s), each for `rateSeconds`. */
  readonly rates: readonly number[];
  readonly rateSeconds: number;
  readonly batchSize: number;
  readonly concurrency: number;
  /** Rates (requests/s) of the synchronous-decision phase, each for `syncSeconds`; empty skips it. */
  readonly syncRates: readonly number[];
  readonly syncSeconds: number;
  /**
   * The pipeline runs in this process (the embedded default): measure its CPU, and run the throughput phase
   * twice, without and then with the CPU profiler, to see what profiling costs. `rootUrl` is the project's root
   * as a file URL, for attributing samples to stages.
   */
  readonly cpu?: { readonly rootUrl: string };
  /** Runs after the throughput phase (e.g. printing stage metrics). */
  readonly afterThroughput?: () => Promise<void>;
}

export interface ThroughputRun {
  readonly profiled: boolean;
  readonly transactions: number;
  readonly accepted: number;
  /** 202s per second, from the first request to the last answer. */
  readonly acceptedTps: number;
  /** Accepted transactions per second, from the first request until ledger-sink has stored every one. */
  readonly endToEndTps: number;
  /** This process's CPU from the first request until the last transaction was stored (with `cpu`). */
  readonly cpu?: CpuReading;
  /** The JavaScript thread's samples by stage over the same window (the profiled run). */
  readonly attribution?: Attribution;
}

export interface LatencyRun {
  readonly rateTps: number;
  readonly seconds: number;
  readonly sent: number;
  readonly achievedTps: number;
  /** ingest (receivedAtMs) → the decision read from tx.scored by a consumer in the benchmark. */
  readonly decision: LatencySummary;
  /** ingest → the alert as an analyst's WebSocket client receives it. */
  readonly alert: LatencySummary;
}

export interface SyncRun {
  readonly rateTps: number;
  readonly seconds: number;
  readonly sent: number;
  readonly achievedTps: number;
  readonly decided: number;
  readonly pastDeadline: number;
  readonly answer: LatencySummary;
}

export interface LoadFigures {
  /** The transactions of the first throughput run, for the ceiling to replay. */
  readonly slice: TrafficSlice;
  /** One run, or with `cpu` two: unprofiled, then profiled. */
  readonly throughput: readonly ThroughputRun[];
  readonly latency: readonly LatencyRun[];
  readonly sync: readonly SyncRun[];
}

/** Between CPU profile samples: V8's default, ~1,000 samples a second. */
export const PROFILE_INTERVAL_US = 1000;

const perSecond = (count: number, ms: number): number => Math.round(count / (ms / 1000));

/**
 * The benchmark phases, the same in every mode: (1) `total` transactions as fast as ingest accepts them, timed
 * until every decision is stored (with `cpu`, twice: without and with the profiler); (2) each offered rate in turn,
 * with ingest → decision latency read from tx.scored and ingest → alert latency seen by an analyst's WebSocket
 * client; (3) synchronous decisions. Prints each phase's figures as it ends and resolves with all of them.
 */
export async function measureThroughputAndLatency(target: BenchTarget): Promise<LoadFigures> {
  const { total, rates, rateSeconds, batchSize, concurrency, keys } = target;
  const runs = target.cpu === undefined ? [false] : [false, true];
  const paced = rates.reduce((a, r) => a + r * rateSeconds, 0);
  const synced = target.syncRates.reduce((a, r) => a + r * target.syncSeconds, 0);
  // 50,000 customers × 4 a day = 200,000 transactions a simulated day: start the stream far enough back.
  const streamStartMs = Date.now() - Math.ceil((runs.length * total + paced + synced) / 200_000 + 2) * 86_400_000;
  const job = {
    url: target.ingestUrl,
    alertsUrl: target.dashboardsUrl,
    ingestKey: keys.ingest,
    analystKey: keys.analyst,
    seed: 1,
    streamStartMs,
    batchSize,
    concurrency,
    rateTps: rates[0]!,
    seconds: rateSeconds,
  };
  const stored = async (): Promise<number> =>
    // A partition the group never committed on reads -1: nothing stored there yet.
    (await target.bus.committedOffsets(target.ledgerGroupId, Topics.transactionsScored)).reduce(
      (a, b) => a + Math.max(0, b),
      0,
    );
  const scoredEnd = async (): Promise<number> =>
    (await target.bus.endOffsets(Topics.transactionsScored)).reduce((a, b) => a + b, 0);

  let skip = 0;
  const throughput: ThroughputRun[] = [];
  for (const profiled of runs) {
    // Everything before this run is stored: what ledger-sink commits from here on is this run's.
    const storedBefore = await scoredEnd();
    await waitFor('ledger-sink idle', async () => ((await stored()) >= storedBefore ? true : undefined), 900_000, 50);
    let stopMeter: (() => CpuReading) | undefined;
    let stopProfiler: (() => Promise<CpuProfile>) | undefined;
    const burst = await runLoad({ ...job, mode: 'burst', skip, count: total, handshake: true }, async () => {
      if (target.cpu === undefined) return;
      if (profiled) stopProfiler = await startCpuProfiler(PROFILE_INTERVAL_US);
      stopMeter = startCpuMeter();
    });
    skip += total;
    const accepted = burst.accepted ?? total;
    if (accepted < total) process.stdout.write(`note: ingest refused ${total - accepted} of ${total} transactions\n`);
    const progress = startProgress(profiled ? 'stored (profiled)' : 'stored', accepted, { unit: 'tx' });
    await waitFor(
      `all ${accepted} accepted transactions stored`,
      async () => {
        const done = (await stored()) - storedBefore;
        progress.update(done);
        return done >= accepted ? true : undefined;
      },
      900_000,
      50,
    );
    const storedMs = Date.now() - burst.startedAtMs;
    const cpu = stopMeter?.();
    const profile = await stopProfiler?.();
    progress.stop();
    const run: ThroughputRun = {
      profiled,
      transactions: total,
      accepted,
      acceptedTps: perSecond(total, burst.elapsedMs),
      endToEndTps: perSecond(accepted, storedMs),
      ...(cpu === undefined ? {} : { cpu }),
      ...(profile === undefined || target.cpu === undefined
        ? {}
        : { attribution: attributeProfile(profile, target.cpu.rootUrl) }),
    };
    throughput.push(run);
    process.stdout.write(
      `throughput${target.cpu === undefined ? '' : profiled ? ' (CPU profiler on)' : ' (profiler off)'}: ` +
        `${total} transactions, batches of ${batchSize}, ${concurrency} requests in flight\n` +
        `  accepted by ingest (202, ${target.acceptedMeans}): ${run.acceptedTps} tx/s\n` +
        `  end to end (${target.endToEndMeans}): ${run.endToEndTps} tx/s\n` +
        (cpu === undefined
          ? ''
          : `  CPU of the pipeline process: ${Math.round(cpu.processUs / accepted)} µs/tx (all threads; the load generator is another process, not counted)\n`),
    );
  }
  // What the committed offsets said, checked once against what dashboards reads back from ClickHouse.
  const admin = apiClient(target.dashboardsUrl, keys.admin);
  const decisionRows = (await admin.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body.decisionRows;
  const acceptedAll = throughput.reduce((a, r) => a + r.accepted, 0);
  if (decisionRows < acceptedAll)
    throw new Error(
      `ledger-sink committed every record, yet ClickHouse holds ${decisionRows} of ${acceptedAll} decisions`,
    );
  await target.afterThroughput?.();

  const scoredCodec = await createCodec<ScoredTransaction>(new EmbeddedSchemaRegistry(), Topics.transactionsScored);
  const latency: LatencyRun[] = [];
  for (const rateTps of rates) {
    const decisionLatency: number[] = [];
    const expected = rateTps * rateSeconds;
    const progress = startProgress(`latency at ${rateTps} tx/s`, expected, { unit: 'tx' });
    const scored = await target.bus.subscribe(
      { groupId: `bench-latency-${rateTps}-${Date.now()}`, topics: [Topics.transactionsScored], startFrom: 'latest' },
      async (batch) => {
        const seenAt = Date.now();
        for (const r of batch.records)
          decisionLatency.push(seenAt - (await scoredCodec.decode(r.value)).transaction.receivedAtMs);
        progress.update(decisionLatency.length);
      },
    );
    const result = await runLoad({ ...job, mode: 'paced', skip, count: 0, rateTps });
    skip += result.sent;
    await waitFor(
      'every paced decision seen',
      () => (decisionLatency.length >= result.sent ? true : undefined),
      600_000,
      50,
    );
    await scored.close();
    progress.stop();
    const run: LatencyRun = {
      rateTps,
      seconds: rateSeconds,
      sent: result.sent,
      achievedTps: perSecond(result.sent, result.elapsedMs),
      decision: summarizeLatencies(decisionLatency),
      alert: summarizeLatencies(result.alertLatenciesMs),
    };
    latency.push(run);
    process.stdout.write(
      `latency: offered ${rateTps} tx/s for ${rateSeconds} s, achieved ${run.achievedTps} tx/s\n` +
        `  ingest → decision on tx.scored:  ${formatLatencies(run.decision)}\n` +
        `  ingest → alert on the WebSocket: ${formatLatencies(run.alert)}\n`,
    );
  }

  // Synchronous decisions: one transaction per POST /v1/decisions, the answer timed by the caller.
  const sync: SyncRun[] = [];
  for (const rateTps of target.syncRates) {
    const result = await runLoad({ ...job, mode: 'sync', skip, count: 0, rateTps, seconds: target.syncSeconds });
    skip += result.sent;
    const run: SyncRun = {
      rateTps,
      seconds: target.syncSeconds,
      sent: result.sent,
      achievedTps: perSecond(result.sent, result.elapsedMs),
      decided: result.decided ?? 0,
      pastDeadline: result.pastDeadline ?? 0,
      answer: summarizeLatencies(result.syncLatenciesMs ?? []),
    };
    sync.push(run);
    process.stdout.write(
      `sync decisions: target ${rateTps} requests/s for ${target.syncSeconds} s, achieved ${run.achievedTps}/s; ` +
        `${run.decided} decided (200), ${run.pastDeadline} past the deadline (202)\n` +
        `  POST /v1/decisions → answer: ${formatLatencies(run.answer)}\n`,
    );
  }
  return { slice: { seed: job.seed, streamStartMs, skip: 0, count: total }, throughput, latency, sync };
}
