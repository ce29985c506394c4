import type { BusRecord, RecordBatch } from './bus.js';
import { EmbeddedLog } from './embedded-log/embedded-log.js';
import { makeTempDir, removeTempDir, waitFor } from './embedded-log/test-helpers.js';
import { VigilError } from './errors.js';
import { NamespacedBus } from './namespaced-bus.js';

describe('NamespacedBus', () => {
  let dir: string;
  let log: EmbeddedLog;

  beforeEach(async () => {
    dir = await makeTempDir();
    log = await EmbeddedLog.open({ dir });
  });
  afterEach(async () => {
    await log.close();
    await removeTempDir(dir);
  });

  it('keeps two namespaces apart on one log while the stages see their own topic names', async () => {
    const a = new NamespacedBus(log, 'run-a');
    const b = new NamespacedBus(log, 'run-b');
    await a.ensureTopics([{ topic: 'tx.raw', partitions: 2 }]);
    await b.ensureTopics([{ topic: 'tx.raw', partitions: 2 }]);

    const positions = await a.producer().send('tx.raw', [{ key: 'k', value: Buffer.from('a1') }]);
    await b.producer().send('tx.raw', [
      { key: 'k', value: Buffer.from('b1') },
      { key: 'k', value: Buffer.from('b2') },
    ]);
    expect(positions.map((p) => p.topic)).toEqual(['tx.raw']);
    // The broker side carries the namespace; the plain name does not exist there.
    expect((await log.endOffsets('run-a.tx.raw')).reduce((s, n) => s + n, 0)).toBe(1);
    expect((await log.endOffsets('run-b.tx.raw')).reduce((s, n) => s + n, 0)).toBe(2);
    await expect(log.endOffsets('tx.raw')).rejects.toBeInstanceOf(VigilError);

    const seen: RecordBatch[] = [];
    const subscription = await a.subscribe({ groupId: 'scoring', topics: ['tx.raw'] }, (batch) => {
      seen.push(batch);
      return Promise.resolve();
    });
    await waitFor(() => seen.length === 1, 'namespace a consumed');
    expect(seen[0]!.topic).toBe('tx.raw');
    expect(seen[0]!.records.map((r) => [r.topic, r.value.toString()])).toEqual([['tx.raw', 'a1']]);
    await waitFor(
      async () => (await a.committedOffsets('scoring', 'tx.raw')).some((offset) => offset === 1),
      'namespace a committed',
    );
    expect(subscription.positions().every((p) => p.topic === 'tx.raw')).toBe(true);
    await subscription.close();
    // The other namespace's group of the same name has committed nothing.
    expect(await b.committedOffsets('scoring', 'tx.raw')).toEqual([-1, -1]);
    const partition = positions[0]!.partition;
    expect((await b.read('tx.raw', partition, 0, 10)).map((r) => [r.topic, r.value.toString()])).toEqual([
      ['tx.raw', 'b1'],
      ['tx.raw', 'b2'],
    ]);
  });

  it("hands a dead-lettered record over under the stage's topic name", async () => {
    const bus = new NamespacedBus(log, 'run-c');
    await bus.ensureTopics([{ topic: 'tx.raw', partitions: 1 }]);
    await bus.producer().send('tx.raw', [{ key: 'k', value: Buffer.from('poison') }]);
    const letters: BusRecord[] = [];
    const subscription = await bus.subscribe(
      {
        groupId: 'scoring',
        topics: ['tx.raw'],
        deadLetter: (record) => {
          letters.push(record);
          return Promise.resolve();
        },
      },
      () => Promise.reject(new VigilError('BAD_MAGIC_BYTE', 'not a record')),
    );
    await waitFor(() => letters.length === 1, 'the poison record dead-lettered', 30_000);
    await subscription.close();
    expect(letters.map((r) => [r.topic, r.partition, r.offset])).toEqual([['tx.raw', 0, 0]]);
  });
});
