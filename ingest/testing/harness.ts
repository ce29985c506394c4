import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bus, BusRecord } from '../../platform/bus.js';
import { ManualClock } from '../../platform/clock.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { createCodec } from '../../schemas/codec.js';
import type { DeadLetter, Transaction } from '../../schemas/generated/types.js';
import { topicSpecs } from '../../schemas/partitions.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import { NOW_MS, recordingLogger } from './fixtures.js';

/** Reads every record of a topic through the Bus port. */
export async function readAll(bus: Bus, topic: string): Promise<BusRecord[]> {
  const ends = await bus.endOffsets(topic);
  // `read` answers at most what one read holds (bounded by bytes, not only by count): read on until each end.
  const readPartition = async (partition: number, end: number): Promise<BusRecord[]> => {
    const records: BusRecord[] = [];
    let from = 0;
    while (from < end) {
      const next = await bus.read(topic, partition, from, end - from);
      if (next.length === 0) break;
      records.push(...next);
      from = next[next.length - 1]!.offset + 1;
    }
    return records;
  };
  const parts = await Promise.all(ends.map((end, partition) => readPartition(partition, end)));
  return parts.flat();
}

/** Records (of any topic) whose raw bytes, key or headers contain `needle` anywhere. */
export function recordsContaining(records: readonly BusRecord[], needle: string): BusRecord[] {
  const bytes = Buffer.from(needle, 'utf8');
  return records.filter(
    (r) =>
      r.value.includes(bytes) ||
      (r.key ?? '').includes(needle) ||
      Object.values(r.headers).some((h) => h.includes(needle)),
  );
}

/** Shared pieces of an ingest test: a temp data dir, a registry, codecs, a manual clock, metrics and a recording logger. */
export async function testContext(bus: Bus) {
  const dataDir = await mkdtemp(join(tmpdir(), 'vigil-ingest-'));
  await bus.ensureTopics(topicSpecs(4));
  const registry = new EmbeddedSchemaRegistry();
  return {
    bus,
    dataDir,
    registry,
    clock: new ManualClock(NOW_MS),
    metrics: new MetricsRegistry(),
    logger: recordingLogger(),
    transactions: await createCodec<Transaction>(registry, Topics.transactionsRaw),
    deadLetters: await createCodec<DeadLetter>(registry, Topics.deadLetters),
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
}
