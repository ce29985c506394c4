import { type ClaimContext, type ClaimRecord, type ClaimState, applyClaimRecord, nextClaimStep } from './claims.js';

const rules = { windowMs: 10_000, claimTimeoutMs: 1_000 };

const claim = (claimId: string, atMs: number, fingerprint = 'f1', replica = claimId.split('/')[0]!): ClaimRecord => ({
  type: 'claim',
  transactionId: 'tx-1',
  claimId,
  replica,
  fingerprint,
  atMs,
});
const accepted = (claimId: string, offset = 7): ClaimRecord => ({
  type: 'accepted',
  transactionId: 'tx-1',
  claimId,
  partition: 2,
  offset,
});
const released = (claimId: string): ClaimRecord => ({ type: 'released', transactionId: 'tx-1', claimId });

/** The id's state after folding `records` in order, as every replica folds them. */
const fold = (...records: ClaimRecord[]): ClaimState | undefined =>
  records.reduce<ClaimState | undefined>((state, record) => applyClaimRecord(state, record, rules), undefined);

describe('applyClaimRecord: the fold every replica runs over the claims log', () => {
  test('given a free id, when two replicas claim it, then the first claim in log order decides', () => {
    expect(fold(claim('a/1', 100), claim('b/1', 50, 'f2'))).toEqual({
      claimId: 'a/1',
      replica: 'a',
      fingerprint: 'f1',
      claimedAtMs: 100,
    });
    expect(fold(claim('b/1', 50, 'f2'), claim('a/1', 100))?.claimId).toBe('b/1');
  });

  test('given a decided id, when its claim is accepted, then the state carries the tx.raw position', () => {
    expect(fold(claim('a/1', 100), claim('b/1', 120), accepted('a/1'))?.accepted).toEqual({ partition: 2, offset: 7 });
  });

  test('given a decided id, when a losing claim is accepted or released, then nothing changes', () => {
    const decided = fold(claim('a/1', 100), claim('b/1', 120));
    expect(fold(claim('a/1', 100), claim('b/1', 120), accepted('b/1'))).toEqual(decided);
    expect(fold(claim('a/1', 100), claim('b/1', 120), released('b/1'))).toEqual(decided);
  });

  test('given a claim whose append failed, when it is released, then the id is free and the next claim decides', () => {
    expect(fold(claim('a/1', 100), released('a/1'))).toBeUndefined();
    expect(fold(claim('a/1', 100), released('a/1'), claim('b/1', 150, 'f2'))?.claimId).toBe('b/1');
  });

  test('given an accepted claim, when it is "released" later, then it stays: the transaction is on the log', () => {
    expect(fold(claim('a/1', 100), accepted('a/1'), released('a/1'))?.accepted).toEqual({ partition: 2, offset: 7 });
  });

  test('given an unaccepted claim, when another claim comes a claim timeout later, then it takes over', () => {
    expect(fold(claim('a/1', 100), claim('b/1', 1_099))?.claimId).toBe('a/1');
    expect(fold(claim('a/1', 100), claim('b/1', 1_100))?.claimId).toBe('b/1');
  });

  test('given an accepted claim, when another claim comes after the claim timeout, then it still loses', () => {
    expect(fold(claim('a/1', 100), accepted('a/1'), claim('b/1', 5_000))?.claimId).toBe('a/1');
  });

  test('given a taken-over claim, when its late accepted arrives, then the taker still decides', () => {
    const state = fold(claim('a/1', 100), claim('b/1', 2_000), accepted('a/1'));
    expect(state?.claimId).toBe('b/1');
    expect(state?.accepted).toBeUndefined();
  });

  test('given an accepted claim, when a claim comes a window later, then it starts the id afresh', () => {
    expect(fold(claim('a/1', 100), accepted('a/1'), claim('b/1', 10_099))?.claimId).toBe('a/1');
    expect(fold(claim('a/1', 100), accepted('a/1'), claim('b/1', 10_100))).toEqual({
      claimId: 'b/1',
      replica: 'b',
      fingerprint: 'f1',
      claimedAtMs: 10_100,
    });
  });

  test('given a window of 0, when a claim comes much later, then the first still decides', () => {
    const forever = { windowMs: 0, claimTimeoutMs: 1_000 };
    const state = [claim('a/1', 100), accepted('a/1'), claim('b/1', 1e12)].reduce<ClaimState | undefined>(
      (s, r) => applyClaimRecord(s, r, forever),
      undefined,
    );
    expect(state?.claimId).toBe('a/1');
  });
});

describe('nextClaimStep: what a replica does with an attempt', () => {
  const context = (overrides: Partial<ClaimContext> = {}): ClaimContext => ({
    replica: 'b',
    ownClaimId: undefined,
    inFlight: new Set(),
    nowMs: 500,
    rules,
    ...overrides,
  });
  const pending = fold(claim('a/1', 100))!;
  const done = fold(claim('a/1', 100), accepted('a/1'))!;

  test('a free id is claimed', () => {
    expect(nextClaimStep(undefined, context())).toEqual({ kind: 'claim' });
  });

  test('an id past the window (by this replica clock) is claimed again', () => {
    expect(nextClaimStep(done, context({ nowMs: 10_100 }))).toEqual({ kind: 'claim' });
  });

  test('its own deciding claim is the caller to write', () => {
    expect(nextClaimStep(pending, context({ replica: 'a', ownClaimId: 'a/1', inFlight: new Set(['a/1']) }))).toEqual({
      kind: 'mine',
    });
  });

  test('an accepted id is known, with its position', () => {
    expect(nextClaimStep(done, context())).toEqual({ kind: 'known', state: done });
  });

  test('another replica in-flight claim is waited for, until the claim timeout, then taken over', () => {
    expect(nextClaimStep(pending, context({ nowMs: 1_099 }))).toEqual({ kind: 'wait' });
    expect(nextClaimStep(pending, context({ nowMs: 1_100 }))).toEqual({ kind: 'take-over' });
  });

  test('this replica claim with no request of this process behind it is released and claimed anew', () => {
    expect(nextClaimStep(pending, context({ replica: 'a' }))).toEqual({ kind: 'release-and-claim', claimId: 'a/1' });
    expect(nextClaimStep(pending, context({ replica: 'a', inFlight: new Set(['a/1']) }))).toEqual({ kind: 'wait' });
  });
});
