/**
 * `npx tsx bench/scoring-snapshot.bench.ts`: what one scoring snapshot costs, full against changes only, on the
 * feature state of the benchmark's stream (50,000 customers, 20,000 terminals; bench/traffic.ts) after
 * BENCH_WARM_TRANSACTIONS (default 50,000). For each of BENCH_SNAPSHOT_CHANGED (default 500,5000: 5 s at 100 and
 * 1,000 tx/s) more transactions: the time the JavaScript thread spends copying and encoding (scoring waits for it),
 * the bytes, and the time to encode and write them durably (a full snapshot: tmp + fsync + rename + dir fsync; changes:
 * one append and fdatasync) — through the store the stage uses. Medians of BENCH_SNAPSHOT_REPEATS (default 5).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readInt } from '../platform/config.js';
import { FileSnapshotStore } from '../scoring/adapters/snapshot-store.js';
import { FeatureEngine } from '../scoring/domain/features.js';
import type { ScoringChanges, ScoringSnapshot } from '../scoring/ports.js';
import { TrafficSimulator } from '../simulator/generator.js';

const env = process.env;
const warm = readInt(env, 'BENCH_WARM_TRANSACTIONS', 50_000, { min: 1 });
const repeats = readInt(env, 'BENCH_SNAPSHOT_REPEATS', 5, { min: 1 });
const changedCounts = (env['BENCH_SNAPSHOT_CHANGED'] ?? '500,5000').split(',').map(Number);

const simulator = new TrafficSimulator({
  seed: 1,
  startTimeMs: Date.now() - 30 * 86_400_000,
  customers: 50_000,
  terminals: 20_000,
  meanTxPerCustomerPerDay: 4,
});
const engine = new FeatureEngine();
const observe = (n: number): void => {
  for (const { transaction } of simulator.take(n)) engine.observe(transaction);
};
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ms = (from: number): number => performance.now() - from;

const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-snapshot-'));
try {
  process.stdout.write(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
  observe(warm);
  const store = new FileSnapshotStore(join(dir, 'state.snapshot'), { minCompactionBytes: Number.MAX_SAFE_INTEGER });
  const fullSnapshot = (): ScoringSnapshot => ({
    format: 'vigil.scoring-snapshot.v1',
    writtenAtMs: Date.now(),
    offsets: [],
    engine: engine.snapshot(),
  });
  await store.save(fullSnapshot());
  const keys = engine.stats();
  process.stdout.write(
    `state after ${warm} transactions: ${keys.cards} cards, ${keys.customers} customers, ${keys.terminals} terminals, ${keys.devices} devices\n`,
  );
  /** Bytes of the store's files: the full snapshot, or (right after a save and one append) that append. */
  const stored = (kind: 'snapshot' | 'changes'): number =>
    readdirSync(dir)
      .filter((name) => (kind === 'changes' ? name.includes('.changes-') : name === 'state.snapshot'))
      .reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
  for (const changed of changedCounts) {
    const full = { copyMs: [] as number[], saveMs: [] as number[], bytes: 0 };
    const delta = { copyMs: [] as number[], appendMs: [] as number[], bytes: 0, customers: 0 };
    for (let r = 0; r < repeats; r++) {
      observe(changed);
      // The same state both ways: the changes first (a full copy is the base the next changes follow).
      let started = performance.now();
      const changes: ScoringChanges = {
        format: 'vigil.scoring-changes.v1',
        writtenAtMs: Date.now(),
        offsets: [],
        engine: engine.changes(),
        funds: { accounts: [] },
      };
      delta.copyMs.push(ms(started));
      started = performance.now();
      await store.append(changes);
      delta.appendMs.push(ms(started));
      delta.bytes = stored('changes');
      delta.customers = changes.engine.customers.written.keys.length;
      started = performance.now();
      const snapshot = fullSnapshot();
      full.copyMs.push(ms(started));
      started = performance.now();
      await store.save(snapshot);
      full.saveMs.push(ms(started));
      full.bytes = stored('snapshot');
    }
    const f = (values: number[]): string => median(values).toFixed(1);
    process.stdout.write(
      `${changed} transactions since the last snapshot (${delta.customers} customers touched; median of ${repeats}): ` +
        `full ${(full.bytes / 1e6).toFixed(1)} MB, copy ${f(full.copyMs)} ms, encode + durable write ${f(full.saveMs)} ms; ` +
        `changes ${(delta.bytes / 1e6).toFixed(2)} MB, copy ${f(delta.copyMs)} ms, encode + append + fdatasync ${f(delta.appendMs)} ms; ` +
        `load average ${loadavg()[0]!.toFixed(2)}\n`,
    );
  }
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
