import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OutgoingRecord } from '../bus.js';
import { createLogger } from '../logger.js';
import { EmbeddedLog, type EmbeddedLogOptions } from './embedded-log.js';
import { frameSizeAt } from './frame.js';
import { makeTempDir, readAll, removeTempDir } from './test-helpers.js';

const topic = 'events';

function records(from: number, count: number): OutgoingRecord[] {
  return Array.from({ length: count }, (_, i) => ({ key: 'k', value: Buffer.from(`event-${from + i}`) }));
}

/** Byte position of each frame in a segment file, walking the length fields. */
function framePositions(segment: Buffer): number[] {
  const positions: number[] = [];
  for (let at = 0; at < segment.length; at += frameSizeAt(segment, at)) positions.push(at);
  return positions;
}

describe('EmbeddedLog recovery', () => {
  let dir: string;
  let segmentPath: string;
  const opened: EmbeddedLog[] = [];
  const warnings: string[] = [];

  async function open(options: Partial<EmbeddedLogOptions> = {}): Promise<EmbeddedLog> {
    const logger = createLogger({ level: 'warn', write: (line) => warnings.push(line) });
    const log = await EmbeddedLog.open({ dir, logger, topics: [topic], ...options });
    opened.push(log);
    return log;
  }

  /** Writes `count` records in one log session and closes it. */
  async function writeAndClose(count: number, options: Partial<EmbeddedLogOptions> = {}): Promise<void> {
    const log = await open(options);
    for (let i = 0; i < count; i += 5) await log.producer().send(topic, records(i, Math.min(5, count - i)));
    await log.close();
  }

  beforeEach(async () => {
    dir = await makeTempDir();
    segmentPath = join(dir, 'data', `${topic}-0`, '00000000000000000000.log');
    warnings.length = 0;
  });

  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((log) => log.close()));
    await removeTempDir(dir);
  });

  it('cuts a partially written frame off the tail and appends at the right offset', async () => {
    await writeAndClose(10);
    const intact = await readFile(segmentPath);
    const last = framePositions(intact).at(-1)!;
    // A crash mid-write: the first 20 bytes of a copy of the last frame.
    await appendFile(segmentPath, intact.subarray(last, last + 20));

    const log = await open();
    expect(await log.endOffsets(topic)).toEqual([10]);
    expect((await stat(segmentPath)).size).toBe(intact.length);
    expect(warnings.some((w) => w.includes('truncating a torn or corrupt segment tail'))).toBe(true);
    const [position] = await log.producer().send(topic, records(10, 1));
    expect(position!.offset).toBe(10);
    await log.close();

    const reopened = await open();
    expect((await readAll(reopened, topic, 0)).map((r) => r.value.toString())).toEqual(
      records(0, 11).map((r) => r.value.toString()),
    );
  });

  it('cuts trailing garbage, including zero-filled blocks', async () => {
    await writeAndClose(7);
    const size = (await stat(segmentPath)).size;
    await appendFile(segmentPath, Buffer.concat([Buffer.alloc(4096, 0), Buffer.from('garbage')]));
    const log = await open();
    expect(await log.endOffsets(topic)).toEqual([7]);
    expect((await stat(segmentPath)).size).toBe(size);
    expect((await readAll(log, topic, 0)).map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('detects a corrupt CRC in the active segment and keeps the records before it', async () => {
    await writeAndClose(10);
    const segment = await readFile(segmentPath);
    const sixth = framePositions(segment)[5]!;
    segment[sixth + frameSizeAt(segment, sixth) - 1]! ^= 0xff; // a flipped bit in record 5's last byte
    await writeFile(segmentPath, segment);

    const log = await open();
    expect(await log.endOffsets(topic)).toEqual([5]);
    expect(warnings.some((w) => w.includes('"reason":"bad-checksum"'))).toBe(true);
    expect((await stat(segmentPath)).size).toBe(sixth);
    expect((await readAll(log, topic, 0)).map((r) => r.value.toString())).toEqual(
      records(0, 5).map((r) => r.value.toString()),
    );
  });

  it('refuses to serve a record whose CRC fails in a sealed segment', async () => {
    const small = { segmentBytes: 1024, tailCacheRecords: 1 };
    await writeAndClose(100, small);
    const segment = await readFile(segmentPath);
    const third = framePositions(segment)[2]!;
    segment[third + 30]! ^= 0x10;
    await writeFile(segmentPath, segment);

    const log = await open(small);
    expect(await log.endOffsets(topic)).toEqual([100]);
    await expect(log.read(topic, 0, 0, 10)).rejects.toMatchObject({
      code: 'LOG_CORRUPT',
      details: { partition: 0, position: third },
    });
    // Records outside the damaged segment are still served.
    expect((await log.read(topic, 0, 90, 10)).map((r) => r.offset)).toEqual([90, 91, 92, 93, 94, 95, 96, 97, 98, 99]);
  });

  it('reports unusable files as a retriable LOG_IO_FAILED and releases the directory', async () => {
    await writeAndClose(3);
    // A partition directory that is a file: recovery cannot open its segments.
    await writeFile(join(dir, 'data', `${topic}-1`), 'not a directory');
    await writeFile(join(dir, 'topics.json'), JSON.stringify({ version: 1, topics: [{ topic, partitions: 2 }] }));
    await expect(EmbeddedLog.open({ dir })).rejects.toMatchObject({ code: 'LOG_IO_FAILED', retriable: true });
    // The failed open released its lock: once repaired, the directory opens.
    await writeFile(join(dir, 'topics.json'), JSON.stringify({ version: 1, topics: [{ topic, partitions: 1 }] }));
    const log = await open();
    expect(await log.endOffsets(topic)).toEqual([3]);
  });

  it('recovers an empty last segment left by a crash right after a roll', async () => {
    const small = { segmentBytes: 1024 };
    await writeAndClose(60, small);
    const log = await open(small);
    const end = (await log.endOffsets(topic))[0]!;
    await log.close();
    // The new segment file exists, nothing reached it yet.
    await writeFile(join(dir, 'data', `${topic}-0`, `${String(end).padStart(20, '0')}.log`), Buffer.alloc(0));
    const reopened = await open(small);
    expect(await reopened.endOffsets(topic)).toEqual([60]);
    const [position] = await reopened.producer().send(topic, records(60, 1));
    expect(position!.offset).toBe(60);
    expect((await readAll(reopened, topic, 0)).map((r) => r.offset)).toEqual(Array.from({ length: 61 }, (_, i) => i));
  });
});
