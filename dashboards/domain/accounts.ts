/**
 * The chart of accounts as the API shows it: `vigil.Account` records (Topics.accounts) turned into account views,
 * and the default every account has until an admin sets it.
 */
import type {
  AccountTypeName,
  AccountView,
  ConfiguredAccountView,
  DefaultAccountView,
  NormalSide,
} from '../../schemas/api.js';
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

/**
 * The normal side of every account type, from the bank's point of view (a credit-normal account's balance is the
 * sum of its credit-positive legs, a debit-normal account's is minus that sum; see NormalSide in schemas/api.ts):
 * - CUSTOMER, MERCHANT: credit. Their money held at the bank is a deposit, a liability of the bank; a debit balance
 *   is an overdraft (the customer owes the bank).
 * - SETTLEMENT: debit. The bank's own money at a central bank or correspondent (a nostro): an asset.
 * - CLEARING: debit. What a scheme owes the bank for payments in flight until the scheme settles: a receivable.
 *   Outgoing payments put it on the credit side (the bank owes the scheme) until settlement; the trial balance
 *   reconciles it against its scheme rather than by side.
 * - FX_POSITION: credit. ledger-sink credits `fx:<CCY>` with what the bank receives in CCY and debits it with what it
 *   pays out, so a credit balance is a long position in CCY; a short position (debit) is as legitimate.
 * - SUSPENSE: debit. Unidentified items parked for investigation, carried as a receivable; it should be zero.
 */
export const normalSides: Readonly<Record<AccountType, NormalSide>> = Object.freeze({
  CUSTOMER: 'credit',
  MERCHANT: 'credit',
  SETTLEMENT: 'debit',
  CLEARING: 'debit',
  FX_POSITION: 'credit',
  SUSPENSE: 'debit',
});

/**
 * The balance of an account on its normal side, from its net (the sum of its credit-positive legs): the net itself
 * when credit-normal, minus it when debit-normal. Negative: the account stands on the wrong side.
 */
export function normalBalanceMinor(netMinor: bigint, side: NormalSide): bigint {
  return side === 'credit' ? netMinor : -netMinor;
}

/**
 * The type an account has in the ledger's books: `fx:<CCY>` ids are the bank's FX positions whatever the chart
 * says (ledger-sink posts them); any other id is what its record sets, or a customer when it has none.
 */
export function effectiveAccountType(accountId: string, account: Account | undefined): AccountType {
  if (isFxPositionId(accountId)) return AccountType.FX_POSITION;
  return account?.type ?? AccountType.CUSTOMER;
}

/** An account record as responses show it; the limit (if any) as money in the account's currency. */
export function accountView(account: Account): ConfiguredAccountView {
  return {
    accountId: account.accountId,
    type: accountTypeName(account.type),
    normalSide: normalSides[account.type],
    currency: account.currency,
    scheme: account.scheme,
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
      normalSide: normalSides.FX_POSITION,
      currency: isCurrencyCode(code) ? code : null,
      scheme: null,
      policy: null,
      configured: false,
    };
  }
  return {
    accountId,
    type: accountTypeName(AccountType.CUSTOMER),
    normalSide: normalSides.CUSTOMER,
    currency: null,
    scheme: null,
    policy: null,
    configured: false,
  };
}

/** The view of `accountId`: as set, or the default when `account` is undefined (never set). */
export function accountViewOf(accountId: string, account: Account | undefined): AccountView {
  return account === undefined ? defaultAccountView(accountId) : accountView(account);
}
