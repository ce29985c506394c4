/**
 * What happens after each delivery attempt: done, disable the endpoint, give the event up, or wait and retry.
 * Pure: time and randomness come in as arguments, so the schedule is tested exactly.
 */
import type { DeliveryOutcome } from '../../schemas/webhooks.js';

export interface RetryPolicy {
  /** Wait before the 2nd attempt, ms; each further wait doubles, up to maxBackoffMs. */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** An event is retried for this long after its first attempt, then given up ('expired'). */
  readonly retryPeriodMs: number;
  /** After this many failed attempts in a row (any events), the endpoint is disabled. */
  readonly maxConsecutiveFailures: number;
}

/** What the receiver did with one attempt, as the transport saw it. */
export type AttemptResult =
  { readonly kind: 'response'; readonly status: number } | { readonly kind: 'error'; readonly message: string };

/** 2xx delivered it; 410 Gone means "stop sending"; anything else (and no answer) is a failure to retry. */
export function outcomeOf(result: AttemptResult): Exclude<DeliveryOutcome, 'expired'> {
  if (result.kind === 'error') return 'failed';
  if (result.status >= 200 && result.status < 300) return 'delivered';
  return result.status === 410 ? 'gone' : 'failed';
}

/**
 * The wait before attempt `attempt + 1` after `attempt` failures of one event: exponential with "equal jitter"
 * — half the exponential step plus a random part of the other half — so a receiver that comes back is not hit
 * by every endpoint's retries at the same instant, yet no wait collapses to zero. `random` is in [0, 1).
 */
export function backoffMs(policy: RetryPolicy, attempt: number, random: number): number {
  const step = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** Math.min(attempt - 1, 40));
  return Math.round(step / 2 + (step / 2) * random);
}

export type NextStep =
  | { readonly kind: 'done' }
  | { readonly kind: 'disable'; readonly reason: 'gone' | 'failing' }
  | { readonly kind: 'give-up' }
  | { readonly kind: 'retry'; readonly afterMs: number };

/**
 * The step after an attempt of one event. `firstAttemptAtMs` is when this event's first attempt started;
 * `consecutiveFailures` counts failed attempts in a row for the endpoint, this one included.
 */
export function nextStep(
  policy: RetryPolicy,
  outcome: Exclude<DeliveryOutcome, 'expired'>,
  attempt: number,
  firstAttemptAtMs: number,
  nowMs: number,
  consecutiveFailures: number,
  random: number,
): NextStep {
  if (outcome === 'delivered') return { kind: 'done' };
  if (outcome === 'gone') return { kind: 'disable', reason: 'gone' };
  if (consecutiveFailures >= policy.maxConsecutiveFailures) return { kind: 'disable', reason: 'failing' };
  const afterMs = backoffMs(policy, attempt, random);
  if (nowMs + afterMs - firstAttemptAtMs > policy.retryPeriodMs) return { kind: 'give-up' };
  return { kind: 'retry', afterMs };
}
