/**
 * The benchmark's client, run as its own process so that generating and posting traffic does not compete with
 * the pipeline's thread. Reads a JSON job from argv[2], prints one JSON line of results to stdout.
 *
 *  - mode "burst": post `count` transactions as fast as ingest accepts them (batches, `concurrency` in flight).
 *  - mode "paced": post `rateTps` transactions per second for `seconds`, open loop with a cap on requests in
 *    flight, while listening on the live alert WebSocket to measure ingest → alert latency as an analyst sees it.
 *  - mode "sync": `rateTps` requests per second to `POST /v1/decisions`, one transaction each, for `seconds`,
 *    open loop (at most 512 in flight), timing each answer as the payment system would see it.
 */
import WebSocket from 'ws';
import type { IngestBatchResponse, LiveMessage, TransactionRequest } from '../schemas/api.js';
import { benchRequests } from './traffic.js';

export interface LoadJob {
  readonly mode: 'burst' | 'paced' | 'sync';
  /** Base URL of ingest. */
  readonly url: string;
  /** Base URL of dashboards (the live alert WebSocket); the same process as ingest in the embedded default. */
  readonly alertsUrl?: string;
  readonly ingestKey: string;
  readonly analystKey: string;
  readonly seed: number;
  /** Event time of the stream's first transaction (epoch ms). */
  readonly streamStartMs: number;
  /** Transactions of the seed's stream to skip first (a later phase continues where an earlier one ended). */
  readonly skip: number;
  readonly count: number;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly rateTps: number;
  readonly seconds: number;
  /**
   * Mode "burst": once the traffic is generated, print `{"ready":true}` and wait for a line on stdin before the
   * first request, so the caller can start its meters at that moment.
   */
  readonly handshake?: boolean;
}

export interface LoadResult {
  readonly sent: number;
  /** Mode "burst": how many of `sent` ingest accepted; the benchmark waits for exactly that many decisions. */
  readonly accepted?: number;
  /** Wall-clock time (epoch ms) the first request went out, after the traffic was generated. */
  readonly startedAtMs: number;
  readonly elapsedMs: number;
  readonly alertLatenciesMs: number[];
  /** Mode "sync": client-side latency of every answer, and how many were 200 (decided) and 202 (deadline). */
  readonly syncLatenciesMs?: number[];
  readonly decided?: number;
  readonly pastDeadline?: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as LoadJob;

const generate = (count: number): TransactionRequest[] =>
  benchRequests({ seed: job.seed, streamStartMs: job.streamStartMs, skip: job.skip, count });

async function handshake(): Promise<void> {
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.pause();
}

/** Posts one batch; returns how many items ingest accepted (the rest were refused, each with its problems). */
async function post(items: TransactionRequest[]): Promise<number> {
  const response = await fetch(`${job.url}/v1/transactions/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${job.ingestKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(items),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`batch answered ${response.status}: ${text.slice(0, 300)}`);
  return (JSON.parse(text) as IngestBatchResponse).summary.accepted;
}

async function burst(): Promise<LoadResult> {
  const all = generate(job.count);
  if (job.handshake === true) await handshake();
  const startedAtMs = Date.now();
  const started = performance.now();
  let next = 0;
  let accepted = 0;
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      for (let i = next; i < all.length; i = next) {
        next += job.batchSize;
        // Not `accepted += await post(…)`: that reads `accepted` before the await, and four concurrent loops
        // would each add to a stale value.
        const acceptedNow = await post(all.slice(i, i + job.batchSize));
        accepted += acceptedNow;
      }
    }),
  );
  return { sent: all.length, accepted, startedAtMs, elapsedMs: performance.now() - started, alertLatenciesMs: [] };
}

/**
 * Sends `all` at `job.rateTps`, open loop: every 10 ms tick starts the calls for that tick's share, whether or
 * not earlier ones have answered, with at most `maxInFlight` outstanding. Resolves when every call has answered.
 */
async function openLoop(
  all: readonly TransactionRequest[],
  maxInFlight: number,
  callsFor: (tickItems: TransactionRequest[]) => Array<() => Promise<unknown>>,
): Promise<{ startedAtMs: number; elapsedMs: number }> {
  const tickMs = 10;
  const startedAtMs = Date.now();
  const started = performance.now();
  const inFlight = new Set<Promise<unknown>>();
  // Tick t sends what is due by then, floor(rate × t × 10 ms): exact at any rate (a fixed share per tick, at
  // least one, sent 100/s whenever the target was below that).
  for (let i = 0, tick = 1; i < all.length; tick++) {
    const due = Math.min(all.length, Math.floor((job.rateTps * tick * tickMs) / 1000));
    if (due === i) continue;
    const wait = started + (tick - 1) * tickMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const tickItems = all.slice(i, due);
    i = due;
    for (const call of callsFor(tickItems)) {
      while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      const running: Promise<unknown> = call().finally(() => inFlight.delete(running));
      inFlight.add(running);
    }
  }
  await Promise.all(inFlight);
  return { startedAtMs, elapsedMs: performance.now() - started };
}

async function paced(): Promise<LoadResult> {
  const all = generate(job.rateTps * job.seconds);
  const alertLatenciesMs: number[] = [];
  const socket = new WebSocket(`${(job.alertsUrl ?? job.url).replace('http', 'ws')}/v1/alerts/live`, [
    'vigil.v1',
    `bearer.${job.analystKey}`,
  ]);
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString('utf8')) as LiveMessage;
    if (message.type === 'alert') alertLatenciesMs.push(Date.now() - message.alert.receivedAtMs);
  });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  // One batch request per tick.
  const { startedAtMs, elapsedMs } = await openLoop(all, 32, (tickItems) => [() => post(tickItems)]);
  // Alerts for the last transactions are still on their way: listen a little longer.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  socket.close();
  return { sent: all.length, startedAtMs, elapsedMs, alertLatenciesMs };
}

async function sync(): Promise<LoadResult> {
  const all = generate(job.rateTps * job.seconds);
  const syncLatenciesMs: number[] = [];
  let decided = 0;
  let pastDeadline = 0;
  const decide = async (request: TransactionRequest): Promise<void> => {
    const started = performance.now();
    const response = await fetch(`${job.url}/v1/decisions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${job.ingestKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
    await response.arrayBuffer();
    syncLatenciesMs.push(Math.round(performance.now() - started));
    if (response.status === 200) decided++;
    else if (response.status === 202) pastDeadline++;
    else throw new Error(`POST /v1/decisions answered ${response.status}`);
  };
  // One request per transaction.
  const { startedAtMs, elapsedMs } = await openLoop(all, 512, (tickItems) => tickItems.map((r) => () => decide(r)));
  return { sent: all.length, startedAtMs, elapsedMs, alertLatenciesMs: [], syncLatenciesMs, decided, pastDeadline };
}

const result = job.mode === 'burst' ? await burst() : job.mode === 'paced' ? await paced() : await sync();
process.stdout.write(JSON.stringify(result) + '\n');
