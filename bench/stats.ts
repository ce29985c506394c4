/** Order statistics of latency samples, as the benchmark reports them. */

/**
 * The nearest-rank percentile `p` (0–100] of ascending `sorted`: the smallest value with at least p % of the
 * samples at or below it. NaN for no samples.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface LatencySummary {
  readonly n: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** n, p50, p90, p99 and max of latencies in ms (NaN percentiles for no samples). */
export function summarizeLatencies(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.at(-1) ?? NaN,
  };
}

/** `n=… p50=… p90=… p99=… max=…` of latencies in ms. */
export function formatLatencies(s: LatencySummary): string {
  return `n=${s.n} p50=${s.p50Ms} ms p90=${s.p90Ms} ms p99=${s.p99Ms} ms max=${s.maxMs} ms`;
}
