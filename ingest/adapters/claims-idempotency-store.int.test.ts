import { jest } from '@jest/globals';
import type { BusRecord } from '../../platform/bus.js';
import { VigilError } from '../../platform/errors.js';
import { KafkaTestContext, requireBroker, waitFor } from '../../platform/kafka/test-helpers.js';
import type { IngestResult } from '../../schemas/api.js';
import { fingerprintOf } from '../domain/canonical.js';
import { validateTransactionRequest } from '../domain/validation.js';
import { TEST_KEY } from '../testing/fixtures.js';
import {
  CLAIM_TIMEOUT_MS,
  type Cluster,
  type Replica,
  cluster as startCluster,
  limits,
  rawCount,
  request,
} from '../testing/replicas.js';
import { HmacPanTokenizer, sha256Hasher } from './crypto.js';

/**
 * Two ingest replicas against one real Kafka broker — two Ingestors in this process, each with its own KafkaBus
 * client — answer a transaction id alike whichever receives it ("Consistent across replicas", RELIABILITY.md).
 * Each test's tx.raw, tx.dlq and claims topics have unique names. The same scenarios with each replica on its own
 * file journal (the store before the claims topic) are the negative control: they must be reported.
 */
jest.setTimeout(180_000);

const kafka = new KafkaTestContext();
const cluster = (): Promise<Cluster> => startCluster(kafka);

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
afterEach(() => kafka.cleanup());

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
