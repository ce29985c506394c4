/**
 * Micro-benchmark of the embedded log: acknowledged (fsync'd) appends/s with concurrent producers, then
 * consume throughput of a consumer group reading everything back from disk after a reopen.
 * Run: npx tsx platform/embedded-log/bench.ts [secondsPerScenario]
 */
import { open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OutgoingRecord } from '../bus.js';
import { EmbeddedLog } from './embedded-log.js';
import { makeTempDir, removeTempDir } from './test-helpers.js';

const topic = 'bench';
const partitions = 4;
const valueBytes = 300;
const secondsPerScenario = Number(process.argv[2] ?? 3);
/** Optional `concurrency x batch` pairs, e.g. `8x1,64x1`; default: the full set. */
const onlyScenarios = process.argv[3]?.split(',').map((pair) => pair.split('x').map(Number) as [number, number]);

function print(line: string): void {
  process.stdout.write(line + '\n');
}

function makeRecords(count: number, seed: number): OutgoingRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    key: `account-${(seed + i) % 1000}`,
    value: Buffer.alloc(valueBytes, 97 + ((seed + i) % 26)),
    headers: { 'content-type': 'avro' },
  }));
}

async function measureFdatasyncMicros(dir: string): Promise<number> {
  const handle = await openFile(join(dir, 'fsync-probe'), 'w');
  const block = Buffer.alloc(512, 1);
  const rounds = 500;
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) {
    await handle.write(block, 0, block.length, i * block.length);
    await handle.datasync();
  }
  const micros = Number(process.hrtime.bigint() - started) / rounds / 1000;
  await handle.close();
  return micros;
}

async function produceScenario(log: EmbeddedLog, concurrency: number, batchSize: number): Promise<void> {
  const producer = log.producer();
  const batches = Array.from({ length: 64 }, (_, i) => makeRecords(batchSize, i * batchSize));
  const before = log.stats;
  const deadline = performance.now() + secondsPerScenario * 1000;
  let acknowledged = 0;
  const latencies: number[] = [];
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let i = worker; performance.now() < deadline; i += concurrency) {
        const sent = performance.now();
        await producer.send(topic, batches[i % batches.length]!);
        latencies.push(performance.now() - sent);
        acknowledged += batchSize;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const after = log.stats;
  latencies.sort((a, b) => a - b);
  const syncs = after.partitionSyncs - before.partitionSyncs;
  print(
    `produce  concurrency=${String(concurrency).padStart(2)} batch=${String(batchSize).padStart(3)}: ` +
      `${Math.round(acknowledged / seconds)
        .toLocaleString('en-US')
        .padStart(9)} acked records/s, ` +
      `${(acknowledged / (after.flushes - before.flushes)).toFixed(1)} records/round, ` +
      `${(acknowledged / syncs).toFixed(1)} records/fdatasync, ` +
      `${(syncs / seconds).toFixed(0)} fdatasync/s, ` +
      `CPU ${((cpu.user + cpu.system) / acknowledged).toFixed(1)} µs/record, ` +
      `send latency p50=${latencies[latencies.length >> 1]!.toFixed(2)} ms p99=${latencies[Math.floor(latencies.length * 0.99)]!.toFixed(2)} ms`,
  );
}

async function consumeScenario(dir: string): Promise<void> {
  const log = await EmbeddedLog.open({ dir });
  try {
    const total = (await log.endOffsets(topic)).reduce((a, b) => a + b, 0);
    let consumed = 0;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const started = performance.now();
    const subscription = await log.subscribe({ groupId: 'bench', topics: [topic], maxBatchRecords: 500 }, (batch) => {
      consumed += batch.records.length;
      if (consumed >= total) done();
      return Promise.resolve();
    });
    await finished;
    const seconds = (performance.now() - started) / 1000;
    await subscription.close();
    print(
      `consume  (cold, from disk after reopen, batches ≤500, commit after each): ${Math.round(consumed / seconds).toLocaleString('en-US')} records/s (${consumed.toLocaleString('en-US')} records)`,
    );

    const replayStarted = performance.now();
    let replayed = 0;
    for (let partition = 0; partition < partitions; partition++) {
      const end = (await log.endOffsets(topic))[partition]!;
      for (let offset = 0; offset < end;) {
        const records = await log.read(topic, partition, offset, 1000);
        offset += records.length;
        replayed += records.length;
      }
    }
    print(
      `replay   read() pages of 1000: ${Math.round(replayed / ((performance.now() - replayStarted) / 1000)).toLocaleString('en-US')} records/s`,
    );
  } finally {
    await log.close();
  }
}

async function main(): Promise<void> {
  const dir = await makeTempDir('vigil-embedded-log-bench-');
  try {
    print(
      `embedded log bench: ${partitions} partitions, ${valueBytes}-byte values, ${secondsPerScenario} s per scenario, dir ${dir}`,
    );
    print(`raw write+fdatasync on this disk: ${(await measureFdatasyncMicros(dir)).toFixed(0)} µs`);
    const logDir = join(dir, 'log');
    const log = await EmbeddedLog.open({ dir: logDir, topics: [{ topic, partitions }] });
    try {
      const scenarios: ReadonlyArray<readonly [number, number]> = onlyScenarios ?? [
        [1, 1],
        [8, 1],
        [64, 1],
        [256, 1],
        [8, 100],
      ];
      for (const [concurrency, batchSize] of scenarios) await produceScenario(log, concurrency, batchSize);
      if (onlyScenarios !== undefined) return;
      // A live consumer on the tail cache while producers run.
      let live = 0;
      const subscription = await log.subscribe({ groupId: 'live', topics: [topic], startFrom: 'latest' }, (batch) => {
        live += batch.records.length;
        return Promise.resolve();
      });
      const started = performance.now();
      await produceScenario(log, 8, 100);
      const endedAt = performance.now();
      await subscription.close();
      print(
        `consume  (live tail while producing): ${Math.round(live / ((endedAt - started) / 1000)).toLocaleString('en-US')} records/s`,
      );
    } finally {
      await log.close();
    }
    await consumeScenario(logDir);
  } finally {
    await removeTempDir(dir);
  }
}

await main();
