import type { ManualClock } from '../../platform/clock.js';
import type { Scheduler } from '../live.js';

/** A scheduler that runs callbacks only when the test moves its clock. */
export class ManualScheduler implements Scheduler {
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
