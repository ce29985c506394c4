import type { LiveStatsMessage } from '../../schemas/api.js';
import type { Decision } from '../../schemas/generated/types.js';

/**
 * Rolling figures for the live console, kept in one slot per second over the last `windowSeconds`: scored
 * transactions per decision, the score distribution (10 buckets of 0.1) and ingest→alert latencies. A transaction
 * counts once per window: `tx.scored` is at-least-once (a redelivered batch is decided again, a record can be
 * produced twice), and the console must agree with the reports, which count each transaction once. Memory is the
 * window's transaction ids (window × rate: ~10 MB at 60 s × 2,700 tx/s) plus what `latencySamples` fixes.
 */
export interface LiveStatsOptions {
  /** Seconds covered by decision mix, score histogram and latency percentiles. */
  readonly windowSeconds: number;
  /** Seconds over which throughput is averaged (≤ windowSeconds). */
  readonly throughputSeconds: number;
  /** Most recent ingest→alert latencies kept for percentiles. */
  readonly latencySamples: number;
}

export const SCORE_BUCKETS = 10;

interface SecondSlot {
  second: number;
  /** The transactions counted in this second, forgotten with it. */
  ids: string[];
  approve: number;
  review: number;
  decline: number;
  scoreBuckets: number[];
}

export class LiveStats {
  private readonly slots: SecondSlot[];
  private readonly latencies: Array<{ atMs: number; latencyMs: number }> = [];
  private latencyCursor = 0;
  /** Transaction id → the second it was counted in, for every id of a live slot. */
  private readonly counted = new Map<string, number>();

  constructor(private readonly options: LiveStatsOptions) {
    this.slots = Array.from({ length: options.windowSeconds }, () => ({
      second: -1,
      ids: [],
      approve: 0,
      review: 0,
      decline: 0,
      scoreBuckets: new Array<number>(SCORE_BUCKETS).fill(0),
    }));
  }

  /** Counts a decision, unless the same transaction was counted within the window (a redelivered or repeated record). */
  recordScored(transactionId: string, decision: Decision, score: number, nowMs: number): void {
    const slot = this.slotFor(nowMs);
    const countedAt = this.counted.get(transactionId);
    if (countedAt !== undefined && slot.second - countedAt < this.options.windowSeconds) return;
    this.counted.set(transactionId, slot.second);
    slot.ids.push(transactionId);
    if (decision === 'APPROVE') slot.approve += 1;
    else if (decision === 'REVIEW') slot.review += 1;
    else slot.decline += 1;
    const bucket = Math.min(SCORE_BUCKETS - 1, Math.max(0, Math.floor(score * SCORE_BUCKETS)));
    slot.scoreBuckets[bucket]! += 1;
  }

  recordAlertLatency(latencyMs: number, nowMs: number): void {
    const sample = { atMs: nowMs, latencyMs: Math.max(0, latencyMs) };
    if (this.latencies.length < this.options.latencySamples) this.latencies.push(sample);
    else this.latencies[this.latencyCursor] = sample;
    this.latencyCursor = (this.latencyCursor + 1) % this.options.latencySamples;
  }

  snapshot(nowMs: number): LiveStatsMessage {
    const nowSecond = Math.floor(nowMs / 1000);
    const mix = { APPROVE: 0, REVIEW: 0, DECLINE: 0 };
    const counts = new Array<number>(SCORE_BUCKETS).fill(0);
    let recent = 0;
    for (const slot of this.slots) {
      const age = nowSecond - slot.second;
      if (slot.second < 0 || age < 0 || age >= this.options.windowSeconds) continue;
      mix.APPROVE += slot.approve;
      mix.REVIEW += slot.review;
      mix.DECLINE += slot.decline;
      slot.scoreBuckets.forEach((n, i) => (counts[i]! += n));
      if (age < this.options.throughputSeconds) recent += slot.approve + slot.review + slot.decline;
    }
    const windowStartMs = nowMs - this.options.windowSeconds * 1000;
    const latencies = this.latencies
      .filter((s) => s.atMs > windowStartMs)
      .map((s) => s.latencyMs)
      .sort((a, b) => a - b);
    return {
      type: 'stats',
      atMs: nowMs,
      windowSeconds: this.options.windowSeconds,
      throughputPerSecond: recent / this.options.throughputSeconds,
      scoredInWindow: mix.APPROVE + mix.REVIEW + mix.DECLINE,
      decisionMix: mix,
      scoreHistogram: { bucketWidth: 1 / SCORE_BUCKETS, counts },
      alertLatencyMs: {
        samples: latencies.length,
        p50: percentile(latencies, 0.5),
        p95: percentile(latencies, 0.95),
        p99: percentile(latencies, 0.99),
        max: latencies.length === 0 ? null : latencies[latencies.length - 1]!,
      },
    };
  }

  private slotFor(nowMs: number): SecondSlot {
    const second = Math.floor(nowMs / 1000);
    const slot = this.slots[second % this.options.windowSeconds]!;
    if (slot.second !== second) {
      for (const id of slot.ids) if (this.counted.get(id) === slot.second) this.counted.delete(id);
      slot.ids = [];
      slot.second = second;
      slot.approve = slot.review = slot.decline = 0;
      slot.scoreBuckets.fill(0);
    }
    return slot;
  }
}

/** Nearest-rank percentile of an ascending array; null when empty. */
export function percentile(sortedAscending: readonly number[], q: number): number | null {
  if (sortedAscending.length === 0) return null;
  const rank = Math.ceil(q * sortedAscending.length);
  return sortedAscending[Math.min(sortedAscending.length - 1, Math.max(0, rank - 1))]!;
}
