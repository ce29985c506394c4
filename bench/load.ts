import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { apiClient, waitFor } from '../embedded/testing.js';
import type { Bus } from '../platform/bus.js';
import { type Env, readInt } from '../platform/config.js';
import { ConfigError } from '../platform/errors.js';
import type { LedgerIntegrity } from '../schemas/api.js';
import { createCodec } from '../schemas/codec.js';
import type { ScoredTransaction } from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import type { LoadJob, LoadResult } from './load-generator.js';

/** Runs the load generator as its own process; resolves with its result line. */
export function runLoad(job: LoadJob): Promise<LoadResult> {
  const script = fileURLToPath(new URL('./load-generator.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(job)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as LoadResult)
        : reject(new Error(`load generator exited with ${code}`)),
    ),
  );
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

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** `n=… p50=… p90=… p99=… max=…` of latencies in ms. */
export function summarize(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `n=${sorted.length} p50=${percentile(sorted, 50)} ms p90=${percentile(sorted, 90)} ms p99=${percentile(sorted, 99)} ms max=${sorted.at(-1)} ms`;
}

export interface BenchTarget {
  /** Base URLs of ingest and of dashboards (the same process in the embedded default). */
  readonly ingestUrl: string;
  readonly dashboardsUrl: string;
  readonly keys: { readonly ingest: string; readonly analyst: string; readonly admin: string };
  /** The pipeline's bus, for the latency consumer on tx.scored. */
  readonly bus: Bus;
  /** What "accepted" means in this mode, e.g. "durable on the log". */
  readonly acceptedMeans: string;
  /** What "end to end" covers in this mode. */
  readonly endToEndMeans: string;
  readonly total: number;
  readonly rateTps: number;
  readonly rateSeconds: number;
  readonly batchSize: number;
  readonly concurrency: number;
  /** Rates (requests/s) of the synchronous-decision phase, each for `syncSeconds`; empty skips it. */
  readonly syncRates: readonly number[];
  readonly syncSeconds: number;
  /** Runs between the two phases (e.g. printing stage metrics). */
  readonly afterThroughput?: () => Promise<void>;
}

/**
 * The two benchmark phases, the same in every mode: (1) `total` transactions as fast as ingest accepts them,
 * timed until every decision is stored; (2) a fixed rate, with ingest → decision latency read from tx.scored and
 * ingest → alert latency seen by an analyst's WebSocket client. Prints the figures.
 */
export async function measureThroughputAndLatency(target: BenchTarget): Promise<void> {
  const { total, rateTps, rateSeconds, batchSize, concurrency, keys } = target;
  const admin = apiClient(target.dashboardsUrl, keys.admin);
  const decided = async (): Promise<number> =>
    (await admin.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body.decisionRows;
  // 50,000 customers × 4 a day = 200,000 transactions a simulated day: start the stream far enough back.
  const streamStartMs = Date.now() - Math.ceil((total + rateTps * rateSeconds) / 200_000 + 2) * 86_400_000;
  const job = {
    url: target.ingestUrl,
    alertsUrl: target.dashboardsUrl,
    ingestKey: keys.ingest,
    analystKey: keys.analyst,
    seed: 1,
    streamStartMs,
    batchSize,
    concurrency,
    rateTps,
    seconds: rateSeconds,
  };

  const burst = await runLoad({ ...job, mode: 'burst', skip: 0, count: total });
  const accepted = burst.accepted ?? total;
  if (accepted < total) process.stdout.write(`note: ingest refused ${total - accepted} of ${total} transactions\n`);
  await waitFor(
    `all ${accepted} accepted transactions decided`,
    async () => ((await decided()) >= accepted ? true : undefined),
    900_000,
    50,
  );
  const storedMs = Date.now() - burst.startedAtMs;
  process.stdout.write(
    `throughput: ${total} transactions, batches of ${batchSize}, ${concurrency} requests in flight\n` +
      `  accepted by ingest (202, ${target.acceptedMeans}): ${Math.round(total / (burst.elapsedMs / 1000))} tx/s\n` +
      `  end to end (${target.endToEndMeans}): ${Math.round(total / (storedMs / 1000))} tx/s\n`,
  );
  await target.afterThroughput?.();

  const scoredCodec = await createCodec<ScoredTransaction>(new EmbeddedSchemaRegistry(), Topics.transactionsScored);
  const decisionLatency: number[] = [];
  const scored = await target.bus.subscribe(
    { groupId: `bench-latency-${Date.now()}`, topics: [Topics.transactionsScored], startFrom: 'latest' },
    async (batch) => {
      const seenAt = Date.now();
      for (const r of batch.records)
        decisionLatency.push(seenAt - (await scoredCodec.decode(r.value)).transaction.receivedAtMs);
    },
  );
  const paced = await runLoad({ ...job, mode: 'paced', skip: total, count: 0 });
  await waitFor(
    'every paced decision seen',
    () => (decisionLatency.length >= paced.sent ? true : undefined),
    300_000,
    50,
  );
  await scored.close();
  process.stdout.write(
    `latency: target ${rateTps} tx/s for ${rateSeconds} s, achieved ${Math.round(paced.sent / (paced.elapsedMs / 1000))} tx/s\n` +
      `  ingest → decision on tx.scored:  ${summarize(decisionLatency)}\n` +
      `  ingest → alert on the WebSocket: ${summarize(paced.alertLatenciesMs)}\n`,
  );

  // (3) Synchronous decisions: one transaction per POST /v1/decisions, the answer timed by the caller.
  let skip = total + rateTps * rateSeconds;
  for (const rate of target.syncRates) {
    const sync = await runLoad({ ...job, mode: 'sync', skip, count: 0, rateTps: rate, seconds: target.syncSeconds });
    skip += sync.sent;
    process.stdout.write(
      `sync decisions: target ${rate} requests/s for ${target.syncSeconds} s, achieved ${Math.round(sync.sent / (sync.elapsedMs / 1000))}/s; ` +
        `${sync.decided} decided (200), ${sync.pastDeadline} past the deadline (202)\n` +
        `  POST /v1/decisions → answer: ${summarize(sync.syncLatenciesMs ?? [])}\n`,
    );
  }
}
