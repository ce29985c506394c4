import { Kafka, logLevel } from 'kafkajs';
import type { Bus } from '../../platform/bus.js';
import { systemClock } from '../../platform/clock.js';
import { NamespacedBus } from '../../platform/namespaced-bus.js';
import { KafkaTestContext, brokers, requireBroker, uniqueName, waitFor } from '../../platform/kafka/test-helpers.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import type { CaseEvent } from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import { type Case, CaseBook } from '../domain/cases.js';
import { type CaseFeed, startCaseFeed } from './case-feed.js';

/**
 * Cases on Kafka, as two dashboards replicas see them: each folds cases.events in a consumer group of its own. Two
 * analysts resolve the same case at once on the two replicas (fraud on one, genuine on the other): exactly one step
 * wins, both replicas say which, and they — and a replica started later — hold the same cases.
 */
const registry = new EmbeddedSchemaRegistry();

const blank = {
  actorName: null,
  alert: null,
  groupKey: null,
  joinWithinMs: null,
  assignee: null,
  note: null,
  resolution: null,
  releaseNeedsApproval: null,
} as const;

/** Every case of `a` that `b` holds differently, or not at all (and the other way round), by id. */
function disagreements(a: CaseBook, b: CaseBook): string[] {
  const text = (c: Case | undefined) => JSON.stringify(c, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  const ids = new Set([...a.all(), ...b.all()].map((c) => c.caseId));
  return [...ids].filter((id) => text(a.get(id)) !== text(b.get(id)));
}

describe('case steps on Kafka', () => {
  const ctx = new KafkaTestContext();
  const namespace = uniqueName('vigil-cases');
  const feeds: CaseFeed[] = [];

  beforeAll(requireBroker);
  afterAll(async () => {
    await Promise.all(feeds.map((f) => f.subscription.close()));
    await ctx.cleanup();
    const admin = new Kafka({ clientId: 'vigil-test-cleanup', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${namespace}.`));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
    await admin.disconnect();
  }, 60_000);

  /** A replica: its own connection and its own fold. */
  async function replica(): Promise<CaseFeed> {
    const bus: Bus = new NamespacedBus(await ctx.bus(), namespace);
    const deadLetters = await DeadLetterWriter.create(bus, registry, uniqueName('dashboards'), systemClock);
    const feed = await startCaseFeed(bus, registry, deadLetters, { stepTimeoutMs: 60_000 });
    feeds.push(feed);
    await feed.loaded;
    return feed;
  }

  it('two replicas resolving one case at once: one step wins on both, and every replica holds the same cases', async () => {
    const setup: Bus = new NamespacedBus(await ctx.bus(), namespace);
    await setup.ensureTopics([
      { topic: Topics.caseEvents, partitions: 1, compacted: true },
      { topic: Topics.deadLetters, partitions: 1 },
    ]);
    // A new topic's leader may not be elected yet: wait until its offsets can be read.
    await waitFor(
      () =>
        setup.endOffsets(Topics.caseEvents).then(
          (ends) => ends.length === 1,
          () => false,
        ),
      'the case topic to have a leader',
      30_000,
    );
    const first = await replica();
    const second = await replica();

    const nowMs = Date.now();
    const alertStep: CaseEvent = {
      ...blank,
      eventId: 'alert-a1',
      caseId: 'case-a1',
      action: 'ALERT',
      actor: 'system',
      atMs: nowMs,
      alert: {
        alertId: 'a1',
        transactionId: 'tx-1',
        decision: 'REVIEW',
        score: 0.7,
        amountMinor: 5_000n,
        currency: 'EUR',
        payerAccountId: 'acct-1',
        cardToken: null,
        eventTimeMs: nowMs,
        raisedAtMs: nowMs,
      },
      groupKey: 'customer:acct-1',
      joinWithinMs: 3_600_000n,
    };
    const opened = await first.submit(alertStep);
    expect(opened).toEqual({ kind: 'applied', caseId: 'case-a1', opened: true });
    const assign: CaseEvent = {
      ...blank,
      eventId: uniqueName('assign'),
      caseId: 'case-a1',
      action: 'ASSIGN',
      actor: 'user:ann',
      atMs: nowMs + 1,
      assignee: 'user:ann',
    };
    expect((await first.submit(assign)).kind).toBe('applied');
    const openingSteps = [alertStep, assign];
    await second.catchUp();
    expect(second.book.get('case-a1')?.state).toBe('assigned');

    const resolve = (actor: string, resolution: 'FRAUD' | 'GENUINE'): CaseEvent => ({
      ...blank,
      eventId: uniqueName('resolve'),
      caseId: 'case-a1',
      action: 'RESOLVE',
      actor,
      atMs: nowMs + 2,
      resolution,
      releaseNeedsApproval: resolution === 'GENUINE' ? false : null,
    });
    // Both replicas would accept their own step on what they have folded...
    const fraud = resolve('user:ann', 'FRAUD');
    const genuine = resolve('user:bob', 'GENUINE');
    expect([first.book.check(fraud).kind, second.book.check(genuine).kind]).toEqual(['applied', 'applied']);
    // ...and both write at once: the log orders them, and the fold refuses the later one on every replica.
    const outcomes = await Promise.all([first.submit(fraud), second.submit(genuine)]);
    expect(outcomes.map((o) => o.kind).sort()).toEqual(['applied', 'refused']);
    const winner = outcomes[0].kind === 'applied' ? 'FRAUD' : 'GENUINE';
    await Promise.all([first.catchUp(), second.catchUp()]);
    expect([first.book.get('case-a1')?.resolution, second.book.get('case-a1')?.resolution]).toEqual([winner, winner]);
    expect(disagreements(first.book, second.book)).toEqual([]);

    // A replica started now (a restart) folds the same cases from the log.
    const later = await replica();
    expect(disagreements(first.book, later.book)).toEqual([]);
    expect(later.book.get('case-a1')?.history.map((h) => h.action)).toEqual(['ALERT', 'ASSIGN', 'RESOLVE']);

    // Negative control: a fold that saw the two resolutions in the other order holds the other verdict, and the
    // comparison reports it.
    const reordered = new CaseBook();
    const [won, lost] = winner === 'FRAUD' ? [fraud, genuine] : [genuine, fraud];
    for (const step of [...openingSteps, lost, won]) reordered.apply(step);
    expect(disagreements(first.book, reordered)).toEqual(['case-a1']);
  }, 180_000);
});
