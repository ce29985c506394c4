import { ClientOutbox, type OutboxStep, heldBytesBound } from './outbox.js';

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
const text = new TextDecoder();
const bytes = (message: string): Uint8Array => new TextEncoder().encode(message);
const sent = (steps: OutboxStep[]): string[] =>
  steps.flatMap((s) => (s.kind === 'send' ? [text.decode(s.message)] : []));

describe('slow-client outbox', () => {
  it('given a healthy socket, when alerts are queued, then they are all sent in order', () => {
    const outbox = new ClientOutbox(policy);
    outbox.enqueue(bytes('a1'));
    outbox.enqueue(bytes('a2'));
    expect(sent(drain(outbox, HEALTHY, 0))).toEqual(['a1', 'a2']);
    expect(outbox.stats).toMatchObject({ queued: 0, sent: 2, dropped: 0 });
  });

  it('given a congested socket, when more alerts arrive than the capacity, then the oldest are dropped and the queue stays bounded', () => {
    const outbox = new ClientOutbox(policy);
    expect(drain(outbox, CONGESTED, 0)).toEqual([{ kind: 'idle' }]);
    const dropped = ['a1', 'a2', 'a3', 'a4', 'a5'].map((m) => outbox.enqueue(bytes(m)));
    expect(dropped).toEqual([0, 0, 0, 1, 1]);
    expect(outbox.stats).toMatchObject({ queued: 3, maxQueued: 3, dropped: 2, congested: true });
  });

  it('given dropped alerts, when the client recovers, then it first gets a dropped notice, then the newest alerts', () => {
    const outbox = new ClientOutbox(policy);
    outbox.next(CONGESTED, 0);
    ['a1', 'a2', 'a3', 'a4', 'a5'].forEach((m) => outbox.enqueue(bytes(m)));
    expect(sent(drain(outbox, HEALTHY, 1000))).toEqual([
      JSON.stringify({ type: 'dropped', count: 2 }),
      'a3',
      'a4',
      'a5',
    ]);
    expect(outbox.stats.congested).toBe(false);
    // The notice is given once per episode.
    outbox.enqueue(bytes('a6'));
    expect(sent(drain(outbox, HEALTHY, 1001))).toEqual(['a6']);
  });

  it('given stats snapshots while congested, then only the latest is sent, after the alerts, and never counts as a drop', () => {
    const outbox = new ClientOutbox(policy);
    outbox.offerStats(bytes('s1'));
    outbox.next(CONGESTED, 0);
    outbox.offerStats(bytes('s2'));
    outbox.enqueue(bytes('a1'));
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
    outbox.enqueue(bytes('a1'));
    outbox.enqueue(bytes('a2'));
    expect(outbox.stats).toMatchObject({ queued: 1, dropped: 1, maxQueued: 1 });
  });
  it('given a congested socket, when the queued bytes pass the budget, then the oldest are dropped although the count is under capacity', () => {
    const outbox = new ClientOutbox({ capacity: 100, highWaterBytes: 1000, maxQueuedBytes: 250, stallLimitMs: 5000 });
    outbox.next(CONGESTED, 0);
    const dropped = ['a', 'b', 'c', 'd'].map((letter) => outbox.enqueue(bytes(letter.repeat(100))));
    expect(dropped).toEqual([0, 0, 1, 1]);
    expect(outbox.stats).toMatchObject({ queued: 2, queuedBytes: 200, maxQueuedBytes: 200, dropped: 2 });
    expect(sent(drain(outbox, HEALTHY, 1))).toEqual([
      JSON.stringify({ type: 'dropped', count: 2 }),
      'c'.repeat(100),
      'd'.repeat(100),
    ]);
    expect(outbox.stats).toMatchObject({ queued: 0, queuedBytes: 0, alertsSent: 2, sent: 3 });
  });

  it('given one alert larger than the budget, then it is kept alone (a client that keeps up still gets it) and replaced by the next', () => {
    const outbox = new ClientOutbox({ capacity: 100, highWaterBytes: 1000, maxQueuedBytes: 250, stallLimitMs: 5000 });
    outbox.next(CONGESTED, 0);
    expect(outbox.enqueue(bytes('x'.repeat(400)))).toBe(0);
    expect(outbox.stats).toMatchObject({ queued: 1, queuedBytes: 400 });
    expect(outbox.enqueue(bytes('y'))).toBe(1);
    expect(outbox.stats).toMatchObject({ queued: 1, queuedBytes: 1, dropped: 1 });
  });

  it('without maxQueuedBytes the budget is the high-water mark, and the stated bound covers socket, queue and stats', () => {
    const outbox = new ClientOutbox({ capacity: 100, highWaterBytes: 300, stallLimitMs: 5000 });
    outbox.next(CONGESTED, 0);
    ['a', 'b', 'c', 'd'].forEach((letter) => outbox.enqueue(bytes(letter.repeat(100))));
    outbox.offerStats(bytes('s'.repeat(50)));
    expect(outbox.stats).toMatchObject({ queued: 3, queuedBytes: 300, heldBytes: 350, dropped: 1 });
    // socket: under the mark plus one frame; queue: the budget; stats: one message.
    expect(heldBytesBound({ capacity: 100, highWaterBytes: 300, stallLimitMs: 5000 }, 100)).toBe(300 + 110 + 300 + 100);
  });

  it('counts alerts sent, dropped and queued so that together they are every alert enqueued', () => {
    const outbox = new ClientOutbox(policy);
    outbox.enqueue(bytes('a1'));
    drain(outbox, HEALTHY, 0);
    outbox.next(CONGESTED, 1);
    ['a2', 'a3', 'a4', 'a5', 'a6'].forEach((m) => outbox.enqueue(bytes(m)));
    const { alertsSent, dropped, queued } = outbox.stats;
    expect({ alertsSent, dropped, queued }).toEqual({ alertsSent: 1, dropped: 2, queued: 3 });
  });

  it('refuses a byte budget that is not a positive integer', () => {
    expect(() => new ClientOutbox({ ...policy, maxQueuedBytes: 0 })).toThrow(RangeError);
  });
});

describe('hasRoomFor: what a replay may queue without dropping', () => {
  it('given room by count and bytes, then true; at capacity or over the byte budget, then false', () => {
    const outbox = new ClientOutbox({ capacity: 2, highWaterBytes: 1000, maxQueuedBytes: 10, stallLimitMs: 5000 });
    expect(outbox.hasRoomFor(50)).toBe(true); // an empty queue always takes one, however large
    outbox.enqueue(bytes('1234'));
    expect(outbox.hasRoomFor(6)).toBe(true);
    expect(outbox.hasRoomFor(7)).toBe(false);
    outbox.enqueue(bytes('12'));
    expect(outbox.hasRoomFor(1)).toBe(false);
    expect(outbox.stats.dropped).toBe(0);
  });
});
