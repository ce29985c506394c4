import type { AccountRequest, TransactionRequest } from '../schemas/api.js';
import type { Logger } from '../platform/logger.js';
import { accountRequestOf } from './balance-policies.js';
import type { TrafficSimulator } from './generator.js';

/**
 * The simulated bank's account desk: before a world's traffic starts, it gives each policy holder's account its
 * balance policy through the public API (`PUT /v1/accounts/{id}`, the only admin call the simulator makes) and
 * pays in the opening balance through ingest, like any other simulated transaction. Progress is kept in the
 * world's state (`policyAccountsSetUp`), so a restarted world sets up only the holders it had not finished.
 */

/** The one admin call the desk needs (embedded/pipeline.ts gives it the HTTP API with the admin key). */
export interface AccountAdminApi {
  /** Sets an account's type, currency and policy; rejects unless the API accepted it. */
  putAccount(accountId: string, request: AccountRequest): Promise<void>;
}

/** `PUT /v1/accounts/{id}` over HTTP at `baseUrl` with `key` as the bearer token; nothing else. */
export function httpAccountAdminApi(baseUrl: string, key: string): AccountAdminApi {
  return {
    async putAccount(accountId, request) {
      const response = await fetch(`${baseUrl}/v1/accounts/${encodeURIComponent(accountId)}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(10_000),
      });
      await response.text();
      if (response.status !== 200) throw new Error(`PUT /v1/accounts/{id} answered ${response.status}`);
    },
  };
}

export interface AccountSetUpOptions {
  readonly simulator: TrafficSimulator;
  readonly api: AccountAdminApi;
  /** Delivers opening balances, as the traffic's own batches are delivered. */
  readonly send: (batch: TransactionRequest[]) => Promise<void>;
  /** Told which opening balances were delivered (all genuine), as live traffic tells of its batches. */
  readonly onDelivered?: (
    delivered: ReadonlyArray<{ readonly transactionId: string; readonly fraud: boolean }>,
  ) => void;
  /** Saves the world after each chunk of holders, so their progress survives a restart. */
  readonly save: () => void;
  readonly logger: Logger;
  /** Holders per chunk (policies set, then their opening balances sent in one batch). Default 200. */
  readonly chunkSize?: number;
  /** Most `PUT` calls in flight. Default 16. */
  readonly concurrency?: number;
}

/**
 * Sets up every policy holder not set up yet, in `policyHolders` order and chunk by chunk: first the chunk's
 * policies, then its opening balances, then the progress. Resolves with how many holders it set up; rejects on
 * the first failure, leaving the progress at the last whole chunk (a retry sets a chunk's policies again, with the
 * same content, and resends its opening balances, which ingest takes as idempotent repeats).
 */
export async function setUpPolicyAccounts(options: AccountSetUpOptions): Promise<number> {
  const { simulator, api, send, onDelivered, save, logger, chunkSize = 200, concurrency = 16 } = options;
  const holders = simulator.policyHolders;
  const first = simulator.policyAccountsSetUp;
  for (let start = first; start < holders.length; start += chunkSize) {
    const chunk = holders.slice(start, start + chunkSize);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < chunk.length) {
        const holder = chunk[next++]!;
        await api.putAccount(holder.customer.accountId, accountRequestOf(holder));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, chunk.length) }, worker));
    const deposits = chunk.flatMap((holder) => simulator.openingDepositRequest(holder) ?? []);
    if (deposits.length > 0) {
      await send(deposits);
      onDelivered?.(deposits.map((request) => ({ transactionId: request.transactionId, fraud: false })));
    }
    simulator.markAccountsSetUp(start + chunk.length);
    save();
  }
  if (holders.length > first)
    logger.info('policy accounts set up', { accounts: holders.length - first, policyHolders: holders.length });
  return holders.length - first;
}
