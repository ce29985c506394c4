import { apiClient, waitFor } from '../embedded/testing.js';
import type { IngestBatchResponse, IngestResult, TransactionRequest } from '../schemas/api.js';
import { createCodec } from '../schemas/codec.js';
import type { Transaction } from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { IngestStateTopics, Topics } from '../schemas/topics.js';
import { decodeClaimRecord } from '../ingest/adapters/claims-idempotency-store.js';
import { TrafficSimulator } from '../simulator/generator.js';
import { type ServiceProcess, residentMemoryMiB } from './processes.js';
import { FaultPipeline, violationKinds } from './testing/fault-pipeline.js';

/**
 * "Consistent across replicas" (RELIABILITY.md) as processes: two ingest processes (two HTTP ports) against one
 * broker, with scoring and ledger-sink + dashboards, in a Kafka namespace of their own
 * (distributed/testing/fault-pipeline.ts). Distributed mode's default idempotency store, the claims topic
 * (VIGIL_IDEMPOTENCY_STORE=claims), is what makes the replicas answer an id alike. Traffic, over HTTP:
 *  1. SAME_IDS ids, each as ATTEMPTS concurrent identical `POST /v1/transactions`, alternating between the replicas;
 *  2. OTHER_IDS ids accepted on replica a, then sent to b with other content (first) and with the same content;
 *  3. one `POST /v1/transactions/batch` of BATCH_ITEMS sent to both replicas at once (a client retrying a batch on
 *     the other replica), b's copy carrying other content for its last BATCH_OTHER items;
 *  4. KILL_IDS ids sent once each by WORKERS clients, alternating between the replicas; replica a is SIGKILLed once
 *     a third are acknowledged while requests to it are in flight, and every request it did not answer is sent again
 *     to b (503 → again after Retry-After) until b answers.
 *
 * Oracle (exact): phases 1–3 — per id exactly one accepted answer (202 / `accepted`), every other answer with that
 * content a duplicate (200) at the accepted position, every answer with other content a conflict (409), and tx.raw
 * holding the id once, at that position, with the accepted content. Phase 4 — every id acknowledged; an id replica a
 * answered is on tx.raw once, one retried on b once or twice (the documented crash window: a died after its append,
 * before `accepted`), every copy the same content, and the acknowledged position holds a copy. Then the suite oracle:
 * acknowledged ids = decisions = audit documents, each once; every postable decision posted exactly once and
 * balanced, with and without FINAL; drained within DRAIN_BOUND_MS of the last acknowledgement; each process's peak
 * RSS under MEMORY_BOUND_MIB. Replica a, restarted, answers every acknowledged id as a duplicate at its position.
 *
 * Negative controls: the same phases 1–3 with each replica on its own file journal (VIGIL_IDEMPOTENCY_STORE=journal,
 * the second case) are reported — every id accepted twice and on tx.raw twice; a forged acknowledgement (a position
 * holding another id) is reported as lost; a posting stored twice and a decision lost, planted in the checker's
 * view, are reported.
 */
const PARTITIONS = 2;
const SAME_IDS = 40;
const ATTEMPTS = 8;
const OTHER_IDS = 20;
const BATCH_ITEMS = 100;
const BATCH_OTHER = 10;
const KILL_IDS = 300;
const WORKERS = 16;
/** Requests to replica a in flight when it is killed, at least (with WORKERS clients, about half go to a). */
const IN_FLIGHT_AT_KILL = 4;
const TOTAL = SAME_IDS + OTHER_IDS + BATCH_ITEMS + KILL_IDS;
/**
 * VIGIL_IDEMPOTENCY_CLAIM_TIMEOUT_MS for both replicas: after it, b takes over a claim the killed a left in flight
 * (the default, 60 s, would make the test wait that long). Still far above a live replica's claim-to-accepted time,
 * so phases 1–3 never see a live claim overtaken (that would be two acceptances).
 */
const CLAIM_TIMEOUT_MS = 10_000;
/** What ingest's 503 asks for (Retry-After: 1). */
const RETRY_AFTER_MS = 1000;
/** From the last acknowledgement until every decision is stored and posted and every lag is 0. */
const DRAIN_BOUND_MS = 180_000;
/** Peak resident memory any one process may reach (as the other fault tests). */
const MEMORY_BOUND_MIB = 1536;
const OTHER_DESCRIPTION = 'the same id with other content';

/** What a client was told about one attempt on an id. */
interface Answer {
  readonly id: string;
  readonly replica: string;
  /** 0: the id's content; 1: other content under the same id. */
  readonly variant: 0 | 1;
  /** `accepted`, `duplicate`, `conflict`, or what else came back (`HTTP 503`, …). */
  readonly status: string;
  /** `partition:offset` on tx.raw, when the answer gives one. */
  readonly position?: string;
}

/** A record of tx.raw: where it is, its transaction id and which content it carries. */
interface RawCopy {
  readonly id: string;
  readonly position: string;
  readonly variant: 0 | 1;
}

/** A replica as the clients see it. */
interface ReplicaClient {
  readonly name: string;
  readonly service: ServiceProcess;
}

const otherContent = (request: TransactionRequest): TransactionRequest => ({
  ...request,
  description: OTHER_DESCRIPTION,
});

const positionOf = (result: IngestResult | undefined): string | undefined =>
  result?.partition === undefined ? undefined : `${result.partition}:${result.offset}`;

/** One `POST /v1/transactions`; rejects when no answer comes (the process is gone). */
/**
 * Posts until the answer is not a 503, waiting Retry-After between, as a client is told to: two replicas handed
 * overlapping ids at the same moment can each wait on the other's claims until one gives up, releases its own and
 * answers 503 (the claims store's wait is shorter than the claim timeout, so neither takes the other's over).
 */
async function postUntilAnswered<T>(
  post: () => Promise<{ status: number; body: T }>,
): Promise<{ status: number; body: T }> {
  for (;;) {
    const response = await post();
    if (response.status !== 503) return response;
    refusedInPhases1To3++;
    await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_MS));
  }
}
/** 503s answered in phases 1–3 and retried (printed). */
let refusedInPhases1To3 = 0;

/** One `POST /v1/transactions`; phases 1–3 retry a 503 (`retryRefused`), phase 4 counts and retries them itself. */
async function postOne(
  replica: ReplicaClient,
  key: string,
  request: TransactionRequest,
  variant: 0 | 1,
  retryRefused = true,
) {
  const post = () => apiClient(replica.service.url, key).post<IngestResult>('/v1/transactions', request);
  const response = retryRefused ? await postUntilAnswered(post) : await post();
  const expected = { 202: 'accepted', 200: 'duplicate' }[response.status as 200 | 202];
  const status =
    response.status === 409
      ? 'conflict'
      : expected !== undefined && response.body.status === expected
        ? expected
        : `HTTP ${response.status}`;
  const answer: Answer = { id: request.transactionId, replica: replica.name, variant, status };
  const position = positionOf(response.body);
  return position === undefined || status === 'conflict' ? answer : { ...answer, position };
}

/** One `POST /v1/transactions/batch`: an answer per item (`HTTP <status>` for each when the batch was refused). */
async function postBatch(
  replica: ReplicaClient,
  key: string,
  requests: readonly TransactionRequest[],
  variants: ReadonlyArray<0 | 1>,
): Promise<Answer[]> {
  const response = await postUntilAnswered(() =>
    apiClient(replica.service.url, key).post<IngestBatchResponse>('/v1/transactions/batch', requests),
  );
  return requests.map((request, i) => {
    const result = response.status === 200 ? response.body.results[i] : undefined;
    const answer: Answer = {
      id: request.transactionId,
      replica: replica.name,
      variant: variants[i]!,
      status: result?.status ?? `HTTP ${response.status}`,
    };
    const position = positionOf(result);
    return position === undefined ? answer : { ...answer, position };
  });
}

/** Phases 1–3 (see the file comment), every answer. */
async function concurrentPhases(
  a: ReplicaClient,
  b: ReplicaClient,
  key: string,
  requests: { same: TransactionRequest[]; other: TransactionRequest[]; batch: TransactionRequest[] },
): Promise<Answer[]> {
  const same = await Promise.all(
    requests.same.flatMap((request) =>
      Array.from({ length: ATTEMPTS }, (_, i) => postOne(i % 2 === 0 ? a : b, key, request, 0)),
    ),
  );
  const firstOnA = await Promise.all(requests.other.map((r) => postOne(a, key, r, 0)));
  const otherOnB = await Promise.all(requests.other.map((r) => postOne(b, key, otherContent(r), 1)));
  const againOnB = await Promise.all(requests.other.map((r) => postOne(b, key, r, 0)));
  const bVariants = requests.batch.map((_, i): 0 | 1 => (i >= BATCH_ITEMS - BATCH_OTHER ? 1 : 0));
  const batches = await Promise.all([
    postBatch(
      a,
      key,
      requests.batch,
      requests.batch.map(() => 0),
    ),
    postBatch(
      b,
      key,
      requests.batch.map((r, i) => (bVariants[i] === 1 ? otherContent(r) : r)),
      bVariants,
    ),
  ]);
  return [...same, ...firstOnA, ...otherOnB, ...againOnB, ...batches.flat()];
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

/**
 * How the answers to concurrent attempts break "answered alike whichever replica receives it", given tx.raw: per
 * id exactly one accepted, on tx.raw exactly once at the accepted position with the accepted content; every other
 * answer a duplicate at that position (same content) or a conflict (other content). Empty when exact.
 */
function answerViolations(answers: readonly Answer[], raw: readonly RawCopy[]): string[] {
  const violations: string[] = [];
  const copiesById = groupBy(raw, (c) => c.id);
  for (const [id, ofId] of [...groupBy(answers, (a) => a.id)].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
    const accepted = ofId.filter((a) => a.status === 'accepted');
    const copies = copiesById.get(id) ?? [];
    if (accepted.length !== 1) violations.push(`${id}: accepted ${accepted.length} times`);
    if (copies.length !== 1) violations.push(`${id}: on tx.raw ${copies.length} times`);
    const first = accepted[0];
    const copy = copies[0];
    if (accepted.length !== 1 || copies.length !== 1 || first === undefined || copy === undefined) continue;
    if (copy.position !== first.position || copy.variant !== first.variant)
      violations.push(
        `${id}: accepted at ${first.position} (content ${first.variant}), on tx.raw at ${copy.position} (content ${copy.variant})`,
      );
    for (const answer of ofId) {
      if (answer === first) continue;
      const expected = answer.variant === first.variant ? 'duplicate' : 'conflict';
      if (answer.status !== expected)
        violations.push(
          `${id}: replica ${answer.replica} answered ${answer.status} to content ${answer.variant}, not ${expected}`,
        );
      else if (expected === 'duplicate' && answer.position !== first.position)
        violations.push(
          `${id}: replica ${answer.replica}'s duplicate points at ${answer.position}, not ${first.position}`,
        );
    }
  }
  return violations;
}

/** One id of phase 4: the answer that ended it, and whether it was sent again to b after a went silent. */
interface KillOutcome {
  readonly answer: Answer;
  readonly retried: boolean;
}

/**
 * How phase 4 breaks "nothing acknowledged lost, nothing accepted twice": an id not acknowledged; acknowledged at a
 * position that holds no copy of it; on tx.raw other than once (answered by a) or once or twice (retried on b); a
 * copy with other content. Empty when exact.
 */
function killViolations(outcomes: ReadonlyMap<string, KillOutcome>, raw: readonly RawCopy[]): string[] {
  const violations: string[] = [];
  const copiesById = groupBy(raw, (c) => c.id);
  for (const [id, { answer, retried }] of outcomes) {
    const copies = copiesById.get(id) ?? [];
    const acknowledged = answer.status === 'accepted' || answer.status === 'duplicate';
    if (!acknowledged || (!retried && answer.status !== 'accepted'))
      violations.push(`${id}: answered ${answer.status} by ${answer.replica}`);
    if (acknowledged && !copies.some((c) => c.position === answer.position))
      violations.push(`${id}: acknowledged at ${answer.position}, which holds no copy of it`);
    if (copies.length < 1 || copies.length > (retried ? 2 : 1))
      violations.push(`${id}: on tx.raw ${copies.length} times`);
    if (copies.some((c) => c.variant !== 0)) violations.push(`${id}: a copy on tx.raw with other content`);
  }
  return violations;
}

/** Every record on tx.raw in the namespace, decoded to what the oracles compare. */
async function rawCopies(pipeline: FaultPipeline): Promise<RawCopy[]> {
  const codec = await createCodec<Transaction>(new EmbeddedSchemaRegistry(), Topics.transactionsRaw);
  return Promise.all(
    (await pipeline.readTopic(Topics.transactionsRaw)).map(async (record) => {
      const tx = await codec.decode(record.value);
      return {
        id: tx.transactionId,
        position: `${record.partition}:${record.offset}`,
        variant: tx.description === OTHER_DESCRIPTION ? 1 : 0,
      };
    }),
  );
}

/** The traffic: distinct simulated transactions for each phase. */
function phaseRequests() {
  const simulator = new TrafficSimulator({
    seed: 88,
    startTimeMs: Date.now() - 3 * 86_400_000,
    customers: 200,
    terminals: 150,
    meanTxPerCustomerPerDay: 12,
    fraudScale: 3,
  });
  const all = simulator.take(TOTAL).map((s) => s.request);
  return {
    same: all.slice(0, SAME_IDS),
    other: all.slice(SAME_IDS, SAME_IDS + OTHER_IDS),
    batch: all.slice(SAME_IDS + OTHER_IDS, SAME_IDS + OTHER_IDS + BATCH_ITEMS),
    kill: all.slice(SAME_IDS + OTHER_IDS + BATCH_ITEMS),
  };
}

const claimsEnv = {
  VIGIL_IDEMPOTENCY_STORE: 'claims',
  VIGIL_IDEMPOTENCY_CLAIM_TIMEOUT_MS: String(CLAIM_TIMEOUT_MS),
};

describe('consistent across replicas: two ingest processes on one broker', () => {
  describe('sharing the claims topic', () => {
    const pipeline = new FaultPipeline('replicas', PARTITIONS);
    beforeAll(() => pipeline.open(), 60_000);
    afterAll(() => pipeline.close(), 120_000);

    it('answer every id alike on either replica, and a killed replica’s requests retried on the other are acknowledged once', async () => {
      const { keys } = pipeline;
      const sink = await pipeline.startSink();
      const scoring = await pipeline.startScoring();
      const [aService, bService] = await Promise.all([
        pipeline.startIngest('a', claimsEnv),
        pipeline.startIngest('b', claimsEnv),
      ]);
      const a: ReplicaClient = { name: 'a', service: aService };
      const b: ReplicaClient = { name: 'b', service: bService };
      const requests = phaseRequests();

      const answers = await concurrentPhases(a, b, keys.ingest, requests);

      // Phase 4: replica a SIGKILLed with requests in flight; what it did not answer goes to b.
      const outcomes = new Map<string, KillOutcome>();
      let next = 0;
      let inFlightOnA = 0;
      let killed = false;
      let unansweredInFlight = 0;
      let refusedByB = 0;
      let longestRetryMs = 0;
      const worker = async (): Promise<void> => {
        for (let i = next++; i < requests.kill.length; i = next++) {
          const request = requests.kill[i]!;
          const replica = i % 2 === 0 ? a : b;
          const sentBeforeKill = !killed;
          if (replica === a) inFlightOnA++;
          const answer = await postOne(replica, keys.ingest, request, 0, false).catch(() => undefined);
          if (replica === a) inFlightOnA--;
          if (answer !== undefined && (answer.status === 'accepted' || replica === b)) {
            outcomes.set(request.transactionId, { answer, retried: false });
            continue;
          }
          if (answer === undefined && sentBeforeKill) unansweredInFlight++;
          const retryStarted = Date.now();
          for (;;) {
            const retry = await postOne(b, keys.ingest, request, 0, false);
            if (retry.status !== 'HTTP 503') {
              outcomes.set(request.transactionId, { answer: retry, retried: true });
              longestRetryMs = Math.max(longestRetryMs, Date.now() - retryStarted);
              break;
            }
            refusedByB++;
            await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_MS));
          }
        }
      };
      const workers = Promise.all(Array.from({ length: WORKERS }, () => worker()));
      await waitFor(
        'a third of phase 4 acknowledged, with requests in flight on replica a',
        () => (outcomes.size >= KILL_IDS / 3 && inFlightOnA >= IN_FLIGHT_AT_KILL ? true : undefined),
        300_000,
        1,
      );
      aService.child.kill('SIGKILL');
      killed = true;
      const acknowledgedAtKill = outcomes.size;
      const inFlightAtKill = inFlightOnA;
      await workers;
      const lastAcknowledgedAt = Date.now();
      // The kill came mid-traffic, with requests to a that it never answered.
      expect(acknowledgedAtKill).toBeLessThan(KILL_IDS);
      expect(unansweredInFlight).toBeGreaterThan(0);
      expect(outcomes.size).toBe(KILL_IDS);

      const raw = await rawCopies(pipeline);
      const concurrentIds = new Set(answers.map((x) => x.id));
      expect(
        answerViolations(
          answers,
          raw.filter((c) => concurrentIds.has(c.id)),
        ),
      ).toEqual([]);
      expect(killViolations(outcomes, raw)).toEqual([]);
      expect(new Set(raw.map((c) => c.id))).toEqual(new Set([...concurrentIds, ...outcomes.keys()]));
      // Negative control: an acknowledgement forged at a position that holds another id is reported as lost.
      const [forgedId, forged] = [...outcomes][0]!;
      const elsewhere = raw.find((c) => c.id !== forgedId)!.position;
      expect(
        killViolations(new Map([[forgedId, { ...forged, answer: { ...forged.answer, position: elsewhere } }]]), raw),
      ).toEqual([`${forgedId}: acknowledged at ${elsewhere}, which holds no copy of it`]);

      const statuses = (of: readonly Answer[]) =>
        [...groupBy(of, (x) => x.status)].map(([s, xs]) => `${s} ${xs.length}`);
      expect(statuses(answers).sort()).toEqual(
        [
          `accepted ${SAME_IDS + OTHER_IDS + BATCH_ITEMS}`,
          `duplicate ${SAME_IDS * (ATTEMPTS - 1) + OTHER_IDS + BATCH_ITEMS - BATCH_OTHER}`,
          `conflict ${OTHER_IDS + BATCH_OTHER}`,
        ].sort(),
      );

      // What each acknowledged id is on the log as: its accepted (or, retried, final) answer.
      const acknowledgedAt = new Map<string, Answer>();
      for (const answer of answers) if (answer.status === 'accepted') acknowledgedAt.set(answer.id, answer);
      for (const [id, { answer }] of outcomes) acknowledgedAt.set(id, answer);
      const acknowledged = new Set(acknowledgedAt.keys());
      expect(acknowledged.size).toBe(TOTAL);

      const drainMs = await pipeline.waitUntilDrained(sink, scoring, TOTAL, DRAIN_BOUND_MS);
      const drainedAfterLastAckMs = Date.now() - lastAcknowledgedAt;
      const decisions = await pipeline.readDecisions();
      expect(new Set(decisions.first.keys())).toEqual(acknowledged);

      // Replica a restarted folds the claims topic: every acknowledged id is a duplicate at its position.
      const aAgain: ReplicaClient = { name: 'a (restarted)', service: await pipeline.startIngest('a', claimsEnv) };
      const byId = new Map(
        [...requests.same, ...requests.other, ...requests.batch, ...requests.kill].map((r) => [r.transactionId, r]),
      );
      const ackedIds = [...acknowledgedAt.keys()];
      const repeats = await postBatch(
        aAgain,
        keys.ingest,
        ackedIds.map((id) => {
          const request = byId.get(id)!;
          return acknowledgedAt.get(id)!.variant === 1 ? otherContent(request) : request;
        }),
        ackedIds.map((id) => acknowledgedAt.get(id)!.variant),
      );
      expect(
        repeats.filter((r) => r.status !== 'duplicate' || r.position !== acknowledgedAt.get(r.id)!.position),
      ).toEqual([]);
      expect((await rawCopies(pipeline)).length).toBe(raw.length);

      const rssMiB = {
        b: residentMemoryMiB(bService.child.pid)?.peakMiB ?? NaN,
        aRestarted: residentMemoryMiB(aAgain.service.child.pid)?.peakMiB ?? NaN,
        scoring: residentMemoryMiB(scoring.child.pid)?.peakMiB ?? NaN,
        sink: residentMemoryMiB(sink.child.pid)?.peakMiB ?? NaN,
      };
      const ledger = await pipeline.checkLedger(sink, acknowledged, decisions.first);
      expect(ledger.sinkExitCode).toBe(0);
      expect(ledger.plain).toEqual([]);
      expect(ledger.final).toEqual([]);
      // Negative control: one posting stored twice and one decision lost, planted in the checker's view.
      expect(violationKinds(ledger.planted)).toEqual([
        'acknowledged without a decision',
        'entries posted more than once',
        'transactions whose legs do not sum to zero in a currency',
      ]);
      for (const peak of Object.values(rssMiB)) expect(peak).toBeLessThan(MEMORY_BOUND_MIB);

      // Claims a made on phase 4's retried ids (each the id's first claim, so the deciding one) that neither
      // `accepted` nor `released` followed: what the kill left in flight, each taken over by b once older than the
      // claim timeout. A figure, not asserted: where the kill lands is not chosen. (Claims that lost a race in
      // phases 1–3 are never finished either, by design: they decide nothing.)
      const claimRecords = (await pipeline.readTopic(IngestStateTopics.idempotencyClaims)).flatMap((r) => {
        const claim = decodeClaimRecord(r);
        return claim === undefined ? [] : [claim];
      });
      const finished = new Set(claimRecords.flatMap((c) => (c.type === 'claim' ? [] : [c.claimId])));
      const leftInFlight = claimRecords.filter(
        (c) =>
          c.type === 'claim' &&
          c.replica === 'a' &&
          outcomes.get(c.transactionId)?.retried === true &&
          !finished.has(c.claimId),
      ).length;
      const copiesOnRaw = raw.length - TOTAL;
      const retried = [...outcomes.values()].filter((o) => o.retried);
      process.stdout.write(
        `replicas: ${TOTAL} ids over two ingest processes; phases 1-3 ${answers.length} answers (${statuses(answers).join(', ')}; ${refusedInPhases1To3} 503s retried), ` +
          `each id accepted once and on tx.raw once; phase 4 ${KILL_IDS} ids, a SIGKILLed at ${acknowledgedAtKill} acknowledged ` +
          `with ${inFlightAtKill} requests in flight on it (${unansweredInFlight} of them never answered), ${retried.length} sent again to b ` +
          `(${statuses(retried.map((o) => o.answer)).join(', ')}; ${refusedByB} times 503 first; longest ${(longestRetryMs / 1000).toFixed(1)} s), ${leftInFlight} claims of a left in flight, ${copiesOnRaw} ids on tx.raw twice; ` +
          `${acknowledged.size} acknowledged, ${decisions.first.size} decided (${decisions.records.length} records on tx.scored), ` +
          `${ledger.posted} posted, 0 posted twice, ${ledger.auditDocuments} audit documents; drained ${(drainedAfterLastAckMs / 1000).toFixed(1)} s ` +
          `after the last acknowledgement (wait ${(drainMs / 1000).toFixed(1)} s); restarted a answered ${repeats.length} duplicates; ` +
          `peak RSS ${Object.entries(rssMiB)
            .map(([name, mib]) => `${name} ${mib.toFixed(0)} MiB`)
            .join(', ')}\n`,
      );
    }, 600_000);
  });

  describe('each on its own file journal (negative control)', () => {
    const pipeline = new FaultPipeline('replicas-journal', PARTITIONS);
    beforeAll(() => pipeline.open(), 60_000);
    afterAll(() => pipeline.close(), 120_000);

    it('accept every id of phases 1-3 twice, and the oracle reports each', async () => {
      const journalEnv = { VIGIL_IDEMPOTENCY_STORE: 'journal' };
      const [aService, bService] = await Promise.all([
        pipeline.startIngest('a', journalEnv),
        pipeline.startIngest('b', journalEnv),
      ]);
      const requests = phaseRequests();
      const answers = await concurrentPhases(
        { name: 'a', service: aService },
        { name: 'b', service: bService },
        pipeline.keys.ingest,
        requests,
      );
      const violations = answerViolations(answers, await rawCopies(pipeline));
      const ids = [...requests.same, ...requests.other, ...requests.batch].map((r) => r.transactionId).sort();
      expect(violations).toEqual(ids.flatMap((id) => [`${id}: accepted 2 times`, `${id}: on tx.raw 2 times`]));
      process.stdout.write(
        `replicas, a journal each: ${answers.length} answers, ${answers.filter((x) => x.status === 'accepted').length} accepted ` +
          `for ${ids.length} ids; ${violations.length} violations\n`,
      );
    }, 300_000);
  });
});
