import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    const store = await FileIdempotencyStore.open(dir, silentLogger);
    const pending = store.remember([rec('a', 1)]);
    expect((await store.lookup(['a'])).get('a')).toEqual(rec('a', 1));
    await pending;
    await store.remember([rec('a', 5)]);
    await store.close();
    expect(await readFile(join(dir, 'idempotency.tsv'), 'utf8')).toBe(`a\t${fp(1)}\t1\t10\n`);
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
    const store = await FileIdempotencyStore.open(dir, silentLogger);
    expect(store.size()).toBe(1);
    await store.remember([rec('c', 3)]);
    await store.close();
    expect(await readFile(join(dir, 'idempotency.tsv'), 'utf8')).toBe(`a\t${fp(1)}\t1\t10\nc\t${fp(3)}\t3\t30\n`);
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
});
