import { type ParseBatchBody, batchBodyTarget, bodyTargets } from '../../fuzz/body.js';
import { assertTarget, unitBudget } from '../../fuzz/target.js';
import { parseBatchBody } from './body.js';

// The fuzz targets of fuzz/body.ts with the unit tier's small, seeded budget.
describe('request body parser properties', () => {
  // 30 s bounds a hang; it is not a timed assertion (300 inputs take about a second).
  it.each(bodyTargets.map((target) => [target.name, target] as const))(
    '%s',
    async (_name, target) => {
      const details = await assertTarget(target, unitBudget);
      expect(details.numRuns).toBe(unitBudget.numRuns);
    },
    30_000,
  );
});

// The property must be able to fail: a copy of the batch parser with a planted bug.
describe('negative controls', () => {
  it('an NDJSON parser that drops unparseable lines is caught miscounting', async () => {
    const dropping: ParseBatchBody = (body, contentType) =>
      parseBatchBody(body, contentType).filter((item) => item.kind !== 'unparseable');
    expect((await batchBodyTarget(dropping).check({ ...unitBudget, endOnFailure: true })).failed).toBe(true);
  });
});
