import type { Subscription } from './bus.js';
import type { Clock } from './clock.js';
import { type Env, readInt } from './config.js';
import type { MetricsRegistry } from './metrics.js';

/**
 * The stuck-consumer signal: a subscription is stuck when it has records to handle (lag > 0) and has handled
 * none for `stuckAfterMs`. A consumer that is merely busy moves `handledRecords`; an idle one has no lag. Either
 * way it is not stuck; a poison batch retried for ever, a dead dependency or a wedged handler are.
 *
 * Evaluated when read (by `/metrics` and `/health/ready`), with no timer: "no progress for N ms" needs two
 * readings N ms apart that both saw lag and the same handled count. A reading with no lag, or the first with lag
 * after one without, restarts the clock, so a consumer idle for hours is not called stuck when a record arrives.
 */
export class ConsumerHealth {
  private lastHandled = -1;
  private lastLag = 0;
  private lastProgressMs: number;

  constructor(
    private readonly subscription: Pick<Subscription, 'progress'>,
    private readonly clock: Clock,
    private readonly stuckAfterMs: number,
  ) {
    this.lastProgressMs = clock.nowMs();
  }

  /** Registers `vigil_consumer_lag`, `vigil_consumer_stuck` and seconds since progress, labelled by group. */
  static watch(
    subscription: Pick<Subscription, 'progress'>,
    groupId: string,
    deps: { metrics: MetricsRegistry; clock: Clock; stuckAfterMs: number },
  ): ConsumerHealth {
    const health = new ConsumerHealth(subscription, deps.clock, deps.stuckAfterMs);
    const labels = { group: groupId };
    deps.metrics
      .gauge('vigil_consumer_lag', 'Records on the member’s partitions not yet handled, per consumer group.')
      .track(labels, () => health.read().lag);
    deps.metrics
      .gauge(
        'vigil_consumer_stuck',
        '1 while a consumer group has lag and has handled nothing for VIGIL_STUCK_AFTER_MS, else 0.',
      )
      .track(labels, () => (health.read().stuck ? 1 : 0));
    deps.metrics
      .gauge('vigil_consumer_seconds_since_progress', 'Seconds since the group last handled a record while it had lag.')
      .track(labels, () => health.read().secondsSinceProgress);
    return health;
  }

  read(): { lag: number; stuck: boolean; secondsSinceProgress: number } {
    const now = this.clock.nowMs();
    const { lag, handledRecords } = this.subscription.progress();
    // The backlog appeared some time after a reading that saw none, so its clock starts now.
    if (handledRecords !== this.lastHandled || lag === 0 || this.lastLag === 0) {
      this.lastHandled = handledRecords;
      this.lastProgressMs = now;
    }
    this.lastLag = lag;
    const sinceMs = now - this.lastProgressMs;
    return { lag, stuck: lag > 0 && sinceMs >= this.stuckAfterMs, secondsSinceProgress: sinceMs / 1000 };
  }

  isStuck(): boolean {
    return this.read().stuck;
  }
}

/** VIGIL_STUCK_AFTER_MS (1000..86400000, default 60000): how long a consumer with lag may handle nothing. */
export function readStuckAfterMs(env: Env): number {
  return readInt(env, 'VIGIL_STUCK_AFTER_MS', 60_000, { min: 1000, max: 86_400_000 });
}
