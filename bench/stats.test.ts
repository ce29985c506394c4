import { percentile, summarizeLatencies } from './stats.js';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it('is the smallest value with at least p % of the samples at or below it', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3], 50)).toBe(2);
    expect(percentile([], 50)).toBeNaN();
  });

  it('negative control: the p99 of 100 samples is not the maximum (the previous floor-based rank gave 100)', () => {
    const floorRank = (sorted: readonly number[], p: number): number =>
      sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
    expect(floorRank(hundred, 99)).toBe(100);
    expect(percentile(hundred, 99)).not.toBe(floorRank(hundred, 99));
  });
});

describe('summarizeLatencies', () => {
  it('sorts before ranking', () => {
    expect(summarizeLatencies([30, 10, 20, 40])).toEqual({ n: 4, p50Ms: 20, p90Ms: 40, p99Ms: 40, maxMs: 40 });
    expect(summarizeLatencies([]).n).toBe(0);
  });
});
