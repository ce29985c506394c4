/**
 * One topic-partition on disk: a directory of append-only segment files named by their base offset.
 *
 * Appends are group-committed: producers `enqueue` chunks of unsealed frames; `flush` (driven by EmbeddedLog,
 * never concurrently with itself) assigns offsets, seals the frames, writes all pending chunks with ONE
 * `writev` at the end of the active segment and ONE `fdatasync`, and only then makes the records visible
 * (end offset, tail cache) and acknowledges the chunks.
 *
 * A full disk (ENOSPC, EDQUOT — also a write that stops short, whose retry then names the errno) is not a broken
 * disk: the failed chunks are refused with the retriable LOG_DISK_FULL, whatever part of them reached the file is
 * truncated away (back to the last whole, durable frame) and fsync'd, and the partition keeps taking appends, which
 * succeed again once space is freed — without a reopen. Nothing of a refused chunk is published: offsets, the
 * index, the tail cache and the end offset advance only in `publish`, after the fsync. Any other failed write or
 * fsync (or a rollback that itself fails) poisons the partition: the state of the page cache after a failed fsync
 * is unknowable, so appends are refused until the log is reopened, whose recovery truncates anything torn.
 */
import { mkdir, open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { BusRecord } from '../bus.js';
import { describeError, ErrorCategory, UnavailableError, VigilError } from '../errors.js';
import type { Logger } from '../logger.js';
import { corrupt, EmbeddedLogErrorCode, ioFailed } from './errors.js';
import { fsyncDirectory, isNoSpaceError } from './files.js';
import {
  checkFrame,
  decodeFrame,
  FRAME_FIXED_BYTES,
  frameOffsetAt,
  frameSizeAt,
  frameTimestampAt,
  sealFrame,
  type FrameProblem,
} from './frame.js';
import { Segment, segmentFileName, segmentFilePattern, SparseIndex } from './segment.js';
import { TailCache } from './tail-cache.js';

export interface PartitionLogConfig {
  /** A segment is rolled before a write that would take it past this size. */
  readonly segmentBytes: number;
  readonly indexIntervalBytes: number;
  /** Frames claiming to be larger are treated as corrupt. */
  readonly maxFrameBytes: number;
  readonly tailCacheRecords: number;
  readonly tailCacheBytes: number;
  /** Soft cap on the frame bytes one `read` returns (it always returns at least one record). */
  readonly maxReadBytes: number;
  /**
   * What a full disk does to the partition: `roll-back` (the default) truncates the failed append and keeps the
   * partition writable; `refuse-until-reopen` is the behaviour before that fix (poison, as for any I/O failure)
   * and `keep-torn-bytes` refuses and stays writable but leaves the torn bytes in the file; both exist only so
   * that a test can show its checker catching a partition that does not recover, or a reopen that has to cut.
   */
  readonly diskFullPolicy: DiskFullPolicy;
}

/** See PartitionLogConfig.diskFullPolicy. */
export type DiskFullPolicy = 'roll-back' | 'keep-torn-bytes' | 'refuse-until-reopen';

/** Frames enqueued together by one producer call for one partition; they get consecutive offsets. */
export interface AppendChunk {
  /** Unsealed frames back to back (see frame.ts). */
  readonly frames: Buffer;
  readonly count: number;
  /** Called once the chunk is durable, with the offset of its first record. */
  durable(baseOffset: number): void;
  failed(error: VigilError): void;
}

const READ_CHUNK_BYTES = 64 * 1024;
const SCAN_CHUNK_BYTES = 1024 * 1024;

interface ScanResult {
  readonly index: SparseIndex;
  readonly validBytes: number;
  readonly nextOffset: number;
  /** Largest timestamp of the valid frames; −Infinity for none. */
  readonly newestTimestampMs: number;
  readonly problem?: FrameProblem | 'unexpected-offset';
}

export class PartitionLog {
  private pending: AppendChunk[] = [];
  /** Records made durable by this instance (not counting those recovered at open). */
  appendedRecords = 0;
  /** Flushes refused with LOG_DISK_FULL and rolled back. */
  diskFullRefusals = 0;
  /** Bytes of refused flushes that had reached the segment (truncated away under 'roll-back'). */
  diskFullTornBytes = 0;
  private flushing = false;
  private failure: UnavailableError | null = null;
  private readonly cache: TailCache;

  private constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly dir: string,
    private readonly config: PartitionLogConfig,
    private readonly logger: Logger,
    private readonly segments: Segment[],
    private active: Segment,
    private nextOffset: number,
  ) {
    this.cache = new TailCache(config.tailCacheRecords, config.tailCacheBytes);
  }

  /** Opens (creating if needed) the partition directory and recovers the tail of its last segment. */
  static async open(
    dir: string,
    topic: string,
    partition: number,
    config: PartitionLogConfig,
    logger: Logger,
  ): Promise<PartitionLog> {
    const log = logger.child({ topic, partition });
    try {
      const created = await mkdir(dir, { recursive: true });
      if (created !== undefined) await fsyncDirectory(join(dir, '..'));
      const segments: Segment[] = [];
      for (const name of (await readdir(dir)).sort()) {
        const match = segmentFilePattern.exec(name);
        if (match === null) continue;
        const path = join(dir, name);
        segments.push(new Segment(Number(match[1]), path, (await stat(path)).size));
      }
      const last = segments.pop();
      const base = last?.baseOffset ?? 0;
      const path = last?.path ?? join(dir, segmentFileName(base));
      const writer = await open(path, last === undefined ? 'wx+' : 'r+');
      try {
        if (last === undefined) await fsyncDirectory(dir);
        const fileSize = (await writer.stat()).size;
        const scan = await scanSegment(writer, base, fileSize, config, true);
        if (scan.validBytes < fileSize) {
          log.warn('embedded log: truncating a torn or corrupt segment tail', {
            segment: path,
            reason: scan.problem,
            validBytes: scan.validBytes,
            droppedBytes: fileSize - scan.validBytes,
            nextOffset: scan.nextOffset,
          });
          await writer.truncate(scan.validBytes);
          await writer.sync();
        }
        const active = new Segment(base, path, scan.validBytes, {
          index: scan.index,
          writer,
          newestTimestampMs: scan.newestTimestampMs,
        });
        segments.push(active);
        return new PartitionLog(topic, partition, dir, config, log, segments, active, scan.nextOffset);
      } catch (error) {
        await writer.close();
        throw error;
      }
    } catch (error) {
      if (error instanceof UnavailableError) throw error;
      throw ioFailed(`opening partition ${topic}-${partition} in ${dir}`, error);
    }
  }

  /** The offset the next appended record will get; every record below it is durable and readable. */
  get endOffset(): number {
    return this.nextOffset;
  }

  get startOffset(): number {
    return this.segments[0]!.baseOffset;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Throws the partition's failure if an earlier write or fsync failed. */
  assertWritable(): void {
    if (this.failure !== null) throw this.failure;
  }

  /** Queues a chunk for the next flush. Its frames are sealed (offset, CRC) when that flush runs. */
  enqueue(chunk: AppendChunk): void {
    this.assertWritable();
    this.pending.push(chunk);
  }

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /**
   * Writes and fsyncs every pending chunk (one writev + one fdatasync), then acknowledges them.
   * Never rejects: failures go to the chunks.
   */
  async flush(): Promise<void> {
    if (this.flushing) throw new Error('PartitionLog.flush must not run concurrently with itself');
    const chunks = this.pending;
    if (chunks.length === 0) return;
    this.pending = [];
    this.flushing = true;
    try {
      if (this.failure !== null) throw this.failure;
      let total = 0;
      for (const chunk of chunks) total += chunk.frames.length;
      if (this.active.size > 0 && this.active.size + total > this.config.segmentBytes) await this.roll();
      const segment = this.active;
      let offset = this.nextOffset;
      for (const chunk of chunks) {
        let at = 0;
        while (at < chunk.frames.length) at = sealFrame(chunk.frames, at, offset++);
      }
      await writeFully(
        segment.writer,
        chunks.map((chunk) => chunk.frames),
        segment.size,
        total,
      );
      await segment.writer.datasync();
      this.publish(chunks, segment);
    } catch (error) {
      if (this.failure === null && isNoSpaceError(error) && this.config.diskFullPolicy !== 'refuse-until-reopen')
        await this.rollBack(error, chunks);
      else await this.poison(error, chunks);
    } finally {
      this.flushing = false;
    }
  }

  /** Makes freshly durable chunks visible (index, tail cache, end offset), then acknowledges them. */
  private publish(chunks: readonly AppendChunk[], segment: Segment): void {
    const index = segment.index!;
    let newest = segment.newestTimestampMs ?? Number.NEGATIVE_INFINITY;
    let position = segment.size;
    let offset = this.nextOffset;
    for (const chunk of chunks) {
      const frames = chunk.frames;
      for (let at = 0; at < frames.length; offset++) {
        const size = frameSizeAt(frames, at);
        index.note(offset, position);
        newest = Math.max(newest, frameTimestampAt(frames, at));
        this.cache.push(decodeFrame(frames, at, this.topic, this.partition), size);
        at += size;
        position += size;
      }
    }
    segment.size = position;
    segment.newestTimestampMs = newest;
    const first = this.nextOffset;
    this.appendedRecords += offset - first;
    this.nextOffset = offset;
    let base = first;
    for (const chunk of chunks) {
      chunk.durable(base);
      base += chunk.count;
    }
  }

  /**
   * After a full-disk failure: cuts the segment back to its last durable frame and fsyncs that, then refuses the
   * chunks with LOG_DISK_FULL and leaves the partition writable. A rollback that fails poisons the partition.
   */
  private async rollBack(error: unknown, chunks: readonly AppendChunk[]): Promise<void> {
    let tornBytes = 0;
    try {
      tornBytes = (await this.active.writer.stat()).size - this.active.size;
      if (this.config.diskFullPolicy === 'roll-back') {
        // Truncating only frees blocks, so it works on a full disk; the sync makes the cut survive a crash, so
        // neither a reopen nor a later append ever meets leftover bytes of the refused one.
        await this.active.writer.truncate(this.active.size);
        await this.active.writer.datasync();
      }
    } catch (rollbackError) {
      this.logger.error('embedded log: could not roll back an append refused for lack of space', {
        error: describeError(rollbackError),
      });
      await this.poison(error, chunks);
      return;
    }
    this.refuseForSpace(error, chunks, tornBytes);
  }

  /** Refuses the chunks with LOG_DISK_FULL; the partition stays writable. */
  private refuseForSpace(error: unknown, chunks: readonly AppendChunk[], tornBytes: number): void {
    const refused = new VigilError(
      EmbeddedLogErrorCode.diskFull,
      `no space left for partition ${this.topic}-${this.partition}; the append was rolled back, retry later`,
      {
        category: ErrorCategory.unavailable,
        retriable: true,
        cause: error,
        details: { topic: this.topic, partition: this.partition, errno: (error as NodeJS.ErrnoException).code },
      },
    );
    this.diskFullRefusals++;
    this.diskFullTornBytes += tornBytes;
    this.logger.warn('embedded log: disk full; append rolled back and refused, the partition stays writable', {
      records: chunks.reduce((sum, chunk) => sum + chunk.count, 0),
      tornBytes,
      error: describeError(error),
    });
    for (const chunk of chunks) chunk.failed(refused);
  }

  private async poison(error: unknown, chunks: readonly AppendChunk[]): Promise<void> {
    if (this.failure === null) {
      this.failure = new UnavailableError(
        EmbeddedLogErrorCode.partitionFailed,
        `partition ${this.topic}-${this.partition} refuses appends after an I/O failure; reopen the log to recover`,
        error,
      );
      this.logger.error('embedded log: append failed; partition refuses appends until reopened', {
        error: describeError(error),
      });
      try {
        // Best effort: drop whatever part of the failed write reached the file; recovery would do it anyway.
        await this.active.writer.truncate(this.active.size);
      } catch (truncateError) {
        this.logger.warn('embedded log: could not truncate after a failed append', {
          error: describeError(truncateError),
        });
      }
    }
    for (const chunk of chunks) chunk.failed(this.failure);
  }

  /** Starts a new segment at the current end offset; its directory entry is fsync'd before anything lands in it. */
  private async roll(): Promise<void> {
    const base = this.nextOffset;
    const path = join(this.dir, segmentFileName(base));
    const writer = await open(path, 'wx+');
    try {
      await fsyncDirectory(this.dir);
    } catch (error) {
      await writer.close();
      // Removed so that the next roll can create it again ('wx+' refuses an existing file); if the removal fails
      // too, the error below poisons the partition unless it is a full disk, and then the next roll says EEXIST.
      await unlink(path).catch(() => undefined);
      throw error;
    }
    const previous = this.active;
    this.active = new Segment(base, path, 0, { index: new SparseIndex(this.config.indexIntervalBytes), writer });
    this.segments.push(this.active);
    await previous.seal();
    this.logger.debug('embedded log: rolled segment', { segment: path, previousBytes: previous.size });
  }

  /**
   * Up to `maxRecords` records from `fromOffset` (which must be within [startOffset, endOffset]); from the
   * tail cache when it still holds `fromOffset`, else from disk via the sparse index.
   */
  async read(fromOffset: number, maxRecords: number): Promise<BusRecord[]> {
    if (fromOffset >= this.nextOffset) return [];
    const cached = this.cache.slice(fromOffset, maxRecords, this.config.maxReadBytes);
    if (cached !== undefined) return cached;
    try {
      return await this.readFromDisk(fromOffset, maxRecords);
    } catch (error) {
      if (error instanceof VigilError) throw error;
      throw ioFailed(`reading ${this.topic}-${this.partition} from offset ${fromOffset}`, error);
    }
  }

  private async readFromDisk(fromOffset: number, maxRecords: number): Promise<BusRecord[]> {
    const records: BusRecord[] = [];
    let bytes = 0;
    let next = fromOffset;
    // A copy: retention may drop segments from the front of the list while this read awaits.
    const segments = this.segments.slice(this.segmentIndexFor(fromOffset));
    for (const segment of segments) {
      const end = segment.size;
      const handle = await segment.acquire();
      try {
        const index = segment.index ?? (await this.indexSealedSegment(segment, handle));
        let position = index.floor(next);
        let chunkBytes = READ_CHUNK_BYTES;
        while (position < end && records.length < maxRecords && bytes < this.config.maxReadBytes) {
          const length = Math.min(chunkBytes, end - position);
          const buf = Buffer.allocUnsafe(length);
          const { bytesRead } = await handle.read(buf, 0, length, position);
          if (bytesRead === 0) throw this.corruptAt(segment, position, 'file shorter than its recorded size');
          let at = 0;
          while (at < bytesRead && records.length < maxRecords && bytes < this.config.maxReadBytes) {
            const size = checkFrame(buf, at, bytesRead, this.config.maxFrameBytes);
            if (size === 'incomplete' && position + bytesRead < end) break;
            if (typeof size === 'string') throw this.corruptAt(segment, position + at, size);
            const offset = frameOffsetAt(buf, at);
            if (offset >= next) {
              if (offset !== next) throw this.corruptAt(segment, position + at, 'unexpected-offset');
              records.push(decodeFrame(buf, at, this.topic, this.partition));
              bytes += size;
              next++;
            }
            at += size;
          }
          // A frame larger than the chunk: read again from it with room for the whole frame.
          if (at === 0) chunkBytes = Math.max(chunkBytes * 2, frameSizeAt(buf, 0));
          position += at;
        }
      } finally {
        await segment.release();
      }
      if (records.length >= maxRecords || bytes >= this.config.maxReadBytes || next >= this.nextOffset) break;
    }
    return records;
  }

  private corruptAt(segment: Segment, position: number, problem: string): VigilError {
    return corrupt(`corrupt frame in ${segment.path} at byte ${position}: ${problem}`, {
      topic: this.topic,
      partition: this.partition,
      segment: segment.path,
      position,
      problem,
    });
  }

  /** The last segment whose base offset is ≤ `offset`. */
  private segmentIndexFor(offset: number): number {
    let low = 0;
    let high = this.segments.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  private indexSealedSegment(segment: Segment, handle: FileHandle): Promise<SparseIndex> {
    segment.indexing ??= scanSegment(handle, segment.baseOffset, segment.size, this.config, false).then((scan) => {
      if (scan.problem !== undefined) {
        this.logger.error('embedded log: sealed segment is damaged; reads past the damage will fail', {
          segment: segment.path,
          problem: scan.problem,
          validBytes: scan.validBytes,
        });
      }
      segment.index = scan.index;
      segment.newestTimestampMs = scan.newestTimestampMs;
      return scan.index;
    });
    return segment.indexing;
  }

  /**
   * Deletes sealed segments from the front while the newest record of each is older than `cutoffMs` and every
   * record in it lies below `keepFrom` (the lowest offset some consumer group still needs). Never touches the
   * active segment, so the end offset and appends are unaffected. A segment leaves the list before its file is
   * unlinked: later reads see the new start offset at once, and a read already holding its handle finishes (an
   * unlinked file lives on until its last handle closes). Resolves with the number of segments deleted.
   */
  async dropExpiredSegments(cutoffMs: number, keepFrom: number): Promise<number> {
    let dropped = 0;
    while (this.segments.length > 1) {
      const segment = this.segments[0]!;
      if (this.segments[1]!.baseOffset > keepFrom) break;
      if (segment.newestTimestampMs === null) {
        const handle = await segment.acquire();
        try {
          await this.indexSealedSegment(segment, handle);
        } finally {
          await segment.release();
        }
      }
      if (this.segments[0] !== segment || segment.newestTimestampMs! >= cutoffMs) break;
      this.segments.shift();
      try {
        await unlink(segment.path);
      } catch (error) {
        // Left on disk, it is found again at the next open and deleted then; reads no longer see it either way.
        this.logger.warn('embedded log: could not delete an expired segment', {
          segment: segment.path,
          error: describeError(error),
        });
        break;
      }
      dropped++;
      this.logger.info('embedded log: deleted expired segment', {
        segment: segment.path,
        newestTimestampMs: segment.newestTimestampMs,
        startOffset: this.startOffset,
      });
    }
    if (dropped > 0) await fsyncDirectory(this.dir);
    return dropped;
  }

  /** Waits for nothing: flushes are driven by the owner, which drains them before closing. */
  async close(): Promise<void> {
    await Promise.all(this.segments.map((segment) => segment.close()));
  }
}

/**
 * Walks the frames of a segment from the start, building its sparse index, and stops at the first frame that
 * is incomplete, fails its checks or breaks the offset sequence. `verifyChecksums` is on for recovery of the
 * active segment and off when merely indexing a sealed one (reads verify every frame they return).
 */
async function scanSegment(
  handle: FileHandle,
  baseOffset: number,
  fileSize: number,
  config: PartitionLogConfig,
  verifyChecksums: boolean,
): Promise<ScanResult> {
  const index = new SparseIndex(config.indexIntervalBytes);
  let position = 0;
  let offset = baseOffset;
  let newestTimestampMs = Number.NEGATIVE_INFINITY;
  let buf = Buffer.allocUnsafe(Math.min(SCAN_CHUNK_BYTES, Math.max(fileSize, 1)));
  while (position < fileSize) {
    const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, fileSize - position), position);
    if (bytesRead === 0)
      return { index, validBytes: position, nextOffset: offset, newestTimestampMs, problem: 'incomplete' };
    const atEndOfFile = position + bytesRead >= fileSize;
    let at = 0;
    while (at < bytesRead) {
      const size = verifyChecksums
        ? checkFrame(buf, at, bytesRead, config.maxFrameBytes)
        : checkFrameLength(buf, at, bytesRead, config.maxFrameBytes);
      if (size === 'incomplete' && !atEndOfFile) break;
      if (typeof size === 'string')
        return { index, validBytes: position + at, nextOffset: offset, newestTimestampMs, problem: size };
      if (frameOffsetAt(buf, at) !== offset)
        return {
          index,
          validBytes: position + at,
          nextOffset: offset,
          newestTimestampMs,
          problem: 'unexpected-offset',
        };
      index.note(offset, position + at);
      newestTimestampMs = Math.max(newestTimestampMs, frameTimestampAt(buf, at));
      offset++;
      at += size;
    }
    if (at === 0)
      buf = Buffer.allocUnsafe(Math.min(Math.max(buf.length * 2, frameSizeAt(buf, 0)), fileSize - position));
    position += at;
  }
  return { index, validBytes: position, nextOffset: offset, newestTimestampMs };
}

/**
 * Writes `buffers` (`total` bytes) at `position`, continuing after a short write: a write that stops short on a
 * filling disk is retried for the rest, which then fails with the errno (ENOSPC) that says why.
 */
async function writeFully(handle: FileHandle, buffers: Buffer[], position: number, total: number): Promise<void> {
  let written = 0;
  let pending = buffers;
  for (;;) {
    const { bytesWritten } = await handle.writev(pending, position + written);
    written += bytesWritten;
    if (written >= total) return;
    if (bytesWritten === 0) throw new Error(`write made no progress at ${written} of ${total} bytes`);
    pending = bytesAfter(buffers, written);
  }
}

/** The bytes of `buffers` after the first `skip`, as views (no copy). */
function bytesAfter(buffers: readonly Buffer[], skip: number): Buffer[] {
  const rest: Buffer[] = [];
  let left = skip;
  for (const buffer of buffers) {
    if (left >= buffer.length) left -= buffer.length;
    else {
      rest.push(left === 0 ? buffer : buffer.subarray(left));
      left = 0;
    }
  }
  return rest;
}

/** Like checkFrame without the CRC: enough to find frame boundaries. */
function checkFrameLength(buf: Buffer, pos: number, end: number, maxFrameBytes: number): number | FrameProblem {
  if (end - pos < 4) return 'incomplete';
  const size = frameSizeAt(buf, pos);
  if (size > maxFrameBytes || size < FRAME_FIXED_BYTES) return 'bad-length';
  if (end - pos < size) return 'incomplete';
  return size;
}
