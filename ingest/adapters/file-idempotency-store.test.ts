import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../platform/clock.js';
import { silentLogger } from '../../platform/logger.js';
import type { IdempotencyRecord } from '../ports.js';
import { FileIdempotencyStore, parseJournal } from './file-idempotency-store.js';

const fp = (n: number) => n.toString(16).padStart(64, '0');
const rec = (id: string, n: number): IdempotencyRecord => ({
  transactionId: id,
  fingerprint: fp(n),
  partition: n % 8,
  offset: n * 10,
});

describe('FileIdempotencyStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-idem-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('remembers ids across a restart', async () => {
    const store = await FileIdempotencyStore.open(dir, silentLogger);
    await store.remember([rec('a', 1), rec('b', 2)]);
    await store.close();
    const reopened = await FileIdempotencyStore.open(dir, silentLogger);
    expect([...(await reopened.lookup(['a', 'b', 'c'])).values()]).toEqual([rec('a', 1), rec('b', 2)]);
    expect(reopened.size()).toBe(2);
    await reopened.close();
  });

  it('makes ids visible at once and writes each id once; the first acceptance wins', async () => {
    const store = await FileIdempotencyStore.open(dir, silentLogger, { windowMs: 0, clock: new ManualClock(7) });
    const pending = store.remember([rec('a', 1)]);
    expect((await store.lookup(['a'])).get('a')).toEqual(rec('a', 1));
    await pending;
    await store.remember([rec('a', 5)]);
    await store.close();
    expect(await readFile(join(dir, 'idempotency.tsv'), 'utf8')).toBe(`a\t${fp(1)}\t1\t10\t7\n`);
  });

  it('groups concurrent remembers into few syncs', async () => {
    const store = await FileIdempotencyStore.open(dir, silentLogger);
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.remember([rec(`id-${i}`, i)])));
    await store.close();
    const lines = (await readFile(join(dir, 'idempotency.tsv'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(200);
  });

  it('cuts off a torn last line and keeps appending cleanly', async () => {
    await writeFile(join(dir, 'idempotency.tsv'), `a\t${fp(1)}\t1\t10\nb\t${fp(2)}\t2`);
    const store = await FileIdempotencyStore.open(dir, silentLogger, { windowMs: 0, clock: new ManualClock(7) });
    expect(store.size()).toBe(1);
    await store.remember([rec('c', 3)]);
    await store.close();
    expect(await readFile(join(dir, 'idempotency.tsv'), 'utf8')).toBe(`a\t${fp(1)}\t1\t10\nc\t${fp(3)}\t3\t30\t7\n`);
  });

  it('skips unreadable lines instead of refusing to start', async () => {
    await writeFile(join(dir, 'idempotency.tsv'), `a\t${fp(1)}\t1\t10\ngarbage\n`);
    await appendFile(join(dir, 'idempotency.tsv'), `b\t${fp(2)}\t2\t20\n`);
    const parsed = parseJournal(await readFile(join(dir, 'idempotency.tsv')));
    expect(parsed.skippedLines).toBe(1);
    expect([...parsed.records.keys()]).toEqual(['a', 'b']);
  });

  it('rejects remembers after close, and reports unhealthy', async () => {
    const store = await FileIdempotencyStore.open(dir, silentLogger);
    await store.close();
    await expect(store.remember([rec('a', 1)])).rejects.toMatchObject({
      code: 'IDEMPOTENCY_STORE_CLOSED',
      retriable: true,
    });
    expect(store.isHealthy()).toBe(false);
  });
  describe('with a window', () => {
    const windowMs = 60_000;
    const journal = () => readFile(join(dir, 'idempotency.tsv'), 'utf8');
    /** Ids with a line in the journal: what a restart would still answer from disk. */
    const journalIds = async () =>
      (await journal())
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => line.split('\t')[0]);

    it('answers an id for the window, then forgets it in memory, and on disk once compacted', async () => {
      const clock = new ManualClock(0);
      const store = await FileIdempotencyStore.open(dir, silentLogger, { windowMs, clock, compactMinLines: 2 });
      await store.remember([rec('a', 1), rec('b', 2)]);
      clock.set(30_000);
      await store.remember([rec('c', 3)]);
      clock.set(windowMs - 1);
      expect([...(await store.lookup(['a', 'b', 'c'])).keys()]).toEqual(['a', 'b', 'c']);
      clock.set(windowMs);
      expect([...(await store.lookup(['a', 'b', 'c'])).keys()]).toEqual(['c']);
      expect(store.size()).toBe(1);
      expect(store.forgotten).toBe(2);
      // 2 forgotten lines ≥ 1 live and ≥ compactMinLines: the next group rewrites the journal.
      await store.remember([rec('d', 4)]);
      expect(await journalIds()).toEqual(['c', 'd']);
      expect(await journal()).toBe(`c\t${fp(3)}\t3\t30\t30000\nd\t${fp(4)}\t4\t40\t${windowMs}\n`);
      await store.remember([rec('e', 5)]);
      await store.close();

      const reopened = await FileIdempotencyStore.open(dir, silentLogger, { windowMs, clock });
      expect([...(await reopened.lookup(['a', 'b', 'c', 'd', 'e'])).keys()]).toEqual(['c', 'd', 'e']);
      await reopened.close();
      // At open, c (accepted at 30 s) is past the window at 90 s and the journal is rewritten without it.
      clock.set(90_000);
      const later = await FileIdempotencyStore.open(dir, silentLogger, { windowMs, clock });
      expect(later.size()).toBe(2);
      await later.close();
      expect(await journalIds()).toEqual(['d', 'e']);
    });

    it('negative control: with the window off (0) the same check finds every old id still on disk', async () => {
      const clock = new ManualClock(0);
      const store = await FileIdempotencyStore.open(dir, silentLogger, { windowMs: 0, clock, compactMinLines: 2 });
      await store.remember([rec('a', 1), rec('b', 2)]);
      clock.set(10 * windowMs);
      await store.remember([rec('d', 4)]);
      expect([...(await store.lookup(['a', 'b'])).keys()]).toEqual(['a', 'b']);
      await store.close();
      expect(await journalIds()).toEqual(['a', 'b', 'd']);
    });

    it('ages lines written before the window existed from the open that first loads them', async () => {
      await writeFile(join(dir, 'idempotency.tsv'), `a\t${fp(1)}\t1\t10\n`);
      const clock = new ManualClock(1_000_000);
      const store = await FileIdempotencyStore.open(dir, silentLogger, { windowMs, clock });
      expect(store.size()).toBe(1);
      clock.advance(windowMs);
      expect(store.size()).toBe(1);
      expect((await store.lookup(['a'])).size).toBe(0);
      await store.close();
    });
  });
});
