import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../platform/logger.js';
import type { AccountBalance, SyncDecision } from '../schemas/api.js';
import { plantNoOpReserve } from '../scoring/testing/planted-faults.js';
import { type EmbeddedPipeline, startEmbeddedPipeline } from './pipeline.js';
import { type ApiResponse, apiClient, cardPayment, metricSum, waitFor, waitForScoringBalance } from './testing.js';

/**
 * Balances that can say no, on the embedded default: an admin gives an account a policy (no overdraft), the
 * account is funded with 100.00 EUR, and two debits of 100.00 EUR sent at the same time get exactly one APPROVE;
 * the other, and any later debit, is DECLINED with reason INSUFFICIENT_FUNDS. Thresholds are set so that the model
 * alone never reviews or declines: every decline here is the funds check's. The negative control runs the same
 * race with the guard's `reserve` planted as a no-op: both debits are approved. distributed/funds.e2e.test.ts runs
 * the same scenario with every stage its own process on Kafka.
 */
const keys = {
  ingest: 'e2e-ingest-key-0123456789',
  analyst: 'e2e-analyst-key-0123456789',
  admin: 'e2e-admin-key-0123456789',
};
const ACCOUNT = 'acct-funds-1';

async function withPipeline<T>(body: (pipeline: EmbeddedPipeline) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-funds-'));
  try {
    const pipeline = await startEmbeddedPipeline({
      env: {
        VIGIL_DATA_DIR: dataDir,
        VIGIL_HTTP_PORT: '0',
        VIGIL_SIMULATOR_TPS: '0',
        VIGIL_REVIEW_THRESHOLD: '1',
        VIGIL_DECLINE_THRESHOLD: '1',
        VIGIL_DECISION_DEADLINE_MS: '20000',
        VIGIL_API_KEYS: Object.entries(keys)
          .map(([role, key]) => `${role}:${key}`)
          .join(','),
      },
      logger: silentLogger,
    });
    try {
      return await body(pipeline);
    } finally {
      await pipeline.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Gives ACCOUNT its policy, funds it with 100.00 EUR, waits until scoring has the posted balance, then sends two
 * 100.00 EUR debits at once; resolves with their answers.
 */
async function raceForTheLast100(pipeline: EmbeddedPipeline): Promise<Array<ApiResponse<SyncDecision>>> {
  const admin = apiClient(pipeline.url, keys.admin);
  const ingest = apiClient(pipeline.url, keys.ingest);
  const analyst = apiClient(pipeline.url, keys.analyst);

  const put = await admin.put(`/v1/accounts/${ACCOUNT}`, {
    type: 'customer',
    currency: 'EUR',
    policy: { overdraftLimit: { value: '0.00', currency: 'EUR' } },
  });
  expect(put.status).toBe(200);
  const scoringMetric = async (name: string): Promise<number> => {
    const response = await fetch(pipeline.url + '/metrics', { headers: { authorization: `Bearer ${keys.admin}` } });
    return metricSum(await response.text(), name);
  };
  // The policy reaches scoring on the accounts topic, apart from the balances below: the debits must find it.
  await waitFor('scoring to apply the policy', async () =>
    (await scoringMetric('vigil_scoring_accounts_applied_total')) === 1 ? true : undefined,
  );

  const funding = await ingest.post<SyncDecision>(
    '/v1/decisions',
    cardPayment('funds-in-1', 'bank-funding', ACCOUNT, '100.00'),
  );
  expect(funding.status).toBe(200);
  expect(funding.body.decision).toBe('APPROVE');
  await waitFor('the funding to be posted', async () => {
    const r = await analyst.get<AccountBalance>(`/v1/accounts/${ACCOUNT}/balance`);
    return r.status === 200 && r.body.balances[0]?.posted.amount === '100.00' ? r.body : undefined;
  });
  // The balance reaches scoring through ledger.balances: wait until scoring applied the one showing the funding.
  await waitForScoringBalance(pipeline.bus, { accountId: ACCOUNT, currency: 'EUR', postedMinor: 10_000n }, () =>
    scoringMetric('vigil_scoring_ledger_balances_applied_total'),
  );

  return Promise.all(
    ['funds-out-a', 'funds-out-b'].map((id) =>
      ingest.post<SyncDecision>('/v1/decisions', cardPayment(id, ACCOUNT, 'merchant-funds', '100.00')),
    ),
  );
}

describe('balance policies (embedded)', () => {
  it('approves exactly one of two concurrent debits against the last 100.00 EUR', async () => {
    await withPipeline(async (pipeline) => {
      const ingest = apiClient(pipeline.url, keys.ingest);
      const analyst = apiClient(pipeline.url, keys.analyst);

      const answers = await raceForTheLast100(pipeline);
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
      const decisions = answers.map((a) => a.body.decision).sort();
      expect(decisions).toEqual(['APPROVE', 'DECLINE']);
      const declined = answers.find((a) => a.body.decision === 'DECLINE')!.body;
      expect(declined.reasons.map((r) => r.code)).toContain('INSUFFICIENT_FUNDS');
      expect(declined.reasons.find((r) => r.code === 'INSUFFICIENT_FUNDS')!.description).toContain('100.00');

      const later = await ingest.post<SyncDecision>(
        '/v1/decisions',
        cardPayment('funds-out-c', ACCOUNT, 'merchant-funds', '0.01'),
      );
      expect(later.body.decision).toBe('DECLINE');
      expect(later.body.reasons.map((r) => r.code)).toContain('INSUFFICIENT_FUNDS');

      const balance = await waitFor('the approved debit to be posted', async () => {
        const r = await analyst.get<AccountBalance>(`/v1/accounts/${ACCOUNT}/balance`);
        return r.status === 200 && r.body.balances[0]?.entries === 2 ? r.body : undefined;
      });
      expect(balance.balances[0]!.posted.amount).toBe('0.00');
      expect(balance.balances[0]!.available.amount).toBe('0.00');
    });
  }, 120_000);

  it('negative control: with reserve planted as a no-op, both concurrent debits are approved', async () => {
    const undo = plantNoOpReserve();
    try {
      const answers = await withPipeline(raceForTheLast100);
      expect(answers.map((a) => [a.status, a.body.decision])).toEqual([
        [200, 'APPROVE'],
        [200, 'APPROVE'],
      ]);
    } finally {
      undo();
    }
  }, 120_000);
});
