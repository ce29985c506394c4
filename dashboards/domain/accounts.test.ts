import type { Account } from '../../schemas/generated/types.js';
import { accountTypeOf, accountView, accountViewOf, defaultAccountView, isFxPositionId } from './accounts.js';

const merchant: Account = {
  accountId: 'acc-shop',
  type: 'MERCHANT',
  currency: 'EUR',
  overdraftLimitMinor: 9_007_199_254_740_993n,
  updatedBy: 'admin:1a2b3c4d',
  updatedAtMs: Date.UTC(2026, 10, 24, 9),
};

describe('account views', () => {
  it('shows a configured account with its limit as exact money', () => {
    expect(accountView(merchant)).toEqual({
      accountId: 'acc-shop',
      type: 'merchant',
      currency: 'EUR',
      policy: { overdraftLimit: { amount: '90071992547409.93', amountMinor: '9007199254740993', currency: 'EUR' } },
      updatedBy: 'admin:1a2b3c4d',
      updatedAt: '2026-11-24T09:00:00.000Z',
      configured: true,
    });
    expect(accountView({ ...merchant, overdraftLimitMinor: null }).policy).toBeNull();
  });

  it('shows an account never set as the documented default: a customer without currency or limit', () => {
    expect(accountViewOf('acc-new', undefined)).toEqual({
      accountId: 'acc-new',
      type: 'customer',
      currency: null,
      policy: null,
      configured: false,
    });
  });

  it("shows the ledger's FX positions as what they are", () => {
    expect(defaultAccountView('fx:EUR')).toEqual({
      accountId: 'fx:EUR',
      type: 'fx_position',
      currency: 'EUR',
      policy: null,
      configured: false,
    });
    expect(defaultAccountView('fx:nope').currency).toBeNull();
    expect(isFxPositionId('fx:EUR')).toBe(true);
    expect(isFxPositionId('acc-fx:EUR')).toBe(false);
  });

  it('reads API type names exactly (lower case)', () => {
    expect(accountTypeOf('fx_position')).toBe('FX_POSITION');
    expect(accountTypeOf('FX_POSITION')).toBeUndefined();
    expect(accountTypeOf('Customer')).toBeUndefined();
    expect(accountTypeOf(1)).toBeUndefined();
  });
});
