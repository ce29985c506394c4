import { catchesWithinUnitBudget, itHoldsForEach } from '../../fuzz/unit-tier.js';
import {
  type ParseMinorUnits,
  amountTargets,
  anyAmountTarget,
  exactMinorUnitsTarget,
  excessFractionTarget,
  formatRoundTripTarget,
} from '../../fuzz/amount.js';
import { parseMinorUnits } from './amount.js';

// The fuzz targets of fuzz/amount.ts with the unit tier's small, seeded budget.
describe('amount parsing properties', () => {
  itHoldsForEach(amountTargets);
});

// Each property must be able to fail: copies of the parser with a planted bug.
describe('negative controls', () => {
  it('a parser that goes through a float is caught losing precision', async () => {
    const viaFloat: ParseMinorUnits = (value, exponent, maxMajor) => {
      const parsed = parseMinorUnits(value, exponent, maxMajor);
      return parsed.ok ? { ok: true, minor: BigInt(Math.round(Number(value) * 10 ** exponent)) } : parsed;
    };
    expect(await catchesWithinUnitBudget(exactMinorUnitsTarget(viaFloat))).toBe(true);
  });

  it('a parser that assumes two fraction digits for every currency is caught by the round trip', async () => {
    const twoDigits: ParseMinorUnits = (value, _exponent, maxMajor) => parseMinorUnits(value, 2, maxMajor);
    expect(await catchesWithinUnitBudget(formatRoundTripTarget(twoDigits))).toBe(true);
  });

  it('a parser that truncates excess fraction digits is caught', async () => {
    const truncating: ParseMinorUnits = (value, exponent, maxMajor) =>
      parseMinorUnits(
        typeof value === 'string' ? value.replace(new RegExp(`(\\.\\d{${exponent}})\\d+$`), '$1') : value,
        exponent,
        maxMajor,
      );
    expect(await catchesWithinUnitBudget(excessFractionTarget(truncating))).toBe(true);
  });

  it('a parser that assumes a string is caught throwing', async () => {
    const stringOnly: ParseMinorUnits = (value, exponent, maxMajor) =>
      (value as string).startsWith('+')
        ? { ok: false, message: 'no sign' }
        : parseMinorUnits(value, exponent, maxMajor);
    expect(await catchesWithinUnitBudget(anyAmountTarget(stringOnly))).toBe(true);
  });
});
