import { catchesWithinUnitBudget, itHoldsForEach } from '../../../../fuzz/unit-tier.js';
import {
  type ParseIso20022,
  iso20022ExactAmountTarget,
  iso20022Targets,
  iso20022TotalityTarget,
} from '../../../../fuzz/iso20022.js';
import { parseIso20022 } from './messages.js';

// The fuzz targets of fuzz/iso20022.ts with the unit tier's small, seeded budget.
describe('ISO 20022 parser properties', () => {
  itHoldsForEach(iso20022Targets);
});

// Each property must be able to fail: copies of the parser with a planted bug.
describe('negative controls', () => {
  it('a parser that keeps an EndToEndId holding a card number is caught', async () => {
    const keeping: ParseIso20022 = (bytes, options) => {
      const parsed = parseIso20022(bytes, options);
      if (!parsed.ok) return parsed;
      const items = parsed.document.items.map((item) =>
        item.request === undefined
          ? item
          : {
              ...item,
              sourceDocument: {
                ...item.sourceDocument,
                references: { ...item.sourceDocument.references, EndToEndId: '4111111111111111' },
              },
            },
      );
      return { ok: true, document: { ...parsed.document, items } };
    };
    expect(await catchesWithinUnitBudget(iso20022TotalityTarget(keeping))).toBe(true);
  });

  it('a parser that reads amounts as floating-point numbers is caught losing minor units', async () => {
    const floating: ParseIso20022 = (bytes, options) => {
      const parsed = parseIso20022(bytes, options);
      if (!parsed.ok) return parsed;
      const items = parsed.document.items.map((item) =>
        item.request === undefined
          ? item
          : {
              ...item,
              request: {
                ...item.request,
                amount: { ...item.request.amount, value: String(Number(item.request.amount.value)) },
              },
            },
      );
      return { ok: true, document: { ...parsed.document, items } };
    };
    expect(await catchesWithinUnitBudget(iso20022ExactAmountTarget(floating))).toBe(true);
  });
});
