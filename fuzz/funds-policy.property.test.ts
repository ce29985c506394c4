import fc from 'fast-check';
import type { Decision, LedgerBalance, Transaction } from '../schemas/generated/types.js';
import { FundsGuard } from '../scoring/domain/funds.js';
import { fundsPolicyTarget, fundsPolicyTargets } from './funds-policy.js';
import { type FuzzTarget, unitBudget } from './target.js';
import { itHoldsForEach } from './unit-tier.js';

// The funds feedback loop end to end (fuzz/funds-policy.ts), with a small seeded budget. The test sits beside its
// target rather than in a stage: it drives scoring's guard and ledger-sink's handler together, and neither stage
// may import the other.
describe('funds policy properties', () => {
  itHoldsForEach(fundsPolicyTargets);
});

/** Reserves nothing: each debit is checked against the last balance alone. */
class ForgetfulGuard extends FundsGuard {
  override reserve(_tx: Transaction, _decision: Decision): void {}
}

/** Takes every balance as the newest, so a late, older one overwrites a newer one. */
class VersionBlindGuard extends FundsGuard {
  override applyBalance(balance: LedgerBalance): void {
    const held = this.snapshot().accounts.find((a) => a.policy.accountId === balance.accountId)?.version ?? '-1';
    super.applyBalance({ ...balance, version: BigInt(held) + 1n });
  }
}

/** Never hears that the ledger settled a debit: every debit stays in flight for ever (safe, but stuck). */
class UnsettledGuard extends FundsGuard {
  override applyBalance(balance: LedgerBalance): void {
    super.applyBalance({ ...balance, settledTransactionIds: [] });
  }
}

/**
 * The failure a planted bug leads to, shrunk, with its counterexample; undefined if none. Up to 1,000 runs on the
 * unit seed: a balance overtaking a newer one needs several steps in one order, which the version control first
 * meets at run 277 (it stops there; the budget is headroom for changes to the generator, not time spent).
 */
async function failureOf(target: FuzzTarget): Promise<string | undefined> {
  const details = await target.check({ ...unitBudget, numRuns: 1_000 });
  if (!details.failed) return undefined;
  return `${String(details.errorInstance)}\n${fc.stringify(details.counterexample)}`;
}

const BELOW_POLICY = /posted − open holds' debits \+ limit = -\d+/;

describe('negative controls', () => {
  it('the policy check alone catches a guard that reserves nothing', async () => {
    const planted = fundsPolicyTarget('planted: reserve forgets', {
      guard: () => new ForgetfulGuard(),
      policyOnly: true,
    });
    expect(await failureOf(planted)).toMatch(BELOW_POLICY);
  }, 60_000);

  it('the policy check alone catches a guard that applies balances in arrival order, ignoring versions', async () => {
    const planted = fundsPolicyTarget('planted: versions ignored', {
      guard: () => new VersionBlindGuard(),
      policyOnly: true,
    });
    expect(await failureOf(planted)).toMatch(BELOW_POLICY);
  }, 60_000);

  it('the drain catches a guard that never lets a debit out of flight', async () => {
    const planted = fundsPolicyTarget('planted: settled debits ignored', { guard: () => new UnsettledGuard() });
    expect(await failureOf(planted)).toMatch(/debits still in flight after every balance arrived/);
  }, 60_000);

  it('needs its allowance for debits no check sees: word for word, the policy fails on them', async () => {
    const literal = fundsPolicyTarget('the policy word for word', { literal: true });
    expect(await failureOf(literal)).toMatch(/debits no check saw: [1-9]/);
  }, 60_000);
});
