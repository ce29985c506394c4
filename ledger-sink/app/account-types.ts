import type { Account, AccountType } from '../../schemas/generated/types.js';
import { FX_ACCOUNT_PREFIX } from '../domain/postings.js';

/**
 * Every account's type as the chart of accounts (the `accounts` topic) last set it, for the settings that differ by
 * account type (hold timeouts and expiry policy). An account never set is a CUSTOMER, the documented default; the
 * reserved `fx:` accounts are the bank's FX positions whatever the chart says. Holds one small entry per account an
 * admin configured, never per account seen in traffic.
 */
export class AccountTypes {
  private readonly accounts = new Map<string, Pick<Account, 'type' | 'updatedAtMs'>>();

  /** Applies a chart-of-accounts record; an older record than the one held (a replay out of order) is ignored. */
  apply(account: Account): void {
    const known = this.accounts.get(account.accountId);
    if (known !== undefined && known.updatedAtMs > account.updatedAtMs) return;
    this.accounts.set(account.accountId, { type: account.type, updatedAtMs: account.updatedAtMs });
  }

  typeOf(accountId: string): AccountType {
    if (accountId.startsWith(FX_ACCOUNT_PREFIX)) return 'FX_POSITION';
    return this.accounts.get(accountId)?.type ?? 'CUSTOMER';
  }
}
