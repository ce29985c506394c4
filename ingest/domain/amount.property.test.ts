import {
  type ParseMinorUnits,
  amountTargets,
  anyAmountTarget,
  exactMinorUnitsTarget,
  excessFractionTarget,
  formatRoundTripTarget,
} from '../../fuzz/amount.js';
import { type FuzzTarget, assertTarget, unitBudget } from '../../fuzz/target.js';
import { parseMinorUnits } from './amount.js';

// The fuzz targets of fuzz/amount.ts with the unit tier's small, seeded budget.
describe('amount parsing properties', () => {
  // 30 s bounds a hang; it is not a timed assertion (300 inputs take about a second).
  it.each(amountTargets.map((target) => [target.name, target] as const))(
    '%s',
    async (_name, target) => {
      const details = await assertTarget(target, unitBudget);
      expect(details.numRuns).toBe(unitBudget.numRuns);
    },
    30_000,
  );
});

// Each property must be able to fail: copies of the parser with a planted bug.
describe('negative controls', () => {
  const fails = async (target: FuzzTarget): Promise<boolean> =>
    (await target.check({ ...unitBudget, endOnFailure: true })).failed;

  it('a parser that goes through a float is caught losing precision', async () => {
    const viaFloat: ParseMinorUnits = (value, exponent, maxMajor) => {
      const parsed = parseMinorUnits(value, exponent, maxMajor);
      return parsed.ok ? { ok: true, minor: BigInt(Math.round(Number(value) * 10 ** exponent)) } : parsed;
    };
    expect(await fails(exactMinorUnitsTarget(viaFloat))).toBe(true);
  });

  it('a parser that assumes two fraction digits for every currency is caught by the round trip', async () => {
    const twoDigits: ParseMinorUnits = (value, _exponent, maxMajor) => parseMinorUnits(value, 2, maxMajor);
    expect(await fails(formatRoundTripTarget(twoDigits))).toBe(true);
  });

  it('a parser that truncates excess fraction digits is caught', async () => {
    const truncating: ParseMinorUnits = (value, exponent, maxMajor) =>
      parseMinorUnits(
        typeof value === 'string' ? value.replace(new RegExp(`(\\.\\d{${exponent}})\\d+$`), '$1') : value,
        exponent,
        maxMajor,
      );
    expect(await fails(excessFractionTarget(truncating))).toBe(true);
  });

  it('a parser that assumes a string is caught throwing', async () => {
    const stringOnly: ParseMinorUnits = (value, exponent, maxMajor) =>
      (value as string).startsWith('+')
        ? { ok: false, message: 'no sign' }
        : parseMinorUnits(value, exponent, maxMajor);
    expect(await fails(anyAmountTarget(stringOnly))).toBe(true);
  });
});
