import { catchesWithinUnitBudget, itHoldsForEach } from '../../fuzz/unit-tier.js';
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
  itHoldsForEach(validationTargets);
});

// Each property must be able to fail: a copy of validation with a planted bug, and fast-check must find it.
describe('negative controls', () => {
  it('a validation that dereferences /amount/value unchecked is caught throwing', async () => {
    const unguarded: Validate = (body, context) => {
      void (body as { amount: { value: unknown } }).amount.value;
      return validateTransactionRequest(body, context);
    };
    expect(await catchesWithinUnitBudget(arbitraryJsonTarget(unguarded))).toBe(true);
  });

  it('a validation that quotes the card number in a message is caught', async () => {
    const echoing: Validate = (body, context) => {
      const outcome = validateTransactionRequest(body, context);
      const number = (body as { card?: { number?: unknown } }).card?.number;
      return outcome.ok || typeof number !== 'string'
        ? outcome
        : { ...outcome, problems: [...outcome.problems, { path: '/card/number', message: `${number} is wrong` }] };
    };
    expect(await catchesWithinUnitBudget(cardNumberTarget(echoing))).toBe(true);
  });

  it('a validation that reports a path not in the request is caught', async () => {
    const misplaced: Validate = (body, context) => {
      const outcome = validateTransactionRequest(body, context);
      return outcome.ok
        ? outcome
        : { ...outcome, problems: outcome.problems.map((p) => ({ ...p, path: `/request${p.path}` })) };
    };
    expect(await catchesWithinUnitBudget(mutatedRequestTarget(misplaced))).toBe(true);
  });
});
