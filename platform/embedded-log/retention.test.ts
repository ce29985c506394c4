import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordBatch } from '../bus.js';
import { ManualClock } from '../clock.js';
import { VigilError } from '../errors.js';
import { EmbeddedLog, type EmbeddedLogOptions } from './embedded-log.js';
import { makeTempDir, removeTempDir, waitFor } from './test-helpers.js';

const topic = 'payments';
const accounts = 'accounts';
const retentionMs = 10_000;
/** Two ~460-byte frames fill a 1 KiB segment, so every second record starts a new one. */
const segmentBytes = 1024;

function payload(i: number): Buffer {
  return Buffer.from(`record ${i} `.padEnd(400, '.'));
}

/** Segment files of one partition on disk, as base offsets. */
async function segmentFiles(dir: string, name: string): Promise<number[]> {
  return (await readdir(join(dir, 'data', `${name}-0`))).map((file) => Number(file.slice(0, 20))).sort((a, b) => a - b);
}

/** Whether every record from `from` to the end is still readable — what a group resuming at `from` needs. */
async function readableFrom(log: EmbeddedLog, from: number): Promise<string> {
  const end = (await log.endOffsets(topic))[0]!;
  try {
    const records = await log.read(topic, 0, from, end - from);
    return records.map((r) => r.offset).join() === Array.from({ length: end - from }, (_, i) => from + i).join()
      ? 'readable'
      : 'records missing';
  } catch (error) {
    return error instanceof VigilError ? error.code : String(error);
  }
}

describe('EmbeddedLog retention', () => {
  let dir: string;
  let clock: ManualClock;
  const opened: EmbeddedLog[] = [];

  async function open(options: Partial<EmbeddedLogOptions> = {}): Promise<EmbeddedLog> {
    const log = await EmbeddedLog.open({
      dir,
      clock,
      segmentBytes,
      retentionMs,
      retentionCheckIntervalMs: 0,
      redeliveryInitialBackoffMs: 1,
      redeliveryMaxBackoffMs: 4,
      topics: [
        { topic, partitions: 1 },
        { topic: accounts, partitions: 1, compacted: true },
      ],
      ...options,
    });
    opened.push(log);
    return log;
  }

  /** Offsets 0–11 at t = 1 s (segments 0, 2, … 10), 12–15 at t = 50 s (segments 12 and 14, the active one). */
  async function fill(log: EmbeddedLog, name: string): Promise<void> {
    for (let i = 0; i < 16; i++) {
      clock.set(i < 12 ? 1_000 : 50_000);
      await log.producer().send(name, [{ key: 'k', value: payload(i) }]);
    }
    expect(await segmentFiles(dir, name)).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
  }

  /** Subscribes `groupId` and waits until it has committed exactly `upTo` (it refuses every batch from there on). */
  async function commitUpTo(log: EmbeddedLog, groupId: string, upTo: number): Promise<void> {
    const subscription = await log.subscribe({ groupId, topics: [topic], maxBatchRecords: 1 }, (batch: RecordBatch) =>
      batch.records[0]!.offset >= upTo ? Promise.reject(new Error('not yet')) : Promise.resolve(),
    );
    await waitFor(async () => (await log.committedOffsets(groupId, topic))[0] === upTo, `${groupId} at ${upTo}`);
    await subscription.close();
    expect((await log.committedOffsets(groupId, topic))[0]).toBe(upTo);
  }

  beforeEach(async () => {
    dir = await makeTempDir();
    clock = new ManualClock(0);
  });

  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((log) => log.close()));
    await removeTempDir(dir);
  });

  it('keeps what a slow group has not committed, deletes it once committed, and never the new or active segments', async () => {
    let log = await open();
    await fill(log, topic);
    await commitUpTo(log, 'fast', 16);
    await commitUpTo(log, 'slow', 5);

    clock.set(55_000);
    // Segments 0 and 2 are expired and below both groups; segment 4 holds offset 5, which "slow" still needs.
    expect(await log.enforceRetention()).toBe(2);
    expect(await segmentFiles(dir, topic)).toEqual([4, 6, 8, 10, 12, 14]);
    expect(await readableFrom(log, 5)).toBe('readable');
    expect(await readableFrom(log, 3)).toBe('OFFSET_OUT_OF_RANGE');

    await commitUpTo(log, 'slow', 16);
    // Reopened, so the remaining sealed segments' timestamps come from a scan rather than from the appends.
    await log.close();
    log = await open();
    expect(await log.enforceRetention()).toBe(4);
    // Segment 12's records (t = 50 s) are younger than the cutoff (45 s); 14 is the active segment.
    expect(await segmentFiles(dir, topic)).toEqual([12, 14]);

    clock.set(1_000_000_000);
    expect(await log.enforceRetention()).toBe(1);
    expect(await segmentFiles(dir, topic)).toEqual([14]);
    expect(await readableFrom(log, 14)).toBe('readable');
    await log.producer().send(topic, [{ key: 'k', value: payload(16) }]);
    expect((await log.endOffsets(topic))[0]).toBe(17);
    // Counted since this open: the 4 after the reopen and this one.
    expect(log.stats.deletedSegments).toBe(5);
  });

  it('negative control: retention that ignores groups deletes what the slow group still needs, and the check sees it', async () => {
    const log = await open({ retentionIgnoresGroups: true });
    await fill(log, topic);
    await commitUpTo(log, 'slow', 5);
    clock.set(55_000);
    expect(await log.enforceRetention()).toBe(6);
    expect(await readableFrom(log, 5)).toBe('OFFSET_OUT_OF_RANGE');
  });

  it('keeps compacted topics whole, and the flag survives a reopen', async () => {
    let log = await open();
    await fill(log, accounts);
    await log.close();
    log = await open({ topics: [] });
    clock.set(1_000_000_000);
    expect(await log.enforceRetention()).toBe(0);
    expect(await segmentFiles(dir, accounts)).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
  });

  it('keeps everything when retentionMs is 0', async () => {
    const log = await open({ retentionMs: 0 });
    await fill(log, topic);
    clock.set(1_000_000_000);
    expect(await log.enforceRetention()).toBe(0);
    expect(await segmentFiles(dir, topic)).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
  });
});
