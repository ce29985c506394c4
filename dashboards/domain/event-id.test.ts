import {
  covers,
  formatEventId,
  laterOf,
  parseEventId,
  planResume,
  positionAfter,
  rangesBetween,
  recordsBetween,
} from './event-id.js';

describe('live event ids', () => {
  it('formats a position as v1- and the next offsets, and parses it back', () => {
    expect(formatEventId([12, 0, 7])).toBe('v1-12.0.7');
    expect(parseEventId('v1-12.0.7', 3)).toEqual({ ok: true, position: [12, 0, 7] });
  });

  it.each([
    ['no prefix', '12.0.7'],
    ['another partition count', 'v1-12.0'],
    ['a negative offset', 'v1-12.-1.7'],
    ['a leading zero', 'v1-12.01.7'],
    ['letters', 'v1-12.x.7'],
    ['an empty offset', 'v1-12..7'],
    ['beyond a safe integer', 'v1-12.9007199254740993.7'],
  ])('refuses %s with a problem, never an exception', (_name, text) => {
    const parsed = parseEventId(text, 3);
    expect(parsed.ok).toBe(false);
  });

  it('moves a position past a record, never backwards', () => {
    expect(positionAfter([5, 5], 1, 9)).toEqual([5, 10]);
    expect(positionAfter([5, 5], 1, 3)).toEqual([5, 5]);
    expect(laterOf([1, 9], [4, 2])).toEqual([4, 9]);
    expect(covers([4, 9], [4, 2])).toBe(true);
    expect(covers([4, 1], [4, 2])).toBe(false);
    expect(recordsBetween([1, 9], [4, 2])).toBe(3);
    expect(rangesBetween([1, 9, 3], [4, 2, 3])).toEqual([{ partition: 0, fromOffset: 1, toOffset: 4 }]);
  });
});

describe('planResume: what a reconnecting client is replayed', () => {
  it('given a client behind the hub, then it replays exactly the offsets between, per partition', () => {
    expect(planResume([3, 5, 0], [6, 5, 2], [6, 5, 2], 100)).toEqual({
      kind: 'replay',
      ranges: [
        { partition: 0, fromOffset: 3, toOffset: 6 },
        { partition: 2, fromOffset: 0, toOffset: 2 },
      ],
      records: 5,
      floor: [3, 5, 0],
    });
  });

  it('given a client up to date, then nothing is replayed', () => {
    expect(planResume([6, 5], [6, 5], [6, 5], 0)).toMatchObject({ kind: 'replay', ranges: [], records: 0 });
  });

  it('given exactly the bound missed, then it replays; one more, then a gap that says how many at most', () => {
    expect(planResume([0, 0], [3, 2], [3, 2], 5)).toMatchObject({ kind: 'replay', records: 5 });
    expect(planResume([0, 0], [3, 3], [3, 3], 5)).toEqual({
      kind: 'gap',
      reason: 'too-many-missed',
      missedAtMost: 6,
    });
  });

  it('given a client ahead of this hub but within the log, then the floor keeps what it has from being resent', () => {
    const plan = planResume([9, 1], [4, 3], [9, 3], 100);
    expect(plan).toEqual({
      kind: 'replay',
      ranges: [{ partition: 1, fromOffset: 1, toOffset: 3 }],
      records: 2,
      floor: [9, 1],
    });
  });

  it('given an id past the end of the log, then it is a gap of unknown size, located', () => {
    expect(planResume([10, 0], [4, 3], [9, 3], 100)).toEqual({
      kind: 'gap',
      reason: 'unknown-event-id',
      problem: 'offset 10 is past the end (9) of partition 0',
    });
  });
});
