import type { Account } from '../../schemas/generated/types.js';
import { AccountTable } from './account-table.js';

const account = (accountId: string, updatedAtMs: number, overdraftLimitMinor: bigint | null = 0n): Account => ({
  accountId,
  type: 'CUSTOMER',
  currency: 'EUR',
  overdraftLimitMinor,
  scheme: null,
  updatedBy: 'admin:00000000',
  updatedAtMs,
});

describe('AccountTable', () => {
  it('given a record, when a newer one arrives, then the newer one governs', () => {
    const table = new AccountTable();
    expect(table.apply(account('a', 1000, 0n))).toBe(true);
    expect(table.apply(account('a', 2000, 500n))).toBe(true);
    expect(table.get('a')?.overdraftLimitMinor).toBe(500n);
  });

  it('given a record, when an older one arrives (the feed replaying what a PUT applied), then it is ignored', () => {
    const table = new AccountTable();
    table.apply(account('a', 2000, 500n));
    expect(table.apply(account('a', 1000, null))).toBe(false);
    expect(table.get('a')?.overdraftLimitMinor).toBe(500n);
  });

  it('given a record, when the same record arrives again, then the table is unchanged', () => {
    const table = new AccountTable();
    table.apply(account('a', 2000, 500n));
    table.apply(account('a', 2000, 500n));
    expect(table.list()).toEqual([account('a', 2000, 500n)]);
  });

  it('lists accounts by id, at most `limit`, and knows only what it was given', () => {
    const table = new AccountTable();
    for (const id of ['m', 'b', 'z', 'a']) table.apply(account(id, 1));
    expect(table.list().map((a) => a.accountId)).toEqual(['a', 'b', 'm', 'z']);
    expect(table.list(2).map((a) => a.accountId)).toEqual(['a', 'b']);
    expect(table.size).toBe(4);
    expect(table.get('unknown')).toBeUndefined();
  });
});
