import type { BusRecord } from '../bus.js';

/**
 * The most recent records of one partition, decoded, bounded by count and by frame bytes. Consumers that keep
 * up read from here and never touch the disk. Records are contiguous: the one at `head + i` has offset
 * `firstOffset + i`.
 */
export class TailCache {
  private records: BusRecord[] = [];
  private sizes: number[] = [];
  private head = 0;
  private bytes = 0;

  constructor(
    private readonly maxRecords: number,
    private readonly maxBytes: number,
  ) {}

  /** Appends the record that follows the newest one; `frameBytes` is what it counts against `maxBytes`. */
  push(record: BusRecord, frameBytes: number): void {
    this.records.push(record);
    this.sizes.push(frameBytes);
    this.bytes += frameBytes;
    while (
      this.records.length - this.head > this.maxRecords ||
      (this.bytes > this.maxBytes && this.records.length - this.head > 1)
    ) {
      this.bytes -= this.sizes[this.head]!;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.records.length) {
      this.records = this.records.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Up to `maxRecords` records from `fromOffset` (and at least one, within `maxBytes`), or undefined when
   * `fromOffset` is older than the cache. An empty result means `fromOffset` is past the newest record.
   */
  slice(fromOffset: number, maxRecords: number, maxBytes: number): BusRecord[] | undefined {
    const first = this.records[this.head];
    if (first === undefined || fromOffset < first.offset) return undefined;
    const start = this.head + (fromOffset - first.offset);
    let end = start;
    let bytes = 0;
    const limit = Math.min(this.records.length, start + maxRecords);
    while (end < limit && (end === start || bytes + this.sizes[end]! <= maxBytes)) {
      bytes += this.sizes[end]!;
      end++;
    }
    return this.records.slice(start, end);
  }
}
