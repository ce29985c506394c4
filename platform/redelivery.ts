/**
 * The redelivery loop both bus adapters run around a subscriber's batch handler: the handler failed → log →
 * back off → hand over the same batch again, until it resolves or this member may no longer process the batch.
 * At-least-once delivery rests on it: a batch is never skipped, only abandoned to whoever consumes it next.
 *
 * A batch that fails the same non-retriable way twice holds a record the handler cannot get past (a payload it
 * chokes on, an output the broker refuses as too large). Retrying it whole would stall the partition for ever,
 * so, when the subscriber gave a dead-letter sink, the loop splits the batch in halves, redelivers each, and
 * dead-letters the single records that still fail — the rest of the batch is handled as usual, in order.
 */
import type { RedeliveryBackoff } from './backoff.js';
import type { BatchHandler, BusRecord, DeadLetterSink, RecordBatch } from './bus.js';
import type { ErrorCode } from './error-codes.js';
import { VigilError, describeError, isRetriable } from './errors.js';
import type { Logger } from './logger.js';

/** What the loop knows about one failed attempt. */
export interface HandlerFailure {
  /** False when the same batch is expected to fail the same way again (a poison record the handler rethrows). */
  readonly retriable: boolean;
  /** The failure's code, to tell "the same failure again" from a new one; absent for errors without a code. */
  readonly code: ErrorCode | undefined;
}

/** The default classification: a VigilError's own flag and code; anything else is a non-retriable bug. */
export function classifyHandlerFailure(error: unknown): HandlerFailure {
  return { retriable: isRetriable(error), code: error instanceof VigilError ? error.code : undefined };
}

export interface RedeliveryOptions {
  readonly backoff: RedeliveryBackoff;
  readonly logger: Logger;
  /**
   * False once this member may no longer process the batch (the subscription closes, the partition moved to
   * another member). Asked after each failure, before and after the backoff wait.
   */
  readonly mayRetry: () => boolean;
  /** Runs after the backoff, before the next attempt (Kafka heartbeats here; it throws if the group rebalanced). */
  readonly beforeRetry?: () => Promise<void>;
  /** How a failure is classified; defaults to classifyHandlerFailure. */
  readonly classify?: (error: unknown) => HandlerFailure;
  /** Where records the handler refuses for good go; without it a failing batch is redelivered whole, for ever. */
  readonly deadLetter?: DeadLetterSink;
  /** One per subscription: stops dead-lettering when everything fails (see {@link PoisonIsolation}). */
  readonly isolation?: PoisonIsolation;
}

/** Non-retriable failures of the same code, in a row, before a batch is split. */
export const ISOLATE_AFTER_SAME_FAILURES = 2;

/**
 * The circuit breaker of poison isolation, one per subscription. A poison record is rare and its neighbours
 * succeed; when instead every record fails — a dependency that answers with a permanent-looking error, a
 * deployment whose handler rejects everything — dead-lettering would empty the topic into `tx.dlq`. After
 * `maxConsecutive` dead letters with no record handled in between, isolation stops: batches are redelivered
 * whole with backoff (the partition stalls, loudly, and the stuck-consumer health signal fires) until a record
 * succeeds again or an operator acts.
 */
export class PoisonIsolation {
  private sinceSuccess = 0;
  constructor(readonly maxConsecutive = 100) {}
  /** The handler handled something: the failures were record-specific after all. */
  succeeded(): void {
    this.sinceSuccess = 0;
  }
  deadLettered(): void {
    this.sinceSuccess += 1;
  }
  mayDeadLetter(): boolean {
    return this.sinceSuccess < this.maxConsecutive;
  }
  /** Dead letters written since the handler last succeeded. */
  get consecutiveDeadLetters(): number {
    return this.sinceSuccess;
  }
}

/**
 * Hands `batch` to `handler` until it resolves (→ true), or until `mayRetry()` says this member must let go
 * (→ false; the batch stays uncommitted and is delivered again to whoever owns it next). Every failure is logged
 * with the batch's location, the attempt number and the wait before the next one. A batch failing the same
 * non-retriable way twice is split to isolate its poison records (see the module comment). Rejects only if
 * `beforeRetry` does.
 */
export function deliverUntilHandled(
  batch: RecordBatch,
  handler: BatchHandler,
  options: RedeliveryOptions,
): Promise<boolean> {
  return deliver(batch, handler, options, ISOLATE_AFTER_SAME_FAILURES);
}

async function deliver(
  batch: RecordBatch,
  handler: BatchHandler,
  options: RedeliveryOptions,
  isolateAfter: number,
): Promise<boolean> {
  const { backoff, logger, mayRetry } = options;
  const classify = options.classify ?? classifyHandlerFailure;
  let previous: HandlerFailure | undefined;
  /** Consecutive attempts, this one included, that failed non-retriably with the same code. */
  let sameFailureAttempts = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      await handler(batch);
      options.isolation?.succeeded();
      return true;
    } catch (error) {
      const failure = classify(error);
      const same =
        previous !== undefined && !failure.retriable && !previous.retriable && failure.code === previous.code;
      sameFailureAttempts = failure.retriable ? 0 : same ? sameFailureAttempts + 1 : 1;
      previous = failure;
      const isolating =
        sameFailureAttempts >= isolateAfter &&
        options.deadLetter !== undefined &&
        (options.isolation?.mayDeadLetter() ?? true);
      const retryInMs = backoff.delayMs(attempt);
      logger.error(
        isolating
          ? 'bus handler failed the same way again; splitting the batch to dead-letter the records at fault'
          : 'bus handler failed; the batch will be redelivered',
        {
          topic: batch.topic,
          partition: batch.partition,
          fromOffset: batch.records[0]!.offset,
          records: batch.records.length,
          attempt,
          retriable: failure.retriable,
          sameFailureAttempts,
          error: describeError(error),
          ...(isolating ? {} : { retryInMs }),
          ...(options.isolation !== undefined && !options.isolation.mayDeadLetter()
            ? { isolationStopped: `${options.isolation.consecutiveDeadLetters} dead letters in a row, none handled` }
            : {}),
        },
      );
      if (isolating) return isolate(batch, error, handler, options);
      if (!mayRetry()) return false;
      await backoff.wait(retryInMs);
      if (!mayRetry()) return false;
      await options.beforeRetry?.();
    }
  }
}

/** Splits a batch known to fail for good: halves are redelivered in order, single failing records dead-lettered. */
async function isolate(
  batch: RecordBatch,
  error: unknown,
  handler: BatchHandler,
  options: RedeliveryOptions,
): Promise<boolean> {
  if (batch.records.length === 1) return deadLetterDurably(batch.records[0]!, error, options);
  const middle = Math.ceil(batch.records.length / 2);
  for (const records of [batch.records.slice(0, middle), batch.records.slice(middle)]) {
    if (!options.mayRetry()) return false;
    await options.beforeRetry?.();
    // The parent failed for good, so a half that fails non-retriably at once is split again without waiting.
    // A half of a batch across partitions may start on another partition than its parent.
    if (!(await deliver({ ...batch, partition: records[0]!.partition, records }, handler, options, 1))) return false;
  }
  return true;
}

/** Writes `record` to the dead-letter sink, retrying (with backoff) while the sink is unavailable. */
async function deadLetterDurably(record: BusRecord, error: unknown, options: RedeliveryOptions): Promise<boolean> {
  const { backoff, logger, mayRetry } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      await options.deadLetter!(record, error);
      options.isolation?.deadLettered();
      logger.warn('dead-lettered a record the handler refuses every time; moving on', {
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        error: describeError(error),
      });
      return true;
    } catch (sinkError) {
      const retryInMs = backoff.delayMs(attempt);
      logger.error('dead-letter write failed; retrying', {
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        attempt,
        retryInMs,
        error: describeError(sinkError),
      });
      if (!mayRetry()) return false;
      await backoff.wait(retryInMs);
      if (!mayRetry()) return false;
    }
  }
}
