import { type LoggedRecord, ReplayMerge } from './replay-merge.js';

const rec = (partition: number, offset: number, timestampMs: number): LoggedRecord => ({
  partition,
  offset,
  timestampMs,
});
const key = (r: LoggedRecord): string => `${r.partition}@${r.offset}`;

/** Runs a merge to the end against `log` (records per partition), reading `chunk` at a time. */
function drain(merge: ReplayMerge<LoggedRecord>, log: LoggedRecord[][], chunk: number): string[] {
  const out: string[] = [];
  for (;;) {
    const due = merge.needs();
    if (due) {
      merge.supply(due.partition, log[due.partition]!.filter((r) => r.offset >= due.fromOffset).slice(0, chunk));
      continue;
    }
    const next = merge.next();
    if (!next) return out;
    out.push(key(next));
  }
}

describe('ReplayMerge: the order of a catch-up', () => {
  const log = [
    [rec(0, 0, 10), rec(0, 1, 30), rec(0, 2, 50)],
    [rec(1, 0, 20), rec(1, 1, 40), rec(1, 2, 60)],
  ];

  it('given two partitions, then records come by log timestamp, each partition in offset order, whatever the read size', () => {
    const ranges = [
      { partition: 0, fromOffset: 0, toOffset: 3 },
      { partition: 1, fromOffset: 0, toOffset: 3 },
    ];
    for (const chunk of [1, 2, 10])
      expect(drain(new ReplayMerge(ranges), log, chunk)).toEqual(['0@0', '1@0', '0@1', '1@1', '0@2', '1@2']);
  });

  it('given ranges, then exactly the offsets inside them come out (records past the end are ignored)', () => {
    const ranges = [
      { partition: 0, fromOffset: 1, toOffset: 2 },
      { partition: 1, fromOffset: 2, toOffset: 3 },
    ];
    expect(drain(new ReplayMerge(ranges), log, 10)).toEqual(['0@1', '1@2']);
  });

  it('given a partition whose timestamps go backwards, then it still comes out in offset order', () => {
    const skewed = [[rec(0, 0, 50), rec(0, 1, 5)], [rec(1, 0, 20)]];
    const ranges = [
      { partition: 0, fromOffset: 0, toOffset: 2 },
      { partition: 1, fromOffset: 0, toOffset: 1 },
    ];
    expect(drain(new ReplayMerge(ranges), skewed, 10)).toEqual(['1@0', '0@0', '0@1']);
  });

  it('given ties, then partition then offset decide', () => {
    const tied = [[rec(0, 0, 1)], [rec(1, 0, 1)]];
    const ranges = [
      { partition: 1, fromOffset: 0, toOffset: 1 },
      { partition: 0, fromOffset: 0, toOffset: 1 },
    ];
    expect(drain(new ReplayMerge(ranges), tied, 10)).toEqual(['0@0', '1@0']);
  });

  it('given an empty read before the range end, then it throws rather than skip records', () => {
    const merge = new ReplayMerge([{ partition: 0, fromOffset: 0, toOffset: 3 }]);
    expect(() => merge.supply(0, [])).toThrow(RangeError);
  });

  it('refuses to choose while a read is due', () => {
    const merge = new ReplayMerge([{ partition: 0, fromOffset: 0, toOffset: 3 }]);
    expect(merge.needs()).toEqual({ partition: 0, fromOffset: 0, toOffset: 3 });
    expect(() => merge.next()).toThrow();
  });
});
