/** Helpers for the embedded log's tests (not a test file itself). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bus, BusRecord } from '../bus.js';

/** A fresh temporary directory; pass it to `removeTempDir` in afterEach. */
export function makeTempDir(prefix = 'vigil-embedded-log-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export function removeTempDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/**
 * Waits until `condition` holds, checking every few milliseconds, and fails after `timeoutMs` naming what it
 * waited for. Synchronisation by condition, never by a fixed sleep. The default bound is generous on purpose: it
 * only decides how long a real failure takes to report, and a rebalance on a loaded machine takes seconds.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  description: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Every record of a partition from offset 0, read in pages. */
export async function readAll(bus: Bus, topic: string, partition: number, pageSize = 1000): Promise<BusRecord[]> {
  const end = (await bus.endOffsets(topic))[partition]!;
  const records: BusRecord[] = [];
  while (records.length < end) records.push(...(await bus.read(topic, partition, records.length, pageSize)));
  return records;
}

/** What the crash writer acknowledged: record `id` was durable at `partition`/`offset`. */
export interface Acknowledgement {
  readonly id: number;
  readonly partition: number;
  readonly offset: number;
}

export const crashTopic = 'crash-test';
export const crashPartitions = 4;

/** The record the crash writer sends for `id`; the checker recomputes it to verify content. */
export function crashRecord(id: number): { key: string; value: Buffer; headers: Record<string, string> } {
  return {
    key: `account-${id % 97}`,
    value: Buffer.from(`record ${id} `.padEnd(300, String.fromCharCode(97 + (id % 26)))),
    headers: { id: String(id) },
  };
}

/** Parses the writer's stdout lines `ack <id> <partition> <offset>`. */
export function parseAcknowledgements(output: string): Acknowledgement[] {
  const acks: Acknowledgement[] = [];
  for (const line of output.split('\n')) {
    const match = /^ack (\d+) (\d+) (\d+)$/.exec(line);
    if (match !== null) acks.push({ id: Number(match[1]), partition: Number(match[2]), offset: Number(match[3]) });
  }
  return acks;
}

/**
 * Checks that every acknowledged record is in the log, at its acknowledged position, intact. Returns one
 * problem per missing or altered record (empty when all is well).
 */
export async function findLostAcknowledgements(bus: Bus, acks: readonly Acknowledgement[]): Promise<string[]> {
  const problems: string[] = [];
  const ends = await bus.endOffsets(crashTopic);
  for (const ack of acks) {
    if (ack.offset >= ends[ack.partition]!) {
      problems.push(
        `id ${ack.id}: offset ${ack.offset} of partition ${ack.partition} is missing (end offset ${ends[ack.partition]})`,
      );
      continue;
    }
    const [record] = await bus.read(crashTopic, ack.partition, ack.offset, 1);
    const expected = crashRecord(ack.id);
    if (record === undefined || record.offset !== ack.offset)
      problems.push(`id ${ack.id}: nothing read at ${ack.partition}/${ack.offset}`);
    else if (
      record.key !== expected.key ||
      !record.value.equals(expected.value) ||
      record.headers.id !== expected.headers.id
    ) {
      problems.push(`id ${ack.id}: record at ${ack.partition}/${ack.offset} differs from what was acknowledged`);
    }
  }
  return problems;
}
