import { ManualClock } from './clock.js';
import { ConsumerHealth, readStuckAfterMs } from './consumer-health.js';
import { UnavailableError } from './errors.js';
import { EmbeddedLog } from './embedded-log/embedded-log.js';
import { makeTempDir, removeTempDir, waitFor } from './embedded-log/test-helpers.js';
import { MetricsRegistry } from './metrics.js';

describe('ConsumerHealth', () => {
  it('is stuck only with lag and no handled record across two readings stuckAfterMs apart', () => {
    const clock = new ManualClock(0);
    let progress = { lag: 0, handledRecords: 0 };
    const health = new ConsumerHealth({ progress: () => progress }, clock, 60_000);
    expect(health.isStuck()).toBe(false);
    clock.advance(3_600_000); // idle for an hour: no lag, not stuck, and the clock restarts
    progress = { lag: 5, handledRecords: 0 };
    expect(health.isStuck()).toBe(false);
    clock.advance(59_999);
    expect(health.isStuck()).toBe(false);
    clock.advance(1);
    expect(health.read()).toEqual({ lag: 5, stuck: true, secondsSinceProgress: 60 });
    progress = { lag: 4, handledRecords: 1 }; // one record handled: progress, not stuck
    expect(health.isStuck()).toBe(false);
    clock.advance(120_000);
    progress = { lag: 900, handledRecords: 5_000 }; // busy with a growing backlog is not stuck either
    expect(health.isStuck()).toBe(false);
  });

  it('reads VIGIL_STUCK_AFTER_MS with a default and bounds', () => {
    expect(readStuckAfterMs({})).toBe(60_000);
    expect(readStuckAfterMs({ VIGIL_STUCK_AFTER_MS: '5000' })).toBe(5000);
    expect(() => readStuckAfterMs({ VIGIL_STUCK_AFTER_MS: '10' })).toThrow(/VIGIL_STUCK_AFTER_MS/);
  });

  describe('on a real embedded log subscription', () => {
    let dir: string;
    let log: EmbeddedLog | undefined;
    beforeEach(async () => {
      dir = await makeTempDir();
    });
    afterEach(async () => {
      await log?.close();
      await removeTempDir(dir);
    });

    it('reports lag and the stuck signal on /metrics while a handler fails, and clears when it recovers', async () => {
      log = await EmbeddedLog.open({
        dir,
        topics: [{ topic: 't', partitions: 2 }],
        redeliveryInitialBackoffMs: 1,
        redeliveryMaxBackoffMs: 2,
      });
      let failing = true;
      let attempts = 0;
      const subscription = await log.subscribe({ groupId: 'g', topics: ['t'] }, () => {
        attempts += 1;
        return failing ? Promise.reject(new UnavailableError('LEDGER_STORE_UNAVAILABLE', 'down')) : Promise.resolve();
      });
      const clock = new ManualClock(0);
      const metrics = new MetricsRegistry();
      const health = ConsumerHealth.watch(subscription, 'g', { metrics, clock, stuckAfterMs: 60_000 });
      await log.producer().send('t', [
        { key: 'a', value: Buffer.from('1') },
        { key: 'b', value: Buffer.from('2') },
        { key: 'a', value: Buffer.from('3') },
      ]);
      await waitFor(() => attempts >= 2, 'the handler failing');
      expect(health.read()).toMatchObject({ lag: 3, stuck: false });
      clock.advance(60_000);
      expect(metrics.render()).toContain('vigil_consumer_stuck{group="g"} 1');
      expect(metrics.render()).toContain('vigil_consumer_lag{group="g"} 3');

      failing = false;
      await waitFor(() => subscription.progress().lag === 0, 'the backlog drained');
      expect(health.isStuck()).toBe(false);
      expect(metrics.render()).toContain('vigil_consumer_stuck{group="g"} 0');
      expect(subscription.progress().handledRecords).toBe(3);
    });
  });
});
