/**
 * How cost grows with work (a command, not a test): `npm run bench:growth`, i.e.
 *
 *   node --expose-gc --import tsx bench/cost-growth.bench.ts
 *
 * BENCH_GROWTH_CUSTOMERS (default 1,000,000) simulated customers, with BENCH_GROWTH_TERMINALS (10,000) terminals,
 * send BENCH_GROWTH_TRANSACTIONS (default 10,000,000) transactions through the stages' work (bench/stage-work.ts:
 * ingest's validation, tokenisation and encoding; scoring's decode, features, model and encode; ledger-sink's
 * postings and ClickHouse rows), in batches of 500, in one thread with no I/O. Every BENCH_GROWTH_WINDOW (1,000,000)
 * transactions it prints the window's throughput (stage work per CPU second, and per wall second including
 * generating the traffic) and, after two full collections, the heap (+ typed arrays) beyond the baseline and
 * scoring's feature state: keys and pool bytes per customer seen.
 *
 * This is the stage-work level, not the pipeline: at the pipeline's ~2,000 tx/s end to end, 10 M transactions take
 * well over an hour; the log, chDB and HTTP costs are `npm run bench`'s to measure. The state that grows with
 * customers lives in scoring (the feature engine); ingest's idempotency ids and their bound are measured by
 * bench/bounded-state.bench.ts.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { readInt } from '../platform/config.js';
import { startProgress } from '../platform/progress.js';
import { TrafficSimulator } from '../simulator/generator.js';
import { StageWork } from './stage-work.js';

const env = process.env;
const customers = readInt(env, 'BENCH_GROWTH_CUSTOMERS', 1_000_000, { min: 1_000, max: 20_000_000 });
const transactions = readInt(env, 'BENCH_GROWTH_TRANSACTIONS', 10_000_000, { min: 10_000 });
const windowSize = readInt(env, 'BENCH_GROWTH_WINDOW', 1_000_000, { min: 1_000 });
// The handbook's density: its 10,000 terminals on the 100 × 100 grid put about 78 within each customer's radius of
// 5. Scaling terminals with customers instead (200,000 for 1 M) put 1,570 in reach of each, and the simulator's list
// of them (6 KB a customer) became the largest state in the run, and building it most of the run's time.
const terminals = readInt(env, 'BENCH_GROWTH_TERMINALS', 10_000, { min: 1_000 });
const batchSize = 500;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc (see the header of this file)');

/** Heap plus typed-array backing stores after two full collections, in bytes. */
function retainedBytes(): number {
  gc!();
  gc!();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const DAY_MS = 86_400_000;
const txPerCustomerPerDay = 4;
const days = Math.ceil(transactions / (customers * txPerCustomerPerDay)) + 1;

console.log(
  `${new Date().toISOString()} ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${mib(totalmem())}, Node ${process.version}; ` +
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(
        ' ',
      )}; ${customers} customers, ${terminals} terminals, ${transactions} transactions, windows of ${windowSize}`,
);
const simulator = new TrafficSimulator({
  seed: 7,
  // Far enough back that the last event is not in the future, within ingest's 30-day event-age limit.
  startTimeMs: Math.floor(Date.now() / DAY_MS - days) * DAY_MS,
  customers,
  terminals,
  meanTxPerCustomerPerDay: txPerCustomerPerDay,
});
// The simulator keeps each customer's nearby terminals and cash points once it first needs them: built here for every
// customer, so that what the process retains beyond the baseline is the stages' state, not the traffic generator's.
for (let customer = 0; customer < customers; customer++) {
  simulator.population.terminalsNear(customer);
  simulator.population.cashPointsNear(customer);
}
const work = await StageWork.create();
const baseline = retainedBytes();
console.log(`baseline (model, simulator for ${customers} customers and ${terminals} terminals): ${mib(baseline)}`);
console.log(
  'window  transactions  stage-work tx/CPU-s  wall tx/s  retained  customers seen  state keys  pool bytes/customer  retained/customer',
);

const windows: Array<Record<string, number>> = [];
const windowProgress = (): ReturnType<typeof startProgress> =>
  startProgress(`window ${windows.length + 1}`, Math.min(windowSize, transactions - done), { unit: 'tx' });
let done = 0;
let progress = windowProgress();
let windowStarted = performance.now();
let workUsAtWindowStart = 0;
while (done < transactions) {
  const batch = simulator.take(Math.min(batchSize, transactions - done)).map((s) => s.request);
  await work.run(batch);
  done += batch.length;
  progress.update(done - (windows.at(-1)?.['transactions'] ?? 0));
  if (done % windowSize !== 0 && done < transactions) continue;
  const totals = work.totals();
  const workUs = totals.us.ingest + totals.us.scoring + totals.us['ledger-sink'];
  const wallSeconds = (performance.now() - windowStarted) / 1000;
  const inWindow = done - (windows.length === 0 ? 0 : windows.at(-1)!['transactions']!);
  const retained = retainedBytes() - baseline;
  const state = work.stateStats();
  const row = {
    window: windows.length + 1,
    transactions: done,
    stageWorkTps: Math.round(inWindow / ((workUs - workUsAtWindowStart) / 1e6)),
    wallTps: Math.round(inWindow / wallSeconds),
    retainedBytes: retained,
    customersSeen: state.customers,
    stateKeys: state.cards + state.customers + state.terminals + state.devices,
    poolBytesPerCustomer: Math.round(state.bytes / Math.max(1, state.customers)),
    retainedBytesPerCustomer: Math.round(retained / Math.max(1, state.customers)),
  };
  windows.push(row);
  progress.stop();
  console.log(
    `${String(row.window).padStart(6)}  ${String(row.transactions).padStart(12)}  ${String(row.stageWorkTps).padStart(19)}  ` +
      `${String(row.wallTps).padStart(9)}  ${mib(retained).padStart(8)}  ${String(row.customersSeen).padStart(14)}  ` +
      `${String(row.stateKeys).padStart(10)}  ${String(row.poolBytesPerCustomer).padStart(19)}  ${String(row.retainedBytesPerCustomer).padStart(17)}`,
  );
  workUsAtWindowStart = workUs;
  windowStarted = performance.now();
  if (done < transactions) progress = windowProgress();
}
work.close();
console.log(
  `load average at the end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(JSON.stringify({ customers, terminals, transactions, windowSize, loadavg: loadavg(), windows }));
