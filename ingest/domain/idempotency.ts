import type { IdempotencyRecord } from '../ports.js';

/**
 * Idempotency on the client's transaction id. The same id with the same content fingerprint is a retry and gets
 * the original result; the same id with other content is a conflict, never silently accepted (BRIEF: ledger).
 */
export type IdempotencyVerdict = 'new' | 'duplicate' | 'conflict';

export function decideIdempotency(previousFingerprint: string | undefined, fingerprint: string): IdempotencyVerdict {
  return previousFingerprint === undefined ? 'new' : repeatVerdict(previousFingerprint, fingerprint);
}

function repeatVerdict(previousFingerprint: string, fingerprint: string): 'duplicate' | 'conflict' {
  return previousFingerprint === fingerprint ? 'duplicate' : 'conflict';
}

export interface Attempt {
  readonly transactionId: string;
  readonly fingerprint: string;
}

/** Where the first acceptance of an id is: already on the log (stored), or earlier in the same batch. */
export type Original =
  { readonly kind: 'stored'; readonly record: IdempotencyRecord } | { readonly kind: 'batch'; readonly index: number };

export type PlannedAttempt =
  | { readonly verdict: 'new' }
  | { readonly verdict: 'duplicate' | 'conflict'; readonly original: Original; readonly originalFingerprint: string };

/**
 * Decides every attempt of a batch, in order, against what is stored and against the attempts before it in the
 * same batch (the first occurrence of an id is the one written; later ones are duplicates or conflicts of it).
 */
export function planAttempts(
  attempts: readonly Attempt[],
  stored: ReadonlyMap<string, IdempotencyRecord>,
): PlannedAttempt[] {
  const firstInBatch = new Map<string, number>();
  return attempts.map((attempt, index) => {
    const record = stored.get(attempt.transactionId);
    if (record) {
      return {
        verdict: repeatVerdict(record.fingerprint, attempt.fingerprint),
        original: { kind: 'stored', record },
        originalFingerprint: record.fingerprint,
      };
    }
    const earlier = firstInBatch.get(attempt.transactionId);
    if (earlier !== undefined) {
      const originalFingerprint = attempts[earlier]!.fingerprint;
      return {
        verdict: repeatVerdict(originalFingerprint, attempt.fingerprint),
        original: { kind: 'batch', index: earlier },
        originalFingerprint,
      };
    }
    firstInBatch.set(attempt.transactionId, index);
    return { verdict: 'new' };
  });
}
