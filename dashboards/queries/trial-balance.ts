import type { ClickHouseClient } from '@clickhouse/client';
import type { TrialBalance } from '../../schemas/api.js';
import type { Account, AccountType } from '../../schemas/generated/types.js';
import { FX_POSITION_PREFIX } from '../domain/accounts.js';
import {
  type AccountNet,
  type LedgerFigures,
  MAX_UNBALANCED_TRANSACTIONS,
  chartForQuery,
  trialBalanceOf,
} from '../domain/trial-balance.js';
import { selectRows } from './select.js';

/**
 * The type of `account_id` in the books: `fx:` ids are FX positions whatever the chart says; otherwise the chart's
 * type (bound as the parallel arrays typedIds/types), a customer when it has none.
 */
const ACCOUNT_TYPE_SQL = `if(startsWith(account_id, {fxPrefix:String}), 'FX_POSITION',
  transform(account_id, {typedIds:Array(String)}, {types:Array(String)}, 'CUSTOMER'))`;

/** A transaction's scheme, as a clearing account names it: its bankTransfer.scheme, else its channel (CARD, …). */
const SCHEME_SQL = `if(JSONExtractString(transaction_json, 'bankTransfer', 'scheme') != '',
  JSONExtractString(transaction_json, 'bankTransfer', 'scheme'), channel)`;

// Chart ids are matched with `IN {ids:Array(String)}`: ClickHouse builds a set of the array once, where `has()`
// would scan it for every row.

/** Debit legs as a positive sum, credit legs as a positive sum; Int128, so no number of Int64 rows overflows. */
const DEBITS_CREDITS_SQL = `-sumIf(toInt128(amount_minor), amount_minor < 0) AS debits,
  sumIf(toInt128(amount_minor), amount_minor > 0) AS credits`;

interface AccountNetRow {
  account_id: string;
  currency: string;
  net: string;
  entries: string;
}

const accountNet = (r: AccountNetRow): AccountNet => ({
  accountId: r.account_id,
  currency: r.currency,
  netMinor: BigInt(r.net),
  entries: Number(r.entries),
});

/**
 * The ledger's trial balance over every booked leg (domain/trial-balance.ts): per account type and currency, per
 * currency, the `top` largest balances, clearing accounts against their schemes, and the reconciliation findings.
 * `chart` is the chart of accounts (every record); it is bound as query parameters, so its size is bounded by what
 * the ClickHouse connection takes in a query string (1 MiB by default: tens of thousands of non-customer accounts
 * and accounts with policies; customers without a policy are left out, being the default).
 */
export async function trialBalance(
  clickhouse: ClickHouseClient,
  chart: readonly Account[],
  top: number,
): Promise<TrialBalance> {
  const bound = chartForQuery(chart);
  const params = { ...bound, fxPrefix: FX_POSITION_PREFIX, top, maxUnbalanced: MAX_UNBALANCED_TRANSACTIONS };
  const [byType, currencies, unbalanced, largest, checked, fxLegs, clearing, bypassed] = await Promise.all([
    selectRows<{
      type: AccountType;
      currency: string;
      accounts: string;
      entries: string;
      debits: string;
      credits: string;
    }>(
      clickhouse,
      `SELECT ${ACCOUNT_TYPE_SQL} AS type, currency, uniqExact(account_id) AS accounts, count() AS entries,
         ${DEBITS_CREDITS_SQL}
       FROM ledger_entries GROUP BY type, currency`,
      params,
    ),
    selectRows<{ currency: string; entries: string; debits: string; credits: string }>(
      clickhouse,
      `SELECT currency, count() AS entries, ${DEBITS_CREDITS_SQL}
       FROM ledger_entries GROUP BY currency ORDER BY currency`,
    ),
    selectRows<{ transaction_id: string; currency: string; imbalance: string }>(
      clickhouse,
      `SELECT transaction_id, currency, sum(toInt128(amount_minor)) AS imbalance
       FROM ledger_entries GROUP BY transaction_id, currency HAVING imbalance != 0
       ORDER BY transaction_id, currency LIMIT {maxUnbalanced:UInt32}`,
      params,
    ),
    selectRows<AccountNetRow>(
      clickhouse,
      `SELECT account_id, currency, sum(toInt128(amount_minor)) AS net, count() AS entries
       FROM ledger_entries GROUP BY account_id, currency ORDER BY abs(net) DESC, account_id, currency LIMIT {top:UInt32}`,
      params,
    ),
    selectRows<AccountNetRow>(
      clickhouse,
      `SELECT account_id, currency, sum(toInt128(amount_minor)) AS net, count() AS entries
       FROM ledger_entries WHERE account_id IN {checkedIds:Array(String)} OR startsWith(account_id, {fxPrefix:String})
       GROUP BY account_id, currency`,
      params,
    ),
    selectRows<{ currency: string; net: string }>(
      clickhouse,
      `SELECT currency, sum(toInt128(amount_minor)) AS net FROM ledger_entries WHERE entry_type = 'FX' GROUP BY currency`,
    ),
    // Both scan `decisions` for schemes: only worth it when some clearing account has one.
    bound.clearingIds.length === 0 ? [] : clearingFigures(clickhouse, params),
    bound.clearingIds.length === 0 ? [] : bypassedFigures(clickhouse, params),
  ]);
  const figures: LedgerFigures = {
    byTypeAndCurrency: byType.map((r) => ({
      type: r.type,
      currency: r.currency,
      accounts: Number(r.accounts),
      entries: Number(r.entries),
      debitsMinor: BigInt(r.debits),
      creditsMinor: BigInt(r.credits),
    })),
    currencies: currencies.map((r) => ({
      currency: r.currency,
      entries: Number(r.entries),
      debitsMinor: BigInt(r.debits),
      creditsMinor: BigInt(r.credits),
    })),
    unbalanced: unbalanced.map((r) => ({
      transactionId: r.transaction_id,
      currency: r.currency,
      imbalanceMinor: BigInt(r.imbalance),
    })),
    largest: largest.map(accountNet),
    checked: checked.map(accountNet),
    fxLegs: fxLegs.map((r) => ({ currency: r.currency, netMinor: BigInt(r.net) })),
    clearing,
    bypassed,
  };
  return trialBalanceOf(figures, chart);
}

/**
 * Per clearing account with a scheme and currency: its balance, the part from transactions of its scheme, and the
 * part from settlements (other transactions with a leg on a settlement account). A transaction's scheme comes from
 * its decision (the audit record); one stored twice counts once.
 */
async function clearingFigures(
  clickhouse: ClickHouseClient,
  params: Record<string, unknown>,
): Promise<LedgerFigures['clearing']> {
  const rows = await selectRows<{
    account_id: string;
    currency: string;
    balance: string;
    scheme_flows: string;
    settlements: string;
  }>(
    clickhouse,
    `SELECT account_id, currency, sum(toInt128(amount_minor)) AS balance,
       sumIf(toInt128(amount_minor), of_scheme) AS scheme_flows,
       sumIf(toInt128(amount_minor), NOT of_scheme AND is_settlement) AS settlements
     FROM (
       SELECT e.account_id AS account_id, e.currency AS currency, e.amount_minor AS amount_minor,
         s.scheme = transform(e.account_id, {clearingIds:Array(String)}, {clearingSchemes:Array(String)}, '') AS of_scheme,
         e.transaction_id IN (
           SELECT transaction_id FROM ledger_entries WHERE account_id IN {settlementIds:Array(String)}
         ) AS is_settlement
       FROM ledger_entries AS e
       LEFT JOIN (
         SELECT transaction_id, any(${SCHEME_SQL}) AS scheme FROM decisions
         WHERE transaction_id IN (SELECT transaction_id FROM ledger_entries WHERE account_id IN {clearingIds:Array(String)})
         GROUP BY transaction_id
       ) AS s ON s.transaction_id = e.transaction_id
       WHERE e.account_id IN {clearingIds:Array(String)}
     )
     GROUP BY account_id, currency ORDER BY account_id, currency`,
    params,
  );
  return rows.map((r) => ({
    accountId: r.account_id,
    currency: r.currency,
    balanceMinor: BigInt(r.balance),
    schemeFlowsMinor: BigInt(r.scheme_flows),
    settlementsMinor: BigInt(r.settlements),
  }));
}

/** Per scheme that has a clearing account and currency: its booked transactions with no leg on a clearing account. */
async function bypassedFigures(
  clickhouse: ClickHouseClient,
  params: Record<string, unknown>,
): Promise<LedgerFigures['bypassed']> {
  const rows = await selectRows<{ scheme: string; currency: string; transactions: string; gross: string }>(
    clickhouse,
    `SELECT s.scheme AS scheme, e.currency AS currency, uniqExact(e.transaction_id) AS transactions,
       sumIf(toInt128(e.amount_minor), e.amount_minor > 0) AS gross
     FROM ledger_entries AS e
     INNER JOIN (
       SELECT transaction_id, any(${SCHEME_SQL}) AS scheme FROM decisions GROUP BY transaction_id
       HAVING scheme IN {clearingSchemes:Array(String)}
     ) AS s ON s.transaction_id = e.transaction_id
     WHERE e.transaction_id NOT IN (
       SELECT transaction_id FROM ledger_entries WHERE account_id IN {clearingIds:Array(String)}
     )
     GROUP BY scheme, currency ORDER BY scheme, currency`,
    params,
  );
  return rows.map((r) => ({
    scheme: r.scheme,
    currency: r.currency,
    transactions: Number(r.transactions),
    grossMinor: BigInt(r.gross),
  }));
}
