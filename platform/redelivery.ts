/**
 * The redelivery loop both bus adapters run around a subscriber's batch handler: the handler failed → log →
 * back off → hand over the same batch again, until it resolves or this member may no longer process the batch.
 * At-least-once delivery rests on it: a batch is never skipped, only abandoned to whoever consumes it next.
 */
import type { RedeliveryBackoff } from './backoff.js';
import type { BatchHandler, RecordBatch } from './bus.js';
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
}

/**
 * Hands `batch` to `handler` until it resolves (→ true), or until `mayRetry()` says this member must let go
 * (→ false; the batch stays uncommitted and is delivered again to whoever owns it next). Every failure is logged
 * with the batch's location, the attempt number and the wait before the next one. Rejects only if `beforeRetry`
 * does.
 */
export async function deliverUntilHandled(
  batch: RecordBatch,
  handler: BatchHandler,
  options: RedeliveryOptions,
): Promise<boolean> {
  const { backoff, logger, mayRetry } = options;
  const classify = options.classify ?? classifyHandlerFailure;
  let previous: HandlerFailure | undefined;
  /** Consecutive attempts, this one included, that failed non-retriably with the same code. */
  let sameFailureAttempts = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      await handler(batch);
      return true;
    } catch (error) {
      const failure = classify(error);
      const same =
        previous !== undefined && !failure.retriable && !previous.retriable && failure.code === previous.code;
      sameFailureAttempts = failure.retriable ? 0 : same ? sameFailureAttempts + 1 : 1;
      previous = failure;
      // Seam: a batch failing the same non-retriable way on every attempt holds a record the handler cannot
      // dead-letter itself. This is where a later change bisects it (redeliver halves, isolate the record) once
      // `sameFailureAttempts` passes a threshold; today every failure is redelivered whole, as before.
      const retryInMs = backoff.delayMs(attempt);
      logger.error('bus handler failed; the batch will be redelivered', {
        topic: batch.topic,
        partition: batch.partition,
        fromOffset: batch.records[0]!.offset,
        records: batch.records.length,
        attempt,
        retryInMs,
        retriable: failure.retriable,
        sameFailureAttempts,
        error: describeError(error),
      });
      if (!mayRetry()) return false;
      await backoff.wait(retryInMs);
      if (!mayRetry()) return false;
      await options.beforeRetry?.();
    }
  }
}
