import { randomUUID } from 'node:crypto';
import type { Bus, BusRecord, OutgoingRecord, RecordBatch, RecordPosition, Subscription } from '../../platform/bus.js';
import type { Clock } from '../../platform/clock.js';
import { UnavailableError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import { partitionForKey } from '../../platform/murmur2.js';
import {
  type ClaimRecord,
  type ClaimRules,
  type ClaimState,
  applyClaimRecord,
  isPastWindow,
  nextClaimStep,
} from '../domain/claims.js';
import type { Attempt } from '../domain/idempotency.js';
import type { IdempotencyRecord, IdempotencyStore } from '../ports.js';

export interface ClaimsIdempotencyStoreOptions {
  readonly bus: Bus;
  /** The claims topic (`IngestStateTopics.idempotencyClaims`; tests use their own). */
  readonly topic: string;
  /** Partitions when the topic is created; an existing topic keeps its count. */
  readonly partitions: number;
  /** This replica's name (VIGIL_INGEST_INSTANCE_ID); unique among live ingest processes. */
  readonly replica: string;
  readonly rules: ClaimRules;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * Longest one request waits on the claims log — its own claims read back, another replica's claim accepted or
   * released — before it is refused with a retriable 503 (IDEMPOTENCY_CLAIMS_UNAVAILABLE / _CLAIM_PENDING).
   * Default 10,000 ms; never more than half the claim timeout.
   */
  readonly waitMs?: number;
  /** The consumer group reading the claims; default: one per process, `ingest-idempotency-<replica>-<uuid>`. */
  readonly groupId?: string;
}

/**
 * The distributed idempotency store: one claims topic shared by every ingest replica is the arbiter, folded by the
 * rules of `domain/claims.ts` in the same log order by every replica, so all of them answer an id alike.
 *
 * `claim` answers ids this replica has already folded from memory (no round trip); any other id it claims — one
 * produce for the whole batch — and reads its partitions back up to its own claims, at which point the fold says
 * whose claim decides: its own (the caller appends to tx.raw, then `remember` records `accepted`), or an earlier
 * one (a duplicate or a conflict of that; an earlier claim still in flight is waited for). A replica reads the whole
 * topic from its start at every start (a consumer group of its own that never commits), so the topic is kept by
 * time, never compacted: compaction keeps the *last* record per key, and the first claim is the one that decides.
 * Its retention is twice the window plus the claim timeout, so a replica starting later still finds the decider of
 * every claim it reads (a losing claim is at most one window younger than its decider).
 *
 * Memory: one entry per id decided within the window, dropped when the partition's own records are a window past it.
 * Crash windows: a claim without `accepted` (the replica died before or during the tx.raw append) is released by the
 * same replica's next attempt at once (no request of the new process stands behind it) or taken over by any replica
 * after `claimTimeoutMs`; an append that landed without its `accepted` (died after the append) makes the retry land
 * a second time with the same fingerprint, which ledger-sink's transaction id + fingerprint check counts once —
 * the same outcome as the file journal's crash window.
 */
export class ClaimsIdempotencyStore implements IdempotencyStore {
  /** The deciding claim of every id in the window, per partition, in log order (oldest first, for eviction). */
  private readonly states: Array<Map<string, ClaimState>>;
  /** The next offset to fold, per partition. */
  private readonly readThrough: number[];
  /** The newest record timestamp folded per partition: the log's own clock for eviction. */
  private readonly newestAtMs: number[];
  /** Claims made by this process whose requests have not finished (remembered or released). */
  private readonly inFlight = new Set<string>();
  /** Claims whose `accepted` / `released` is durable but not yet folded here; in flight until it is. */
  private readonly finishing = new Set<string>();
  /** This process's deciding claim per id, between `claim` and `remember` / `release`. */
  private readonly ownClaims = new Map<string, string>();
  private changeWaiters: Array<() => void> = [];
  private subscription: Subscription | undefined;
  private readonly startedAtEnds: number[];
  private closed = false;
  private readonly processId = randomUUID().slice(0, 8);
  private claimSequence = 0;
  private readonly waitMs: number;

  private constructor(
    private readonly options: ClaimsIdempotencyStoreOptions,
    partitions: number,
    endsAtOpen: readonly number[],
  ) {
    this.states = Array.from({ length: partitions }, () => new Map<string, ClaimState>());
    this.readThrough = Array.from({ length: partitions }, () => 0);
    this.newestAtMs = Array.from({ length: partitions }, () => Number.NEGATIVE_INFINITY);
    this.startedAtEnds = [...endsAtOpen];
    // A call that waits on another replica's claim holds its own claims meanwhile; two calls with overlapping ids can
    // wait on each other. The wait must end (the call releases its claims and answers 503) before those claims are
    // old enough to be taken over, or both replicas take over the other's claims and both accept the ids.
    this.waitMs = Math.min(options.waitMs ?? 10_000, Math.floor(options.rules.claimTimeoutMs / 2));
  }

  /**
   * Creates the claims topic if missing and folds it from its beginning: resolves once everything on it at open is
   * folded (like the journal, loaded before ingest serves), then keeps folding. Throws what `ensureTopics` /
   * `subscribe` throw.
   */
  static async open(options: ClaimsIdempotencyStoreOptions): Promise<ClaimsIdempotencyStore> {
    const { bus, topic, rules } = options;
    const retentionMs = rules.windowMs === 0 ? undefined : 2 * rules.windowMs + rules.claimTimeoutMs;
    await bus.ensureTopics([
      { topic, partitions: options.partitions, ...(retentionMs === undefined ? {} : { retentionMs }) },
    ]);
    const partitions = await bus.partitionCount(topic);
    const store = new ClaimsIdempotencyStore(options, partitions, await bus.endOffsets(topic));
    store.subscription = await bus.subscribe(
      {
        groupId: options.groupId ?? `ingest-idempotency-${options.replica}-${store.processId}`,
        topics: [topic],
        startFrom: 'earliest',
        // Never committed: every start folds the topic from its beginning, the only way to rebuild the states.
        commitMode: 'manual',
      },
      (batch) => Promise.resolve(store.fold(batch)),
    );
    options.logger.info('idempotency claims: folding', { topic, partitions, records: store.startedAtEnds });
    const started = performance.now();
    while (!store.isHealthy()) {
      if (store.closed) break;
      await store.nextChange(options.clock.nowMs() + store.waitMs);
    }
    options.logger.info('idempotency claims: folded', {
      ids: store.size(),
      ms: Math.round(performance.now() - started),
    });
    return store;
  }

  /**
   * Decides the first attempt of every id: returns the ids accepted before (by any replica) with their record;
   * the ids left out are now this caller's to append, then `remember` (or `release` if the append failed).
   * Rejects with a retriable error (nothing of this call stays claimed) when the claims log cannot be written or
   * read back within `waitMs`, or another replica's claim stays in flight that long.
   */
  async claim(attempts: readonly Attempt[]): Promise<ReadonlyMap<string, IdempotencyRecord>> {
    if (this.closed) throw new UnavailableError('IDEMPOTENCY_STORE_CLOSED', 'the idempotency store is closed');
    const { clock, rules, replica } = this.options;
    const deadlineMs = clock.nowMs() + this.waitMs;
    const known = new Map<string, IdempotencyRecord>();
    const made = new Map<string, string>();
    const firsts = new Map<string, Attempt>();
    for (const attempt of attempts) if (!firsts.has(attempt.transactionId)) firsts.set(attempt.transactionId, attempt);
    let open = [...firsts.values()];
    try {
      while (open.length > 0) {
        const nowMs = clock.nowMs();
        const records: OutgoingRecord[] = [];
        const stillOpen: Attempt[] = [];
        for (const attempt of open) {
          const { transactionId, fingerprint } = attempt;
          const state = this.stateOf(transactionId);
          const step = nextClaimStep(state, {
            replica,
            ownClaimId: made.get(transactionId),
            inFlight: this.inFlight,
            nowMs,
            rules,
          });
          switch (step.kind) {
            case 'mine':
              this.ownClaims.set(transactionId, made.get(transactionId)!);
              break;
            case 'known':
              known.set(transactionId, { transactionId, fingerprint: step.state.fingerprint, ...step.state.accepted });
              break;
            case 'wait':
              stillOpen.push(attempt);
              break;
            case 'release-and-claim':
            case 'claim':
            case 'take-over': {
              if (step.kind === 'release-and-claim')
                records.push(this.stamped({ type: 'released', transactionId, claimId: step.claimId }));
              // A claim this call made before lost (it is not 'mine'), so it will never decide.
              const lost = made.get(transactionId);
              if (lost !== undefined) this.inFlight.delete(lost);
              const claimId = `${replica}/${this.processId}/${++this.claimSequence}`;
              this.inFlight.add(claimId);
              made.set(transactionId, claimId);
              records.push(
                encodeClaimRecord({ type: 'claim', transactionId, claimId, replica, fingerprint, atMs: nowMs }),
              );
              stillOpen.push(attempt);
              break;
            }
          }
        }
        open = stillOpen;
        if (open.length === 0) break;
        // Claims are read back within a wait of their own: a take-over found after waiting out another replica's
        // claim still gets its answer.
        if (records.length > 0) await this.appendAndReadBack(records, clock.nowMs() + this.waitMs);
        else if (clock.nowMs() >= deadlineMs)
          throw new UnavailableError(
            'IDEMPOTENCY_CLAIM_PENDING',
            `${open.length} transaction id(s) claimed by another replica and not yet written`,
          );
        else await this.nextChange(deadlineMs);
      }
    } catch (error) {
      // Nothing of this call stays claimed: every claim it made is released (a release of a claim that does not
      // decide changes nothing), best effort — one that does not land is released by this replica's next attempt.
      const claims = [...made];
      for (const [id, claimId] of claims) if (this.ownClaims.get(id) === claimId) this.ownClaims.delete(id);
      await this.finish(
        claims,
        claims.map(([transactionId, claimId]) => this.stamped({ type: 'released', transactionId, claimId })),
      ).catch(() => undefined);
      throw error;
    }
    // Claims that lost decide nothing; only the deciding ones stay in flight until remember/release.
    for (const [id, claimId] of made) if (this.ownClaims.get(id) !== claimId) this.inFlight.delete(claimId);
    return known;
  }

  /** Records `accepted` for this caller's claims with their tx.raw positions; resolves once durable. */
  async remember(records: readonly IdempotencyRecord[]): Promise<void> {
    const claims: Array<[string, string]> = [];
    const out: OutgoingRecord[] = [];
    for (const { transactionId, partition, offset } of records) {
      const claimId = this.ownClaims.get(transactionId);
      if (claimId === undefined) continue;
      this.ownClaims.delete(transactionId);
      claims.push([transactionId, claimId]);
      out.push(this.stamped({ type: 'accepted', transactionId, claimId, partition, offset }));
    }
    await this.finish(claims, out);
  }

  /** Frees this caller's claims whose append failed, so a retry (on any replica) is accepted at once. */
  async release(transactionIds: readonly string[]): Promise<void> {
    const claims: Array<[string, string]> = [];
    const out: OutgoingRecord[] = [];
    for (const transactionId of transactionIds) {
      const claimId = this.ownClaims.get(transactionId);
      if (claimId === undefined) continue;
      this.ownClaims.delete(transactionId);
      claims.push([transactionId, claimId]);
      out.push(this.stamped({ type: 'released', transactionId, claimId }));
    }
    await this.finish(claims, out);
  }

  /** True once the topic as it was at open has been folded, until closed (readiness). */
  isHealthy(): boolean {
    return !this.closed && this.startedAtEnds.every((end, partition) => this.readThrough[partition]! >= end);
  }

  size(): number {
    let ids = 0;
    for (const states of this.states) ids += states.size;
    return ids;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.notifyChange();
    await this.subscription?.close();
  }

  /**
   * Sends `accepted` / `released` (`out`) for `claims` ([transaction id, claim id]). Resolves once they are
   * durable, without waiting to read them back: the claims stay in flight until folded, so a retry on this replica
   * meanwhile waits for the fold (see nextClaimStep) instead of taking its own finished claim for a dead process's.
   */
  private async finish(claims: ReadonlyArray<readonly [string, string]>, out: OutgoingRecord[]): Promise<void> {
    try {
      if (out.length > 0) await this.send(out);
    } catch (error) {
      // Not on the log: no request of this process stands behind the claims any more, so the next attempt on this
      // replica releases them at once instead of waiting for the claim timeout.
      for (const [, claimId] of claims) this.inFlight.delete(claimId);
      throw error;
    }
    for (const [id, claimId] of claims) {
      const state = this.stateOf(id);
      if (state?.claimId === claimId && state.accepted === undefined) this.finishing.add(claimId);
      else this.inFlight.delete(claimId);
    }
  }

  /** A record timed by this store's clock, like its claims: eviction reads the log's time from every record. */
  private stamped(record: ClaimRecord): OutgoingRecord {
    return { ...encodeClaimRecord(record), timestampMs: this.options.clock.nowMs() };
  }

  private stateOf(transactionId: string): ClaimState | undefined {
    return this.states[partitionForKey(transactionId, this.states.length)]!.get(transactionId);
  }

  private async send(records: readonly OutgoingRecord[]): Promise<RecordPosition[]> {
    try {
      return await this.options.bus.producer().send(this.options.topic, records);
    } catch (error) {
      throw new UnavailableError('IDEMPOTENCY_CLAIMS_UNAVAILABLE', 'could not write to the claims log', error);
    }
  }

  private async appendAndReadBack(records: readonly OutgoingRecord[], deadlineMs: number): Promise<void> {
    const positions = await this.send(records);
    while (positions.some(({ partition, offset }) => this.readThrough[partition]! <= offset)) {
      if (this.closed) throw new UnavailableError('IDEMPOTENCY_STORE_CLOSED', 'the idempotency store is closed');
      if (this.options.clock.nowMs() >= deadlineMs)
        throw new UnavailableError('IDEMPOTENCY_CLAIMS_UNAVAILABLE', 'the claims log was not read back in time');
      await this.nextChange(deadlineMs);
    }
  }

  /** Resolves at the next folded batch, or at `deadlineMs`. */
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
    const states = this.states[batch.partition];
    if (states === undefined) return;
    const { rules, logger } = this.options;
    for (const busRecord of batch.records) {
      const record = decodeClaimRecord(busRecord);
      if (record === undefined) {
        logger.warn('idempotency claims: unreadable record skipped', {
          topic: batch.topic,
          partition: batch.partition,
          offset: busRecord.offset,
        });
        continue;
      }
      if (record.type !== 'claim' && this.finishing.delete(record.claimId)) this.inFlight.delete(record.claimId);
      const before = states.get(record.transactionId);
      const after = applyClaimRecord(before, record, rules);
      if (after === undefined) states.delete(record.transactionId);
      else if (after.claimId !== before?.claimId) {
        // A new decider goes to the end: the map stays in log order for eviction.
        states.delete(record.transactionId);
        states.set(record.transactionId, after);
      } else if (after !== before) states.set(record.transactionId, after);
      this.newestAtMs[batch.partition] = Math.max(this.newestAtMs[batch.partition]!, busRecord.timestampMs);
    }
    this.evict(batch.partition);
    const last = batch.records[batch.records.length - 1];
    if (last !== undefined) this.readThrough[batch.partition] = last.offset + 1;
    this.notifyChange();
  }

  /** Drops ids a window older than the partition's newest record, oldest first: a function of the log alone. */
  private evict(partition: number): void {
    const { rules } = this.options;
    if (rules.windowMs === 0) return;
    const newestAtMs = this.newestAtMs[partition]!;
    const states = this.states[partition]!;
    for (const [id, state] of states) {
      if (!isPastWindow(state, newestAtMs, rules)) break;
      states.delete(id);
    }
  }
}

/** JSON value of a claims record (the key is the transaction id, the time the record's timestamp). */
interface ClaimValue {
  readonly type: ClaimRecord['type'];
  readonly claimId: string;
  readonly replica?: string;
  readonly fingerprint?: string;
  readonly partition?: number;
  readonly offset?: number;
}

/** A claims record as it goes on the topic: keyed by transaction id, so all of an id's records share a partition. */
export function encodeClaimRecord(record: ClaimRecord): OutgoingRecord {
  const { transactionId, ...rest } = record;
  const value: ClaimValue =
    rest.type === 'claim'
      ? { type: 'claim', claimId: rest.claimId, replica: rest.replica, fingerprint: rest.fingerprint }
      : rest.type === 'accepted'
        ? { type: 'accepted', claimId: rest.claimId, partition: rest.partition, offset: rest.offset }
        : { type: 'released', claimId: rest.claimId };
  return {
    key: transactionId,
    value: Buffer.from(JSON.stringify(value), 'utf8'),
    ...(record.type === 'claim' ? { timestampMs: record.atMs } : {}),
  };
}

/** The record read back, or undefined when it is not a claims record. */
export function decodeClaimRecord(record: BusRecord): ClaimRecord | undefined {
  const transactionId = record.key;
  if (transactionId === null) return undefined;
  let value: Partial<ClaimValue>;
  try {
    value = JSON.parse(record.value.toString('utf8')) as Partial<ClaimValue>;
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || typeof value.claimId !== 'string') return undefined;
  const { claimId } = value;
  switch (value.type) {
    case 'claim':
      if (typeof value.replica !== 'string' || typeof value.fingerprint !== 'string') return undefined;
      return {
        type: 'claim',
        transactionId,
        claimId,
        replica: value.replica,
        fingerprint: value.fingerprint,
        atMs: record.timestampMs,
      };
    case 'accepted':
      if (!Number.isSafeInteger(value.partition) || !Number.isSafeInteger(value.offset)) return undefined;
      return { type: 'accepted', transactionId, claimId, partition: value.partition!, offset: value.offset! };
    case 'released':
      return { type: 'released', transactionId, claimId };
    default:
      return undefined;
  }
}
