import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileCustomerKeyStore } from './file-customer-key-store.js';
import { VigilError } from './errors.js';
import {
  type CustomerKeyStore,
  ERASED,
  PersonalDataCipher,
  newDataKey,
  open,
  seal,
  sealedHeaderOf,
} from './personal-data.js';

const DAY = 86_400_000;
const key = { customerId: 'cust-1', version: 1, key: newDataKey() };

function corruptCode(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return error instanceof VigilError ? error.code : 'not a VigilError';
  }
}

/** The sealed value with one character of its ciphertext changed (still valid base64url). */
function tampered(sealed: string, at: number): string {
  const i = sealed.length - at;
  return sealed.slice(0, i) + (sealed[i] === 'A' ? 'B' : 'A') + sealed.slice(i + 1);
}

describe('sealed personal values (AES-256-GCM per customer)', () => {
  it('open(seal(x)) is x, the header names customer and version, and two seals of one value differ', () => {
    const sealed = seal(key, '203.0.113.7');
    expect(sealed).toMatch(/^pd1\.[A-Za-z0-9_-]+\.1\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('203.0.113.7');
    expect(sealedHeaderOf(sealed)).toEqual({ customerId: 'cust-1', version: 1 });
    expect(open(sealed, key.key)).toBe('203.0.113.7');
    expect(seal(key, '203.0.113.7')).not.toBe(sealed); // a fresh IV each time
    expect(open(seal(key, 'Zoë — ünïcode'), key.key)).toBe('Zoë — ünïcode');
  });

  it('refuses an altered value, a wrong key and a header moved to another customer (negative controls)', () => {
    const sealed = seal(key, 'rent for flat 4b');
    expect(corruptCode(() => open(sealed, key.key))).toBeUndefined(); // the control: the untouched value opens
    expect(corruptCode(() => open(tampered(sealed, 5), key.key))).toBe('PERSONAL_DATA_CORRUPT'); // ciphertext / tag
    expect(corruptCode(() => open(tampered(sealed, 40), key.key))).toBe('PERSONAL_DATA_CORRUPT');
    expect(corruptCode(() => open(sealed, newDataKey()))).toBe('PERSONAL_DATA_CORRUPT');
    const otherCustomer = sealed.replace(/^pd1\.[^.]+\./, `pd1.${Buffer.from('cust-2').toString('base64url')}.`);
    expect(sealedHeaderOf(otherCustomer)?.customerId).toBe('cust-2');
    expect(corruptCode(() => open(otherCustomer, key.key))).toBe('PERSONAL_DATA_CORRUPT');
    expect(corruptCode(() => open(sealed.replace('.1.', '.2.'), key.key))).toBe('PERSONAL_DATA_CORRUPT');
    expect(corruptCode(() => open('pd1.abc.1.short', key.key))).toBe('PERSONAL_DATA_CORRUPT');
  });

  it('is not fooled by plaintext: only the exact sealed shape has a header', () => {
    for (const text of ['groceries', 'pd1', 'pd1.x.0.abc', 'pd1.x.1', 'pd1.x.1.a b', ' pd1.eA.1.abcd'])
      expect(sealedHeaderOf(text)).toBeUndefined();
  });
});

describe('FileCustomerKeyStore and PersonalDataCipher', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-customer-keys-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const storeAt = (rotateAfterMs = 0): FileCustomerKeyStore =>
    FileCustomerKeyStore.open(join(dir, 'keys'), { rotateAfterMs });

  it('keeps one key per customer across restarts; erasure makes old values read as erased, not fail', async () => {
    const store = storeAt();
    const cipher = new PersonalDataCipher(store);
    const [a] = await cipher.sealAll('cust-a', ['a@example.com'], 1_000);
    const [b] = await cipher.sealAll('cust-b', ['b@example.com'], 1_000);
    expect(await cipher.sealAll('cust-c', [null, null], 1_000)).toEqual([null, null]); // nothing to seal: no key made
    expect(readdirSync(join(dir, 'keys'))).toHaveLength(2);

    const reopened = new PersonalDataCipher(storeAt());
    expect(await reopened.open(a!)).toBe('a@example.com');
    expect(await reopened.openDeep({ x: [b, 'plain', 3, null] })).toEqual({ x: ['b@example.com', 'plain', 3, null] });

    expect(await store.destroy('cust-a', 2_000)).toEqual({ destroyedVersions: [1] });
    expect(await cipher.open(a!)).toBe(ERASED);
    expect(await cipher.open(b!)).toBe('b@example.com');
    expect(await new PersonalDataCipher(storeAt()).open(a!)).toBe(ERASED); // gone from disk, not only the cache
    const file = readFileSync(join(dir, 'keys', `${Buffer.from('cust-a').toString('base64url')}.json`), 'utf8');
    expect(JSON.parse(file)).toMatchObject({ erasedAtMs: 2_000, versions: [{ version: 1, key: null }] });

    // A customer who comes back after erasure gets a new version; the destroyed one is never reused.
    const [again] = await cipher.sealAll('cust-a', ['new@example.com'], 3_000);
    expect(sealedHeaderOf(again!)?.version).toBe(2);
    expect(await cipher.openDeep([a, again])).toEqual([ERASED, 'new@example.com']);
    expect(await store.status('cust-a')).toEqual({ heldVersions: [2], destroyedVersions: [1], erasedAtMs: 2_000 });
    expect(await store.destroy('cust-a', 4_000)).toEqual({ destroyedVersions: [2] });
    expect(await store.destroy('cust-a', 5_000)).toEqual({ destroyedVersions: [] }); // idempotent
  });

  it('concurrent first uses of a customer make one key, not one each (writes are asynchronous, serialised per customer)', async () => {
    const store = storeAt();
    const keys = await Promise.all(Array.from({ length: 40 }, () => store.currentKey('cust-new', 1_000)));
    expect(new Set(keys.map((k) => `${k.version}:${k.key.toString('base64')}`)).size).toBe(1);
    expect(keys[0]!.version).toBe(1);
    // Interleaved with an erasure: whatever ran before it is destroyed, whatever ran after it gets version 2.
    const [, erased, after] = await Promise.all([
      store.currentKey('cust-new', 2_000),
      store.destroy('cust-new', 2_000),
      store.currentKey('cust-new', 2_000),
    ]);
    expect(erased).toEqual({ destroyedVersions: [1] });
    expect(after.version).toBe(2);
    expect(await storeAt().status('cust-new')).toEqual({
      heldVersions: [2],
      destroyedVersions: [1],
      erasedAtMs: 2_000,
    });
  });

  it('many new customers at once (sharing directory fsyncs) each get their own key, and a restart reads every one back', async () => {
    const store = storeAt();
    const ids = Array.from({ length: 60 }, (_, i) => `cust-${i}`);
    const made = await Promise.all(ids.map((id) => store.currentKey(id, 1_000)));
    expect(new Set(made.map((k) => k.key.toString('base64'))).size).toBe(60);
    expect(readdirSync(join(dir, 'keys')).filter((name) => name.endsWith('.json'))).toHaveLength(60);
    // The restarted store lists the directory once at open: a customer with a file is read from it, not made again.
    const reopened = storeAt();
    const read = await Promise.all(ids.map((id) => reopened.currentKey(id, 2_000)));
    expect(read.map((k) => `${k.version}:${k.key.toString('base64')}`)).toEqual(
      made.map((k) => `${k.version}:${k.key.toString('base64')}`),
    );
    // Negative control: a store that did not know the files (an empty directory) makes other keys.
    const elsewhere = FileCustomerKeyStore.open(join(dir, 'other-keys'), { rotateAfterMs: 0 });
    expect((await elsewhere.currentKey('cust-0', 2_000)).key.equals(made[0]!.key)).toBe(false);
  });

  it('a value sealed for one customer does not open with a key file swapped in from another (negative control)', async () => {
    const store = storeAt();
    const cipher = new PersonalDataCipher(store);
    const [a] = await cipher.sealAll('cust-a', ['secret a'], 1_000);
    const keyB = await store.currentKey('cust-b', 1_000);
    const swapped: CustomerKeyStore = {
      currentKey: (id, nowMs) => store.currentKey(id, nowMs),
      keyOf: () => Promise.resolve(keyB.key), // every key file holds B's key
      destroy: (id, nowMs) => store.destroy(id, nowMs),
      status: (id) => store.status(id),
    };
    const wrongKeys = new PersonalDataCipher(swapped);
    await expect(wrongKeys.open(a!)).rejects.toMatchObject({ code: 'PERSONAL_DATA_CORRUPT' });
  });

  it('retention destroys the versions that sealed their last value longer ago than the limit, and only those', async () => {
    const store = storeAt(30 * DAY);
    const cipher = new PersonalDataCipher(store);
    const [old] = await cipher.sealAll('cust-a', ['day 0'], 0);
    const [recent] = await cipher.sealAll('cust-a', ['day 40'], 40 * DAY); // v1 is 40 days old: v2
    expect([sealedHeaderOf(old!)?.version, sealedHeaderOf(recent!)?.version]).toEqual([1, 2]);
    // v1 sealed values until day 30 at the latest: with 60 days of retention it goes on day 90, not before.
    expect(await store.destroyExpired(89 * DAY, 60 * DAY)).toBe(0);
    expect(await cipher.openDeep([old, recent])).toEqual(['day 0', 'day 40']);
    expect(await store.destroyExpired(90 * DAY, 60 * DAY)).toBe(1);
    expect(await cipher.openDeep([old, recent])).toEqual([ERASED, 'day 40']);
    expect(await store.destroyExpired(130 * DAY, 60 * DAY)).toBe(1); // v2: created day 40, last use day 70
    expect(await cipher.open(recent!)).toBe(ERASED);
  });

  it('refuses a key directory others can read', () => {
    const keys = join(dir, 'open');
    storeAt(); // makes the parent
    FileCustomerKeyStore.open(keys, { rotateAfterMs: 0 });
    chmodSync(keys, 0o755);
    expect(() => FileCustomerKeyStore.open(keys, { rotateAfterMs: 0 })).toThrow(/chmod 700/);
  });
});
