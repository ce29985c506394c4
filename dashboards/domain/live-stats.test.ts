import { LiveStats, percentile } from './live-stats.js';

describe('live stats', () => {
  const options = { windowSeconds: 60, throughputSeconds: 10, latencySamples: 100 };

  it('given scored transactions, then throughput, decision mix and score histogram reflect them', () => {
    const stats = new LiveStats(options);
    const t0 = 1_000_000;
    for (let i = 0; i < 50; i++) stats.recordScored(`tx-${i}`, 'APPROVE', 0.05, t0 + i * 100);
    stats.recordScored('tx-review', 'REVIEW', 0.55, t0 + 5000);
    stats.recordScored('tx-decline', 'DECLINE', 1.0, t0 + 5000);
    const snap = stats.snapshot(t0 + 5000);
    expect(snap.decisionMix).toEqual({ APPROVE: 50, REVIEW: 1, DECLINE: 1 });
    expect(snap.throughputPerSecond).toBeCloseTo(5.2);
    expect(snap.scoreHistogram.counts).toEqual([50, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
  });

  it('forgets what is older than the window', () => {
    const stats = new LiveStats(options);
    stats.recordScored('tx-1', 'APPROVE', 0.1, 0);
    expect(stats.snapshot(59_999).scoredInWindow).toBe(1);
    expect(stats.snapshot(60_000).scoredInWindow).toBe(0);
    stats.recordScored('tx-2', 'DECLINE', 0.9, 120_000); // reuses the slot of second 0
    expect(stats.snapshot(120_000).decisionMix).toEqual({ APPROVE: 0, REVIEW: 0, DECLINE: 1 });
  });

  it('counts a transaction once per window, however often its record arrives (redelivered or produced twice)', () => {
    const stats = new LiveStats(options);
    stats.recordScored('tx-1', 'APPROVE', 0.1, 0);
    stats.recordScored('tx-1', 'APPROVE', 0.1, 10); // the same record again
    stats.recordScored('tx-1', 'DECLINE', 0.9, 30_000); // decided again after a restart, other outcome
    stats.recordScored('tx-2', 'REVIEW', 0.6, 30_000);
    expect(stats.snapshot(30_000).decisionMix).toEqual({ APPROVE: 1, REVIEW: 1, DECLINE: 0 });
    // Once its second has left the window, the id is forgotten with it (memory is bounded by the window).
    stats.recordScored('tx-3', 'APPROVE', 0.1, 60_000); // reuses the slot of second 0
    stats.recordScored('tx-1', 'APPROVE', 0.1, 60_000);
    expect(stats.snapshot(60_000).decisionMix).toEqual({ APPROVE: 2, REVIEW: 1, DECLINE: 0 });
  });

  it('reports ingest→alert latency percentiles over a bounded sample', () => {
    const stats = new LiveStats({ ...options, latencySamples: 100 });
    for (let i = 1; i <= 200; i++) stats.recordAlertLatency(i, 1000);
    const latency = stats.snapshot(1000).alertLatencyMs;
    expect(latency.samples).toBe(100); // only the last 100 kept: 101..200
    expect(latency).toMatchObject({ p50: 150, p95: 195, p99: 199, max: 200 });
    expect(stats.snapshot(1000 + 61_000).alertLatencyMs).toMatchObject({ samples: 0, p50: null });
  });

  it('percentile uses nearest rank', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.99)).toBe(4);
  });
});
