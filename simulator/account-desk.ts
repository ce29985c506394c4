import type { AccountRequest, TransactionRequest } from '../schemas/api.js';
import { describeError } from '../platform/errors.js';
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
 * Sets up every policy holder not set up yet, in `policyHolders` order and chunk by chunk: the chunk's policies
 * (a few calls in flight), then the opening balances of every holder whose policy is set, saving the progress after
 * each step. Resolves with how many policies it set; rejects on the first failure, keeping as progress every holder
 * whose policy was set (those before the first failure, and the ones after it that were in flight), so a retry
 * sets none of them again; only a crash between a `PUT` and the next save can repeat one, with the same content. Opening balances are dated at the world's start, so one sent again is
 * an idempotent repeat for ingest.
 */
export async function setUpPolicyAccounts(options: AccountSetUpOptions): Promise<number> {
  const { simulator, api, send, onDelivered, save, logger, chunkSize = 200, concurrency = 16 } = options;
  const holders = simulator.policyHolders;
  const firstPolicy = simulator.accountSetUp.policiesSet;

  const sendOpenings = async (): Promise<void> => {
    const { policiesSet, openingsSent, setAhead } = simulator.accountSetUp;
    if (openingsSent === policiesSet) return;
    const deposits = holders
      .slice(openingsSent, policiesSet)
      .flatMap((holder) => simulator.openingDepositRequest(holder) ?? []);
    if (deposits.length > 0) {
      await send(deposits);
      onDelivered?.(deposits.map((request) => ({ transactionId: request.transactionId, fraud: false })));
    }
    simulator.markAccountSetUp({ policiesSet, openingsSent: policiesSet, ...(setAhead ? { setAhead } : {}) });
    save();
  };

  await sendOpenings();
  while (simulator.accountSetUp.policiesSet < holders.length) {
    const { policiesSet: start, setAhead = [] } = simulator.accountSetUp;
    const end = Math.min(holders.length, start + chunkSize);
    const set = new Set(setAhead);
    const todo: number[] = [];
    for (let position = start; position < end; position++) if (!set.has(position)) todo.push(position);
    let next = 0;
    let failure: Error | undefined;
    const worker = async (): Promise<void> => {
      while (next < todo.length && failure === undefined) {
        const position = todo[next++]!;
        const holder = holders[position]!;
        try {
          await api.putAccount(holder.customer.accountId, accountRequestOf(holder));
          set.add(position);
        } catch (error) {
          failure ??= error instanceof Error ? error : new Error(describeError(error));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker));
    let prefix = start;
    while (set.has(prefix)) prefix++;
    simulator.markAccountSetUp({
      policiesSet: prefix,
      openingsSent: simulator.accountSetUp.openingsSent,
      setAhead: [...set].filter((position) => position > prefix),
    });
    save();
    if (failure !== undefined) throw failure;
    await sendOpenings();
  }
  const set = holders.length - firstPolicy;
  if (set > 0) logger.info('policy accounts set up', { accounts: set, policyHolders: holders.length });
  return set;
}
