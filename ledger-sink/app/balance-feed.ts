import type { Producer } from '../../platform/bus.js';
import type { Clock } from '../../platform/clock.js';
import type { Counter, MetricsRegistry } from '../../platform/metrics.js';
import type { Codec } from '../../schemas/codec.js';
import type { Account, LedgerBalance } from '../../schemas/generated/types.js';
import { Topics } from '../../schemas/topics.js';
import { INT64_MAX, INT64_MIN } from '../domain/postings.js';
import type { LedgerStore } from '../ports.js';

/** What a batch did to accounts: every account it may have changed, and the debits of each it decided on. */
export interface TouchedAccounts {
  /** Accounts whose legs, holds or resolutions the batch may have written. */
  readonly accounts: Iterable<string>;
  /** Per payer account, the transactions debiting it whose decision the batch settled (booked, held or not). */
  readonly settled?: ReadonlyMap<string, readonly string[]>;
}

/**
 * The funds feedback to scoring: after a batch wrote to the ledger, publishes on `ledger.balances` what the ledger
 * now holds for each account it touched that has a balance policy — booked sums, open holds' debits, the number
 * of rows they reflect (the version; the ledger only appends, so a larger one reflects more) and the debits this
 * batch settled, which scoring then stops counting as in flight (scoring/domain/funds.ts).
 *
 * Only accounts with a policy cost anything: the chart of accounts (the `accounts` topic) is read whole by every
 * ledger-sink process, since a credit to an account can arrive on any partition. A failed read or send rejects,
 * so the batch is redelivered and the balance published again; a repeated balance is harmless.
 */
export class BalanceFeed {
  private readonly policies = new Map<string, Account>();
  private readonly published: Counter;

  constructor(
    private readonly deps: {
      readonly store: LedgerStore;
      readonly producer: Producer;
      readonly codec: Codec<LedgerBalance>;
      readonly clock: Clock;
      readonly metrics: MetricsRegistry;
    },
  ) {
    this.published = deps.metrics.counter(
      'vigil_ledger_balances_published_total',
      'Balances of policy accounts published on ledger.balances for scoring.',
    );
    deps.metrics.gauge('vigil_ledger_policy_accounts', 'Accounts with a balance policy.', () => this.policies.size);
  }

  /** Records the latest chart-of-accounts record of an account; publishes its balance when it gains a policy. */
  async applyAccount(account: Account): Promise<void> {
    const before = this.policies.get(account.accountId);
    if (before !== undefined && before.updatedAtMs > account.updatedAtMs) return;
    if (account.overdraftLimitMinor === null) {
      this.policies.delete(account.accountId);
      return;
    }
    this.policies.set(account.accountId, account);
    // Scoring needs the balance the account already has, not only what later batches add to it.
    if (before === undefined) await this.publish({ accounts: [account.accountId] });
  }

  /** Publishes the balances of the policy accounts among `touched`; nothing when there is none. */
  async publish(touched: TouchedAccounts): Promise<void> {
    const accounts = [...new Set(touched.accounts)].filter((id) => this.policies.has(id));
    if (accounts.length === 0) return;
    const stored = new Map((await this.deps.store.accountBalances(accounts)).map((b) => [b.accountId, b]));
    const now = this.deps.clock.nowMs();
    const records = accounts.sort().map((accountId) => {
      const b = stored.get(accountId);
      const balance: LedgerBalance = {
        accountId,
        version: clamp(b?.rows ?? 0n),
        // Int64 holds any sum of legs that each fit Int64 only up to a point; past ±9.2e18 minor units it is clamped.
        balances: (b?.balances ?? []).map((c) => ({
          currency: c.currency,
          postedMinor: clamp(c.postedMinor),
          pendingDebitsMinor: clamp(c.pendingDebitsMinor),
        })),
        settledTransactionIds: [...new Set(touched.settled?.get(accountId) ?? [])],
        publishedAtMs: now,
      };
      return { key: accountId, value: this.deps.codec.encode(balance), timestampMs: now };
    });
    await this.deps.producer.send(Topics.ledgerBalances, records);
    this.published.inc({}, records.length);
  }
}

function clamp(n: bigint): bigint {
  return n > INT64_MAX ? INT64_MAX : n < INT64_MIN ? INT64_MIN : n;
}
