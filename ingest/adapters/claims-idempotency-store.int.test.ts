import { jest } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bus, BusRecord, Producer } from '../../platform/bus.js';
import { systemClock } from '../../platform/clock.js';
import { UnavailableError, VigilError } from '../../platform/errors.js';
import { KafkaTestContext, readAll, requireBroker, waitFor } from '../../platform/kafka/test-helpers.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import type { IngestResult } from '../../schemas/api.js';
import { createCodec } from '../../schemas/codec.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import type { Transaction } from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import { type IntakeItem, Ingestor } from '../app/ingestor.js';
import { createIngestMetrics } from '../app/metrics.js';
import type { ClaimRules } from '../domain/claims.js';
import type { IdempotencyStore } from '../ports.js';
import { fingerprintOf } from '../domain/canonical.js';
import { validateTransactionRequest } from '../domain/validation.js';
import { TEST_KEY, cardRequest, recordingLogger } from '../testing/fixtures.js';
import { HmacPanTokenizer, sha256Hasher } from './crypto.js';
import { ClaimsIdempotencyStore, encodeClaimRecord } from './claims-idempotency-store.js';
import { FileIdempotencyStore } from './file-idempotency-store.js';

/**
 * Two ingest replicas against one real Kafka broker — two Ingestors in this process, each with its own KafkaBus
 * client — answer a transaction id alike whichever receives it ("Consistent across replicas", RELIABILITY.md).
 * Each test's tx.raw, tx.dlq and claims topics have unique names. The same scenarios with each replica on its own
 * file journal (the store before the claims topic) are the negative control: they must be reported.
 */
jest.setTimeout(180_000);

const limits = { maxAmountMajor: 1_000_000_000n, maxFutureSkewMs: 300_000, maxEventAgeMs: 30 * 86_400_000 };
const PARTITIONS = 4;
const CLAIM_TIMEOUT_MS = 60_000;
/** One event time for every request: it is part of the content, so retries must carry the same. */
const EVENT_TIME = new Date(Date.now() - 60_000).toISOString();
const kafka = new KafkaTestContext();
const dirs: string[] = [];

interface ReplicaOptions {
  readonly rules?: Partial<ClaimRules>;
  /** The claims store's longest wait per request (default 10 s). */
  readonly waitMs?: number;
  /** Sends to tx.raw that fail (retriable) before the rest go through: an append that fails after the claim. */
  readonly failRawSends?: number;
}

interface Replica {
  readonly name: string;
  /** Produce requests this replica sent to the claims topic. */
  readonly claimSends: () => number;
  readonly ingestor: Ingestor;
  readonly store: IdempotencyStore;
  accept(...bodies: unknown[]): Promise<IngestResult[]>;
}

/** The topics one scenario uses, shared by its replicas. */
interface Cluster {
  readonly raw: string;
  readonly dlq: string;
  readonly claims: string;
  readonly registry: EmbeddedSchemaRegistry;
  /** Starts a replica; `store` picks its idempotency store. */
  replica(name: string, store: 'claims' | 'journal', options?: ReplicaOptions): Promise<Replica>;
  /** The transactions on this cluster's tx.raw, in no particular order. */
  rawRecords(): Promise<BusRecord[]>;
  /** Writes claims records as a replica would, e.g. one that died after claiming. */
  writeClaims(...records: Parameters<typeof encodeClaimRecord>[0][]): Promise<void>;
  close(): Promise<void>;
}

async function cluster(): Promise<Cluster> {
  const raw = kafka.topic('tx-raw');
  const dlq = kafka.topic('tx-dlq');
  const claims = kafka.topic('ingest-idempotency');
  const names: Record<string, string> = { [Topics.transactionsRaw]: raw, [Topics.deadLetters]: dlq };
  const admin = await kafka.bus();
  await admin.ensureTopics([
    { topic: raw, partitions: PARTITIONS },
    { topic: dlq, partitions: 1 },
    { topic: claims, partitions: PARTITIONS },
  ]);
  const registry = new EmbeddedSchemaRegistry();
  const replicas: Replica[] = [];
  return {
    raw,
    dlq,
    claims,
    registry,
    async replica(name, storeKind, options = {}) {
      const bus = await kafka.bus({ clientId: `vigil-test-${name}` });
      let rawFailures = options.failRawSends ?? 0;
      // Ingest writes to Vigil's topic names; this replica's producer maps them to the test's own.
      const renamed: Producer = {
        send: (topic, records) => {
          if (topic === Topics.transactionsRaw && rawFailures > 0) {
            rawFailures--;
            return Promise.reject(new UnavailableError('KAFKA_UNAVAILABLE', 'planted: tx.raw append failed'));
          }
          return bus.producer().send(names[topic] ?? topic, records);
        },
      };
      const renamedBus: Bus = Object.assign(Object.create(bus) as Bus, { producer: () => renamed });
      let claimSends = 0;
      const counting: Producer = {
        send: (topic, records) => {
          if (topic === claims) claimSends++;
          return bus.producer().send(topic, records);
        },
      };
      const countingBus: Bus = Object.assign(Object.create(bus) as Bus, { producer: () => counting });
      const logger = recordingLogger();
      let store: IdempotencyStore;
      if (storeKind === 'claims') {
        store = await ClaimsIdempotencyStore.open({
          bus: countingBus,
          topic: claims,
          partitions: PARTITIONS,
          replica: name,
          rules: { windowMs: 0, claimTimeoutMs: CLAIM_TIMEOUT_MS, ...options.rules },
          clock: systemClock,
          logger,
          ...(options.waitMs === undefined ? {} : { waitMs: options.waitMs }),
          groupId: kafka.group(`ingest-idempotency-${name}`),
        });
      } else {
        const dir = await mkdtemp(join(tmpdir(), `vigil-replica-${name}-`));
        dirs.push(dir);
        store = await FileIdempotencyStore.open(dir, logger);
      }
      const ingestor = new Ingestor({
        producer: renamed,
        codec: await createCodec<Transaction>(registry, Topics.transactionsRaw),
        deadLetters: await DeadLetterWriter.create(renamedBus, registry, 'ingest', systemClock),
        store,
        tokenizer: new HmacPanTokenizer(TEST_KEY),
        hasher: sha256Hasher,
        clock: systemClock,
        limits,
        metrics: createIngestMetrics(new MetricsRegistry()),
        logger,
      });
      const replica: Replica = {
        name,
        claimSends: () => claimSends,
        ingestor,
        store,
        accept: (...bodies) =>
          ingestor.accept(
            bodies.map((body): IntakeItem => ({ kind: 'parsed', body })),
            'API',
            'test',
          ),
      };
      replicas.push(replica);
      return replica;
    },
    async rawRecords() {
      const parts = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => readAll(admin, raw, p)));
      return parts.flat();
    },
    async writeClaims(...records) {
      await admin.producer().send(claims, records.map(encodeClaimRecord));
    },
    async close() {
      for (const replica of replicas.splice(0)) {
        await replica.ingestor.drain();
        await replica.store.close();
      }
    },
  };
}

/** A valid card request with `id`; `variant` changes the content (amount), so two variants conflict. */
function request(id: string, variant = 0): Record<string, unknown> {
  return cardRequest({
    transactionId: id,
    amount: { value: `${10 + variant}.00`, currency: 'EUR' },
    eventTime: EVENT_TIME,
  });
}

/** Transaction ids on tx.raw (Avro strings are length-prefixed UTF-8, so the id's bytes appear verbatim). */
function rawCount(records: readonly BusRecord[], id: string): number {
  return records.filter((r) => r.value.includes(Buffer.from(id, 'utf8'))).length;
}

/** The fingerprint ingest gives `body`, as a replica that claimed it would have written it. */
function fingerprintOfRequest(body: unknown): string {
  const outcome = validateTransactionRequest(body, {
    nowMs: Date.now(),
    limits,
    tokenizer: new HmacPanTokenizer(TEST_KEY),
  });
  if (!outcome.ok) throw new Error(`fixture is invalid: ${JSON.stringify(outcome.problems)}`);
  return fingerprintOf(outcome, sha256Hasher);
}

/** The error code an attempt was refused with (the whole request rejects: nothing acknowledged). */
async function refusal(attempt: Promise<unknown>): Promise<string> {
  try {
    await attempt;
  } catch (error) {
    if (error instanceof VigilError) return error.code;
    throw error;
  }
  return 'not refused';
}

interface Sent {
  readonly replica: string;
  readonly variant: number;
  readonly result: IngestResult;
}

/**
 * What the replicas' answers to attempts on one id break, given what is on tx.raw: exactly one accepted, on
 * tx.raw exactly once; every other attempt with the accepted content a duplicate at the accepted position, every
 * attempt with other content a conflict.
 */
function idempotencyViolations(id: string, sent: readonly Sent[], raw: readonly BusRecord[]): string[] {
  const violations: string[] = [];
  const accepted = sent.filter((s) => s.result.status === 'accepted');
  if (accepted.length !== 1)
    violations.push(`${id}: accepted ${accepted.length} times (${accepted.map((s) => s.replica).join(', ')})`);
  const onLog = rawCount(raw, id);
  if (onLog !== 1) violations.push(`${id}: on tx.raw ${onLog} times`);
  const first = accepted[0];
  if (first === undefined) return violations;
  for (const s of sent) {
    if (s === first) continue;
    const expected = s.variant === first.variant ? 'duplicate' : 'conflict';
    if (s.result.status !== expected)
      violations.push(
        `${id}: replica ${s.replica} answered ${s.result.status} to variant ${s.variant}, not ${expected}`,
      );
    else if (
      expected === 'duplicate' &&
      (s.result.partition !== first.result.partition || s.result.offset !== first.result.offset)
    )
      violations.push(`${id}: replica ${s.replica} points a duplicate at another position`);
  }
  return violations;
}

/** `count` attempts on `id` at once, alternating between the replicas; `variants` > 1 alternates the content too. */
async function concurrentAttempts(replicas: readonly Replica[], id: string, count: number, variants: number) {
  return Promise.all(
    Array.from({ length: count }, async (_, i): Promise<Sent> => {
      const replica = replicas[i % replicas.length]!;
      const variant = Math.floor(i / replicas.length) % variants;
      const [result] = await replica.accept(request(id, variant));
      return { replica: replica.name, variant, result: result! };
    }),
  );
}

beforeAll(requireBroker);
afterEach(async () => {
  await kafka.cleanup();
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe.each([
  { store: 'claims' as const, consistent: true, title: 'sharing the claims topic answer alike' },
  { store: 'journal' as const, consistent: false, title: 'each on its own journal (negative control) are reported' },
])('two ingest replicas $title', ({ store, consistent }) => {
  let c: Cluster;
  let a: Replica;
  let b: Replica;
  beforeEach(async () => {
    c = await cluster();
    a = await c.replica('a', store);
    b = await c.replica('b', store);
  });
  afterEach(() => c.close());

  test('40 concurrent attempts with the same content, split across both (claims: one accepted, 39 duplicates)', async () => {
    const ids = ['tx-same-1', 'tx-same-2', 'tx-same-3'];
    const sent = await Promise.all(ids.map((id) => concurrentAttempts([a, b], id, 40, 1)));
    const raw = await c.rawRecords();
    const violations = ids.flatMap((id, i) => idempotencyViolations(id, sent[i]!, raw));
    if (consistent) {
      expect(violations).toEqual([]);
      expect(raw).toHaveLength(3);
    } else {
      // Each replica's own journal lets each accept the id once: exactly two acceptances and two records per id.
      expect(violations.filter((v) => v.includes('accepted 2 times'))).toHaveLength(3);
      expect(violations.filter((v) => v.includes('on tx.raw 2 times'))).toHaveLength(3);
      expect(raw).toHaveLength(6);
    }
  });

  test('40 concurrent attempts, half with other content (claims: one accepted, 19 duplicates, 20 conflicts)', async () => {
    const sent = await concurrentAttempts([a, b], 'tx-conflict-1', 40, 2);
    const raw = await c.rawRecords();
    const violations = idempotencyViolations('tx-conflict-1', sent, raw);
    if (consistent) {
      expect(violations).toEqual([]);
      const statuses = sent.map((s) => s.result.status);
      expect(statuses.filter((s) => s === 'accepted')).toHaveLength(1);
      expect(statuses.filter((s) => s === 'duplicate')).toHaveLength(19);
      expect(statuses.filter((s) => s === 'conflict')).toHaveLength(20);
    } else {
      // Each replica's own journal lets each accept once, whichever content reached it first.
      expect(violations.slice(0, 2)).toEqual([
        `tx-conflict-1: accepted 2 times ${acceptedBy(sent)}`,
        'tx-conflict-1: on tx.raw 2 times',
      ]);
    }
  });

  test('one after the other across replicas (claims: the replica that did not accept answers duplicate, conflict)', async () => {
    const sent: Sent[] = [];
    const attempt = async (replica: Replica, variant: number) => {
      const [result] = await replica.accept(request('tx-seq-1', variant));
      sent.push({ replica: replica.name, variant, result: result! });
      return result!.status;
    };
    const answers = [await attempt(a, 0), await attempt(b, 0), await attempt(b, 1), await attempt(a, 1)];
    const violations = idempotencyViolations('tx-seq-1', sent, await c.rawRecords());
    if (consistent) {
      expect(answers).toEqual(['accepted', 'duplicate', 'conflict', 'conflict']);
      expect(violations).toEqual([]);
    } else {
      // b has never heard of a's acceptance: it accepts the same content again, then answers the other as 409.
      expect(answers).toEqual(['accepted', 'accepted', 'conflict', 'conflict']);
      expect(violations).toEqual([
        'tx-seq-1: accepted 2 times (a, b)',
        'tx-seq-1: on tx.raw 2 times',
        'tx-seq-1: replica b answered accepted to variant 0, not duplicate',
      ]);
    }
  });
});

/** The replicas named in the order the checker reports them (acceptance order in `sent`). */
function acceptedBy(sent: readonly Sent[]): string {
  return `(${sent
    .filter((s) => s.result.status === 'accepted')
    .map((s) => s.replica)
    .join(', ')})`;
}

describe('a claim whose replica did not write tx.raw', () => {
  let c: Cluster;
  beforeEach(async () => {
    c = await cluster();
  });
  afterEach(() => c.close());

  const claimBy = (replica: string, id: string, atMs: number) =>
    ({
      type: 'claim',
      transactionId: id,
      claimId: `${replica}/dead-process/1`,
      replica,
      fingerprint: fingerprintOfRequest(request(id)),
      atMs,
    }) as const;

  test('the append failed: the claim is released, so the retry on the other replica is accepted at once', async () => {
    const a = await c.replica('a', 'claims', { failRawSends: 1 });
    const b = await c.replica('b', 'claims', { waitMs: 2000 });
    expect(await refusal(a.accept(request('tx-fail-1')))).toBe('KAFKA_UNAVAILABLE');
    const sent: Sent[] = [];
    for (const replica of [b, a]) {
      const [result] = await replica.accept(request('tx-fail-1'));
      sent.push({ replica: replica.name, variant: 0, result: result! });
    }
    expect(sent.map((s) => s.result.status)).toEqual(['accepted', 'duplicate']);
    expect(idempotencyViolations('tx-fail-1', sent, await c.rawRecords())).toEqual([]);
  });

  test('its replica died: the same replica restarted takes it back at once, the other one answers the result', async () => {
    await c.writeClaims(claimBy('a', 'tx-died-1', Date.now()));
    const a = await c.replica('a', 'claims');
    const b = await c.replica('b', 'claims');
    const sent: Sent[] = [];
    for (const replica of [a, b]) {
      const [result] = await replica.accept(request('tx-died-1'));
      sent.push({ replica: replica.name, variant: 0, result: result! });
    }
    expect(sent.map((s) => s.result.status)).toEqual(['accepted', 'duplicate']);
    expect(idempotencyViolations('tx-died-1', sent, await c.rawRecords())).toEqual([]);
  });

  test('its replica died: another replica refuses with 503 until the claim timeout, then takes it over', async () => {
    // Control: a fresh claim of a dead replica holds the id — never answered as a duplicate of nothing.
    await c.writeClaims(claimBy('c', 'tx-died-2', Date.now()));
    // Past the timeout (the record's own timestamp says so): taken over by the first retry.
    await c.writeClaims(claimBy('c', 'tx-died-3', Date.now() - CLAIM_TIMEOUT_MS - 1000));
    const b = await c.replica('b', 'claims', { waitMs: 1500 });
    expect(await refusal(b.accept(request('tx-died-2')))).toBe('IDEMPOTENCY_CLAIM_PENDING');
    const [taken] = await b.accept(request('tx-died-3'));
    expect(taken!.status).toBe('accepted');
    // The dead replica was only slow: its late `accepted` does not change the decision.
    await c.writeClaims({
      type: 'accepted',
      transactionId: 'tx-died-3',
      claimId: 'c/dead-process/1',
      partition: 0,
      offset: 999,
    });
    const a = await c.replica('a', 'claims');
    const [again] = await a.accept(request('tx-died-3'));
    expect(again).toEqual({ ...taken, status: 'duplicate' });
    const raw = await c.rawRecords();
    expect([rawCount(raw, 'tx-died-2'), rawCount(raw, 'tx-died-3')]).toEqual([0, 1]);
  });

  test('a retry waits for the claim in flight on another replica: its accepted makes it a duplicate', async () => {
    await c.writeClaims(claimBy('c', 'tx-wait-1', Date.now()));
    const b = await c.replica('b', 'claims', { waitMs: 120_000 });
    const waiting = b.accept(request('tx-wait-1'));
    await waitFor(() => b.store.size() === 1, 'b to fold the claim', 60_000);
    await c.writeClaims({
      type: 'accepted',
      transactionId: 'tx-wait-1',
      claimId: 'c/dead-process/1',
      partition: 2,
      offset: 7,
    });
    expect(await waiting).toEqual([{ transactionId: 'tx-wait-1', status: 'duplicate', partition: 2, offset: 7 }]);
  });
});

describe('a batch', () => {
  test('claims its new ids in one produce and records their acceptance in one more, on either replica', async () => {
    const c = await cluster();
    try {
      const a = await c.replica('a', 'claims');
      const b = await c.replica('b', 'claims');
      const ids = Array.from({ length: 50 }, (_, i) => `tx-batch-${i}`);
      const first = await a.accept(...ids.map((id) => request(id)));
      expect(first.map((r) => r.status)).toEqual(ids.map(() => 'accepted'));
      expect(a.claimSends()).toBe(2);
      const more = [...ids, 'tx-batch-new-1', 'tx-batch-new-2'];
      const second = await b.accept(...more.map((id) => request(id)));
      expect(second.map((r) => r.status)).toEqual([...ids.map(() => 'duplicate'), 'accepted', 'accepted']);
      expect(second.slice(0, 50).map(({ partition, offset }) => ({ partition, offset }))).toEqual(
        first.map(({ partition, offset }) => ({ partition, offset })),
      );
      expect(b.claimSends()).toBe(2);
      expect(await c.rawRecords()).toHaveLength(52);
    } finally {
      await c.close();
    }
  });
});
