import fc from 'fast-check';

/**
 * One fuzz target: a named fast-check property, defined once and run by both the fuzz runner (`npm run fuzz`, a
 * large budget) and the unit tier (`*.property.test.ts`, a small budget with a fixed seed).
 */
export interface FuzzTarget {
  readonly name: string;
  /** Runs the property; never throws for a property failure (see `failed` and `counterexample`). */
  check(parameters: FuzzParameters): Promise<fc.RunDetails<unknown>>;
}

/** The subset of fast-check's parameters a target honours: how many inputs, which seed, and a replay path. */
export interface FuzzParameters {
  readonly numRuns: number;
  readonly seed?: number;
  readonly path?: string;
  /** Shrinking a counterexample can take long; the runner turns it off to report the first failure fast. */
  readonly endOnFailure?: boolean;
}

/** Wraps a property (built lazily, e.g. after an async codec setup) as a named target. */
export function defineTarget<Ts>(
  name: string,
  build: () => fc.IRawProperty<Ts> | Promise<fc.IRawProperty<Ts>>,
): FuzzTarget {
  return {
    name,
    async check(parameters) {
      const property = await build();
      const details = await fc.check(property, parameters);
      return details as fc.RunDetails<unknown>;
    },
  };
}

/** Runs a target in a jest test: fails with fast-check's report (seed, path, counterexample) on a failure. */
export async function assertTarget(target: FuzzTarget, parameters: FuzzParameters): Promise<fc.RunDetails<unknown>> {
  const details = await target.check(parameters);
  if (details.failed) throw new Error(`${target.name}: ${fc.defaultReportMessage(details) ?? 'failed'}`);
  return details;
}

/** The unit tier's budget: small and seeded, so CI is deterministic and fast. */
export const unitBudget: FuzzParameters = Object.freeze({ numRuns: 300, seed: 20_261_124 });
