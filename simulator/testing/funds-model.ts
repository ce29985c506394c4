import type { TransactionRequest } from '../../schemas/api.js';
import type { PolicyHolder } from '../balance-policies.js';

/**
 * The README's funds rule, applied to the simulator's own requests in the order they are sent, as the expectation
 * of tests: a debit of a policy holder's account is declined iff it is more than the account's balance in the
 * debit's currency plus the overdraft limit (which counts in the account's currency only); what is not declined
 * moves money at once. It stands for the pipeline only where every credit has reached the funds check before the
 * holder's next debit is scored, and nothing else declines, holds back or reverses a transaction.
 */
export class FundsModel {
  private readonly holders: ReadonlyMap<string, PolicyHolder>;
  /** Per policy account and currency, minor units. */
  private readonly balances = new Map<string, Map<string, bigint>>();

  constructor(holders: readonly PolicyHolder[]) {
    this.holders = new Map(holders.map((h) => [h.customer.accountId, h]));
  }

  /** True when `accountId` belongs to a policy holder. */
  isGuarded(accountId: string): boolean {
    return this.holders.has(accountId);
  }

  /** Applies `request`; returns true when the funds check declines it (and then nothing moves). */
  apply(request: TransactionRequest): boolean {
    const debit = request.settlementAmount ?? request.amount;
    const payer = this.holders.get(request.payer.accountId);
    if (payer !== undefined && request.kind !== 'refund') {
      const limit = debit.currency === payer.customer.accountCurrency ? BigInt(payer.overdraftLimitMinor) : 0n;
      if (minorOf(debit.value) > this.balance(payer.customer.accountId, debit.currency) + limit) return true;
      this.add(payer.customer.accountId, debit.currency, -minorOf(debit.value));
    }
    if (this.holders.has(request.payee.accountId))
      this.add(request.payee.accountId, request.amount.currency, minorOf(request.amount.value));
    return false;
  }

  /** The balance of a policy account in `currency`, minor units. */
  balance(accountId: string, currency: string): bigint {
    return this.balances.get(accountId)?.get(currency) ?? 0n;
  }

  private add(accountId: string, currency: string, minor: bigint): void {
    const byCurrency = this.balances.get(accountId) ?? new Map<string, bigint>();
    byCurrency.set(currency, (byCurrency.get(currency) ?? 0n) + minor);
    this.balances.set(accountId, byCurrency);
  }
}

/** Minor units of a decimal string as the simulator writes it (exactly the currency's fraction digits). */
function minorOf(value: string): bigint {
  return BigInt(value.replace('.', ''));
}
