import { assertTarget, unitBudget } from '../../fuzz/target.js';
import {
  type Validate,
  arbitraryJsonTarget,
  cardNumberTarget,
  mutatedRequestTarget,
  validationTargets,
} from '../../fuzz/validation.js';
import { validateTransactionRequest } from './validation.js';

// The fuzz targets of fuzz/validation.ts with the unit tier's small, seeded budget (`npm run fuzz` runs them big).
describe('request validation properties', () => {
  // 30 s bounds a hang; it is not a timed assertion (300 inputs take about a second).
  it.each(validationTargets.map((target) => [target.name, target] as const))(
    '%s',
    async (_name, target) => {
      const details = await assertTarget(target, unitBudget);
      expect(details.numRuns).toBe(unitBudget.numRuns);
    },
    30_000,
  );
});

// Each property must be able to fail: a copy of validation with a planted bug, and fast-check must find it.
describe('negative controls', () => {
  const planted = async (target: ReturnType<typeof arbitraryJsonTarget>): Promise<boolean> =>
    (await target.check({ ...unitBudget, endOnFailure: true })).failed;

  it('a validation that dereferences /amount/value unchecked is caught throwing', async () => {
    const unguarded: Validate = (body, context) => {
      void (body as { amount: { value: unknown } }).amount.value;
      return validateTransactionRequest(body, context);
    };
    expect(await planted(arbitraryJsonTarget(unguarded))).toBe(true);
  });

  it('a validation that quotes the card number in a message is caught', async () => {
    const echoing: Validate = (body, context) => {
      const outcome = validateTransactionRequest(body, context);
      const number = (body as { card?: { number?: unknown } }).card?.number;
      return outcome.ok || typeof number !== 'string'
        ? outcome
        : { ...outcome, problems: [...outcome.problems, { path: '/card/number', message: `${number} is wrong` }] };
    };
    expect(await planted(cardNumberTarget(echoing))).toBe(true);
  });

  it('a validation that reports a path not in the request is caught', async () => {
    const misplaced: Validate = (body, context) => {
      const outcome = validateTransactionRequest(body, context);
      return outcome.ok
        ? outcome
        : { ...outcome, problems: outcome.problems.map((p) => ({ ...p, path: `/request${p.path}` })) };
    };
    expect(await planted(mutatedRequestTarget(misplaced))).toBe(true);
  });
});
