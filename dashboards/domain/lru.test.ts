import { RecentIds } from './lru.js';

describe('alert de-duplication (RecentIds)', () => {
  it('given a new id, reports first sight; given it again, does not', () => {
    const recent = new RecentIds(3);
    expect(recent.firstSight('a')).toBe(true);
    expect(recent.firstSight('a')).toBe(false);
  });

  it('stays bounded: at capacity the least recently seen id is forgotten', () => {
    const recent = new RecentIds(3);
    ['a', 'b', 'c'].forEach((id) => recent.firstSight(id));
    recent.firstSight('a'); // refreshes a: b is now the oldest
    expect(recent.firstSight('d')).toBe(true);
    expect(recent.size).toBe(3);
    expect(recent.firstSight('b')).toBe(true); // forgotten, so seen anew (evicting c)
    expect(recent.firstSight('a')).toBe(false);
    expect(recent.firstSight('d')).toBe(false);
  });

  it('never holds more than its capacity, whatever arrives', () => {
    const recent = new RecentIds(100);
    for (let i = 0; i < 10_000; i++) recent.firstSight(`alert-${i}`);
    expect(recent.size).toBe(100);
    expect(recent.firstSight('alert-9999')).toBe(false);
    expect(recent.firstSight('alert-0')).toBe(true);
  });

  it('rejects a capacity below 1', () => {
    expect(() => new RecentIds(0)).toThrow(RangeError);
  });
});

describe('RecentIds.has', () => {
  it('answers without remembering or refreshing', () => {
    const recent = new RecentIds(2);
    expect(recent.has('a')).toBe(false);
    expect(recent.size).toBe(0);
    recent.firstSight('a');
    recent.firstSight('b');
    expect(recent.has('a')).toBe(true);
    recent.firstSight('c'); // a was not refreshed by has, so it is the one forgotten
    expect(recent.has('a')).toBe(false);
  });
});
