import { type FuzzTarget, assertTarget, unitBudget } from './target.js';

/**
 * The unit tier's use of the fuzz targets, shared by every `*.property.test.ts` (jest only; the runner in
 * fuzz/run.ts never loads this file).
 */

/** Registers one test per target, each run with the unit budget and required to make exactly that many runs. */
export function itHoldsForEach(targets: readonly FuzzTarget[]): void {
  // 30 s bounds a hang; it is not a timed assertion (300 inputs take about a second).
  it.each(targets.map((target) => [target.name, target] as const))(
    '%s',
    async (_name, target) => {
      const details = await assertTarget(target, unitBudget);
      expect(details.numRuns).toBe(unitBudget.numRuns);
    },
    30_000,
  );
}

/** True when the target finds a counterexample within the unit budget: a negative control's planted bug is caught. */
export async function catchesWithinUnitBudget(target: FuzzTarget): Promise<boolean> {
  return (await target.check({ ...unitBudget, endOnFailure: true })).failed;
}
