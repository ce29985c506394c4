/**
 * Redelivery backoff for bus subscriptions: the wait doubles from `initialMs` up to `maxMs` with each failed
 * attempt, and a pending wait can be cut short when the subscription closes.
 */
export class RedeliveryBackoff {
  private cancelPending: (() => void) | null = null;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {}

  /** The wait before retrying after `attempt` consecutive failures (1-based). */
  delayMs(attempt: number): number {
    return Math.min(this.maxMs, this.initialMs * 2 ** Math.min(attempt - 1, 30));
  }

  /** Waits `ms`, or less if `cancel()` is called meanwhile. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.cancelPending = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.cancelPending = done;
    });
  }

  /** Ends the pending wait now (on close). */
  cancel(): void {
    this.cancelPending?.();
  }
}
