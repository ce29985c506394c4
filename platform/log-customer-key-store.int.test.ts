import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bus, BusRecord } from './bus.js';
import { systemClock } from './clock.js';
import { Secret } from './config.js';
import { ConfigError, type VigilError } from './errors.js';
import { FileCustomerKeyStore } from './file-customer-key-store.js';
import { KafkaTestContext, requireBroker, testLogger, waitFor } from './kafka/test-helpers.js';
import { LogCustomerKeyStore, type LogCustomerKeyStoreOptions } from './log-customer-key-store.js';
import { type CustomerKeyStore, ERASED, PersonalDataCipher, seal } from './personal-data.js';

/**
 * Distributed mode's customer key store on the real broker: two stores on one topic, each with its own KafkaBus
 * client, stand for two processes (two ingest replicas, or ingest and dashboards). The same scenarios on two file
 * stores — one per process, what distributed mode had before — are the negative controls and must be reported.
 */

const kafka = new KafkaTestContext();
const MASTER_KEY = new Secret(Buffer.alloc(32, 7).toString('base64'));
const OTHER_MASTER_KEY = new Secret(Buffer.alloc(32, 9).toString('hex'));

beforeAll(requireBroker);
afterEach(() => kafka.cleanup());

async function openStore(
  topic: string,
  overrides: Partial<LogCustomerKeyStoreOptions> = {},
  bus?: Bus,
): Promise<LogCustomerKeyStore> {
  const store = await LogCustomerKeyStore.open({
    bus: bus ?? (await kafka.bus()),
    topic,
    masterKey: MASTER_KEY,
    compaction: { lagMs: 3_600_000, deleteRetentionMs: 86_400_000 },
    rotateAfterMs: 0,
    clock: systemClock,
    logger: testLogger,
    groupId: kafka.group('customer-keys'),
    waitMs: 30_000,
    ...overrides,
  });
  closers.push(() => store.close());
  return store;
}
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** Two stores racing for `customers` new customers' keys: what breaks "one key per customer, shared". */
async function raceViolations(a: CustomerKeyStore, b: CustomerKeyStore, customers: readonly string[]) {
  const violations: string[] = [];
  const nowMs = Date.now();
  const keys = await Promise.all(
    customers.map((customer) => Promise.all([a.currentKey(customer, nowMs), b.currentKey(customer, nowMs)])),
  );
  for (const [i, [fromA, fromB]] of keys.entries()) {
    const customer = customers[i]!;
    if (fromA.version !== fromB.version) violations.push(`${customer}: versions ${fromA.version} / ${fromB.version}`);
    if (!fromA.key.equals(fromB.key)) violations.push(`${customer}: different keys`);
    for (const [writer, key, reader] of [
      ['a', fromA, new PersonalDataCipher(b)],
      ['b', fromB, new PersonalDataCipher(a)],
    ] as const) {
      const sealed = seal(key, `street of ${customer} by ${writer}`);
      const opened = await reader.open(sealed).catch((error: unknown) => `failed: ${(error as VigilError).code}`);
      if (opened !== `street of ${customer} by ${writer}`) violations.push(`${customer}: ${writer}'s value ${opened}`);
    }
    for (const [name, store] of [
      ['a', a],
      ['b', b],
    ] as const) {
      const status = await store.status(customer);
      if (status.heldVersions.join() !== '1')
        violations.push(`${customer}: ${name} holds [${status.heldVersions.join()}]`);
    }
  }
  return violations;
}

/**
 * A process that folds the log late: once `hold()` is called, batches wait to be handed to the store until it asks
 * for the log's end (as a read that must honour erasures does) — so a read that does not ask reads a stale fold.
 */
class LaggingBus implements Bus {
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => undefined;

  constructor(private readonly inner: Bus) {}

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  ensureTopics: Bus['ensureTopics'] = (specs) => this.inner.ensureTopics(specs);
  partitionCount: Bus['partitionCount'] = (topic) => this.inner.partitionCount(topic);
  producer: Bus['producer'] = () => this.inner.producer();
  read: Bus['read'] = (...args) => this.inner.read(...args);
  committedOffsets: Bus['committedOffsets'] = (...args) => this.inner.committedOffsets(...args);
  close: Bus['close'] = () => this.inner.close();
  subscribe: Bus['subscribe'] = (options, handler) =>
    this.inner.subscribe(options, async (batch) => {
      await this.gate;
      return handler(batch);
    });
  endOffsets: Bus['endOffsets'] = async (topic) => {
    const ends = await this.inner.endOffsets(topic);
    this.open();
    return ends;
  };
}

/** Every record of a single-partition topic, by offset (a compacted topic has gaps). */
async function records(bus: Bus, topic: string): Promise<BusRecord[]> {
  const end = (await bus.endOffsets(topic))[0]!;
  const out: BusRecord[] = [];
  let next = 0;
  // A fetch may come back empty before the end (the broker answered within its wait); only repeated empties below
  // the end mean the rest was compacted away.
  for (let empties = 0; next < end && empties < 5;) {
    const page = await bus.read(topic, 0, next, 1000);
    if (page.length === 0) {
      empties += 1;
      continue;
    }
    empties = 0;
    out.push(...page);
    next = page.at(-1)!.offset + 1;
  }
  return out;
}

/** How many records hold `key` in their raw bytes (key, value, headers), in any encoding a leak might take. */
function occurrences(all: readonly BusRecord[], key: Buffer): number {
  const forms = [key, ...['base64', 'base64url', 'hex'].map((f) => Buffer.from(key.toString(f as 'hex'), 'utf8'))];
  let found = 0;
  for (const record of all) {
    const raw = Buffer.concat([
      Buffer.from(record.key ?? '', 'utf8'),
      record.value,
      Buffer.from(JSON.stringify(record.headers), 'utf8'),
    ]);
    if (forms.some((form) => raw.includes(form))) found += 1;
  }
  return found;
}

describe('LogCustomerKeyStore on Kafka', () => {
  it('gives two processes racing on new customers one key each, which both seal and open with', async () => {
    const topic = kafka.topic('customer-keys');
    const [a, b] = await Promise.all([openStore(topic), openStore(topic)]);
    const customers = Array.from({ length: 20 }, (_, i) => `cust-race-${i}`);
    expect(await raceViolations(a, b, customers)).toEqual([]);

    // A third process starting later folds the same keys.
    const c = await openStore(topic);
    for (const customer of customers)
      expect(
        (await c.currentKey(customer, Date.now())).key.equals((await a.currentKey(customer, Date.now())).key),
      ).toBe(true);

    // Negative control: one file store per process, as before — every customer is reported.
    const dir = mkdtempSync(join(tmpdir(), 'vigil-keys-'));
    try {
      const perProcess = [0, 1].map((i) => FileCustomerKeyStore.open(join(dir, `p${i}`), { rotateAfterMs: 0 }));
      const violations = await raceViolations(perProcess[0]!, perProcess[1]!, customers);
      expect(violations.filter((v) => v.endsWith('different keys'))).toHaveLength(customers.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops opening an erased customer in every process, and never reuses the version', async () => {
    const topic = kafka.topic('customer-keys');
    const lagging = new LaggingBus(await kafka.bus());
    const [ingest, dashboards] = await Promise.all([openStore(topic, {}, lagging), openStore(topic)]);
    const key = await ingest.currentKey('cust-erase', Date.now());
    const sealed = seal(key, 'Flat 3, 12 Hill Road');
    const kept = seal(await ingest.currentKey('cust-kept', Date.now()), 'kept in clear');
    expect(await new PersonalDataCipher(dashboards).open(sealed)).toBe('Flat 3, 12 Hill Road');

    lagging.hold();
    expect(await dashboards.destroy('cust-erase', Date.now())).toEqual({ destroyedVersions: [1] });

    // The other process, though it has not folded the erasure yet, answers it at once: its reads catch up first
    // (a read that did not would open the value here).
    expect(await new PersonalDataCipher(ingest).open(sealed)).toBe(ERASED);
    expect(await ingest.keyOf('cust-erase', 1)).toBeUndefined();
    expect(await ingest.status('cust-erase')).toMatchObject({ heldVersions: [], destroyedVersions: [1] });
    expect(await new PersonalDataCipher(ingest).open(kept)).toBe('kept in clear');
    const next = await ingest.currentKey('cust-erase', Date.now());
    expect(next.version).toBe(2);
    expect(next.key.equals(key.key)).toBe(false);

    // The winning proposal is tombstoned, so compaction can remove the wrapped key.
    const all = await records(await kafka.bus(), topic);
    const tombstones = all.filter((r) => r.value.length === 0 && r.key?.startsWith('key/'));
    expect(tombstones.map((r) => r.key!.split('/').slice(1, 3).join('/'))).toEqual([
      `${Buffer.from('cust-erase').toString('base64url')}/1`,
    ]);

    // A process starting after the erasure (its records all on the log) holds only version 2.
    const later = await openStore(topic);
    expect(await later.status('cust-erase')).toMatchObject({ heldVersions: [2], destroyedVersions: [1] });

    // Negative control: an erasure in a store the other process does not read (one file store each) is not seen.
    const dir = mkdtempSync(join(tmpdir(), 'vigil-keys-'));
    try {
      const [own, other] = [0, 1].map((i) => FileCustomerKeyStore.open(join(dir, `p${i}`), { rotateAfterMs: 0 }));
      const fileSealed = seal(await own!.currentKey('cust-erase', Date.now()), 'Flat 3, 12 Hill Road');
      await other!.destroy('cust-erase', Date.now());
      expect(await new PersonalDataCipher(own!).open(fileSealed)).toBe('Flat 3, 12 Hill Road');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rotates a customer's key and destroys versions past retention, as every other process then sees", async () => {
    const DAY = 86_400_000;
    const topic = kafka.topic('customer-keys');
    const [ingest, dashboards] = await Promise.all([
      openStore(topic, { rotateAfterMs: 30 * DAY }),
      openStore(topic, { rotateAfterMs: 30 * DAY }),
    ]);
    const first = await ingest.currentKey('cust-retain', 0);
    const second = await ingest.currentKey('cust-retain', 40 * DAY);
    expect([first.version, second.version]).toEqual([1, 2]);
    // v1 sealed for 30 days at most (rotation): 60 days of retention end it on day 90, not before.
    expect(await dashboards.destroyExpired(90 * DAY - 1, 60 * DAY)).toBe(0);
    expect(await dashboards.destroyExpired(90 * DAY, 60 * DAY)).toBe(1);
    expect(await ingest.status('cust-retain')).toMatchObject({ heldVersions: [2], destroyedVersions: [1] });
    expect(await ingest.keyOf('cust-retain', 1)).toBeUndefined();
    expect((await ingest.keyOf('cust-retain', 2))?.equals(second.key)).toBe(true);
    expect((await ingest.status('cust-retain')).erasedAtMs).toBeNull(); // retention is not an erasure request
  });

  it('keeps no data key on the topic unwrapped', async () => {
    const topic = kafka.topic('customer-keys');
    const store = await openStore(topic);
    const keys = await Promise.all(
      Array.from({ length: 10 }, (_, i) => store.currentKey(`cust-scan-${i}`, Date.now())),
    );
    const bus = await kafka.bus();
    const all = await records(bus, topic);
    expect(all.filter((r) => r.key?.startsWith('key/'))).toHaveLength(10);
    expect(keys.map((k) => occurrences(all, k.key))).toEqual(keys.map(() => 0));

    // Negative control: a key written without wrapping, as a naive store would, is found by the same scan.
    const control = kafka.topic('customer-keys-control');
    await bus.ensureTopics([{ topic: control, partitions: 1 }]);
    await bus
      .producer()
      .send(control, [
        { key: 'cust-scan-0', value: Buffer.from(JSON.stringify({ key: keys[0]!.key.toString('base64') })) },
      ]);
    expect(occurrences(await records(bus, control), keys[0]!.key)).toBe(1);
  });

  it('refuses to start under another master key, naming the setting and revealing no key', async () => {
    const topic = kafka.topic('customer-keys');
    const store = await openStore(topic);
    const key = await store.currentKey('cust-master', Date.now());

    const refusal = await openStore(topic, { masterKey: OTHER_MASTER_KEY }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(ConfigError);
    const message = (refusal as Error).message;
    expect(message).toMatch(/VIGIL_PERSONAL_DATA_MASTER_KEY/);
    expect(message).toContain(store.masterKeyId);
    for (const form of ['base64', 'hex'] as const) expect(message).not.toContain(key.key.toString(form));

    // Once running, a key another process wrapped under another master key is refused by code, not opened.
    const bus = await kafka.bus();
    const otherTopic = kafka.topic('customer-keys');
    const running = await openStore(otherTopic, {}, bus);
    const stranger = await openStore(otherTopic, { masterKey: OTHER_MASTER_KEY });
    await stranger.currentKey('cust-stranger', Date.now());
    const code = await running.keyOf('cust-stranger', 1).then(
      () => 'opened',
      (error: unknown) => (error as VigilError).code,
    );
    expect(code).toBe('CUSTOMER_KEYS_MASTER_KEY_MISMATCH');
    // Control: the same master key opens it.
    const same = await openStore(otherTopic, { masterKey: OTHER_MASTER_KEY });
    expect((await same.keyOf('cust-stranger', 1))?.length).toBe(32);

    // A malformed master key stops the start with the setting's name.
    await expect(openStore(topic, { masterKey: new Secret('too short') })).rejects.toThrow(
      /VIGIL_PERSONAL_DATA_MASTER_KEY/,
    );
  });

  it('lets compaction remove an erased key from the broker within the stated bound', async () => {
    const topic = kafka.topic('customer-keys');
    const lagMs = 2_000;
    const store = await openStore(topic, { compaction: { lagMs, deleteRetentionMs: 60_000 } });
    const erased = await store.currentKey('cust-compact', Date.now());
    const kept = await store.currentKey('cust-compact-kept', Date.now());
    await store.destroy('cust-compact', Date.now());
    const bus = await kafka.bus();
    expect(occurrences(await records(bus, topic), erased.key)).toBe(0);
    const proposalOf = (customer: string) => (r: BusRecord) =>
      r.value.length > 0 && r.key?.startsWith(`key/${Buffer.from(customer).toString('base64url')}/`) === true;
    expect((await records(bus, topic)).filter(proposalOf('cust-compact'))).toHaveLength(1);

    // 2 × lagMs for the segment to roll (the store's roll tombstones append), then the cleaner's back-off (15 s).
    await waitFor(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 500));
        return !(await records(bus, topic)).some(proposalOf('cust-compact'));
      },
      'the erased proposal compacted away',
      120_000,
    );
    const after = await records(bus, topic);
    // Control: the held customer's proposal and the destroyed record stay.
    expect(after.filter(proposalOf('cust-compact-kept'))).toHaveLength(1);
    expect(after.filter((r) => r.key?.startsWith('destroyed/') === true && r.value.length > 0)).toHaveLength(1);
    expect((await store.keyOf('cust-compact-kept', 1))?.equals(kept.key)).toBe(true);
    const fresh = await openStore(topic);
    expect(await fresh.status('cust-compact')).toMatchObject({ heldVersions: [], destroyedVersions: [1] });
    expect((await fresh.currentKey('cust-compact', Date.now())).version).toBe(2);
  });
});
