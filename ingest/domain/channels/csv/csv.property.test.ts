import { catchesWithinUnitBudget, itHoldsForEach } from '../../../../fuzz/unit-tier.js';
import { type ParseCsv, csvTargets, csvTotalityTarget } from '../../../../fuzz/csv.js';
import { parseCsv } from './csv.js';

// The fuzz targets of fuzz/csv.ts with the unit tier's small, seeded budget.
describe('CSV parser properties', () => {
  itHoldsForEach(csvTargets);
});

// The property must be able to fail: a copy of the parser with a planted bug.
describe('negative controls', () => {
  it('a parser whose row problems quote the row is caught', async () => {
    const quoting: ParseCsv = (bytes, options) => {
      const parsed = parseCsv(bytes, options);
      if (!parsed.ok) return parsed;
      const text = Buffer.from(bytes).toString('utf8');
      const items = parsed.document.items.map((item) =>
        item.problems.length === 0 ? item : { ...item, problems: [{ path: item.location, message: text }] },
      );
      return { ok: true, document: { ...parsed.document, items } };
    };
    expect(await catchesWithinUnitBudget(csvTotalityTarget(quoting))).toBe(true);
  });
});
