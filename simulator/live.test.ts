import { jest } from '@jest/globals';
import { ManualClock, systemClock, type Clock } from '../platform/clock.js';
import { ValidationError } from '../platform/errors.js';
import { createLogger, silentLogger } from '../platform/logger.js';
import type { TransactionRequest } from '../schemas/api.js';
import { startLiveTraffic, timerScheduler, type Scheduler } from './live.js';

/** A scheduler that runs callbacks only when the test moves its clock. */
class ManualScheduler implements Scheduler {
  private pending: Array<{ at: number; callback: () => void; cancelled: boolean }> = [];
  constructor(private readonly clock: ManualClock) {}

  schedule(callback: () => void, delayMs: number): { cancel(): void } {
    const entry = { at: this.clock.nowMs() + delayMs, callback, cancelled: false };
    this.pending.push(entry);
    return { cancel: () => void (entry.cancelled = true) };
  }

  /** Moves the clock forward in steps, running what falls due and letting promise callbacks settle. */
  async advance(ms: number, stepMs = 50): Promise<void> {
    for (let moved = 0; moved < ms; moved += stepMs) {
      this.clock.advance(stepMs);
      const due = this.pending.filter((p) => p.at <= this.clock.nowMs() && !p.cancelled);
      this.pending = this.pending.filter((p) => p.at > this.clock.nowMs() && !p.cancelled);
      for (const entry of due) entry.callback();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
  }

  get waiting(): number {
    return this.pending.filter((p) => !p.cancelled).length;
  }
}

const START = Date.UTC(2026, 10, 24, 9);
const base = { seed: 7, customers: 2_000, terminals: 4_000, logger: silentLogger } as const;

describe('startLiveTraffic', () => {
  it('sends about tps × seconds requests, stamped with the clock time, in small batches', async () => {
    const clock = new ManualClock(START);
    const scheduler = new ManualScheduler(clock);
    const batches: TransactionRequest[][] = [];
    const traffic = startLiveTraffic({
      ...base,
      tps: 20,
      clock,
      scheduler,
      send: (batch) => Promise.resolve(void batches.push(batch)),
    });
    await scheduler.advance(60_000);
    await traffic.stop();
    const sent = batches.flat();
    expect(traffic.sent()).toBe(sent.length);
    expect(sent.length).toBeGreaterThanOrEqual(20 * 60 - 10);
    expect(sent.length).toBeLessThanOrEqual(20 * 60);
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(10);
    const times = sent.map((r) => Date.parse(r.eventTime!));
    expect(times.every((t, i) => t >= START && t <= START + 60_000 && (i === 0 || t >= times[i - 1]!))).toBe(true);
    expect(new Set(sent.map((r) => r.transactionId)).size).toBe(sent.length);
    expect(scheduler.waiting).toBe(0);
  });

  it('keeps fraud visible: a few fraudulent requests a minute at 20 tps', async () => {
    const clock = new ManualClock(START);
    const scheduler = new ManualScheduler(clock);
    const sent: TransactionRequest[] = [];
    const traffic = startLiveTraffic({
      ...base,
      customers: undefined,
      terminals: undefined,
      tps: 20,
      clock,
      scheduler,
      send: (batch) => Promise.resolve(void sent.push(...batch)),
    });
    await scheduler.advance(5 * 60_000, 250);
    await traffic.stop();
    expect(sent.length).toBeGreaterThan(5_900);
    const perMinute = traffic.fraudSent() / 5;
    expect(perMinute).toBeGreaterThanOrEqual(3);
    expect(perMinute).toBeLessThanOrEqual(30);
  });

  it('never has more than one send in flight, and resumes when it settles', async () => {
    const clock = new ManualClock(START);
    const scheduler = new ManualScheduler(clock);
    let inFlight = 0;
    let maxInFlight = 0;
    let release: (() => void) | undefined;
    const send = (): Promise<void> => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return new Promise<void>((resolve) => {
        release = () => {
          inFlight--;
          resolve();
        };
      });
    };
    const traffic = startLiveTraffic({ ...base, tps: 100, clock, scheduler, send, maxBacklog: 500 });
    await scheduler.advance(10_000);
    expect(maxInFlight).toBe(1);
    expect(traffic.sent()).toBe(0);
    release!();
    await scheduler.advance(1_000);
    expect(traffic.sent()).toBeGreaterThan(0);
    // Stop waits for the in-flight send.
    let stopped = false;
    const stopping = traffic.stop().then(() => (stopped = true));
    await Promise.resolve();
    expect(stopped).toBe(false);
    release!();
    await stopping;
    expect(stopped).toBe(true);
    expect(maxInFlight).toBe(1);
  });

  it('logs a failed send and carries on', async () => {
    const clock = new ManualClock(START);
    const scheduler = new ManualScheduler(clock);
    const lines: string[] = [];
    const logger = createLogger({ write: (line) => lines.push(line) });
    let calls = 0;
    const send = (batch: TransactionRequest[]): Promise<void> => {
      calls++;
      if (calls % 2 === 1) return Promise.reject(new Error('ingest down'));
      if (calls === 4) throw new Error('synchronous failure');
      return Promise.resolve(void batch);
    };
    const traffic = startLiveTraffic({ ...base, logger, tps: 20, clock, scheduler, send });
    await scheduler.advance(10_000);
    await traffic.stop();
    expect(calls).toBeGreaterThan(10);
    expect(traffic.sent()).toBeGreaterThan(0);
    expect(traffic.sent()).toBeLessThan(200);
    expect(lines.filter((l) => l.includes('simulated batch not delivered')).length).toBeGreaterThan(5);
    expect(lines.join('\n')).toMatch(/ingest down/);
    expect(lines.join('\n')).not.toMatch(/\b4\d{15}\b|\b5\d{15}\b/);
  });

  it('runs on real timers (faked by jest) with the default scheduler', async () => {
    jest.useFakeTimers({ now: START });
    try {
      const clock: Clock = { nowMs: () => Date.now() };
      let count = 0;
      const traffic = startLiveTraffic({
        ...base,
        tps: 40,
        clock,
        scheduler: timerScheduler,
        send: (batch) => Promise.resolve(void (count += batch.length)),
      });
      await jest.advanceTimersByTimeAsync(5_000);
      await traffic.stop();
      expect(count).toBeGreaterThanOrEqual(190);
      expect(count).toBeLessThanOrEqual(200);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('rejects a rate that is not positive', () => {
    let error: unknown;
    try {
      startLiveTraffic({ ...base, tps: 0, clock: systemClock, send: () => Promise.resolve() });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).problems).toEqual([{ path: '/tps', message: 'must be a number > 0' }]);
  });
});
