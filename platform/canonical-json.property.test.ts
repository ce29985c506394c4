import { canonicalJsonTargets, keyOrderTarget, parseBackTarget } from '../fuzz/canonical-json.js';
import { type FuzzTarget, assertTarget, unitBudget } from '../fuzz/target.js';

// The fuzz targets of fuzz/canonical-json.ts with the unit tier's small, seeded budget.
describe('canonical JSON properties', () => {
  // 30 s bounds a hang; it is not a timed assertion (300 inputs take about a second).
  it.each(canonicalJsonTargets.map((target) => [target.name, target] as const))(
    '%s',
    async (_name, target) => {
      const details = await assertTarget(target, unitBudget);
      expect(details.numRuns).toBe(unitBudget.numRuns);
    },
    30_000,
  );
});

// Each property must be able to fail: copies of canonicalJson with a planted bug.
describe('negative controls', () => {
  const fails = async (target: FuzzTarget): Promise<boolean> =>
    (await target.check({ ...unitBudget, endOnFailure: true })).failed;
  const bigintAsText = (_key: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

  it('JSON.stringify without sorting keys is caught', async () => {
    expect(await fails(keyOrderTarget((v) => JSON.stringify(v, bigintAsText)))).toBe(true);
  });

  it('bigints written as JSON numbers are caught', async () => {
    const asNumbers = (v: unknown): string =>
      JSON.stringify(v, (_key, x: unknown) => (typeof x === 'bigint' ? Number(x) : x));
    expect(await fails(parseBackTarget(asNumbers))).toBe(true);
  });
});
