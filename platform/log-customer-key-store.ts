import { createCipheriv, createDecipheriv, createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { Bus, BusRecord, OutgoingRecord, RecordBatch, RecordPosition, Subscription } from './bus.js';
import type { Clock } from './clock.js';
import type { Secret } from './config.js';
import {
  type CustomerKeyRecord,
  CustomerKeyLog,
  type HeldVersion,
  destroyedRecordKey,
  expiredThrough,
  proposalRecordKey,
} from './customer-key-log.js';
import { ConfigError, UnavailableError, VigilError, describeError } from './errors.js';
import { KeyedLock } from './keyed-lock.js';
import type { Logger } from './logger.js';
import {
  type CustomerDataKey,
  type CustomerKeyStatus,
  type CustomerKeyStore,
  DATA_KEY_BYTES,
  newDataKey,
} from './personal-data.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Every proposal, `destroyed` record and tombstone goes to the one partition: one order for all of them. */
const PARTITIONS = 1;
/** The key of the tombstone appended now and then so that the active segment rolls (see `rollEveryMs`). */
const ROLL_KEY = 'roll';

/** How fast Kafka removes a destroyed key's wrapped copy; see {@link LogCustomerKeyStoreOptions.compaction}. */
export interface CustomerKeysCompaction {
  /** `segment.ms` and `max.compaction.lag.ms` of the topic, and how often a store appends a roll tombstone. */
  readonly lagMs: number;
  /** `delete.retention.ms`: how long tombstones stay readable (they hold no key). */
  readonly deleteRetentionMs: number;
}

export interface LogCustomerKeyStoreOptions {
  readonly bus: Bus;
  /** `Topics.customerKeys`; tests use their own. */
  readonly topic: string;
  /**
   * The master key every data key is wrapped under (AES-256-GCM): 32 bytes, given as 64 hex characters or as base64.
   * From the deployment's secret store (VIGIL_PERSONAL_DATA_MASTER_KEY or `…_FILE`); never logged.
   */
  readonly masterKey: Secret;
  readonly compaction: CustomerKeysCompaction;
  /** A customer's current version is replaced once it is this old (0 = never), as in the file store. */
  readonly rotateAfterMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Longest one call waits for the log (its own records read back, or the end reached). Default 10,000 ms. */
  readonly waitMs?: number;
  /** The consumer group folding the topic; default one per process that never commits. */
  readonly groupId?: string;
}

/**
 * Distributed mode's per-customer key store: the `customer.keys` topic, which every ingest and dashboards process
 * folds from its start (`customer-key-log.ts`), holds every data key wrapped (AES-256-GCM) under a master key that
 * only the processes hold — the envelope encryption of a KMS, with the master key where a KMS would keep its key
 * (the deployment's secret store); a real KMS would plug in behind the same port by unwrapping there instead.
 *
 *  - A new customer: this process proposes version n + 1, reads the log back to its own record, and seals with the
 *    proposal that won — its own, or another replica's that came first — so replicas racing on one customer end up
 *    with the same key. Proposals of one process are sent together (one produce per event-loop turn).
 *  - Erasure (`destroy`): a `destroyed` record for every version this process knows after reading to the log's end,
 *    read back, then a tombstone for each of those versions' proposals, so compaction removes the wrapped keys. A
 *    process stops opening the versions as soon as it has folded the record; readers (`keyOf`, `status`, `destroy`)
 *    read to the log's end first, so a read answers every erasure made anywhere before it began.
 *  - Physical removal: the topic is compacted with `segment.ms` = `max.compaction.lag.ms` = `compaction.lagMs`, and
 *    every open store appends a roll tombstone each `lagMs` (Kafka rolls the active segment only on an append), so a
 *    tombstoned key is gone from the broker's log within about 2 × lagMs plus the cleaner's back-off (SECURITY.md).
 *
 * Unwrapped keys are kept in memory once used, so sealing waits on the network only for a customer's first key.
 */
export class LogCustomerKeyStore implements CustomerKeyStore {
  private readonly log = new CustomerKeyLog();
  /** Unwrapped data keys per customer and version, dropped when a version is destroyed. */
  private readonly unwrapped = new Map<string, Map<number, Buffer>>();
  private readonly locks = new KeyedLock();
  private readonly masterKey: Buffer;
  /** A digest naming the master key in each record: a mismatch is reported as one, not as corrupt data. */
  readonly masterKeyId: string;
  private readonly waitMs: number;
  private readThrough = 0;
  private startedAtEnd = 0;
  private subscription: Subscription | undefined;
  private changeWaiters: Array<() => void> = [];
  private closed = false;
  private readonly processId = randomUUID().slice(0, 8);
  private proposalSequence = 0;
  private pendingSend: Array<{ record: OutgoingRecord; done: (position: RecordPosition | Error) => void }> = [];
  private catchUpRunning: Promise<void> | undefined;
  private catchUpQueued: Promise<void> | undefined;
  private rollTimer: NodeJS.Timeout | undefined;

  private constructor(private readonly options: LogCustomerKeyStoreOptions) {
    this.masterKey = parseMasterKey(options.masterKey);
    this.masterKeyId = masterKeyIdOf(this.masterKey);
    this.waitMs = options.waitMs ?? 10_000;
  }

  /**
   * Creates the topic if missing (compacted, one partition) and folds it from its start; resolves once everything on
   * it at open is folded. Throws ConfigError on a malformed master key, or when the held keys on the topic were
   * wrapped under another master key (nothing is unwrapped then); what `ensureTopics`/`subscribe` throw otherwise.
   */
  static async open(options: LogCustomerKeyStoreOptions): Promise<LogCustomerKeyStore> {
    const store = new LogCustomerKeyStore(options);
    const { bus, topic, compaction, logger } = options;
    await bus.ensureTopics([
      {
        topic,
        partitions: PARTITIONS,
        compacted: true,
        compaction: {
          segmentMs: compaction.lagMs,
          maxLagMs: compaction.lagMs,
          minLagMs: 0,
          deleteRetentionMs: compaction.deleteRetentionMs,
        },
      },
    ]);
    store.startedAtEnd = (await bus.endOffsets(topic))[0] ?? 0;
    store.subscription = await bus.subscribe(
      {
        groupId: options.groupId ?? `customer-keys-${store.processId}-${randomUUID()}`,
        topics: [topic],
        startFrom: 'earliest',
        // Never committed: every start folds the topic from its beginning, the only way to rebuild the keys.
        commitMode: 'manual',
      },
      (batch) => Promise.resolve(store.fold(batch)),
    );
    const deadlineMs = () => options.clock.nowMs() + store.waitMs;
    while (store.readThrough < store.startedAtEnd && !store.closed) await store.nextChange(deadlineMs());
    const foreign = store.foreignMasterKeys();
    if (foreign.length > 0) {
      await store.close();
      throw new ConfigError(
        'VIGIL_PERSONAL_DATA_MASTER_KEY',
        '[secret]',
        `the master key the customer keys on ${topic} were wrapped with (master key id ${foreign.join(', ')}; ` +
          `this one is ${store.masterKeyId})`,
      );
    }
    logger.info('customer keys: folded', {
      topic,
      records: store.startedAtEnd,
      heldVersions: store.log.heldCount(),
      masterKeyId: store.masterKeyId,
    });
    // Proposals that lost, and destroyed versions whose tombstones a stopped process never sent.
    await store
      .removeLeftovers(store.log.removableRecordKeys())
      .catch((error: unknown) =>
        logger.warn('customer keys: leftover proposals not removed yet', { error: describeError(error) }),
      );
    store.rollTimer = setInterval(() => {
      store
        .send([{ key: ROLL_KEY, value: Buffer.alloc(0), tombstone: true }])
        .catch((error: unknown) =>
          logger.warn('customer keys: roll tombstone not sent', { error: describeError(error) }),
        );
    }, compaction.lagMs);
    store.rollTimer.unref();
    return store;
  }

  currentKey(customerId: string, nowMs: number): Promise<CustomerDataKey> {
    return this.guard(customerId, async () => {
      const deadlineMs = this.options.clock.nowMs() + this.waitMs;
      for (;;) {
        const keys = this.log.customerKeys(customerId);
        const newest = keys.held.at(-1);
        const rotate =
          this.options.rotateAfterMs > 0 &&
          newest !== undefined &&
          nowMs - newest.createdAtMs >= this.options.rotateAfterMs;
        if (newest !== undefined && !rotate)
          return { customerId, version: newest.version, key: this.unwrap(customerId, newest) };
        if (this.options.clock.nowMs() >= deadlineMs)
          throw new UnavailableError('CUSTOMER_KEY_STORE_FAILED', `no key for a customer within ${this.waitMs} ms`);
        const version = keys.highestVersion + 1;
        const proposalId = `${this.processId}-${++this.proposalSequence}`;
        const position = await this.propose(customerId, version, proposalId, nowMs);
        await this.readPast(position.offset, deadlineMs);
        const winner = this.log.heldVersion(customerId, version);
        if (winner?.proposalId !== proposalId)
          // Lost (or destroyed meanwhile): ours never sealed anything; the loop takes the winner or tries n + 2.
          await this.removeLeftovers([proposalRecordKey(customerId, version, proposalId)]).catch(() => undefined);
        if (winner !== undefined) return { customerId, version, key: this.unwrap(customerId, winner) };
      }
    });
  }

  async keyOf(customerId: string, version: number): Promise<Buffer | undefined> {
    await this.catchUp();
    const held = this.log.heldVersion(customerId, version);
    return held === undefined ? undefined : this.unwrap(customerId, held);
  }

  destroy(customerId: string, nowMs: number): Promise<{ readonly destroyedVersions: readonly number[] }> {
    return this.guard(customerId, async () => {
      await this.catchUp();
      const before = this.log.customerKeys(customerId);
      const throughVersion = before.highestVersion;
      const [position] = await this.send([
        encodeRecord({ type: 'destroyed', customerId, throughVersion, erasure: true, atMs: nowMs }),
      ]);
      await this.readPast(position!.offset, this.options.clock.nowMs() + this.waitMs);
      await this.removeLeftovers(this.log.removableRecordKeys(customerId));
      return {
        destroyedVersions: before.held.filter((held) => held.version <= throughVersion).map((held) => held.version),
      };
    });
  }

  async status(customerId: string): Promise<CustomerKeyStatus> {
    await this.catchUp();
    const keys = this.log.customerKeys(customerId);
    return {
      heldVersions: keys.held.map((held) => held.version),
      destroyedVersions: Array.from({ length: keys.destroyedThrough }, (_, i) => i + 1),
      erasedAtMs: keys.erasedAtMs,
    };
  }

  /**
   * Retention: destroys, per customer, the versions that sealed their last value more than `retentionMs` before
   * `nowMs` (the file store's rule, `expiredThrough`). Any process may run it; two running it at once write the same
   * records. Returns how many versions it destroyed.
   */
  async destroyExpired(nowMs: number, retentionMs: number): Promise<number> {
    await this.catchUp();
    let destroyed = 0;
    for (const customerId of this.log.customersWithKeys()) {
      destroyed += await this.guard(customerId, async () => {
        const keys = this.log.customerKeys(customerId);
        const throughVersion = expiredThrough(keys, nowMs, retentionMs, this.options.rotateAfterMs);
        if (throughVersion <= keys.destroyedThrough) return 0;
        const [position] = await this.send([
          encodeRecord({ type: 'destroyed', customerId, throughVersion, erasure: false, atMs: nowMs }),
        ]);
        await this.readPast(position!.offset, this.options.clock.nowMs() + this.waitMs);
        await this.removeLeftovers(this.log.removableRecordKeys(customerId));
        return keys.held.filter((held) => held.version <= throughVersion).length;
      });
    }
    return destroyed;
  }

  /** True once the topic as it was at open has been folded, until closed (readiness). */
  isHealthy(): boolean {
    return !this.closed && this.readThrough >= this.startedAtEnd;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.rollTimer);
    this.notifyChange();
    await this.subscription?.close();
  }

  /** Every master key id, other than this process's, that wraps a held version: a misconfigured deployment. */
  private foreignMasterKeys(): string[] {
    const ids = new Set<string>();
    for (const customerId of this.log.customersWithKeys())
      for (const held of this.log.customerKeys(customerId).held)
        if (held.masterKeyId !== this.masterKeyId) ids.add(held.masterKeyId);
    return [...ids];
  }

  private async propose(
    customerId: string,
    version: number,
    proposalId: string,
    nowMs: number,
  ): Promise<RecordPosition> {
    const dataKey = newDataKey();
    const record = encodeRecord({
      type: 'key',
      customerId,
      version,
      proposalId,
      masterKeyId: this.masterKeyId,
      wrapped: wrap(this.masterKey, customerId, version, dataKey),
      createdAtMs: nowMs,
    });
    // Many customers' first keys in one produce: proposals made in the same event-loop turn travel together.
    return new Promise<RecordPosition>((resolve, reject) => {
      this.pendingSend.push({
        record,
        done: (outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome)),
      });
      if (this.pendingSend.length === 1) setImmediate(() => this.flushProposals());
    });
  }

  private flushProposals(): void {
    const pending = this.pendingSend;
    this.pendingSend = [];
    this.send(pending.map((p) => p.record)).then(
      (positions) => pending.forEach((p, i) => p.done(positions[i]!)),
      (error: unknown) => pending.forEach((p) => p.done(error instanceof Error ? error : new Error(String(error)))),
    );
  }

  private async removeLeftovers(recordKeys: readonly string[]): Promise<void> {
    if (recordKeys.length === 0) return;
    await this.send(recordKeys.map((key) => ({ key, value: Buffer.alloc(0), tombstone: true })));
  }

  /** The data key of a held version, unwrapped once; throws when another master key wrapped it or it was altered. */
  private unwrap(customerId: string, held: HeldVersion): Buffer {
    const cached = this.unwrapped.get(customerId)?.get(held.version);
    if (cached !== undefined) return cached;
    if (held.masterKeyId !== this.masterKeyId)
      throw new VigilError(
        'CUSTOMER_KEYS_MASTER_KEY_MISMATCH',
        `a customer key was wrapped under master key id ${held.masterKeyId}; this process holds ${this.masterKeyId}`,
      );
    const key = unwrap(this.masterKey, customerId, held.version, held.wrapped);
    let versions = this.unwrapped.get(customerId);
    if (versions === undefined) this.unwrapped.set(customerId, (versions = new Map<number, Buffer>()));
    versions.set(held.version, key);
    return key;
  }

  /**
   * Resolves once every record on the log when this call began is folded. Calls made while one catch-up is under way
   * share the next one (its end is read after they began), so a burst of reads costs two look-ups, not one each.
   */
  private catchUp(): Promise<void> {
    if (this.catchUpRunning === undefined) {
      this.catchUpRunning = this.catchUpOnce().finally(() => (this.catchUpRunning = undefined));
      return this.catchUpRunning;
    }
    this.catchUpQueued ??= this.catchUpRunning
      .catch(() => undefined)
      .then(() => {
        this.catchUpQueued = undefined;
        return this.catchUp();
      });
    return this.catchUpQueued;
  }

  private async catchUpOnce(): Promise<void> {
    let end: number;
    try {
      end = (await this.options.bus.endOffsets(this.options.topic))[0] ?? 0;
    } catch (error) {
      throw new UnavailableError('CUSTOMER_KEY_STORE_FAILED', 'the customer key log could not be read', error);
    }
    // The record at end − 1 is in the active segment, which is never compacted; should it be compacted by the time
    // it is fetched, a later record with its key supersedes it, and folding that one passes the end as well.
    if (end > 0) await this.readPast(end - 1, this.options.clock.nowMs() + this.waitMs);
  }

  private async send(records: readonly OutgoingRecord[]): Promise<RecordPosition[]> {
    if (this.closed) throw new UnavailableError('CUSTOMER_KEY_STORE_FAILED', 'the customer key store is closed');
    try {
      return await this.options.bus.producer().send(this.options.topic, records);
    } catch (error) {
      throw new UnavailableError('CUSTOMER_KEY_STORE_FAILED', 'could not write to the customer key log', error);
    }
  }

  /** Resolves once the record at `offset` is folded. */
  private async readPast(offset: number, deadlineMs: number): Promise<void> {
    while (this.readThrough <= offset) {
      if (this.closed) throw new UnavailableError('CUSTOMER_KEY_STORE_FAILED', 'the customer key store is closed');
      if (this.options.clock.nowMs() >= deadlineMs)
        throw new UnavailableError('CUSTOMER_KEY_STORE_FAILED', 'the customer key log was not read back in time');
      await this.nextChange(deadlineMs);
    }
  }

  private nextChange(deadlineMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.changeWaiters = this.changeWaiters.filter((waiter) => waiter !== done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, deadlineMs - this.options.clock.nowMs()));
      this.changeWaiters.push(done);
    });
  }

  private notifyChange(): void {
    const waiters = this.changeWaiters;
    this.changeWaiters = [];
    for (const waiter of waiters) waiter();
  }

  private fold(batch: RecordBatch): void {
    for (const busRecord of batch.records) {
      const record = decodeRecord(busRecord);
      if (record === undefined) {
        if (busRecord.key !== ROLL_KEY)
          this.options.logger.warn('customer keys: unreadable record skipped', {
            topic: batch.topic,
            offset: busRecord.offset,
          });
        continue;
      }
      this.log.apply(record);
      // A destroyed version's key leaves memory with the record that destroyed it.
      if (record.type === 'destroyed') {
        const versions = this.unwrapped.get(record.customerId);
        for (const version of versions?.keys() ?? []) if (version <= record.throughVersion) versions!.delete(version);
      }
    }
    const last = batch.records.at(-1);
    if (last !== undefined) this.readThrough = last.offset + 1;
    this.notifyChange();
  }

  /** Runs `work` alone for `customerId`, so one process never proposes twice for one customer at once. */
  private async guard<T>(customerId: string, work: () => Promise<T>): Promise<T> {
    const release = await this.locks.acquire([customerId]);
    try {
      return await work();
    } finally {
      release();
    }
  }
}

/** 32 bytes from 64 hex characters or base64 / base64url. */
function parseMasterKey(secret: Secret): Buffer {
  const text = secret.reveal().trim();
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== DATA_KEY_BYTES || (!/^[0-9a-fA-F]{64}$/.test(text) && !/^[A-Za-z0-9+/_-]{43}=?$/.test(text)))
    throw new ConfigError(
      'VIGIL_PERSONAL_DATA_MASTER_KEY',
      '[secret]',
      '32 random bytes as 64 hex characters or base64 (openssl rand -base64 32)',
    );
  return key;
}

/** 16 hex characters of HMAC-SHA-256 under the master key: names it in records without revealing it. */
function masterKeyIdOf(masterKey: Buffer): string {
  return createHmac('sha256', masterKey).update('vigil customer keys master key id').digest('hex').slice(0, 16);
}

/** The GCM additional data: a wrapped key moved to another customer or version fails to unwrap. */
function wrapAad(customerId: string, version: number): Buffer {
  return Buffer.from(`vigil customer key v1\u0000${customerId}\u0000${version}`, 'utf8');
}

function wrap(masterKey: Buffer, customerId: string, version: number, dataKey: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv);
  cipher.setAAD(wrapAad(customerId, version));
  return Buffer.concat([iv, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
}

function unwrap(masterKey: Buffer, customerId: string, version: number, wrapped: Buffer): Buffer {
  try {
    if (wrapped.length !== IV_BYTES + DATA_KEY_BYTES + TAG_BYTES) throw new Error(`${wrapped.length} bytes`);
    const decipher = createDecipheriv('aes-256-gcm', masterKey, wrapped.subarray(0, IV_BYTES));
    decipher.setAAD(wrapAad(customerId, version));
    decipher.setAuthTag(wrapped.subarray(wrapped.length - TAG_BYTES));
    return Buffer.concat([decipher.update(wrapped.subarray(IV_BYTES, wrapped.length - TAG_BYTES)), decipher.final()]);
  } catch (cause) {
    throw new VigilError('PERSONAL_DATA_CORRUPT', 'a wrapped customer key failed authentication', { cause });
  }
}

/** JSON value of a record (the record key: `proposalRecordKey` / `destroyedRecordKey`). */
type RecordValue =
  | (Omit<Extract<CustomerKeyRecord, { type: 'key' }>, 'wrapped'> & { readonly wrapped: string })
  | Extract<CustomerKeyRecord, { type: 'destroyed' }>;

function encodeRecord(record: Exclude<CustomerKeyRecord, { type: 'removed' }>): OutgoingRecord {
  const value: RecordValue = record.type === 'key' ? { ...record, wrapped: record.wrapped.toString('base64') } : record;
  const key =
    record.type === 'key'
      ? proposalRecordKey(record.customerId, record.version, record.proposalId)
      : destroyedRecordKey(record.customerId, record.throughVersion);
  return { key, value: Buffer.from(JSON.stringify(value), 'utf8') };
}

/** The record read back; a tombstone of a proposal is `removed`; undefined for anything else. */
export function decodeRecord(record: BusRecord): CustomerKeyRecord | undefined {
  if (record.key === null) return undefined;
  if (record.value.length === 0)
    return record.key.startsWith('key/') ? { type: 'removed', recordKey: record.key } : undefined;
  let value: Partial<Record<string, unknown>>;
  try {
    value = JSON.parse(record.value.toString('utf8')) as Partial<Record<string, unknown>>;
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || typeof value.customerId !== 'string') return undefined;
  const { customerId } = value;
  switch (value.type) {
    case 'key': {
      const { version, proposalId, masterKeyId, wrapped, createdAtMs } = value;
      if (!isVersion(version) || typeof proposalId !== 'string' || typeof masterKeyId !== 'string') return undefined;
      if (typeof wrapped !== 'string' || !Number.isSafeInteger(createdAtMs)) return undefined;
      if (record.key !== proposalRecordKey(customerId, version, proposalId)) return undefined;
      return {
        type: 'key',
        customerId,
        version,
        proposalId,
        masterKeyId,
        wrapped: Buffer.from(wrapped, 'base64'),
        createdAtMs: createdAtMs as number,
      };
    }
    case 'destroyed': {
      const { throughVersion, erasure, atMs } = value;
      if (!(throughVersion === 0 || isVersion(throughVersion)) || typeof erasure !== 'boolean') return undefined;
      if (!Number.isSafeInteger(atMs)) return undefined;
      return { type: 'destroyed', customerId, throughVersion, erasure, atMs: atMs as number };
    }
    default:
      return undefined;
  }
}

function isVersion(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}
