import { ClientOutbox, type OutboxStep } from './outbox.js';

const policy = { capacity: 3, highWaterBytes: 1000, stallLimitMs: 5000 };
const HEALTHY = 0;
const CONGESTED = 1000;

/** Takes every step the outbox allows at this buffered amount, until it answers idle or terminate. */
function drain(outbox: ClientOutbox, bufferedBytes: number, nowMs: number): OutboxStep[] {
  const steps: OutboxStep[] = [];
  for (;;) {
    const step = outbox.next(bufferedBytes, nowMs);
    steps.push(step);
    if (step.kind !== 'send') return steps;
  }
}
const sent = (steps: OutboxStep[]): string[] => steps.flatMap((s) => (s.kind === 'send' ? [s.message] : []));

describe('slow-client outbox', () => {
  it('given a healthy socket, when alerts are queued, then they are all sent in order', () => {
    const outbox = new ClientOutbox(policy);
    outbox.enqueue('a1');
    outbox.enqueue('a2');
    expect(sent(drain(outbox, HEALTHY, 0))).toEqual(['a1', 'a2']);
    expect(outbox.stats).toMatchObject({ queued: 0, sent: 2, dropped: 0 });
  });

  it('given a congested socket, when more alerts arrive than the capacity, then the oldest are dropped and the queue stays bounded', () => {
    const outbox = new ClientOutbox(policy);
    expect(drain(outbox, CONGESTED, 0)).toEqual([{ kind: 'idle' }]);
    const dropped = ['a1', 'a2', 'a3', 'a4', 'a5'].map((m) => outbox.enqueue(m));
    expect(dropped).toEqual([0, 0, 0, 1, 1]);
    expect(outbox.stats).toMatchObject({ queued: 3, maxQueued: 3, dropped: 2, congested: true });
  });

  it('given dropped alerts, when the client recovers, then it first gets a dropped notice, then the newest alerts', () => {
    const outbox = new ClientOutbox(policy);
    outbox.next(CONGESTED, 0);
    ['a1', 'a2', 'a3', 'a4', 'a5'].forEach((m) => outbox.enqueue(m));
    expect(sent(drain(outbox, HEALTHY, 1000))).toEqual([
      JSON.stringify({ type: 'dropped', count: 2 }),
      'a3',
      'a4',
      'a5',
    ]);
    expect(outbox.stats.congested).toBe(false);
    // The notice is given once per episode.
    outbox.enqueue('a6');
    expect(sent(drain(outbox, HEALTHY, 1001))).toEqual(['a6']);
  });

  it('given stats snapshots while congested, then only the latest is sent, after the alerts, and never counts as a drop', () => {
    const outbox = new ClientOutbox(policy);
    outbox.offerStats('s1');
    outbox.next(CONGESTED, 0);
    outbox.offerStats('s2');
    outbox.enqueue('a1');
    const steps = drain(outbox, HEALTHY, 10);
    expect(sent(steps)).toEqual(['a1', 's2']);
    expect(steps.filter((s) => s.kind === 'send').map((s) => (s.kind === 'send' ? s.alert : null))).toEqual([
      true,
      false,
    ]);
    expect(outbox.stats.dropped).toBe(0);
  });

  it('given a client above the mark, when it stays there for the stall limit, then it is to be terminated', () => {
    const outbox = new ClientOutbox(policy);
    expect(outbox.next(CONGESTED, 10_000)).toEqual({ kind: 'idle' });
    expect(outbox.next(CONGESTED, 14_999)).toEqual({ kind: 'idle' });
    expect(outbox.next(CONGESTED, 15_000)).toEqual({ kind: 'terminate', congestedForMs: 5000 });
  });

  it('given a client that dips below the mark in between, then the stall clock restarts', () => {
    const outbox = new ClientOutbox(policy);
    outbox.next(CONGESTED, 0);
    outbox.next(HEALTHY, 4000);
    expect(outbox.next(CONGESTED, 4500)).toEqual({ kind: 'idle' });
    expect(outbox.next(CONGESTED, 9000)).toEqual({ kind: 'idle' });
    expect(outbox.next(CONGESTED, 9500).kind).toBe('terminate');
  });

  it('the check can fail: with capacity 1 a second alert while congested is a counted drop', () => {
    const outbox = new ClientOutbox({ ...policy, capacity: 1 });
    outbox.next(CONGESTED, 0);
    outbox.enqueue('a1');
    outbox.enqueue('a2');
    expect(outbox.stats).toMatchObject({ queued: 1, dropped: 1, maxQueued: 1 });
  });
});
