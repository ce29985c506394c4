/**
 * The most attempts a retry loop can make within `windowMs` (from its first attempt to its last) when attempt
 * k + 1 starts at least `minGapMs(k)` after attempt k started. A loop that backs off cannot exceed it however
 * fast or slow the machine is — slowness only stretches the gaps — so a count above it proves the waits were
 * shorter than the schedule says. Gaps must be positive.
 */
export function maxAttemptsWithin(windowMs: number, minGapMs: (retry: number) => number): number {
  let attempts = 1;
  let earliestNext = 0;
  for (let retry = 1; ; retry++) {
    const gap = minGapMs(retry);
    if (!(gap > 0)) throw new RangeError(`gap ${gap} ms before retry ${retry} must be positive`);
    earliestNext += gap;
    if (earliestNext > windowMs) return attempts;
    attempts += 1;
  }
}

/**
 * Node's timers may fire up to a millisecond before the requested delay as measured by `Date.now()` (both are
 * millisecond clocks read at different moments), so a lower bound on a wait is the delay minus this.
 */
export const TIMER_SLACK_MS = 1;
