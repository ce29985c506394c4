import { silentLogger } from '../platform/logger.js';
import type { AccountRequest, TransactionRequest } from '../schemas/api.js';
import { type AccountAdminApi, setUpPolicyAccounts } from './account-desk.js';
import { accountRequestOf } from './balance-policies.js';
import { TrafficSimulator } from './generator.js';

const options = { seed: 9, customers: 60, terminals: 200, policyShare: 0.5 } as const;

/** An admin API that records every call and fails the call numbered `failAt` (1-based), once. */
function recordingApi(failAt?: number): AccountAdminApi & { calls: Array<[string, AccountRequest]> } {
  const calls: Array<[string, AccountRequest]> = [];
  let n = 0;
  return {
    calls,
    putAccount(accountId, request) {
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
    // The first chunk whole, and the second up to the holder whose call failed (the 14th call).
    expect(simulator.accountSetUp).toEqual({ policiesSet: 13, openingsSent: 10, setAhead: [] });
    await run();
    const accounts = api.calls.map(([id]) => id);
    expect(accounts).toEqual(holders.map((h) => h.customer.accountId));
    expect(new Set(accounts).size).toBe(accounts.length);
    const ids = sent.map((r) => r.transactionId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(holders.filter((h) => h.openingMinor > 0).length);
    // Negative control: with its progress forgotten, a retry sets the first holders again, which the check catches.
    simulator.markAccountSetUp({ policiesSet: 0, openingsSent: 0 });
    await run();
    expect(new Set(api.calls.map(([id]) => id)).size).toBeLessThan(api.calls.length);
  });
});
