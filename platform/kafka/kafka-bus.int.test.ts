import type { BusRecord, OutgoingRecord, RecordBatch, Subscription } from '../bus.js';
import { systemClock } from '../clock.js';
import { VigilError } from '../errors.js';
import { partitionForKey } from '../murmur2.js';
import { createCodec } from '../../schemas/codec.js';
import { DeadLetterWriter, decodeOrDeadLetter } from '../../schemas/dead-letter.js';
import { sampleTransaction } from '../../schemas/fixtures.js';
import type { DeadLetter, Transaction } from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { HeaderNames, Topics } from '../../schemas/topics.js';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { KafkaTestContext, brokers, readAll, requireBroker, waitFor } from './test-helpers.js';

function record(key: string | null, text: string, headers?: Record<string, string>): OutgoingRecord {
  return { key, value: Buffer.from(text), ...(headers === undefined ? {} : { headers }) };
}

function texts(records: readonly BusRecord[]): string[] {
  return records.map((r) => r.value.toString());
}

async function rejection(promise: Promise<unknown>): Promise<VigilError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof VigilError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

/** A handler that records every batch it is given. */
function collect(): { batches: RecordBatch[]; handler: (batch: RecordBatch) => Promise<void>; values: () => string[] } {
  const batches: RecordBatch[] = [];
  return {
    batches,
    handler: (batch) => {
      batches.push(batch);
      return Promise.resolve();
    },
    values: () => batches.flatMap((b) => texts(b.records)),
  };
}

describe('KafkaBus against a real broker', () => {
  const ctx = new KafkaTestContext();

  beforeAll(requireBroker);
  afterEach(() => ctx.cleanup());

  describe('producing and replay', () => {
    it('puts keyed records on partitionForKey(key, n), returns their positions, and reads them back intact', async () => {
      const bus = await ctx.bus();
      const topic = ctx.topic();
      await bus.ensureTopics([{ topic, partitions: 6 }]);
      await bus.ensureTopics([{ topic, partitions: 6 }]); // idempotent
      expect(await bus.partitionCount(topic)).toBe(6);

      const keys = Array.from({ length: 300 }, (_, i) => `account-${i}`);
      const positions = await bus.producer().send(
        topic,
        keys.map((key, i) => ({
          key,
          value: Buffer.from(`v${i}`),
          headers: { id: String(i) },
          timestampMs: 1_700_000_000_000 + i,
        })),
      );
      expect(positions.map((p) => p.partition)).toEqual(keys.map((key) => partitionForKey(key, 6)));
      // Offsets within a partition are consecutive from 0, in input order.
      for (let partition = 0; partition < 6; partition++) {
        const offsets = positions.filter((p) => p.partition === partition).map((p) => p.offset);
        expect(offsets).toEqual(offsets.map((_, i) => i));
      }
      for (const [i, position] of positions.entries()) {
        if (i % 17 !== 0) continue;
        const [stored] = await bus.read(topic, position.partition, position.offset, 1);
        expect(stored).toMatchObject({
          topic,
          partition: position.partition,
          offset: position.offset,
          key: keys[i],
          headers: { id: String(i) },
          timestampMs: 1_700_000_000_000 + i,
        });
        expect(stored!.value.toString()).toBe(`v${i}`);
      }
      const ends = await bus.endOffsets(topic);
      expect(ends.reduce((a, b) => a + b, 0)).toBe(300);
      for (let partition = 0; partition < 6; partition++) {
        for (const stored of await readAll(bus, topic, partition))
          expect(partitionForKey(stored.key!, 6)).toBe(partition);
      }

      const unkeyed = await bus.producer().send(
        topic,
        Array.from({ length: 12 }, (_, i) => record(null, `n${i}`)),
      );
      expect(unkeyed.map((p) => p.partition).sort()).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    });

    it('replays any range, returns [] at the end and refuses offsets outside the log', async () => {
      const bus = await ctx.bus();
      const topic = ctx.topic();
      await bus.ensureTopics([{ topic, partitions: 2 }]);
      const all = Array.from({ length: 250 }, (_, i) => `r${i}`);
      for (let i = 0; i < all.length; i += 50)
        await bus.producer().send(
          topic,
          all.slice(i, i + 50).map((t) => record('one-key', t)),
        );
      const partition = partitionForKey('one-key', 2);
      for (const from of [0, 1, 49, 50, 199, 249])
        expect(texts(await bus.read(topic, partition, from, 20))).toEqual(all.slice(from, from + 20));
      expect(await bus.read(topic, partition, 250, 5)).toEqual([]);
      expect((await rejection(bus.read(topic, partition, 251, 5))).code).toBe('OFFSET_OUT_OF_RANGE');
      expect((await rejection(bus.read(topic, 7, 0, 5))).code).toBe('INVALID_PARTITION');
      expect((await rejection(bus.read(topic, partition, -1, 5))).code).toBe('INVALID_ARGUMENT');
    });

    it('reports unknown topics and invalid specs with stable codes', async () => {
      const bus = await ctx.bus();
      const missing = ctx.topic('missing');
      expect((await rejection(bus.producer().send(missing, [record('k', 'v')]))).code).toBe('UNKNOWN_TOPIC');
      expect((await rejection(bus.partitionCount(missing))).code).toBe('UNKNOWN_TOPIC');
      expect(
        (await rejection(bus.subscribe({ groupId: ctx.group(), topics: [missing] }, () => Promise.resolve()))).code,
      ).toBe('UNKNOWN_TOPIC');
      // A fetch lingering past the heartbeat interval would hold up the member's heartbeats (300 ms here).
      const topic = ctx.topic();
      await bus.ensureTopics([{ topic, partitions: 1 }]);
      const lingering = await rejection(
        bus.subscribe({ groupId: ctx.group(), topics: [topic], lingerMs: 300 }, () => Promise.resolve()),
      );
      expect(lingering).toMatchObject({ code: 'INVALID_ARGUMENT', problems: [{ path: '/lingerMs' }] });
      const invalid = await rejection(bus.ensureTopics([{ topic: 'bad/name', partitions: 0 }]));
      expect(invalid).toMatchObject({
        code: 'INVALID_TOPIC',
        problems: [{ path: '/0/topic' }, { path: '/0/partitions' }],
      });
      await bus.close();
      expect((await rejection(bus.producer().send(missing, [record('k', 'v')]))).code).toBe('LOG_CLOSED');
      const badRetention = await rejection(bus.ensureTopics([{ topic: 'ok', partitions: 1, retentionMs: 0 }]));
      expect(badRetention).toMatchObject({ code: 'INVALID_TOPIC', problems: [{ path: '/0/retentionMs' }] });
    });

    it('creates a topic with its cleanup policy and retention', async () => {
      const bus = await ctx.bus();
      const [compacted, retained, plain] = [ctx.topic('compacted'), ctx.topic('retained'), ctx.topic('plain')];
      await bus.ensureTopics([
        { topic: compacted, partitions: 1, compacted: true },
        { topic: retained, partitions: 1, retentionMs: 123_456_789 },
        { topic: plain, partitions: 1 },
      ]);
      const admin = new Kafka({ clientId: 'vigil-test-configs', brokers, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        const { resources } = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [compacted, retained, plain].map((name) => ({
            type: ConfigResourceTypes.TOPIC,
            name,
            configNames: ['cleanup.policy', 'retention.ms'],
          })),
        });
        const configs = resources.map((r) =>
          Object.fromEntries(
            r.configEntries.map((e) => [e.configName, { value: e.configValue, isDefault: e.isDefault }]),
          ),
        );
        expect(configs[0]!['cleanup.policy']!.value).toBe('compact');
        expect(configs[1]!['retention.ms']).toEqual({ value: '123456789', isDefault: false });
        expect(configs[1]!['cleanup.policy']!.value).toBe('delete');
        expect(configs[2]!['retention.ms']!.isDefault).toBe(true);
      } finally {
        await admin.disconnect();
      }
    });
  });

  describe('consumer groups', () => {
    it('delivers every record once, in offset order per partition, in batches of at most maxBatchRecords, committing after each', async () => {
      const bus = await ctx.bus();
      const topic = ctx.topic();
      const group = ctx.group();
      await bus.ensureTopics([{ topic, partitions: 3 }]);
      const { batches, handler } = collect();
      await bus.subscribe({ groupId: group, topics: [topic], maxBatchRecords: 7 }, handler);
      for (let i = 0; i < 100; i += 5)
        await bus.producer().send(
          topic,
          Array.from({ length: 5 }, (_, j) => record(`k${(i + j) % 10}`, `v${i + j}`)),
        );
      const ends = await bus.endOffsets(topic);
      await waitFor(
        async () => (await bus.committedOffsets(group, topic)).join() === ends.join(),
        'offsets committed to the end',
      );
      for (const batch of batches) expect(batch.records.length).toBeLessThanOrEqual(7);
      for (let partition = 0; partition < 3; partition++) {
        const offsets = batches.filter((b) => b.partition === partition).flatMap((b) => b.records.map((r) => r.offset));
        expect(offsets).toEqual(Array.from({ length: ends[partition]! }, (_, i) => i));
      }
    });

    it('splits partitions between two members; when one leaves, the other takes over and every record is handled', async () => {
      const topic = ctx.topic();
      const group = ctx.group();
      const [producerBus, busA, busB] = [await ctx.bus(), await ctx.bus(), await ctx.bus()];
      await producerBus.ensureTopics([{ topic, partitions: 4 }]);
      const handledBy = { a: new Set<string>(), b: new Set<string>() };
      const partitionsOf = { a: new Set<number>(), b: new Set<number>() };
      const member = (name: 'a' | 'b') => (batch: RecordBatch) => {
        partitionsOf[name].add(batch.partition);
        for (const r of batch.records) handledBy[name].add(r.value.toString());
        return Promise.resolve();
      };
      const a = await busA.subscribe({ groupId: group, topics: [topic], maxBatchRecords: 10 }, member('a'));
      await busB.subscribe({ groupId: group, topics: [topic], maxBatchRecords: 10 }, member('b'));

      const sent: string[] = [];
      const sendRound = async (round: number): Promise<void> => {
        const values = Array.from({ length: 40 }, (_, i) => `r${round}-${i}`);
        await producerBus.producer().send(
          topic,
          values.map((v, i) => record(`key-${i}`, v)),
        );
        sent.push(...values);
      };
      const handled = (): Set<string> => new Set([...handledBy.a, ...handledBy.b]);
      // b's join completes only once a has rejoined, so the partitions are split before anything is sent.
      let round = 0;
      await sendRound(round++);
      await waitFor(() => sent.every((v) => handled().has(v)), 'the first round handled', 30_000);
      expect([...partitionsOf.a].filter((p) => partitionsOf.b.has(p))).toEqual([]);
      expect(partitionsOf.a.size + partitionsOf.b.size).toBe(4);

      await a.close();
      for (let i = 0; i < 5; i++) await sendRound(round++);
      await waitFor(() => sent.every((v) => handled().has(v)), 'every record handled after member a left', 30_000);
      expect(partitionsOf.b.size).toBe(4);
      expect(sent.filter((v) => !handled().has(v))).toEqual([]);
    });

    it('redelivers a rejected batch unchanged and commits nothing of it until the handler succeeds', async () => {
      const bus = await ctx.bus();
      const topic = ctx.topic();
      const group = ctx.group();
      await bus.ensureTopics([{ topic, partitions: 1 }]);
      await bus.producer().send(topic, [record('k', 'a'), record('k', 'b'), record('k', 'c')]);
      const deliveries: number[][] = [];
      const committedDuringRetries: number[][] = [];
      const subscription = await bus.subscribe({ groupId: group, topics: [topic] }, async (batch) => {
        deliveries.push(batch.records.map((r) => r.offset));
        if (deliveries.length <= 3) {
          committedDuringRetries.push(await bus.committedOffsets(group, topic));
          throw new Error(`transient failure ${deliveries.length}`);
        }
      });
      await waitFor(
        async () => (await bus.committedOffsets(group, topic))[0] === 3,
        'commit after the successful retry',
      );
      expect(deliveries).toEqual([
        [0, 1, 2],
        [0, 1, 2],
        [0, 1, 2],
        [0, 1, 2],
      ]);
      expect(committedDuringRetries).toEqual([[-1], [-1], [-1]]);
      expect(subscription.positions()).toEqual([{ topic, partition: 0, offset: 3 }]);
      expect(subscription.progress()).toEqual({ lag: 0, handledRecords: 3 });
    });

    it('dead-letters a poison record through the handler and keeps the partition moving', async () => {
      const bus = await ctx.bus();
      const topic = ctx.topic();
      await bus.ensureTopics([
        { topic, partitions: 1 },
        { topic: Topics.deadLetters, partitions: 1 },
      ]);
      const registry = new EmbeddedSchemaRegistry();
      const codec = await createCodec<Transaction>(registry, Topics.transactionsRaw);
      const deadLetters = await DeadLetterWriter.create(bus, registry, 'kafka-int-test', systemClock);
      const dlqStart = (await bus.endOffsets(Topics.deadLetters))[0]!;
      const good = (id: string): OutgoingRecord => ({
        key: 'acct-1',
        value: codec.encode(sampleTransaction({ transactionId: id })),
      });
      const poisonBytes = Buffer.from('definitely not avro');
      await bus.producer().send(topic, [good('t-1'), { key: 'acct-1', value: poisonBytes }, good('t-2')]);

      const decoded: string[] = [];
      const subscription = await bus.subscribe({ groupId: ctx.group(), topics: [topic] }, async (batch) => {
        for (const { value } of await decodeOrDeadLetter(batch, codec, deadLetters)) decoded.push(value.transactionId);
      });
      await bus.producer().send(topic, [good('t-3')]);
      await waitFor(() => decoded.length === 3, 'the good records decoded past the poison one');
      expect(decoded).toEqual(['t-1', 't-2', 't-3']);
      expect(subscription.positions()).toEqual([{ topic, partition: 0, offset: 4 }]);

      const letters = (await readAll(bus, Topics.deadLetters, 0))
        .slice(dlqStart)
        .filter((r) => r.headers[HeaderNames.dlqSourceTopic] === topic);
      expect(letters).toHaveLength(1);
      expect(letters[0]!.headers).toMatchObject({
        [HeaderNames.dlqSourcePartition]: '0',
        [HeaderNames.dlqSourceOffset]: '1',
      });
      const letter = await (await createCodec<DeadLetter>(registry, Topics.deadLetters)).decode(letters[0]!.value);
      expect(letter).toMatchObject({ stage: 'kafka-int-test', sourceTopic: topic, sourceOffset: 1n, key: 'acct-1' });
      expect(Buffer.from(letter.originalBytes).equals(poisonBytes)).toBe(true);
    });

    it('isolates a record the handler refuses every time: splits the batch, dead-letters that record through the sink, commits past it', async () => {
      const bus = await ctx.bus();
      const topic = ctx.topic();
      await bus.ensureTopics([
        { topic, partitions: 1 },
        { topic: Topics.deadLetters, partitions: 1 },
      ]);
      const registry = new EmbeddedSchemaRegistry();
      const deadLetters = await DeadLetterWriter.create(bus, registry, 'kafka-int-test', systemClock);
      const dlqStart = (await bus.endOffsets(Topics.deadLetters))[0]!;
      const values = ['a', 'b', 'c', 'refused', 'd', 'e', 'f', 'g'];
      await bus.producer().send(
        topic,
        values.map((v) => record('k', v)),
      );
      const group = ctx.group();
      const handled: string[] = [];
      const batchSizes: number[] = [];
      await bus.subscribe({ groupId: group, topics: [topic], deadLetter: deadLetters.sink }, (batch) => {
        batchSizes.push(batch.records.length);
        if (texts(batch.records).includes('refused'))
          return Promise.reject(new VigilError('RECORD_TOO_LARGE', 'its output is too large for the topic'));
        handled.push(...texts(batch.records));
        return Promise.resolve();
      });
      await waitFor(
        async () => (await bus.committedOffsets(group, topic))[0] === values.length,
        'committed to the end',
      );
      expect(handled).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
      // Sent in one request before the member joined, so the first fetch holds all 8: the whole batch fails
      // twice, then halves: [a b c refused] fails → [a b] ok, [c refused] fails → [c] ok, [refused] fails and is
      // dead-lettered; then [d e f g] ok.
      expect(batchSizes).toEqual([8, 8, 4, 2, 2, 1, 1, 4]);
      const letters = (await readAll(bus, Topics.deadLetters, 0))
        .slice(dlqStart)
        .filter((r) => r.headers[HeaderNames.dlqSourceTopic] === topic);
      expect(letters.map((r) => [r.headers[HeaderNames.dlqSourceOffset], r.headers[HeaderNames.dlqErrorCode]])).toEqual(
        [['3', 'RECORD_TOO_LARGE']],
      );
    });

    it('in manual mode commits only on commit(); a restarted member resumes from the committed offsets', async () => {
      const topic = ctx.topic();
      const group = ctx.group();
      const bus = await ctx.bus();
      await bus.ensureTopics([{ topic, partitions: 2 }]);
      await bus.producer().send(topic, [record('x', '1'), record('y', '2'), record('x', '3')]);
      const first = collect();
      const subscription = await bus.subscribe(
        { groupId: group, topics: [topic], commitMode: 'manual' },
        first.handler,
      );
      await waitFor(() => first.values().length === 3, 'all three handled');
      const ends = await bus.endOffsets(topic);
      // Positions exist for the partitions a batch came from (Kafka knows no position for an idle partition).
      expect(subscription.positions()).toEqual(
        ends.flatMap((offset, partition) => (offset > 0 ? [{ topic, partition, offset }] : [])),
      );
      expect(await bus.committedOffsets(group, topic)).toEqual([-1, -1]);
      await subscription.commit();
      expect(await bus.committedOffsets(group, topic)).toEqual(ends.map((offset) => (offset > 0 ? offset : -1)));

      await bus.producer().send(topic, [record('x', '4')]);
      await waitFor(() => first.values().length === 4, 'the fourth handled');
      await subscription.close();
      await expect(subscription.commit()).rejects.toMatchObject({ code: 'SUBSCRIPTION_CLOSED' });
      // Handled but never committed: a new member (another process) gets it again, and only it.
      expect(await bus.committedOffsets(group, topic)).toEqual(ends.map((offset) => (offset > 0 ? offset : -1)));
      const restartedBus = await ctx.bus();
      const again = collect();
      await restartedBus.subscribe({ groupId: group, topics: [topic], commitMode: 'manual' }, again.handler);
      await waitFor(() => again.values().length === 1, 'redelivery of the uncommitted record');
      expect(again.values()).toEqual(['4']);
    });

    it("after-batch offsets survive a restart; startFrom 'latest' skips the backlog", async () => {
      const topic = ctx.topic();
      const group = ctx.group();
      const bus = await ctx.bus();
      await bus.ensureTopics([{ topic, partitions: 1 }]);
      await bus.producer().send(topic, [record('k', 'old-1'), record('k', 'old-2')]);
      const first = collect();
      const subscription = await bus.subscribe({ groupId: group, topics: [topic] }, first.handler);
      await waitFor(() => first.values().length === 2, 'backlog handled');
      await subscription.close();
      expect(await bus.committedOffsets(group, topic)).toEqual([2]);

      await bus.producer().send(topic, [record('k', 'new-1')]);
      const resumed = collect();
      await (await ctx.bus()).subscribe({ groupId: group, topics: [topic] }, resumed.handler);
      await waitFor(() => resumed.values().length === 1, 'the new record');
      expect(resumed.values()).toEqual(['new-1']);

      const live = collect();
      await bus.subscribe({ groupId: ctx.group(), topics: [topic], startFrom: 'latest' }, live.handler);
      await bus.producer().send(topic, [record('k', 'new-2')]);
      await waitFor(() => live.values().length === 1, 'only the record sent after subscribing');
      expect(live.values()).toEqual(['new-2']);
    });

    it('close() waits for the in-flight batch, then commits it', async () => {
      const bus = await ctx.bus();
      const topic = ctx.topic();
      const group = ctx.group();
      await bus.ensureTopics([{ topic, partitions: 1 }]);
      await bus.producer().send(topic, [record('k', 'slow')]);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let started = false;
      const subscription: Subscription = await bus.subscribe({ groupId: group, topics: [topic] }, async () => {
        started = true;
        await gate;
      });
      await waitFor(() => started, 'the handler started');
      let closed = false;
      const closing = subscription.close().then(() => (closed = true));
      await new Promise((resolve) => setImmediate(resolve));
      expect(closed).toBe(false);
      release();
      await closing;
      expect(await bus.committedOffsets(group, topic)).toEqual([1]);
    });
  });
});
