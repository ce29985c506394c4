import { catchesWithinUnitBudget, itHoldsForEach } from '../../../../fuzz/unit-tier.js';
import { type ParseNacha, nachaExactAmountTarget, nachaTargets, nachaTotalityTarget } from '../../../../fuzz/nacha.js';
import { parseNacha } from './nacha.js';

// The fuzz targets of fuzz/nacha.ts with the unit tier's small, seeded budget.
describe('NACHA parser properties', () => {
  itHoldsForEach(nachaTargets);
});

// Each property must be able to fail: copies of the parser with a planted bug.
describe('negative controls', () => {
  it('a parser that refuses a file without saying which record is caught', async () => {
    const unlocated: ParseNacha = (bytes, options) => {
      const parsed = parseNacha(bytes, options);
      return parsed.ok ? parsed : { ok: false, problems: parsed.problems.map((p) => ({ ...p, path: '' })) };
    };
    expect(await catchesWithinUnitBudget(nachaTotalityTarget(unlocated))).toBe(true);
  });

  it('a parser that reads the amount as a float of dollars is caught', async () => {
    const floating: ParseNacha = (bytes, options) => {
      const parsed = parseNacha(bytes, options);
      if (!parsed.ok) return parsed;
      const items = parsed.document.items.map((item) =>
        item.request === undefined
          ? item
          : {
              ...item,
              request: {
                ...item.request,
                amount: { ...item.request.amount, value: String((Number(item.request.amount.value) * 1.1) / 1.1) },
              },
            },
      );
      return { ok: true, document: { ...parsed.document, items } };
    };
    expect(await catchesWithinUnitBudget(nachaExactAmountTarget(floating))).toBe(true);
  });
});
