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
    const held = this.snapshot().accounts.find((a) => a.accountId === balance.accountId)?.version ?? '-1';
    super.applyBalance({ ...balance, version: BigInt(held) + 1n });
  }
}

/** Never hears that the ledger settled a debit: every debit stays in flight for ever (safe, but stuck). */
class UnsettledGuard extends FundsGuard {
  override applyBalance(balance: LedgerBalance): void {
    super.applyBalance({ ...balance, settledTransactionIds: [] });
  }
}

/** Treats a debit re-decided after a restart like a first decision: a DECLINE now frees what the first approved. */
class ReplayBlindGuard extends FundsGuard {
  override reserve(tx: Transaction, decision: Decision): void {
    super.reserve(tx, decision, false);
  }
}

/** Keys debits in flight by id alone, as before the fix: a copy with other content replaces the first's amount. */
class IdKeyedGuard extends FundsGuard {
  override reserve(tx: Transaction, decision: Decision, redecided = false): void {
    if (decision !== 'DECLINE' || redecided) {
      const snapshot = this.snapshot();
      this.restore({
        accounts: snapshot.accounts.map((a) => ({
          ...a,
          inFlight: a.inFlight.filter((d) => d.transactionId !== tx.transactionId),
        })),
      });
    }
    super.reserve(tx, decision, redecided);
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

describe('negative controls for the bugs this property found (fixed)', () => {
  // The planted re-decision bug needs a restart between two decisions of one debit with a balance in between: since
  // captures joined the generator, the unit seed first meets it at run 13,109 (~40 s), so this control runs on seed 3,
  // where it fails at run 756; the id-keyed one fails at run 327 on the unit seed. Each check stops at its first
  // failure, and the budgets leave headroom for changes to the generator.
  it('the restart target catches a guard that frees what a re-decided DECLINE was first approved for', async () => {
    const planted = fundsPolicyTarget('planted: replay blind', { guard: () => new ReplayBlindGuard(), restarts: true });
    const details = await planted.check({ ...unitBudget, seed: 3, numRuns: 5_000 });
    expect(details.failed).toBe(true);
    expect(String(details.errorInstance)).toMatch(BELOW_POLICY);
  }, 300_000);

  it('the conflict target catches a guard that keys debits in flight by id alone', async () => {
    const planted = fundsPolicyTarget('planted: id keyed', { guard: () => new IdKeyedGuard(), conflicts: true });
    const details = await planted.check({ ...unitBudget, numRuns: 5_000 });
    expect(details.failed).toBe(true);
    expect(String(details.errorInstance)).toMatch(BELOW_POLICY);
  }, 300_000);
});
