/**
 * `npx tsx bench/offset-commits.bench.ts`: what the embedded log's offset commits cost when every batch is one record,
 * as under synchronous decisions — BENCH_COMMIT_GROUPS (default 4, the `after-batch` groups of the embedded
 * pipeline) each commit after every batch, BENCH_COMMIT_ROUNDS (default 2,000) times, one partition of 8 moving on per
 * round. Prints the wall time and the process's CPU (every thread: libuv's pool does the file work) per round.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readInt } from '../platform/config.js';
import { GroupOffsetStore } from '../platform/embedded-log/stores.js';

const env = process.env;
const groups = readInt(env, 'BENCH_COMMIT_GROUPS', 4, { min: 1 });
const rounds = readInt(env, 'BENCH_COMMIT_ROUNDS', 2_000, { min: 1 });
const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-commits-'));
try {
  const store = await GroupOffsetStore.load(dir);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let round = 0; round < rounds; round++) {
    const position = { topic: 'tx.scored', partition: round % 8, offset: round + 1 };
    await Promise.all(Array.from({ length: groups }, (_, g) => store.commit(`group-${g}`, [position])));
  }
  const wallUs = ((performance.now() - started) * 1000) / rounds;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuUs = (cpu.user + cpu.system) / rounds;
  process.stdout.write(
    `${rounds} rounds of ${groups} groups' commits: ${wallUs.toFixed(0)} µs wall, ${cpuUs.toFixed(0)} µs CPU per round; ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n`,
  );
  // The store of an older checkout may have no close().
  await (store as { close?: () => Promise<void> }).close?.();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
