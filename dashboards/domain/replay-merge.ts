import type { ReplayRange } from './event-id.js';

/** What the merge needs to know of a record read back from the log. */
export interface LoggedRecord {
  readonly partition: number;
  readonly offset: number;
  /** The record's log timestamp, epoch ms. */
  readonly timestampMs: number;
}

/**
 * Merges the replay of several partitions into one stream, pure so the order can be specified on plain data.
 *
 * Each partition's records come out in offset order (the only order Kafka defines); across partitions the one
 * with the earliest head comes first, by log timestamp, then partition, then offset, so a catch-up reads in
 * roughly the order the alerts were raised. Only the head of each buffer is compared, so a partition whose
 * timestamps go backwards still comes out in offset order.
 *
 * The caller does the reading: while `needs()` names a partition, read from that offset and `supply` the
 * records; then `next()` answers. Only one read's worth of records per partition is buffered.
 */
interface Lane<T> {
  readonly range: ReplayRange;
  nextOffset: number;
  buffer: readonly T[];
  head: number;
}

export class ReplayMerge<T extends LoggedRecord> {
  private readonly lanes: Array<Lane<T>>;

  constructor(ranges: readonly ReplayRange[]) {
    this.lanes = ranges
      .filter((range) => range.fromOffset < range.toOffset)
      .map((range) => ({ range, nextOffset: range.fromOffset, buffer: [], head: 0 }));
  }

  /** The read the merge is waiting for (a partition with records left and nothing buffered), if any. */
  needs(): { readonly partition: number; readonly fromOffset: number; readonly toOffset: number } | undefined {
    const lane = this.lanes.find((l) => l.head === l.buffer.length && l.nextOffset < l.range.toOffset);
    return lane && { partition: lane.range.partition, fromOffset: lane.nextOffset, toOffset: lane.range.toOffset };
  }

  /**
   * Hands over records read from `partition` at the offset `needs()` named. Records at or past the range's end
   * are ignored. Throws RangeError on an empty read (the log has fewer records than its offsets said: nothing
   * may be skipped silently) and on records out of offset order.
   */
  supply(partition: number, records: readonly T[]): void {
    const lane = this.lanes.find((l) => l.range.partition === partition);
    if (lane === undefined || lane.head < lane.buffer.length) throw new RangeError(`no read was due on ${partition}`);
    const wanted = records.filter((r) => r.offset < lane.range.toOffset);
    if (records.length === 0)
      throw new RangeError(`partition ${partition} returned nothing at ${lane.nextOffset} < ${lane.range.toOffset}`);
    let previous = lane.nextOffset - 1;
    for (const record of wanted) {
      if (record.partition !== partition || record.offset <= previous)
        throw new RangeError(`record ${record.partition}@${record.offset} out of order after ${previous}`);
      previous = record.offset;
    }
    lane.buffer = wanted;
    lane.head = 0;
    lane.nextOffset = wanted.length === records.length ? records.at(-1)!.offset + 1 : lane.range.toOffset;
  }

  /**
   * The next record of the merged stream; undefined when every range is done. Throws Error when a read is due
   * (`needs()` is not undefined): the order cannot be decided without that partition's head.
   */
  next(): T | undefined {
    if (this.needs() !== undefined) throw new Error('a read is due before the next record can be chosen');
    let best: { lane: Lane<T>; record: T } | undefined;
    for (const lane of this.lanes) {
      const record = lane.buffer[lane.head];
      if (record !== undefined && (best === undefined || before(record, best.record))) best = { lane, record };
    }
    if (best === undefined) return undefined;
    best.lane.head += 1;
    return best.record;
  }
}

function before(a: LoggedRecord, b: LoggedRecord): boolean {
  if (a.timestampMs !== b.timestampMs) return a.timestampMs < b.timestampMs;
  if (a.partition !== b.partition) return a.partition < b.partition;
  return a.offset < b.offset;
}
