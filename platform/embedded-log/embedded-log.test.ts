import { jest } from '@jest/globals';
import { type BusRecord, MAX_LINGER_MS, type OutgoingRecord, type RecordBatch, type Subscription } from '../bus.js';
import { VigilError } from '../errors.js';
import { partitionForKey } from '../murmur2.js';
import { EmbeddedLog, type EmbeddedLogOptions } from './embedded-log.js';
import { makeTempDir, readAll, removeTempDir, waitFor } from './test-helpers.js';

const topic = 'payments';

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

describe('EmbeddedLog', () => {
  let dir: string;
  const opened: EmbeddedLog[] = [];

  async function open(options: Partial<EmbeddedLogOptions> = {}): Promise<EmbeddedLog> {
    const log = await EmbeddedLog.open({ dir, redeliveryInitialBackoffMs: 1, redeliveryMaxBackoffMs: 4, ...options });
    opened.push(log);
    return log;
  }

  beforeEach(async () => {
    dir = await makeTempDir();
  });

  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((log) => log.close()));
    await removeTempDir(dir);
  });

  describe('producing', () => {
    it('puts keyed records on partitionForKey(key, n) and spreads null keys round-robin', async () => {
      const log = await open({ topics: [{ topic, partitions: 6 }] });
      const keys = Array.from({ length: 60 }, (_, i) => `card-${i}`);
      const positions = await log.producer().send(
        topic,
        keys.map((key) => record(key, key)),
      );
      expect(positions.map((p) => p.partition)).toEqual(keys.map((key) => partitionForKey(key, 6)));
      for (const { partition, offset } of positions) {
        const [stored] = await log.read(topic, partition, offset, 1);
        expect(partitionForKey(stored!.key!, 6)).toBe(partition);
      }

      const unkeyed = await log.producer().send(
        topic,
        Array.from({ length: 12 }, (_, i) => record(null, `n${i}`)),
      );
      expect(unkeyed.map((p) => p.partition).sort()).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    });

    it('keeps per-partition order across concurrent sends and returns positions in input order', async () => {
      const log = await open({ topics: [{ topic, partitions: 3 }] });
      const producer = log.producer();
      const sends = Array.from({ length: 40 }, (_, batch) =>
        producer.send(
          topic,
          Array.from({ length: 5 }, (_, i) => record(`key-${i}`, `${batch}:${i}`)),
        ),
      );
      const results = await Promise.all(sends);
      for (const [batch, positions] of results.entries()) {
        for (const [i, position] of positions.entries()) {
          expect(position.partition).toBe(partitionForKey(`key-${i}`, 3));
          const [stored] = await log.read(topic, position.partition, position.offset, 1);
          expect(stored!.value.toString()).toBe(`${batch}:${i}`);
        }
      }
      for (let partition = 0; partition < 3; partition++) {
        const records = await readAll(log, topic, partition);
        expect(records.map((r) => r.offset)).toEqual(records.map((_, i) => i));
        // Per key, batches appear in the order the sends were issued.
        const batchesByKey = new Map<string, number[]>();
        for (const r of records)
          batchesByKey.set(r.key!, [...(batchesByKey.get(r.key!) ?? []), Number(r.value.toString().split(':')[0])]);
        for (const batches of batchesByKey.values()) expect(batches).toEqual(Array.from({ length: 40 }, (_, i) => i));
      }
    });

    it('round-trips keys, values, headers and timestamps', async () => {
      const log = await open({ topics: [topic] });
      const [position] = await log.producer().send(topic, [
        {
          key: 'clé-ü',
          value: Buffer.from([0, 1, 2, 255]),
          headers: { 'content-type': 'avro', trace: 'äöü' },
          timestampMs: 1_700_000_000_123,
        },
      ]);
      const [stored] = await log.read(topic, 0, position!.offset, 10);
      expect(stored).toEqual({
        topic,
        partition: 0,
        offset: 0,
        key: 'clé-ü',
        value: Buffer.from([0, 1, 2, 255]),
        headers: { 'content-type': 'avro', trace: 'äöü' },
        timestampMs: 1_700_000_000_123,
      });
    });

    it('rejects unknown topics, oversized records and sends after close with stable codes', async () => {
      const log = await open({ topics: [topic], maxRecordBytes: 2048 });
      expect((await rejection(log.producer().send('nope', [record('k', 'v')]))).code).toBe('UNKNOWN_TOPIC');
      const tooLarge = await rejection(log.producer().send(topic, [record('k', 'x'.repeat(4096))]));
      expect(tooLarge.code).toBe('RECORD_TOO_LARGE');
      expect((await log.endOffsets(topic))[0]).toBe(0);
      await expect(log.partitionCount('nope')).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
      await expect(log.read(topic, 1, 0, 1)).rejects.toMatchObject({ code: 'INVALID_PARTITION' });
      await expect(log.read(topic, 0, 5, 1)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
      await expect(log.ensureTopics([{ topic: 'bad/name', partitions: 0 }])).rejects.toMatchObject({
        code: 'INVALID_TOPIC',
        problems: [{ path: '/0/topic' }, { path: '/0/partitions' }],
      });
      await log.close();
      const closed = await rejection(log.producer().send(topic, [record('k', 'v')]));
      expect(closed.code).toBe('LOG_CLOSED');
    });

    it('flushes what was sent before close', async () => {
      const log = await open({ topics: [topic] });
      const pending = log.producer().send(topic, [record('k', 'last words')]);
      await log.close();
      await expect(pending).resolves.toEqual([{ topic, partition: 0, offset: 0 }]);
      const reopened = await open();
      expect(texts(await reopened.read(topic, 0, 0, 10))).toEqual(['last words']);
    });

    it('batches concurrent sends into shared flushes (group commit)', async () => {
      const log = await open({ topics: [{ topic, partitions: 2 }] });
      await Promise.all(Array.from({ length: 200 }, (_, i) => log.producer().send(topic, [record(`k${i}`, `v${i}`)])));
      expect(log.stats.appendedRecords).toBe(200);
      expect(log.stats.sends).toBe(200);
      // 200 concurrent sends must not cost 200 fsync rounds.
      expect(log.stats.flushes).toBeLessThan(20);
      expect(log.durability).toMatchObject({ mode: 'group-commit', sync: 'fdatasync', visibility: 'after-fsync' });
    });

    it('refuses a second open of a directory in use', async () => {
      await open({ topics: [topic] });
      await expect(EmbeddedLog.open({ dir })).rejects.toMatchObject({ code: 'LOG_LOCKED' });
    });
  });

  describe('persistence and replay', () => {
    it('keeps records, topics and committed offsets across a reopen, and appends after them', async () => {
      const first = await open({ topics: [{ topic, partitions: 2 }, 'audit'] });
      await first.producer().send(topic, [record('a', 'a1'), record('b', 'b1'), record('a', 'a2')]);
      const consumed: string[] = [];
      const subscription = await first.subscribe({ groupId: 'scoring', topics: [topic] }, async (batch) => {
        consumed.push(...texts(batch.records));
        return Promise.resolve();
      });
      await waitFor(() => consumed.length === 3, 'three records consumed');
      await subscription.close();
      const committed = await first.committedOffsets('scoring', topic);
      const ends = await first.endOffsets(topic);
      await first.close();

      const second = await open();
      expect(await second.partitionCount(topic)).toBe(2);
      expect(await second.partitionCount('audit')).toBe(1);
      expect(await second.endOffsets(topic)).toEqual(ends);
      expect(await second.committedOffsets('scoring', topic)).toEqual(ends);
      expect(committed).toEqual(ends);
      const [position] = await second.producer().send(topic, [record('a', 'a3')]);
      expect(position!.offset).toBe(ends[partitionForKey('a', 2)]);
      const aPartition = partitionForKey('a', 2);
      expect(texts(await readAll(second, topic, aPartition)).filter((t) => t.startsWith('a'))).toEqual([
        'a1',
        'a2',
        'a3',
      ]);

      const resumed: string[] = [];
      await second.subscribe({ groupId: 'scoring', topics: [topic] }, async (batch) => {
        resumed.push(...texts(batch.records));
        return Promise.resolve();
      });
      await waitFor(() => resumed.length >= 1, 'the new record consumed');
      expect(resumed).toEqual(['a3']);
    });

    it('replays from any offset across segment rolls, from cache and from disk, before and after reopen', async () => {
      const options = { segmentBytes: 4096, indexIntervalBytes: 512, tailCacheRecords: 16 };
      const log = await open({ ...options, topics: [topic] });
      const all = Array.from({ length: 600 }, (_, i) => `record-${i}-`.padEnd(40 + (i % 50), '#'));
      for (let i = 0; i < all.length; i += 25)
        await log.producer().send(
          topic,
          all.slice(i, i + 25).map((t) => record('one-key', t)),
        );
      expect(log.segmentCount(topic, 0)).toBeGreaterThan(5);
      const check = async (bus: EmbeddedLog): Promise<void> => {
        for (const from of [0, 1, 77, 99, 100, 101, 250, 413, 584, 590, 599]) {
          const records = await bus.read(topic, 0, from, 23);
          expect(records.map((r) => r.offset)).toEqual(
            Array.from({ length: Math.min(23, 600 - from) }, (_, i) => from + i),
          );
          expect(texts(records)).toEqual(all.slice(from, from + 23));
        }
        expect(await bus.read(topic, 0, 600, 5)).toEqual([]);
        expect(texts(await readAll(bus, topic, 0, 1000))).toEqual(all);
      };
      await check(log);
      await log.close();
      await check(await open(options));
    });
  });

  describe('consumer groups', () => {
    function collect(): { batches: RecordBatch[]; handler: (batch: RecordBatch) => Promise<void> } {
      const batches: RecordBatch[] = [];
      return {
        batches,
        handler: (batch) => {
          batches.push(batch);
          return Promise.resolve();
        },
      };
    }

    it('delivers every record once, in offset order per partition, and commits after each batch', async () => {
      const log = await open({ topics: [{ topic, partitions: 3 }] });
      const { batches, handler } = collect();
      await log.subscribe({ groupId: 'g', topics: [topic], maxBatchRecords: 7 }, handler);
      const producer = log.producer();
      for (let i = 0; i < 100; i++) await producer.send(topic, [record(`k${i % 10}`, `v${i}`)]);
      const ends = await log.endOffsets(topic);
      await waitFor(
        async () => (await log.committedOffsets('g', topic)).join() === ends.join(),
        'offsets committed to the end',
      );
      for (const batch of batches) expect(batch.records.length).toBeLessThanOrEqual(7);
      for (let partition = 0; partition < 3; partition++) {
        const offsets = batches.filter((b) => b.partition === partition).flatMap((b) => b.records.map((r) => r.offset));
        expect(offsets).toEqual(Array.from({ length: ends[partition]! }, (_, i) => i));
      }
    });

    it('redelivers a rejected batch unchanged and commits nothing of it', async () => {
      const log = await open({ topics: [topic] });
      await log.producer().send(topic, [record('k', 'a'), record('k', 'b'), record('k', 'c')]);
      const deliveries: number[][] = [];
      const committedDuringRetries: number[][] = [];
      const subscription = await log.subscribe({ groupId: 'g', topics: [topic] }, async (batch) => {
        deliveries.push(batch.records.map((r) => r.offset));
        if (deliveries.length <= 3) {
          committedDuringRetries.push(await log.committedOffsets('g', topic));
          throw new Error(`transient failure ${deliveries.length}`);
        }
      });
      await waitFor(async () => (await log.committedOffsets('g', topic))[0] === 3, 'commit after the successful retry');
      expect(deliveries).toEqual([
        [0, 1, 2],
        [0, 1, 2],
        [0, 1, 2],
        [0, 1, 2],
      ]);
      expect(committedDuringRetries).toEqual([[-1], [-1], [-1]]);
      expect(subscription.positions()).toEqual([{ topic, partition: 0, offset: 3 }]);
    });

    it('bounds batches by bytes as well as records, and hands an oversized record over alone', async () => {
      const log = await open({ topics: [topic] });
      const sizes = [300, 300, 300, 2000, 100, 100, 100, 100];
      await log.producer().send(
        topic,
        sizes.map((n, i) => ({ key: null, value: Buffer.alloc(n, i) })),
      );
      const { batches, handler } = collect();
      await log.subscribe({ groupId: 'g', topics: [topic], maxBatchRecords: 100, maxBatchBytes: 700 }, handler);
      await waitFor(async () => (await log.committedOffsets('g', topic))[0] === sizes.length, 'all committed');
      expect(batches.map((b) => b.records.map((r) => r.offset))).toEqual([[0, 1], [2], [3], [4, 5, 6, 7]]);
    });

    it('dead-letters the one record a handler refuses every time and commits past it', async () => {
      const log = await open({ topics: [topic] });
      await log.producer().send(
        topic,
        ['a', 'b', 'poison', 'c', 'd'].map((text) => record('k', text)),
      );
      const handled: string[] = [];
      const lettered: Array<[number, string]> = [];
      await log.subscribe(
        {
          groupId: 'g',
          topics: [topic],
          deadLetter: (r, error) => {
            lettered.push([r.offset, (error as VigilError).code]);
            return Promise.resolve();
          },
        },
        (batch) => {
          if (texts(batch.records).includes('poison'))
            return Promise.reject(new VigilError('RECORD_TOO_LARGE', 'its output is too large for the topic'));
          handled.push(...texts(batch.records));
          return Promise.resolve();
        },
      );
      await waitFor(async () => (await log.committedOffsets('g', topic))[0] === 5, 'committed past the poison');
      expect(lettered).toEqual([[2, 'RECORD_TOO_LARGE']]);
      expect(handled).toEqual(['a', 'b', 'c', 'd']);
    });

    it('in manual mode commits only on commit(), and a new member resumes from there', async () => {
      const log = await open({ topics: [{ topic, partitions: 2 }] });
      await log.producer().send(topic, [record('x', '1'), record('y', '2'), record('x', '3')]);
      const { batches, handler } = collect();
      const subscription = await log.subscribe(
        { groupId: 'snapshots', topics: [topic], commitMode: 'manual' },
        handler,
      );
      await waitFor(() => batches.flatMap((b) => b.records).length === 3, 'all three handled');
      const ends = await log.endOffsets(topic);
      expect(subscription.positions().map((p) => p.offset)).toEqual(ends);
      expect(await log.committedOffsets('snapshots', topic)).toEqual([-1, -1]);
      await subscription.commit();
      expect(await log.committedOffsets('snapshots', topic)).toEqual(ends);

      await log.producer().send(topic, [record('x', '4')]);
      await waitFor(() => batches.flatMap((b) => b.records).length === 4, 'the fourth handled');
      await subscription.close();
      // Handled but never committed: a new member gets it again.
      expect(await log.committedOffsets('snapshots', topic)).toEqual(ends);
      const again = collect();
      await log.subscribe({ groupId: 'snapshots', topics: [topic], commitMode: 'manual' }, again.handler);
      await waitFor(() => again.batches.length === 1, 'redelivery of the uncommitted record');
      expect(texts(again.batches[0]!.records)).toEqual(['4']);
      await expect(subscription.commit()).rejects.toMatchObject({ code: 'SUBSCRIPTION_CLOSED' });
    });

    it("with startFrom 'latest' skips what was there before and delivers what comes after", async () => {
      const log = await open({ topics: [topic] });
      await log.producer().send(topic, [record('k', 'old-1'), record('k', 'old-2')]);
      const { batches, handler } = collect();
      const subscription = await log.subscribe({ groupId: 'live', topics: [topic], startFrom: 'latest' }, handler);
      expect(subscription.positions()).toEqual([{ topic, partition: 0, offset: 2 }]);
      await log.producer().send(topic, [record('k', 'new-1')]);
      await waitFor(() => batches.length > 0, 'the new record delivered');
      expect(batches.flatMap((b) => texts(b.records))).toEqual(['new-1']);

      const early = collect();
      await log.subscribe({ groupId: 'replay', topics: [topic] }, early.handler);
      await waitFor(() => early.batches.flatMap((b) => b.records).length === 3, 'earliest sees everything');
      expect(early.batches.flatMap((b) => texts(b.records))).toEqual(['old-1', 'old-2', 'new-1']);
    });

    it('admits one member per group at a time', async () => {
      const log = await open({ topics: [topic] });
      const first = await log.subscribe({ groupId: 'g', topics: [topic] }, () => Promise.resolve());
      await expect(log.subscribe({ groupId: 'g', topics: [topic] }, () => Promise.resolve())).rejects.toMatchObject({
        code: 'GROUP_ALREADY_ACTIVE',
      });
      await expect(
        log.subscribe({ groupId: 'other', topics: ['missing'] }, () => Promise.resolve()),
      ).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
      await first.close();
      const second = await log.subscribe({ groupId: 'g', topics: [topic] }, () => Promise.resolve());
      await second.close();
    });

    it('close() waits for the in-flight batch, then commits it', async () => {
      const log = await open({ topics: [topic] });
      await log.producer().send(topic, [record('k', 'slow')]);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let started = false;
      const subscription: Subscription = await log.subscribe({ groupId: 'g', topics: [topic] }, async () => {
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
      expect(await log.committedOffsets('g', topic)).toEqual([1]);
    });

    describe('acrossPartitions and lingerMs', () => {
      const keyOn = (partition: number, partitions: number): string =>
        Array.from({ length: 200 }, (_, i) => `k${i}`).find((k) => partitionForKey(k, partitions) === partition)!;

      async function threePartitionsOfTen(log: EmbeddedLog): Promise<void> {
        await log.producer().send(
          topic,
          [0, 1, 2].flatMap((p) => Array.from({ length: 10 }, (_, i) => record(keyOn(p, 3), `p${p}-${i}`))),
        );
      }

      it('hands what is ready on every partition over as one batch, each partition in offset order', async () => {
        const log = await open({ topics: [{ topic, partitions: 3 }] });
        await threePartitionsOfTen(log);
        const { batches, handler } = collect();
        await log.subscribe({ groupId: 'g', topics: [topic], acrossPartitions: true }, handler);
        await waitFor(async () => (await log.committedOffsets('g', topic)).join() === '10,10,10', 'all committed');
        expect(batches).toHaveLength(1);
        const records = batches[0]!.records;
        expect(records).toHaveLength(30);
        for (let p = 0; p < 3; p++)
          expect(records.filter((r) => r.partition === p).map((r) => r.offset)).toEqual([...Array(10).keys()]);
        expect(batches[0]!.partition).toBe(records[0]!.partition);
      });

      it('per partition without it (the control)', async () => {
        const log = await open({ topics: [{ topic, partitions: 3 }] });
        await threePartitionsOfTen(log);
        const { batches, handler } = collect();
        await log.subscribe({ groupId: 'g', topics: [topic] }, handler);
        await waitFor(async () => (await log.committedOffsets('g', topic)).join() === '10,10,10', 'all committed');
        expect(batches.map((b) => new Set(b.records.map((r) => r.partition)).size)).toEqual([1, 1, 1]);
      });

      it('keeps the record and byte bounds across partitions; an oversized record waits for a batch of its own', async () => {
        const log = await open({ topics: [{ topic, partitions: 3 }] });
        await threePartitionsOfTen(log);
        const { batches, handler } = collect();
        await log.subscribe({ groupId: 'g', topics: [topic], acrossPartitions: true, maxBatchRecords: 12 }, handler);
        await waitFor(async () => (await log.committedOffsets('g', topic)).join() === '10,10,10', 'all committed');
        expect(batches.map((b) => b.records.length)).toEqual([12, 12, 6]);

        const bytes = await open({ dir: `${dir}-bytes`, topics: [{ topic, partitions: 2 }] });
        await bytes.producer().send(topic, [
          { key: keyOn(0, 2), value: Buffer.alloc(300) },
          { key: keyOn(1, 2), value: Buffer.alloc(2000) },
        ]);
        const sized = collect();
        await bytes.subscribe(
          { groupId: 'g', topics: [topic], acrossPartitions: true, maxBatchBytes: 700 },
          sized.handler,
        );
        await waitFor(async () => (await bytes.committedOffsets('g', topic)).join() === '1,1', 'both committed');
        expect(sized.batches.map((b) => b.records.map((r) => r.value.length))).toEqual([[300], [2000]]);
        await bytes.close();
        await removeTempDir(`${dir}-bytes`);
      });

      it('redelivers a rejected batch of several partitions whole, and moves no partition until it is handled', async () => {
        const log = await open({ topics: [{ topic, partitions: 3 }] });
        await threePartitionsOfTen(log);
        const deliveries: string[] = [];
        await log.subscribe({ groupId: 'g', topics: [topic], acrossPartitions: true }, async (batch) => {
          deliveries.push(batch.records.map((r) => `${r.partition}:${r.offset}`).join());
          if (deliveries.length === 1) {
            expect(await log.committedOffsets('g', topic)).toEqual([-1, -1, -1]);
            throw new Error('transient failure');
          }
        });
        await waitFor(async () => (await log.committedOffsets('g', topic)).join() === '10,10,10', 'all committed');
        expect(deliveries).toHaveLength(2);
        expect(deliveries[1]).toBe(deliveries[0]);
      });

      type PartitionRead = (from: number, max: number) => Promise<BusRecord[]>;

      /**
       * Counts the timers of `ms` that ran out. A test that a linger is cut short checks that its timer never did,
       * so it fails (rather than merely taking longer) when the linger runs its full length.
       */
      function timeoutsOf(ms: number): { scheduled: () => number; fired: () => number; restore: () => void } {
        const real = globalThis.setTimeout;
        let scheduled = 0;
        let fired = 0;
        const spy = jest.spyOn(globalThis, 'setTimeout').mockImplementation(((
          callback: (...args: unknown[]) => void,
          delay?: number,
          ...args: unknown[]
        ) => {
          if (delay === ms) scheduled++;
          return real(() => {
            if (delay === ms) fired++;
            callback(...args);
          }, delay);
        }) as typeof setTimeout);
        return { scheduled: () => scheduled, fired: () => fired, restore: () => spy.mockRestore() };
      }

      it('lingers for more records, and a full batch ends the linger', async () => {
        const log = await open({ topics: [{ topic, partitions: 3 }] });
        const { batches, handler } = collect();
        const lingers = timeoutsOf(MAX_LINGER_MS);
        try {
          await log.subscribe(
            { groupId: 'g', topics: [topic], acrossPartitions: true, lingerMs: MAX_LINGER_MS, maxBatchRecords: 3 },
            handler,
          );
          await log.producer().send(topic, [record(keyOn(0, 3), 'a')]);
          await log.producer().send(topic, [record(keyOn(1, 3), 'b')]);
          await new Promise((resolve) => setImmediate(resolve));
          expect(batches).toHaveLength(0);
          await log.producer().send(topic, [record(keyOn(2, 3), 'c')]);
          await waitFor(() => batches.length === 1, 'the full batch');
          expect(texts(batches[0]!.records).sort()).toEqual(['a', 'b', 'c']);
          expect(lingers.fired()).toBe(0);
        } finally {
          lingers.restore();
        }
      });

      it('close() ends a linger at once and delivers nothing more', async () => {
        const log = await open({ topics: [topic] });
        const { batches, handler } = collect();
        const lingers = timeoutsOf(MAX_LINGER_MS);
        try {
          const subscription = await log.subscribe({ groupId: 'g', topics: [topic], lingerMs: MAX_LINGER_MS }, handler);
          await log.producer().send(topic, [record('k', 'waiting')]);
          await waitFor(() => lingers.scheduled() === 1, 'the subscription lingering');
          await subscription.close();
          expect(lingers.fired()).toBe(0);
          expect(batches).toHaveLength(0);
          expect(await log.committedOffsets('g', topic)).toEqual([-1]);
        } finally {
          lingers.restore();
        }
      });

      it('reads what it can: a partition whose read fails waits, the others are delivered', async () => {
        const log = await open({ topics: [{ topic, partitions: 3 }] });
        await threePartitionsOfTen(log);
        // Partition 1's first read fails (as a damaged segment would); every later read works.
        const internals = log as unknown as { topics: Map<string, { partitions: Array<{ read: PartitionRead }> }> };
        const partition1 = internals.topics.get(topic)!.partitions[1]!;
        const read = partition1.read.bind(partition1);
        let failures = 0;
        partition1.read = (...args) => (failures++ === 0 ? Promise.reject(new Error('bad segment')) : read(...args));
        const { batches, handler } = collect();
        await log.subscribe({ groupId: 'g', topics: [topic], acrossPartitions: true }, handler);
        await waitFor(async () => (await log.committedOffsets('g', topic)).join() === '10,10,10', 'all committed');
        expect(batches.map((b) => [...new Set(b.records.map((r) => r.partition))])).toEqual([[0, 2], [1]]);
      });

      it('splits a failing batch across partitions to dead-letter the one record at fault, the rest handled once', async () => {
        const log = await open({ topics: [{ topic, partitions: 3 }] });
        await threePartitionsOfTen(log);
        const handled: string[] = [];
        const lettered: string[] = [];
        const halves: Array<[number, number]> = [];
        await log.subscribe(
          {
            groupId: 'g',
            topics: [topic],
            acrossPartitions: true,
            deadLetter: (record) => {
              lettered.push(record.value.toString());
              return Promise.resolve();
            },
          },
          (batch) => {
            halves.push([batch.partition, batch.records[0]!.partition]);
            if (batch.records.some((r) => r.value.toString() === 'p1-4'))
              return Promise.reject(new VigilError('RECORD_TOO_LARGE', 'its output is too large for the topic'));
            handled.push(...texts(batch.records));
            return Promise.resolve();
          },
        );
        await waitFor(async () => (await log.committedOffsets('g', topic)).join() === '10,10,10', 'all committed');
        expect(lettered).toEqual(['p1-4']);
        expect(handled.sort()).toEqual(
          [0, 1, 2]
            .flatMap((p) => [...Array(10).keys()].map((i) => `p${p}-${i}`))
            .filter((t) => t !== 'p1-4')
            .sort(),
        );
        for (const [batchPartition, firstRecordPartition] of halves) expect(batchPartition).toBe(firstRecordPartition);
      });

      it('refuses a linger outside [0, 5000] ms, naming the field', async () => {
        const log = await open({ topics: [topic] });
        const refused = await rejection(log.subscribe({ groupId: 'g', topics: [topic], lingerMs: -1 }, async () => {}));
        expect(refused.code).toBe('INVALID_ARGUMENT');
        expect(refused.problems).toEqual([{ path: '/lingerMs', message: 'must be an integer in [0, 5000] (ms)' }]);
      });
    });

    it('takes turns between partitions with backlogs', async () => {
      const log = await open({ topics: [{ topic, partitions: 2 }] });
      const keyFor = (partition: number): string =>
        Array.from({ length: 50 }, (_, i) => `k${i}`).find((k) => partitionForKey(k, 2) === partition)!;
      await log
        .producer()
        .send(topic, [
          ...Array.from({ length: 30 }, (_, i) => record(keyFor(0), `p0-${i}`)),
          ...Array.from({ length: 30 }, (_, i) => record(keyFor(1), `p1-${i}`)),
        ]);
      const { batches, handler } = collect();
      await log.subscribe({ groupId: 'g', topics: [topic], maxBatchRecords: 10 }, handler);
      await waitFor(() => batches.length === 6, 'six batches');
      expect(batches.map((b) => b.partition)).toEqual([0, 1, 0, 1, 0, 1]);
    });
  });
});
