import { createLogger, silentLogger } from '../platform/logger.js';
import type { AccountRequest, TransactionRequest } from '../schemas/api.js';
import { type AccountDeskApi, type LedgerStatus, setUpPolicyAccounts } from './account-desk.js';
import { accountRequestOf } from './balance-policies.js';
import { TrafficSimulator } from './generator.js';

const options = { seed: 9, customers: 60, terminals: 200, policyShare: 0.5 } as const;

/**
 * A desk API that records every `PUT` and fails the one numbered `failAt` (1-based), once; the ledger says
 * `pending` for each transaction the first `pendingLooks` times it is asked.
 */
function recordingApi(
  failAt?: number,
  pendingLooks = 0,
): AccountDeskApi & { calls: Array<[string, AccountRequest]>; looks: Map<string, number> } {
  const calls: Array<[string, AccountRequest]> = [];
  const looks = new Map<string, number>();
  let n = 0;
  return {
    calls,
    looks,
    ledgerStatus(transactionId: string): Promise<LedgerStatus> {
      const seen = (looks.get(transactionId) ?? 0) + 1;
      looks.set(transactionId, seen);
      return Promise.resolve(seen <= pendingLooks ? 'pending' : 'posted');
    },
    putAccount(accountId: string, request: AccountRequest) {
      n += 1;
      if (n === failAt) return Promise.reject(new Error('PUT /v1/accounts/{id} answered 503'));
      calls.push([accountId, request]);
      return Promise.resolve();
    },
  };
}

describe('setUpPolicyAccounts', () => {
  it('sets every holder’s policy once, then pays in the opening balances, and records the progress', async () => {
    const simulator = new TrafficSimulator(options);
    const holders = simulator.policyHolders;
    const api = recordingApi();
    const sent: TransactionRequest[] = [];
    const truth: Array<{ transactionId: string; fraud: boolean }> = [];
    let saves = 0;
    const set = await setUpPolicyAccounts({
      simulator,
      api,
      send: (batch) => Promise.resolve(void sent.push(...batch)),
      onDelivered: (delivered) => void truth.push(...delivered),
      save: () => void saves++,
      logger: silentLogger,
      chunkSize: 10,
      concurrency: 4,
    });
    expect(set).toBe(holders.length);
    expect(api.calls).toEqual(holders.map((h) => [h.customer.accountId, accountRequestOf(h)]));
    const withOpening = holders.filter((h) => h.openingMinor > 0);
    expect(sent.map((r) => r.transactionId)).toEqual(withOpening.map((h) => `sim-9-open-${h.customer.index}`));
    expect(sent.map((r) => r.payee.accountId)).toEqual(withOpening.map((h) => h.customer.accountId));
    expect(sent.every((r) => r.eventTime === new Date(simulator.options.startTimeMs).toISOString())).toBe(true);
    expect(truth).toEqual(sent.map((r) => ({ transactionId: r.transactionId, fraud: false })));
    expect(simulator.accountSetUp).toEqual({ policiesSet: holders.length, openingsSent: holders.length, setAhead: [] });
    expect(saves).toBe(2 * Math.ceil(holders.length / 10));
    // A world already set up does nothing more.
    expect(
      await setUpPolicyAccounts({
        simulator,
        api,
        send: () => Promise.reject(new Error('sent')),
        save: () => {},
        logger: silentLogger,
      }),
    ).toBe(0);
    expect(api.calls).toHaveLength(holders.length);
  });

  it('after a failed call, keeps what was done and a retry sets only the rest', async () => {
    const simulator = new TrafficSimulator(options);
    const holders = simulator.policyHolders;
    const api = recordingApi(14);
    const sent: TransactionRequest[] = [];
    const run = () =>
      setUpPolicyAccounts({
        simulator,
        api,
        send: (batch) => Promise.resolve(void sent.push(...batch)),
        save: () => {},
        logger: silentLogger,
        chunkSize: 10,
        concurrency: 1,
      });
    await expect(run()).rejects.toThrow(/503/);
    // Policies: the first chunk whole, the second up to the holder whose call failed (the 14th call); openings wait for all.
    expect(simulator.accountSetUp).toEqual({ policiesSet: 13, openingsSent: 0, setAhead: [] });
    await run();
    const accounts = api.calls.map(([id]: [string, AccountRequest]) => id);
    expect(accounts).toEqual(holders.map((h) => h.customer.accountId));
    expect(new Set(accounts).size).toBe(accounts.length);
    const ids = sent.map((r) => r.transactionId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(holders.filter((h) => h.openingMinor > 0).length);
    // Negative control: with its progress forgotten, a retry sets the first holders again, which the check catches.
    simulator.markAccountSetUp({ policiesSet: 0, openingsSent: 0 });
    await run();
    expect(new Set(api.calls.map(([id]: [string, AccountRequest]) => id)).size).toBeLessThan(api.calls.length);
  });

  it('waits until the ledger has settled the opening balances, and gives up at its deadline with a warning', async () => {
    const simulator = new TrafficSimulator(options);
    const api = recordingApi(undefined, 3);
    const pauses: number[] = [];
    const sent: string[] = [];
    await setUpPolicyAccounts({
      simulator,
      api,
      send: (batch) => Promise.resolve(void sent.push(...batch.map((r) => r.transactionId))),
      save: () => {},
      logger: silentLogger,
      pause: (ms) => Promise.resolve(void pauses.push(ms)),
    });
    // Three looks say pending, the fourth posted: three pauses, and each opening looked at four times.
    expect(pauses).toEqual([250, 250, 250]);
    expect([...api.looks.values()].every((n) => n === 4)).toBe(true);
    expect([...api.looks.keys()].sort()).toEqual([...sent].sort());

    const warnings: string[] = [];
    let now = 0;
    const stuck = recordingApi(undefined, Infinity);
    await setUpPolicyAccounts({
      simulator: new TrafficSimulator(options),
      api: stuck,
      send: () => Promise.resolve(),
      save: () => {},
      logger: createLogger({ write: (line) => void warnings.push((JSON.parse(line) as { msg: string }).msg) }),
      settleTimeoutMs: 1_000,
      nowMs: () => now,
      pause: (ms) => Promise.resolve(void (now += ms)),
    });
    expect(warnings).toContain('opening balances not settled in time; traffic starts anyway');
    expect([...stuck.looks.values()].every((n) => n === 5)).toBe(true);
  });
});
