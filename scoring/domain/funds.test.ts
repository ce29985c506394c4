import type { Account, LedgerBalance, Transaction } from '../../schemas/generated/types.js';
import { aTransaction } from '../testing/transactions.js';
import { FundsGuard, INSUFFICIENT_FUNDS } from './funds.js';

const policy = (overrides: Partial<Account> = {}): Account => ({
  accountId: 'alice',
  type: 'CUSTOMER',
  currency: 'EUR',
  overdraftLimitMinor: 0n,
  scheme: null,
  updatedBy: 'admin',
  updatedAtMs: 1,
  ...overrides,
});

const balance = (
  version: bigint,
  postedMinor: bigint,
  pendingDebitsMinor = 0n,
  settled: string[] = [],
): LedgerBalance => ({
  accountId: 'alice',
  version,
  balances: [{ currency: 'EUR', postedMinor, pendingDebitsMinor }],
  settledTransactionIds: settled,
  publishedAtMs: 1,
});

const debit = (id: string, amountMinor: bigint, overrides: Partial<Transaction> = {}): Transaction =>
  aTransaction({
    transactionId: id,
    payerAccountId: 'alice',
    amountMinor,
    currency: 'EUR',
    settlement: null,
    kind: 'PURCHASE',
    ...overrides,
  });

/** Given a guard with alice's policy and a ledger balance of `posted` (version 1). */
function guardWith(posted: bigint, account: Partial<Account> = {}): FundsGuard {
  const guard = new FundsGuard();
  guard.setAccount(policy(account));
  guard.applyBalance(balance(1n, posted));
  return guard;
}

describe('FundsGuard', () => {
  it('never checks an account without a policy', () => {
    const guard = new FundsGuard();
    expect(guard.check(debit('t1', 10n ** 12n))).toBeUndefined();
    guard.setAccount(policy({ overdraftLimitMinor: null }));
    guard.applyBalance(balance(1n, 0n));
    expect(guard.check(debit('t1', 10n ** 12n))).toBeUndefined();
    guard.reserve(debit('t1', 5n), 'APPROVE');
    expect(guard.stats()).toEqual({ guardedAccounts: 0, inFlightDebits: 0 });
  });

  it('covers a debit of exactly the available balance and declines one minor unit more', () => {
    expect(guardWith(10_000n).check(debit('t1', 10_000n))).toBeUndefined();
    const shortfall = guardWith(10_000n).check(debit('t1', 10_001n));
    expect(shortfall).toEqual({
      code: INSUFFICIENT_FUNDS,
      action: 'DECLINE',
      risk: 1,
      description:
        'available balance 100.00 EUR is less than the debit of 100.01 EUR (posted 100.00, pending holds 0.00, ' +
        'in flight 0.00, overdraft limit 0.00)',
    });
  });

  it('lets one of two debits against the last 100.00 EUR through: the first counts in flight at once', () => {
    const guard = guardWith(10_000n);
    expect(guard.check(debit('a', 10_000n))).toBeUndefined();
    guard.reserve(debit('a', 10_000n), 'APPROVE');
    expect(guard.check(debit('b', 10_000n))?.description).toContain('in flight 100.00');
    expect(guard.stats()).toEqual({ guardedAccounts: 1, inFlightDebits: 1 });
  });

  it('reserves for APPROVE, REVIEW and an AUTHORIZATION (the ledger holds it), not for DECLINE', () => {
    const guard = guardWith(10_000n);
    guard.reserve(debit('declined', 9_000n), 'DECLINE');
    expect(guard.check(debit('x', 10_000n))).toBeUndefined();
    expect(guard.check(debit('auth', 10_001n, { kind: 'AUTHORIZATION' }))?.code).toBe(INSUFFICIENT_FUNDS);
    guard.reserve(debit('auth', 3_000n, { kind: 'AUTHORIZATION' }), 'APPROVE');
    expect(guard.check(debit('x', 7_001n))?.code).toBe(INSUFFICIENT_FUNDS);
    guard.reserve(debit('review', 4_000n), 'REVIEW');
    expect(guard.check(debit('x', 3_001n))?.code).toBe(INSUFFICIENT_FUNDS);
    expect(guard.check(debit('x', 3_000n))).toBeUndefined();
  });

  it('covers a CAPTURE by its authorisation up to what it still reserves, and counts it in flight', () => {
    const guard = guardWith(10_000n);
    guard.reserve(debit('auth', 10_000n, { kind: 'AUTHORIZATION' }), 'APPROVE');
    const capture = debit('cap', 10_000n, { kind: 'CAPTURE', originalTransactionId: 'auth' });
    expect(guard.check(capture)).toBeUndefined();
    guard.reserve(capture, 'APPROVE');
    guard.reserve(capture, 'APPROVE'); // re-scored: draws on its authorisation once
    // Until the ledger reports the capture, both count: available is understated, never overstated.
    expect(guard.check(debit('x', 1n))?.description).toContain('in flight 200.00');
    expect(guard.stats().inFlightDebits).toBe(2);
  });

  it('checks what a capture takes beyond its authorisation, and a capture naming one it never let through', () => {
    // 100.00 posted; an authorisation of 30.00 (in flight): 70.00 available for anything else.
    const guard = guardWith(10_000n);
    guard.reserve(debit('auth', 3_000n, { kind: 'AUTHORIZATION' }), 'APPROVE');
    const capture = (id: string, amountMinor: bigint, original = 'auth') =>
      debit(id, amountMinor, { kind: 'CAPTURE', originalTransactionId: original });
    // 20.00 now, then 10.00: covered in full; the third capture finds nothing left to cover it.
    guard.reserve(capture('cap-1', 2_000n), 'APPROVE');
    expect(guard.check(capture('cap-2', 1_000n))).toBeUndefined();
    guard.reserve(capture('cap-2', 1_000n), 'APPROVE');
    // Available now: 100.00 − 30.00 (authorisation) − 30.00 (the captures in flight) = 40.00.
    expect(guard.check(capture('cap-3', 4_000n))).toBeUndefined();
    expect(guard.check(capture('cap-3', 4_001n))?.code).toBe(INSUFFICIENT_FUNDS);
    // Naming an id this guard never let through buys nothing: the hole a made-up original would open.
    expect(guard.check(capture('cap-x', 4_001n, 'no-such-authorization'))?.code).toBe(INSUFFICIENT_FUNDS);
    // Over-capture: a fresh 10.00 authorisation covers 10.00 of a 50.01 capture; the other 40.01 must fit 30.00.
    guard.reserve(debit('auth-2', 1_000n, { kind: 'AUTHORIZATION' }), 'APPROVE');
    const over = guard.check(capture('cap-over', 5_001n, 'auth-2'));
    expect(over?.description).toContain('of which its authorisation covers 10.00');
    expect(guard.check(capture('cap-ok', 4_000n, 'auth-2'))).toBeUndefined();
    // Remembered across a snapshot.
    const copy = new FundsGuard();
    copy.restore(JSON.parse(JSON.stringify(guard.snapshot())) as ReturnType<FundsGuard['snapshot']>);
    expect(copy.check(capture('cap-ok', 4_000n, 'auth-2'))).toBeUndefined();
    expect(copy.check(capture('cap-over', 5_001n, 'auth-2'))?.code).toBe(INSUFFICIENT_FUNDS);
  });

  it('given a copy of an id with other content, then it counts beside the first, never in its place', () => {
    // The ledger books the first copy and refuses the second as a conflict; a smaller second copy must not shrink
    // what the first holds in flight (fuzz/funds-policy.ts found this).
    const guard = guardWith(2_000n);
    guard.reserve(debit('t', 1_000n, { fingerprint: 'a'.repeat(64) }), 'APPROVE');
    guard.reserve(debit('t', 1n, { fingerprint: 'b'.repeat(64) }), 'APPROVE');
    expect(guard.check(debit('x', 1_000n))?.description).toContain('in flight 10.01');
    // The same content decided again replaces itself; the ledger's settlement of the id frees both copies.
    guard.reserve(debit('t', 1_000n, { fingerprint: 'a'.repeat(64) }), 'APPROVE');
    expect(guard.stats().inFlightDebits).toBe(2);
    guard.applyBalance(balance(2n, 1_000n, 0n, ['t']));
    expect(guard.stats().inFlightDebits).toBe(0);
  });

  it('given an id the ledger already settled, when it is decided again (after a restart), then it is not counted twice', () => {
    const guard = guardWith(2_000n);
    guard.applyBalance(balance(2n, 1_700n, 0n, ['t3']));
    guard.reserve(debit('t3', 300n), 'APPROVE');
    expect(guard.stats().inFlightDebits).toBe(0);
    expect(guard.check(debit('x', 1_700n))).toBeUndefined();
  });

  it('given a debit decided again below the replay horizon, then even a DECLINE counts until the ledger settles it', () => {
    // The run before may have approved it; the ledger books that first decision.
    const guard = guardWith(2_000n);
    guard.reserve(debit('t15', 1_500n), 'DECLINE', true);
    expect(guard.check(debit('x', 501n))?.code).toBe(INSUFFICIENT_FUNDS);
    guard.reserve(debit('t16', 1_500n), 'DECLINE');
    expect(guard.stats().inFlightDebits).toBe(1);
    guard.applyBalance(balance(2n, 500n, 0n, ['t15']));
    expect(guard.stats().inFlightDebits).toBe(0);
  });

  it('keeps debits in flight and settled ids across a snapshot, and reads a snapshot written before either', () => {
    const guard = guardWith(2_000n);
    guard.reserve(debit('t', 100n, { fingerprint: 'a'.repeat(64) }), 'APPROVE');
    guard.applyBalance(balance(2n, 2_000n, 0n, ['old']));
    const copy = new FundsGuard();
    copy.restore(JSON.parse(JSON.stringify(guard.snapshot())) as ReturnType<FundsGuard['snapshot']>);
    expect(copy.snapshot()).toEqual(guard.snapshot());
    copy.reserve(debit('old', 5n), 'APPROVE');
    expect(copy.stats().inFlightDebits).toBe(1);
    const legacy = guard.snapshot();
    const older = {
      accounts: legacy.accounts.map(({ settled: _settled, ...a }) => ({
        ...a,
        inFlight: a.inFlight.map(({ fingerprint: _fingerprint, ...d }) => d),
      })),
    };
    const restored = new FundsGuard();
    restored.restore(older);
    expect(restored.check(debit('x', 1_901n))?.description).toContain('in flight 1.00');
  });

  it('given a balance that arrives before its policy (two topics, no order), then it counts once the policy arrives', () => {
    const guard = new FundsGuard();
    guard.applyBalance(balance(3n, 10_000n));
    expect(guard.check(debit('x', 10n ** 9n))).toBeUndefined(); // no policy yet: unlimited, as documented
    expect(guard.stats()).toEqual({ guardedAccounts: 0, inFlightDebits: 0 });
    guard.setAccount(policy());
    expect(guard.check(debit('x', 10_000n))).toBeUndefined();
    expect(guard.check(debit('x', 10_001n))?.description).toContain('posted 100.00');
    // Kept across a snapshot too, policy or not.
    const early = new FundsGuard();
    early.applyBalance(balance(3n, 10_000n));
    const restored = new FundsGuard();
    restored.restore(JSON.parse(JSON.stringify(early.snapshot())) as ReturnType<FundsGuard['snapshot']>);
    restored.setAccount(policy());
    expect(restored.check(debit('x', 10_001n))?.description).toContain('posted 100.00');
  });

  it('never checks a REFUND (it pays the payer back)', () => {
    expect(guardWith(0n).check(debit('r', 10n ** 9n, { kind: 'REFUND' }))).toBeUndefined();
  });

  it('checks the settlement amount of a cross-currency debit, and applies the limit only in the account currency', () => {
    const guard = guardWith(0n, { overdraftLimitMinor: 50_000n });
    expect(guard.check(debit('fx', 1n, { settlement: { amountMinor: 1n, currency: 'USD' } }))?.code).toBe(
      INSUFFICIENT_FUNDS,
    );
    expect(guard.check(debit('eur', 50_000n))).toBeUndefined();
    expect(guard.check(debit('eur', 50_001n))?.code).toBe(INSUFFICIENT_FUNDS);
    // The same debit settled in EUR is measured in EUR.
    expect(
      guard.check(debit('usd', 99_999n, { currency: 'USD', settlement: { amountMinor: 50_000n, currency: 'EUR' } })),
    ).toBeUndefined();
  });

  it('counts pending holds against the available balance', () => {
    const guard = new FundsGuard();
    guard.setAccount(policy());
    guard.applyBalance(balance(3n, 10_000n, 4_000n));
    expect(guard.check(debit('x', 6_000n))).toBeUndefined();
    expect(guard.check(debit('x', 6_001n))?.code).toBe(INSUFFICIENT_FUNDS);
  });

  it('keeps the highest version, yet lets any balance settle the debits it names', () => {
    const guard = guardWith(10_000n);
    guard.reserve(debit('a', 3_000n), 'APPROVE');
    guard.applyBalance(balance(5n, 7_000n, 0n, ['a']));
    expect(guard.stats().inFlightDebits).toBe(0);
    guard.reserve(debit('b', 2_000n), 'APPROVE');
    // A stale balance from another process: its sums are ignored, its settled id is honoured.
    guard.applyBalance(balance(4n, 10_000n, 0n, ['b']));
    expect(guard.stats().inFlightDebits).toBe(0);
    expect(guard.check(debit('x', 7_000n))).toBeUndefined();
    expect(guard.check(debit('x', 7_001n))?.code).toBe(INSUFFICIENT_FUNDS);
    guard.applyBalance(balance(5n, 99_000n)); // the same version again changes nothing
    expect(guard.check(debit('x', 7_001n))?.code).toBe(INSUFFICIENT_FUNDS);
  });

  it('does not double a debit reserved twice (a re-scored transaction)', () => {
    const guard = guardWith(10_000n);
    guard.reserve(debit('a', 6_000n), 'APPROVE');
    guard.reserve(debit('a', 6_000n), 'APPROVE');
    expect(guard.check(debit('b', 4_000n))).toBeUndefined();
  });

  it('restores exactly what it snapshotted, through JSON', () => {
    const guard = guardWith(10_000n, { overdraftLimitMinor: 500n });
    guard.reserve(debit('a', 6_000n), 'APPROVE');
    const copy = new FundsGuard();
    copy.restore(JSON.parse(JSON.stringify(guard.snapshot())) as ReturnType<FundsGuard['snapshot']>);
    expect(copy.snapshot()).toEqual(guard.snapshot());
    expect(copy.check(debit('b', 4_500n))).toBeUndefined();
    expect(copy.check(debit('b', 4_501n))?.code).toBe(INSUFFICIENT_FUNDS);
  });

  it('catches a guard that forgets debits in flight (planted fault): both debits would pass', () => {
    const forgetful = guardWith(10_000n);
    forgetful.reserve(debit('a', 10_000n), 'APPROVE');
    forgetful.applyBalance(balance(1n, 10_000n, 0n, ['a'])); // settled without the balance reflecting it
    expect(forgetful.check(debit('b', 10_000n))).toBeUndefined();
    const honest = guardWith(10_000n);
    honest.reserve(debit('a', 10_000n), 'APPROVE');
    expect(honest.check(debit('b', 10_000n))?.code).toBe(INSUFFICIENT_FUNDS);
  });
});
