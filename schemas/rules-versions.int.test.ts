import { createHash } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { Bus } from '../platform/bus.js';
import { systemClock } from '../platform/clock.js';
import { NamespacedBus } from '../platform/namespaced-bus.js';
import { KafkaTestContext, brokers, requireBroker, uniqueName, waitFor } from '../platform/kafka/test-helpers.js';
import { createCodec } from './codec.js';
import type { RulesVersion } from './generated/types.js';
import { EmbeddedSchemaRegistry } from './registry.js';
import { ACTIVE_RULES_KEY, type RulesVersionFeed, startRulesVersionFeed } from './rules-versions.js';
import { Topics } from './topics.js';

/**
 * Rules put in force reach every member on Kafka: two feeds (two scoring members, each in a consumer group of its own)
 * both apply a published version; a member started later reads the newest version back; a record whose version does
 * not hash its document is applied by nobody.
 */
const registry = new EmbeddedSchemaRegistry();

function version(label: string, publishedAtMs: number): RulesVersion {
  const rulesJson = JSON.stringify({ rules: [], version: label });
  return {
    version: createHash('sha256').update(rulesJson, 'utf8').digest('hex'),
    label,
    rulesJson,
    publishedBy: 'admin:1a2b3c4d',
    publishedAtMs,
  };
}

describe('rules versions on Kafka', () => {
  const ctx = new KafkaTestContext();
  const namespace = uniqueName('vigil-rules');
  const feeds: RulesVersionFeed[] = [];

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

  /** A member: its own connection, its own feed, and what its feed applied. */
  async function member(): Promise<{ feed: RulesVersionFeed; applied: string[] }> {
    const bus: Bus = new NamespacedBus(await ctx.bus(), namespace);
    const applied: string[] = [];
    const feed = await startRulesVersionFeed(bus, registry, systemClock, uniqueName('scoring'), (record) => {
      applied.push(record.label);
      return Promise.resolve();
    });
    feeds.push(feed);
    await feed.loaded;
    return { feed, applied };
  }

  it('reaches every member, is read back by a member started later, and a record that does not hash is refused', async () => {
    const setup: Bus = new NamespacedBus(await ctx.bus(), namespace);
    await setup.ensureTopics([
      { topic: Topics.rulesVersions, partitions: 1, compacted: true },
      { topic: Topics.deadLetters, partitions: 1 },
    ]);
    // A new topic's leader may not be elected yet: wait until its offsets can be read.
    await waitFor(
      () =>
        setup.endOffsets(Topics.rulesVersions).then(
          (ends) => ends.length === 1,
          () => false,
        ),
      'the rules topic to have a leader',
      30_000,
    );

    const first = await member();
    const second = await member();
    expect([first.feed.latest(), second.feed.latest()]).toEqual([undefined, undefined]);

    const a = version('A', Date.UTC(2026, 11, 1));
    await first.feed.publish(a);
    await waitFor(() => first.applied.length === 1 && second.applied.length === 1, 'both members to apply A', 30_000);
    expect([first.feed.latest()?.version, second.feed.latest()?.version]).toEqual([a.version, a.version]);

    // Negative control: a record whose document was edited under A's version is applied by no member.
    const codec = await createCodec<RulesVersion>(registry, Topics.rulesVersions);
    const forged: RulesVersion = { ...a, label: 'forged', rulesJson: JSON.stringify({ rules: [], version: 'forged' }) };
    await setup.producer().send(Topics.rulesVersions, [{ key: ACTIVE_RULES_KEY, value: codec.encode(forged) }]);
    const b = version('B', Date.UTC(2026, 11, 2));
    await second.feed.publish(b);
    await waitFor(() => first.applied.length === 2 && second.applied.length === 2, 'both members to apply B', 30_000);
    expect([first.applied, second.applied]).toEqual([
      ['A', 'B'],
      ['A', 'B'],
    ]);

    // A member started now (a restart) reads the newest version back before it decides anything.
    const later = await member();
    expect(later.feed.latest()?.version).toBe(b.version);
    expect(later.applied).toEqual(['A', 'B']);
  }, 120_000);
});
