import type { AccountRequest, SyncDecision, TransactionRequest } from '../schemas/api.js';
import { describeError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import { accountRequestOf } from './balance-policies.js';
import type { TrafficSimulator } from './generator.js';

/**
 * The simulated bank's account desk: before a world's traffic starts, it gives each policy holder's account its
 * balance policy through the public API (`PUT /v1/accounts/{id}`, the only admin call the simulator makes), pays
 * in the opening balance through ingest, like any other simulated transaction, and waits until the ledger has
 * booked those (`GET /v1/decisions/{id}`). Progress is kept in the
 * world's state (`policyAccountsSetUp`), so a restarted world sets up only the holders it had not finished.
 */

/** What a transaction's money is doing, as `GET /v1/decisions/{id}` tells it; `unknown` until it is decided. */
export type LedgerStatus = 'unknown' | 'pending' | 'posted' | 'not_posted';

/** The calls the desk makes (embedded/pipeline.ts gives it the HTTP API, each call with the least role it needs). */
export interface AccountDeskApi {
  /** Sets an account's type, currency and policy; rejects unless the API accepted it. */
  putAccount(accountId: string, request: AccountRequest): Promise<void>;
  /** Where the ledger is with a transaction; rejects on an unexpected answer. */
  ledgerStatus(transactionId: string): Promise<LedgerStatus>;
}

/**
 * The desk's calls over HTTP at `baseUrl`: `PUT /v1/accounts/{id}` with the admin key, `GET /v1/decisions/{id}`
 * with the ingest key; nothing else.
 */
export function httpAccountDeskApi(baseUrl: string, keys: { admin: string; ingest: string }): AccountDeskApi {
  const call = async (method: string, path: string, key: string, body?: unknown) => {
    const response = await fetch(baseUrl + path, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    return { status: response.status, text };
  };
  return {
    async putAccount(accountId, request) {
      const { status } = await call('PUT', `/v1/accounts/${encodeURIComponent(accountId)}`, keys.admin, request);
      if (status !== 200) throw new Error(`PUT /v1/accounts/{id} answered ${status}`);
    },
    async ledgerStatus(transactionId) {
      const { status, text } = await call('GET', `/v1/decisions/${encodeURIComponent(transactionId)}`, keys.ingest);
      if (status === 404) return 'unknown';
      if (status !== 200) throw new Error(`GET /v1/decisions/{id} answered ${status}`);
      return (JSON.parse(text) as SyncDecision).ledger.status;
    },
  };
}

export interface AccountSetUpOptions {
  readonly simulator: TrafficSimulator;
  readonly api: AccountDeskApi;
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
  /** Most calls in flight. Default 16. */
  readonly concurrency?: number;
  /** How long to wait for the opening balances sent to settle before giving up (with a warning). Default 60 s. */
  readonly settleTimeoutMs?: number;
  /** Waits between looks at the ledger; injected so tests need no timers. Default: a real timer. */
  readonly pause?: (ms: number) => Promise<void>;
  /** For the settle deadline. Default Date.now. */
  readonly nowMs?: () => number;
}

const SETTLE_POLL_MS = 250;

/** Runs `task` over `items` with at most `concurrency` in flight; rejects with the first failure. */
async function forEachLimited<T>(items: readonly T[], concurrency: number, task: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/**
 * Sets up every policy holder not set up yet, in `policyHolders` order and chunk by chunk: every policy (a few
 * calls in flight), then the opening balances, saving the progress after each chunk; at the end, waits (up to `settleTimeoutMs`) until the ledger has settled the opening balances it sent. Resolves with how many policies it set; rejects on the first failure, keeping as progress every holder
 * whose policy was set (those before the first failure, and the ones after it that were in flight), so a retry
 * sets none of them again; only a crash between a `PUT` and the next save can repeat one, with the same content. Opening balances are dated at the world's start, so one sent again is
 * an idempotent repeat for ingest.
 */
export async function setUpPolicyAccounts(options: AccountSetUpOptions): Promise<number> {
  const {
    simulator,
    api,
    send,
    onDelivered,
    save,
    logger,
    chunkSize = 200,
    concurrency = 16,
    settleTimeoutMs = 60_000,
    pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    nowMs = Date.now,
  } = options;
  const holders = simulator.policyHolders;
  const firstPolicy = simulator.accountSetUp.policiesSet;
  const openingIds: string[] = [];

  // Every policy first, the opening balances after, as a bank would set an account up: a debit of a holder is
  // checked from its policy's arrival on, and its opening balance must be booked before its first debit.
  const sendOpenings = async (): Promise<void> => {
    while (simulator.accountSetUp.openingsSent < simulator.accountSetUp.policiesSet) {
      const { policiesSet, openingsSent, setAhead } = simulator.accountSetUp;
      const end = Math.min(policiesSet, openingsSent + chunkSize);
      const deposits = holders
        .slice(openingsSent, end)
        .flatMap((holder) => simulator.openingDepositRequest(holder) ?? []);
      if (deposits.length > 0) {
        await send(deposits);
        openingIds.push(...deposits.map((request) => request.transactionId));
        onDelivered?.(deposits.map((request) => ({ transactionId: request.transactionId, fraud: false })));
      }
      simulator.markAccountSetUp({ policiesSet, openingsSent: end, ...(setAhead ? { setAhead } : {}) });
      save();
    }
  };

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
  }
  await sendOpenings();
  // A credit counts for the funds check once the ledger has booked it; until then the holder's debits would be
  // declined for want of the opening balance, which is not what the world is about.
  let unsettled = openingIds;
  const deadline = nowMs() + settleTimeoutMs;
  while (unsettled.length > 0) {
    const still: string[] = [];
    await forEachLimited(unsettled, concurrency, async (id) => {
      const status = await api.ledgerStatus(id);
      if (status === 'unknown' || status === 'pending') still.push(id);
    });
    unsettled = still;
    if (unsettled.length === 0) break;
    if (nowMs() >= deadline) {
      logger.warn('opening balances not settled in time; traffic starts anyway', { unsettled: unsettled.length });
      break;
    }
    await pause(SETTLE_POLL_MS);
  }
  const set = holders.length - firstPolicy;
  if (set > 0) logger.info('policy accounts set up', { accounts: set, policyHolders: holders.length });
  return set;
}
