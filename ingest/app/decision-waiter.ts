import type { RecordBatch } from '../../platform/bus.js';
import type { Clock } from '../../platform/clock.js';
import { type SyncDecision, toSyncDecision } from '../../schemas/api.js';
import type { Codec } from '../../schemas/codec.js';
import type { ScoredTransaction } from '../../schemas/generated/types.js';
import { HeaderNames } from '../../schemas/topics.js';

/**
 * Turns the stream of decisions on `tx.scored` into answers for callers waiting on one transaction
 * (`POST /v1/decisions`). Every ingest process reads the whole topic from its end; a caller registers its wait
 * *before* its transaction is written, so a decision that comes back faster than the write's acknowledgement is
 * not missed.
 *
 * Records are decoded only while someone waits: an ingest process whose callers all use the asynchronous
 * endpoint pays nothing but the fetch. The last `recentCapacity` decisions that were waited for are kept, so a
 * client's retry of a synchronous request (or 40 concurrent copies of it) gets the same decision at once.
 */
export class DecisionWaiter {
  private readonly waiting = new Map<string, Set<(decision: SyncDecision) => void>>();
  private readonly recent = new Map<string, SyncDecision>();

  constructor(
    private readonly codec: Codec<ScoredTransaction>,
    private readonly clock: Clock,
    private readonly recentCapacity = 10_000,
  ) {}

  /**
   * Starts waiting for the decision on `transactionId`. Call before the transaction is written; then `until`
   * resolves with the decision, or with undefined once `deadlineMs` has passed. `cancel` stops waiting (the
   * request was refused).
   */
  expect(transactionId: string): { until(deadlineMs: number): Promise<SyncDecision | undefined>; cancel(): void } {
    let resolveDecision: (decision: SyncDecision | undefined) => void = () => undefined;
    const decided = new Promise<SyncDecision | undefined>((resolve) => (resolveDecision = resolve));
    const known = this.recent.get(transactionId);
    if (known !== undefined) resolveDecision(known);
    const waiters = this.waiting.get(transactionId) ?? new Set();
    const waiter = (decision: SyncDecision): void => resolveDecision(decision);
    waiters.add(waiter);
    this.waiting.set(transactionId, waiters);
    const cancel = (): void => {
      waiters.delete(waiter);
      if (waiters.size === 0 && this.waiting.get(transactionId) === waiters) this.waiting.delete(transactionId);
    };
    return {
      until: async (deadlineMs) => {
        let timer: NodeJS.Timeout | undefined;
        const expired = new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), Math.max(0, deadlineMs - this.clock.nowMs()));
        });
        try {
          return await Promise.race([decided, expired]);
        } finally {
          clearTimeout(timer);
          cancel();
        }
      },
      cancel: () => {
        cancel();
        resolveDecision(undefined);
      },
    };
  }

  /** Callers currently waiting (a gauge; also how `observe` knows whether to decode at all). */
  get waitingCount(): number {
    return this.waiting.size;
  }

  /** The bus handler for `tx.scored`: answers whoever waits for a transaction of the batch. */
  async observe(batch: RecordBatch): Promise<void> {
    if (this.waiting.size === 0) return;
    for (const record of batch.records) {
      // Most records are for someone else (or no one): the header says whose it is without decoding.
      const hinted = record.headers[HeaderNames.scoredTransactionId];
      if (hinted !== undefined && !this.waiting.has(hinted)) continue;
      let scored: ScoredTransaction;
      try {
        scored = await this.codec.decode(record.value);
      } catch {
        // Not ours to dead-letter: ledger-sink reads the same record and does; a waiter then times out to 202.
        continue;
      }
      const id = scored.transaction.transactionId;
      const waiters = this.waiting.get(id);
      if (waiters === undefined) continue;
      const decision = toSyncDecision(scored);
      this.remember(id, decision);
      for (const waiter of waiters) waiter(decision);
    }
  }

  private remember(id: string, decision: SyncDecision): void {
    this.recent.delete(id);
    this.recent.set(id, decision);
    // A Map iterates in insertion order, so the first key is the oldest.
    while (this.recent.size > this.recentCapacity) this.recent.delete(this.recent.keys().next().value!);
  }
}
