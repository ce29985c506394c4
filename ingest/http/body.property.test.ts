import { catchesWithinUnitBudget, itHoldsForEach } from '../../fuzz/unit-tier.js';
import { type ParseBatchBody, batchBodyTarget, bodyTargets } from '../../fuzz/body.js';
import { parseBatchBody } from './body.js';

// The fuzz targets of fuzz/body.ts with the unit tier's small, seeded budget.
describe('request body parser properties', () => {
  itHoldsForEach(bodyTargets);
});

// The property must be able to fail: a copy of the batch parser with a planted bug.
describe('negative controls', () => {
  it('an NDJSON parser that drops unparseable lines is caught miscounting', async () => {
    const dropping: ParseBatchBody = (body, contentType) =>
      parseBatchBody(body, contentType).filter((item) => item.kind !== 'unparseable');
    expect(await catchesWithinUnitBudget(batchBodyTarget(dropping))).toBe(true);
  });
});
