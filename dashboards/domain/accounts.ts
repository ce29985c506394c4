/**
 * The chart of accounts as the API shows it: `vigil.Account` records (Topics.accounts) turned into account views,
 * and the default every account has until an admin sets it.
 */
import type { AccountTypeName, AccountView, ConfiguredAccountView, DefaultAccountView } from '../../schemas/api.js';
import { isCurrencyCode } from '../../schemas/currencies.js';
import { type Account, AccountType } from '../../schemas/generated/types.js';
import { moneyView } from './money.js';

/**
 * Ids with this prefix are the bank's FX positions, which ledger-sink names and posts itself (`fx:<ISO 4217>`,
 * ledger-sink/domain/postings.ts); no admin may configure one as if it were an ordinary account.
 */
export const FX_POSITION_PREFIX = 'fx:';

/** The API's spelling of every account type, in the order of the Avro enum. */
export const accountTypeNames: readonly AccountTypeName[] = Object.values(AccountType).map(accountTypeName);

export function accountTypeName(type: AccountType): AccountTypeName {
  return type.toLowerCase() as AccountTypeName;
}

/** The Avro account type an API name stands for; undefined for anything else (names are matched exactly). */
export function accountTypeOf(name: unknown): AccountType | undefined {
  if (typeof name !== 'string' || !(accountTypeNames as readonly string[]).includes(name)) return undefined;
  return name.toUpperCase() as AccountType;
}

/** True for ids reserved for the ledger's FX positions (`fx:EUR`). */
export function isFxPositionId(accountId: string): boolean {
  return accountId.startsWith(FX_POSITION_PREFIX);
}

/** An account record as responses show it; the limit (if any) as money in the account's currency. */
export function accountView(account: Account): ConfiguredAccountView {
  return {
    accountId: account.accountId,
    type: accountTypeName(account.type),
    currency: account.currency,
    policy:
      account.overdraftLimitMinor === null
        ? null
        : { overdraftLimit: moneyView(account.overdraftLimitMinor, account.currency) },
    updatedBy: account.updatedBy,
    updatedAt: new Date(account.updatedAtMs).toISOString(),
    configured: true,
  };
}

/**
 * What an account no admin has set is (the Avro record's documented default): a customer with no currency and
 * no limit. The ledger's own FX positions (`fx:<code>`) are never set, and are shown as what they are.
 */
export function defaultAccountView(accountId: string): DefaultAccountView {
  if (isFxPositionId(accountId)) {
    const code = accountId.slice(FX_POSITION_PREFIX.length);
    return {
      accountId,
      type: accountTypeName(AccountType.FX_POSITION),
      currency: isCurrencyCode(code) ? code : null,
      policy: null,
      configured: false,
    };
  }
  return { accountId, type: accountTypeName(AccountType.CUSTOMER), currency: null, policy: null, configured: false };
}

/** The view of `accountId`: as set, or the default when `account` is undefined (never set). */
export function accountViewOf(accountId: string, account: Account | undefined): AccountView {
  return account === undefined ? defaultAccountView(accountId) : accountView(account);
}
