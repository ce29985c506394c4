import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../platform/logger.js';
import type { AccountBalance, SyncDecision, TransactionRequest } from '../schemas/api.js';
import { type EmbeddedPipeline, startEmbeddedPipeline } from './pipeline.js';
import { apiClient, waitFor } from './testing.js';

/**
 * Balances that can say no, on the embedded default: an admin gives an account a policy (no overdraft), the
 * account is funded with 100.00 EUR, and two debits of 100.00 EUR sent at the same time get exactly one APPROVE;
 * the other, and any later debit, is DECLINED with reason INSUFFICIENT_FUNDS. Thresholds are set so that the model
 * alone never reviews or declines: every decline here is the funds check's.
 */
const keys = {
  ingest: 'e2e-ingest-key-0123456789',
  analyst: 'e2e-analyst-key-0123456789',
  admin: 'e2e-admin-key-0123456789',
};
const ACCOUNT = 'acct-funds-1';

function request(id: string, payer: string, payee: string, value: string): TransactionRequest {
  return {
    transactionId: id,
    channel: 'card',
    amount: { value, currency: 'EUR' },
    payer: { accountId: payer },
    payee: { accountId: payee },
    card: { number: '4111111111111111', present: true },
    merchant: { id: 'merchant-funds', terminalId: 'term-funds', mcc: '5411' },
    location: { country: 'FR', latitude: 48.85, longitude: 2.35 },
  };
}

/** Sum of a counter's samples in Prometheus text (every label set). */
function counter(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (match) sum += Number(match[2]);
  }
  return sum;
}

describe('balance policies (embedded)', () => {
  let dataDir: string;
  let pipeline: EmbeddedPipeline;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-funds-'));
    pipeline = await startEmbeddedPipeline({
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
  }, 120_000);

  afterAll(async () => {
    await pipeline?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('approves exactly one of two concurrent debits against the last 100.00 EUR', async () => {
    const admin = apiClient(pipeline.url, keys.admin);
    const ingest = apiClient(pipeline.url, keys.ingest);
    const analyst = apiClient(pipeline.url, keys.analyst);
    const metrics = async (): Promise<string> => {
      const response = await fetch(pipeline.url + '/metrics', { headers: { authorization: `Bearer ${keys.admin}` } });
      return response.text();
    };

    const put = await admin.put(`/v1/accounts/${ACCOUNT}`, {
      type: 'customer',
      currency: 'EUR',
      policy: { overdraftLimit: { value: '0.00', currency: 'EUR' } },
    });
    expect(put.status).toBe(200);

    const funding = await ingest.post<SyncDecision>(
      '/v1/decisions',
      request('funds-in-1', 'bank-funding', ACCOUNT, '100.00'),
    );
    expect(funding.status).toBe(200);
    expect(funding.body.decision).toBe('APPROVE');
    await waitFor('the funding to be posted', async () => {
      const r = await analyst.get<AccountBalance>(`/v1/accounts/${ACCOUNT}/balance`);
      return r.status === 200 && r.body.balances[0]?.posted.amount === '100.00' ? r.body : undefined;
    });
    // The balance reaches scoring through ledger.balances: wait until scoring applied every one published so far.
    await waitFor('scoring to apply the ledger balances', async () => {
      const text = await metrics();
      const published = counter(text, 'vigil_ledger_balances_published_total');
      return published > 0 && counter(text, 'vigil_scoring_ledger_balances_applied_total') >= published
        ? true
        : undefined;
    });

    const answers = await Promise.all(
      ['funds-out-a', 'funds-out-b'].map((id) =>
        ingest.post<SyncDecision>('/v1/decisions', request(id, ACCOUNT, 'merchant-funds', '100.00')),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    const decisions = answers.map((a) => a.body.decision).sort();
    expect(decisions).toEqual(['APPROVE', 'DECLINE']);
    const declined = answers.find((a) => a.body.decision === 'DECLINE')!.body;
    expect(declined.reasons.map((r) => r.code)).toContain('INSUFFICIENT_FUNDS');
    expect(declined.reasons.find((r) => r.code === 'INSUFFICIENT_FUNDS')!.description).toContain('100.00');

    const later = await ingest.post<SyncDecision>(
      '/v1/decisions',
      request('funds-out-c', ACCOUNT, 'merchant-funds', '0.01'),
    );
    expect(later.body.decision).toBe('DECLINE');
    expect(later.body.reasons.map((r) => r.code)).toContain('INSUFFICIENT_FUNDS');

    const balance = await waitFor('the approved debit to be posted', async () => {
      const r = await analyst.get<AccountBalance>(`/v1/accounts/${ACCOUNT}/balance`);
      return r.status === 200 && r.body.balances[0]?.entries === 2 ? r.body : undefined;
    });
    expect(balance.balances[0]!.posted.amount).toBe('0.00');
    expect(balance.balances[0]!.available.amount).toBe('0.00');
  }, 120_000);
});
