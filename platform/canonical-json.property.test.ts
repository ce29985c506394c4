import { catchesWithinUnitBudget, itHoldsForEach } from '../fuzz/unit-tier.js';
import { canonicalJsonTargets, keyOrderTarget, parseBackTarget } from '../fuzz/canonical-json.js';

// The fuzz targets of fuzz/canonical-json.ts with the unit tier's small, seeded budget.
describe('canonical JSON properties', () => {
  itHoldsForEach(canonicalJsonTargets);
});

// Each property must be able to fail: copies of canonicalJson with a planted bug.
describe('negative controls', () => {
  const bigintAsText = (_key: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

  it('JSON.stringify without sorting keys is caught', async () => {
    expect(await catchesWithinUnitBudget(keyOrderTarget((v) => JSON.stringify(v, bigintAsText)))).toBe(true);
  });

  it('bigints written as JSON numbers are caught', async () => {
    const asNumbers = (v: unknown): string =>
      JSON.stringify(v, (_key, x: unknown) => (typeof x === 'bigint' ? Number(x) : x));
    expect(await catchesWithinUnitBudget(parseBackTarget(asNumbers))).toBe(true);
  });
});
