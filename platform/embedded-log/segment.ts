/** One segment file of a partition, its sparse offset index, and a reference-counted read handle. */
import { open, type FileHandle } from 'node:fs/promises';

/**
 * Offset → file position every `intervalBytes` of frames (Kafka's index.interval.bytes idea). A read seeks to
 * the last indexed frame at or before its offset and scans at most about `intervalBytes` of frames from there.
 */
export class SparseIndex {
  private readonly offsets: number[] = [];
  private readonly positions: number[] = [];
  private lastPosition = Number.NEGATIVE_INFINITY;

  constructor(private readonly intervalBytes: number) {}

  /** Records the frame of `offset` at `position` if it lies at least `intervalBytes` past the last entry. */
  note(offset: number, position: number): void {
    if (position - this.lastPosition < this.intervalBytes) return;
    this.offsets.push(offset);
    this.positions.push(position);
    this.lastPosition = position;
  }

  /** File position of the last indexed frame with an offset ≤ `offset`; 0 if there is none. */
  floor(offset: number): number {
    let low = 0;
    let high = this.offsets.length - 1;
    let found = 0;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (this.offsets[mid]! <= offset) {
        found = this.positions[mid]!;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return found;
  }

  get entries(): number {
    return this.offsets.length;
  }
}

export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.log`;
}

export const segmentFilePattern = /^(\d{20})\.log$/;

export class Segment {
  /** Bytes of whole, durable frames; reads never look past it. */
  size: number;
  /** Built on recovery for the active segment, on first read for sealed ones. */
  index: SparseIndex | null;
  indexing: Promise<SparseIndex> | null = null;
  /**
   * Largest record timestamp in the segment (what retention ages it by, as Kafka does); null until known — set by
   * appends to the active segment and by the scan that indexes a segment found at open.
   */
  newestTimestampMs: number | null;
  private handle: FileHandle | null;
  private opening: Promise<FileHandle> | null = null;
  private users = 0;
  private active: boolean;

  constructor(
    readonly baseOffset: number,
    readonly path: string,
    size: number,
    options: { index?: SparseIndex; writer?: FileHandle; newestTimestampMs?: number } = {},
  ) {
    this.size = size;
    this.newestTimestampMs = options.newestTimestampMs ?? null;
    this.index = options.index ?? null;
    this.handle = options.writer ?? null;
    this.active = options.writer !== undefined;
  }

  /** The read-write handle of the active segment. */
  get writer(): FileHandle {
    if (!this.active || this.handle === null) throw new Error(`segment ${this.path} is not the active segment`);
    return this.handle;
  }

  /** A handle to read with; pair every call with `release()`. */
  async acquire(): Promise<FileHandle> {
    this.users++;
    try {
      if (this.handle !== null) return this.handle;
      this.opening ??= open(this.path, 'r').then(
        (handle) => {
          this.handle = handle;
          this.opening = null;
          return handle;
        },
        (error: unknown) => {
          this.opening = null;
          throw error;
        },
      );
      return await this.opening;
    } catch (error) {
      this.users--;
      throw error;
    }
  }

  async release(): Promise<void> {
    this.users--;
    await this.closeIfIdle();
  }

  /** No more appends go here; the handle closes once the last reader releases it. */
  async seal(): Promise<void> {
    this.active = false;
    await this.closeIfIdle();
  }

  async close(): Promise<void> {
    this.active = false;
    this.users = 0;
    await this.closeIfIdle();
  }

  private async closeIfIdle(): Promise<void> {
    if (this.active || this.users > 0 || this.handle === null) return;
    const handle = this.handle;
    this.handle = null;
    await handle.close();
  }
}
