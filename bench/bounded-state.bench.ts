/**
 * Memory and disk of the state that grows with customers, for BENCHMARKS.md (a command, not a test):
 *
 *   node --expose-gc --import tsx bench/bounded-state.bench.ts            (BENCH_CUSTOMERS, default 1,000,000)
 *
 * 1. Feature engine: every customer pays twice (own card and device, one of 10,000 shared terminals), spread over
 *    one day of event time. Reports heap + typed-array bytes per customer, the keys held, the snapshot bytes (what
 *    the scoring snapshot writes to disk), then the same after one event 39 days later and `evictIdle`.
 * 2. Idempotency store: one accepted id per customer (batches of 1,000), then the window passes and one more
 *    remember forgets them and compacts the journal. Reports bytes per id in memory and on disk.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { loadavg, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { FileIdempotencyStore } from '../ingest/adapters/file-idempotency-store.js';
import type { IdempotencyRecord } from '../ingest/ports.js';
import { ManualClock } from '../platform/clock.js';
import { readInt } from '../platform/config.js';
import { silentLogger } from '../platform/logger.js';
import { FeatureEngine } from '../scoring/domain/features.js';
import { aTransaction } from '../scoring/testing/transactions.js';

const DAY = 86_400_000;
const customers = readInt(process.env, 'BENCH_CUSTOMERS', 1_000_000, { min: 1_000, max: 20_000_000 });
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc (see the header of this file)');

/** Heap plus typed-array backing stores after a full collection, in bytes. */
function retainedBytes(): number {
  gc!();
  gc!();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const perCustomer = (bytes: number): string => `${Math.round(bytes / customers)} B`;

function snapshotBytes(engine: FeatureEngine): number {
  const snapshot = engine.snapshot();
  let bytes = 0;
  for (const table of [snapshot.cards, snapshot.customers, snapshot.terminals, snapshot.devices]) {
    bytes += table.f64.length + table.f32.length + table.i32.length;
    bytes += JSON.stringify(table.keys).length + JSON.stringify(table.namespaces).length;
  }
  return bytes;
}

function featureEngine(): Record<string, unknown> {
  const start = 1_760_000_000_000;
  const baseline = retainedBytes();
  const engine = new FeatureEngine();
  const begun = performance.now();
  for (let round = 0; round < 2; round++) {
    for (let c = 0; c < customers; c++) {
      engine.observe(
        aTransaction({
          transactionId: `tx-${round}-${c}`,
          customerId: `cust-${c}`,
          payerAccountId: `acct-${c}`,
          card: { token: `tok-${c}`, bin: '411111', last4: '1111', present: c % 3 !== 0 },
          deviceId: `dev-${c}`,
          terminalId: `term-${c % 10_000}`,
          payeeAccountId: `acct-merch-${c % 10_000}`,
          eventTimeMs: start + round * (DAY / 2) + Math.floor((c / customers) * (DAY / 2)),
          amountMinor: BigInt(500 + (c % 20_000)),
        }),
      );
    }
  }
  const observeSeconds = (performance.now() - begun) / 1000;
  const held = retainedBytes() - baseline;
  const stats = engine.stats();
  const snapshot = snapshotBytes(engine);
  engine.observe(aTransaction({ transactionId: 'late', eventTimeMs: start + 40 * DAY }));
  const evicted = engine.evictIdle();
  const after = retainedBytes() - baseline;
  const statsAfter = engine.stats();
  const result = {
    observed: 2 * customers,
    observePerSecond: Math.round((2 * customers) / observeSeconds),
    keys: stats,
    retained: held,
    snapshot,
    evicted,
    keysAfterEviction: statsAfter,
    retainedAfterEviction: after,
  };
  console.log(
    `feature engine: ${customers} customers → ${mb(held)} retained (${perCustomer(held)}/customer; pools ` +
      `${mb(stats.bytes)}), snapshot ${mb(snapshot)} (${perCustomer(snapshot)}/customer); ` +
      `${result.observePerSecond} observe/s; after 39 idle days evictIdle removed ${evicted} keys → ${mb(after)}`,
  );
  return result;
}

async function idempotencyStore(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-idempotency-'));
  try {
    const clock = new ManualClock(1_760_000_000_000);
    const windowMs = 7 * DAY;
    const baseline = retainedBytes();
    const store = await FileIdempotencyStore.open(dir, silentLogger, { windowMs, clock });
    const fingerprint = 'ab'.repeat(32);
    for (let from = 0; from < customers; from += 1_000) {
      const batch: IdempotencyRecord[] = [];
      for (let c = from; c < Math.min(customers, from + 1_000); c++)
        batch.push({ transactionId: `tx-0-${c}`, fingerprint, partition: c % 8, offset: Math.floor(c / 8) });
      await store.remember(batch);
    }
    const held = retainedBytes() - baseline;
    const journal = (await stat(join(dir, 'idempotency.tsv'))).size;
    clock.advance(windowMs);
    await store.remember([{ transactionId: 'after-window', fingerprint, partition: 0, offset: 0 }]);
    const after = retainedBytes() - baseline;
    const journalAfter = (await stat(join(dir, 'idempotency.tsv'))).size;
    const result = { ids: customers, retained: held, journal, idsAfterWindow: store.size(), after, journalAfter };
    await store.close();
    console.log(
      `idempotency store: ${customers} ids → ${mb(held)} retained (${perCustomer(held)}/id), journal ` +
        `${mb(journal)} (${perCustomer(journal)}/id); after the window: ${result.idsAfterWindow} id, ` +
        `${mb(after)} retained, journal ${journalAfter} B`,
    );
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${mb(totalmem())}, Node ${process.version}`;
console.log(
  `${new Date().toISOString()} ${machine}; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const features = featureEngine();
const idempotency = await idempotencyStore();
console.log(JSON.stringify({ customers, machine, loadavg: loadavg(), features, idempotency }));
