import { catchesWithinUnitBudget, itHoldsForEach } from '../../../../fuzz/unit-tier.js';
import {
  type ParseAdyenItem,
  type ParseStripe,
  adyenExactAmountTarget,
  adyenTotalityTarget,
  gatewayTargets,
  stripeExactAmountTarget,
  stripeTotalityTarget,
} from '../../../../fuzz/gateways.js';
import { parseAdyenItem } from './adyen.js';
import { parseStripeEvent } from './stripe.js';

// The fuzz targets of fuzz/gateways.ts with the unit tier's small, seeded budget.
describe('gateway webhook mapper properties', () => {
  itHoldsForEach(gatewayTargets);
});

// Each property must be able to fail: copies of the mappers with a planted bug.
describe('negative controls', () => {
  it('a Stripe mapper that throws on a field of the wrong type is caught', async () => {
    const throwing: ParseStripe = (event, options) => {
      const object = (event as { data?: { object?: { amount?: unknown } } } | null)?.data?.object;
      if (object !== undefined && object !== null && typeof object.amount === 'string')
        throw new TypeError('amount.toFixed is not a function');
      return parseStripeEvent(event, options);
    };
    expect(await catchesWithinUnitBudget(stripeTotalityTarget(throwing))).toBe(true);
  });

  it('a Stripe mapper that reads amounts as major units is caught', async () => {
    const major: ParseStripe = (event, options) => {
      const parsed = parseStripeEvent(event, options);
      if (!parsed.ok) return parsed;
      const items = parsed.document.items.map((item) =>
        item.request === undefined
          ? item
          : {
              ...item,
              request: {
                ...item.request,
                amount: { ...item.request.amount, value: `${Number(item.request.amount.value) * 100}` },
              },
            },
      );
      return { ok: true, document: { ...parsed.document, items } };
    };
    expect(await catchesWithinUnitBudget(stripeExactAmountTarget(major))).toBe(true);
  });

  it('an Adyen mapper that gives an item both a request and problems is caught', async () => {
    const both: ParseAdyenItem = (item, options) => {
      const parsed = parseAdyenItem(item, options);
      if (!parsed.ok) return parsed;
      const items = parsed.document.items.map((i) => ({ ...i, problems: [{ path: '/x', message: 'planted' }] }));
      return { ok: true, document: { ...parsed.document, items } };
    };
    expect(await catchesWithinUnitBudget(adyenTotalityTarget(both))).toBe(true);
  });

  it('an Adyen mapper that ignores the currency exponent is caught', async () => {
    const twoDecimals: ParseAdyenItem = (item, options) => {
      const parsed = parseAdyenItem(item, options);
      if (!parsed.ok) return parsed;
      const value = (item['amount'] as { value: number }).value;
      const items = parsed.document.items.map((i) =>
        i.request === undefined
          ? i
          : { ...i, request: { ...i.request, amount: { ...i.request.amount, value: (value / 100).toFixed(2) } } },
      );
      return { ok: true, document: { ...parsed.document, items } };
    };
    expect(await catchesWithinUnitBudget(adyenExactAmountTarget(twoDecimals))).toBe(true);
  });
});
