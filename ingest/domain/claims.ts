/**
 * Idempotency across ingest replicas: every replica appends its claims on a transaction id to one shared, ordered
 * log (a Kafka partition chosen by the id), and every replica folds that log with the same rules below. The log's
 * order is the same for everyone, so every replica reaches the same decider for an id, whichever received it.
 *
 * Records, all keyed by the transaction id:
 *  - `claim`: a replica wants to write the id with this fingerprint (before it appends to tx.raw);
 *  - `accepted`: the claim's transaction is durable on tx.raw at this position (after the append);
 *  - `released`: the claim's append failed, the id is free again (so the caller's retry is accepted at once).
 *
 * Rules, applied in log order with the records' own timestamps (never a reader's clock, so the fold is a function of
 * the log alone):
 *  - the first claim on a free id decides it; later claims lose and change nothing;
 *  - a claim made `windowMs` or more after the decider's starts the id afresh (the window has passed: what ingest no
 *    longer answers, ledger-sink's transaction id + fingerprint check does);
 *  - a claim made `claimTimeoutMs` or more after a decider that is still neither accepted nor released takes over:
 *    its replica died between claim and append (or is stuck past every send timeout), so the caller's retry must
 *    be able to land. Should the old claimant still append, tx.raw holds the id twice with the same fingerprint
 *    and ledger-sink counts it once;
 *  - `accepted` and `released` count only for the claim that decides; a released id is free.
 */

/** One record on the claims log, as the fold sees it. */
export type ClaimRecord =
  | {
      readonly type: 'claim';
      readonly transactionId: string;
      /** Unique per claim (replica, process and attempt): what `accepted` and `released` refer to. */
      readonly claimId: string;
      /** The claiming replica (VIGIL_INGEST_INSTANCE_ID). */
      readonly replica: string;
      readonly fingerprint: string;
      /** The record's timestamp on the log, epoch ms. */
      readonly atMs: number;
    }
  | {
      readonly type: 'accepted';
      readonly transactionId: string;
      readonly claimId: string;
      readonly partition: number;
      readonly offset: number;
    }
  | { readonly type: 'released'; readonly transactionId: string; readonly claimId: string };

/** The claim that decides an id, and where its transaction sits on tx.raw once accepted. */
export interface ClaimState {
  readonly claimId: string;
  readonly replica: string;
  readonly fingerprint: string;
  readonly claimedAtMs: number;
  readonly accepted?: { readonly partition: number; readonly offset: number };
}

export interface ClaimRules {
  /** How long a decided id is answered from the claims, ms; 0 = forever (VIGIL_IDEMPOTENCY_WINDOW_MS). */
  readonly windowMs: number;
  /** After how long an unaccepted claim may be taken over, ms (VIGIL_IDEMPOTENCY_CLAIM_TIMEOUT_MS). */
  readonly claimTimeoutMs: number;
}

/** The id's state after `record`, given its state before (undefined: free). */
export function applyClaimRecord(
  state: ClaimState | undefined,
  record: ClaimRecord,
  rules: ClaimRules,
): ClaimState | undefined {
  switch (record.type) {
    case 'claim': {
      const claim: ClaimState = {
        claimId: record.claimId,
        replica: record.replica,
        fingerprint: record.fingerprint,
        claimedAtMs: record.atMs,
      };
      if (state === undefined) return claim;
      if (isPastWindow(state, record.atMs, rules)) return claim;
      if (state.accepted === undefined && record.atMs - state.claimedAtMs >= rules.claimTimeoutMs) return claim;
      return state;
    }
    case 'accepted':
      if (state?.claimId !== record.claimId || state.accepted !== undefined) return state;
      return { ...state, accepted: { partition: record.partition, offset: record.offset } };
    case 'released':
      return state?.claimId === record.claimId && state.accepted === undefined ? undefined : state;
  }
}

/** True once `atMs` is `windowMs` or more after the claim (never with windowMs 0). */
export function isPastWindow(state: ClaimState, atMs: number, rules: ClaimRules): boolean {
  return rules.windowMs > 0 && atMs - state.claimedAtMs >= rules.windowMs;
}

/**
 * What a replica does with an attempt (its fingerprint, its own claim if it made one) given the id's state:
 *  - `mine`: its claim decides: append to tx.raw, then record `accepted`;
 *  - `known`: accepted before (by anyone): a duplicate or a conflict of that;
 *  - `claim`: free (or past the window): claim it, read the log up to the claim, decide again;
 *  - `release-and-claim`: its own replica's claim, unaccepted, with no request of this process behind it (the
 *    process that made it is gone): release it, claim anew;
 *  - `take-over`: another's unaccepted claim older than the claim timeout: claim, which by the rules takes over;
 *  - `wait`: another's claim, in flight: wait for its `accepted` or `released`.
 */
export type ClaimStep =
  | { readonly kind: 'mine' }
  | { readonly kind: 'known'; readonly state: ClaimState & Required<Pick<ClaimState, 'accepted'>> }
  | { readonly kind: 'claim' }
  | { readonly kind: 'release-and-claim'; readonly claimId: string }
  | { readonly kind: 'take-over' }
  | { readonly kind: 'wait' };

export interface ClaimContext {
  readonly replica: string;
  /** The claim this attempt made, if it made one. */
  readonly ownClaimId: string | undefined;
  /** Claims of this process whose requests are still in flight. */
  readonly inFlight: ReadonlySet<string>;
  readonly nowMs: number;
  readonly rules: ClaimRules;
}

/** The next step for an attempt on an id whose decider is `state` (see {@link ClaimStep}). */
export function nextClaimStep(state: ClaimState | undefined, context: ClaimContext): ClaimStep {
  if (state === undefined || isPastWindow(state, context.nowMs, context.rules)) return { kind: 'claim' };
  if (state.claimId === context.ownClaimId) return { kind: 'mine' };
  if (state.accepted !== undefined) return { kind: 'known', state: { ...state, accepted: state.accepted } };
  if (state.replica === context.replica && !context.inFlight.has(state.claimId))
    return { kind: 'release-and-claim', claimId: state.claimId };
  if (context.nowMs - state.claimedAtMs >= context.rules.claimTimeoutMs) return { kind: 'take-over' };
  return { kind: 'wait' };
}
