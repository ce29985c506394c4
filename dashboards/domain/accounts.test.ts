import type { Account } from '../../schemas/generated/types.js';
import {
  accountTypeOf,
  accountView,
  accountViewOf,
  defaultAccountView,
  effectiveAccountType,
  isFxPositionId,
  normalBalanceMinor,
  normalSides,
} from './accounts.js';

const merchant: Account = {
  accountId: 'acc-shop',
  type: 'MERCHANT',
  currency: 'EUR',
  overdraftLimitMinor: 9_007_199_254_740_993n,
  scheme: null,
  updatedBy: 'admin:1a2b3c4d',
  updatedAtMs: Date.UTC(2026, 10, 24, 9),
};

describe('account views', () => {
  it('shows a configured account with its limit as exact money', () => {
    expect(accountView(merchant)).toEqual({
      accountId: 'acc-shop',
      type: 'merchant',
      normalSide: 'credit',
      currency: 'EUR',
      scheme: null,
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
      normalSide: 'credit',
      currency: null,
      scheme: null,
      policy: null,
      configured: false,
    });
  });

  it("shows the ledger's FX positions as what they are", () => {
    expect(defaultAccountView('fx:EUR')).toEqual({
      accountId: 'fx:EUR',
      type: 'fx_position',
      normalSide: 'credit',
      currency: 'EUR',
      scheme: null,
      policy: null,
      configured: false,
    });
    expect(defaultAccountView('fx:nope').currency).toBeNull();
    expect(isFxPositionId('fx:EUR')).toBe(true);
    expect(isFxPositionId('acc-fx:EUR')).toBe(false);
  });

  it('shows the scheme of a clearing account', () => {
    expect(accountView({ ...merchant, type: 'CLEARING', scheme: 'SEPA_CT' })).toMatchObject({
      type: 'clearing',
      normalSide: 'debit',
      scheme: 'SEPA_CT',
    });
  });

  it("gives every account type a normal side from the bank's point of view", () => {
    // Liabilities (what the bank owes) are credit-normal, assets debit-normal; FX positions stand long on credit.
    expect(normalSides).toEqual({
      CUSTOMER: 'credit',
      MERCHANT: 'credit',
      SETTLEMENT: 'debit',
      CLEARING: 'debit',
      FX_POSITION: 'credit',
      SUSPENSE: 'debit',
    });
    // The ledger is credit-positive: a deposit of 5 is +5 on a customer, a nostro funded with 5 is −5 on settlement.
    expect(normalBalanceMinor(500n, normalSides.CUSTOMER)).toBe(500n);
    expect(normalBalanceMinor(-500n, normalSides.SETTLEMENT)).toBe(500n);
    expect(normalBalanceMinor(-500n, normalSides.CUSTOMER)).toBe(-500n);
  });

  it('books fx: ids as FX positions whatever the chart says, and accounts never set as customers', () => {
    expect(effectiveAccountType('fx:EUR', { ...merchant, accountId: 'fx:EUR', type: 'SUSPENSE' })).toBe('FX_POSITION');
    expect(effectiveAccountType('acc-shop', merchant)).toBe('MERCHANT');
    expect(effectiveAccountType('acc-new', undefined)).toBe('CUSTOMER');
  });

  it('reads API type names exactly (lower case)', () => {
    expect(accountTypeOf('fx_position')).toBe('FX_POSITION');
    expect(accountTypeOf('FX_POSITION')).toBeUndefined();
    expect(accountTypeOf('Customer')).toBeUndefined();
    expect(accountTypeOf(1)).toBeUndefined();
  });
});
