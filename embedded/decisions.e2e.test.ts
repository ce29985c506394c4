import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../platform/logger.js';
import type { AuditTrail, RulesVersionView, SyncDecision, TransactionRequest } from '../schemas/api.js';
import { type EmbeddedPipeline, startEmbeddedPipeline } from './pipeline.js';
import { apiClient, waitFor } from './testing.js';

/**
 * Synchronous decisions on the embedded default: `POST /v1/decisions` answers with the decision once scored,
 * recorded in the same audit trail as `POST /v1/transactions`. (The 202 at the deadline is tested on ingest's
 * routes, where no decision can arrive: here scoring may well beat any deadline.)
 */
const keys = {
  ingest: 'e2e-ingest-key-0123456789',
  analyst: 'e2e-analyst-key-0123456789',
  compliance: 'e2e-compliance-key-0123456789',
};

function request(id: string, overrides: Partial<TransactionRequest> = {}): TransactionRequest {
  return {
    transactionId: id,
    channel: 'card',
    amount: { value: '42.50', currency: 'EUR' },
    payer: { accountId: 'acct-sync-1' },
    payee: { accountId: 'merchant-77' },
    card: { number: '4111111111111111', present: true },
    merchant: { id: 'merchant-77', terminalId: 'term-9', mcc: '5411' },
    location: { country: 'FR', latitude: 48.85, longitude: 2.35 },
    ...overrides,
  };
}

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown; location: string | null }> {
  const response = await fetch(url + '/v1/decisions', {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.ingest}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json(), location: response.headers.get('location') };
}

describe('synchronous decisions (embedded)', () => {
  let dataDir: string;
  let pipeline: EmbeddedPipeline;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-sync-'));
    pipeline = await startEmbeddedPipeline({
      env: {
        VIGIL_DATA_DIR: dataDir,
        VIGIL_HTTP_PORT: '0',
        VIGIL_SIMULATOR_TPS: '0',
        // Generous: the decision must come back within it on a loaded CI machine; the 202 path is tested with 1 ms.
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

  it('answers 200 with the decision, and records it exactly as the asynchronous path would', async () => {
    const answer = await post(pipeline.url, request('sync-1'));
    expect(answer.status).toBe(200);
    const decision = answer.body as SyncDecision;
    expect(decision.transactionId).toBe('sync-1');
    expect(decision.modelVersion).not.toBe('');
    expect(['APPROVE', 'REVIEW', 'DECLINE']).toContain(decision.decision);
    expect(decision.risk).toBe({ APPROVE: 'low', REVIEW: 'elevated', DECLINE: 'high' }[decision.decision]);

    const compliance = apiClient(pipeline.url, keys.compliance);
    const trail = await waitFor('the audit trail', async () => {
      const r = await compliance.get<AuditTrail>('/v1/transactions/sync-1');
      return r.status === 200 ? r.body : undefined;
    });
    expect(trail.decision.outcome).toBe(decision.decision);
    expect(trail.decision.score).toBe(decision.score);
    expect(trail.timeline.scoredAt).toBe(decision.decidedAt);
  }, 60_000);

  it('records who submitted it and which rules decided it, and serves those rules from the archive', async () => {
    expect((await post(pipeline.url, request('audit-1'))).status).toBe(200);
    const compliance = apiClient(pipeline.url, keys.compliance);
    const trail = await waitFor('the audit trail', async () => {
      const r = await compliance.get<AuditTrail>('/v1/transactions/audit-1');
      return r.status === 200 ? r.body : undefined;
    });
    expect(trail.transaction.source).toBe('API');
    expect(trail.transaction.submittedBy).toMatch(/^ingest:[0-9a-f]{8}$/);
    expect(trail.decision.combinedRisk).toEqual(expect.any(Number));
    expect(trail.decision.combinedRisk!).toBeGreaterThanOrEqual(trail.decision.score - 1e-9);
    expect(trail.decision.unpostedReason).toBeNull();
    expect(trail.decision.rulesVersion).toMatch(/^[0-9a-f]{64}$/);

    const rules = await compliance.get<RulesVersionView>(`/v1/rules/${trail.decision.rulesVersion}`);
    expect(rules.status).toBe(200);
    expect(rules.body.label).toBe('2024.11.1');
    expect(rules.body.version).toBe(trail.decision.rulesVersion);
    // Negative control: a version no decision names is not found.
    expect((await compliance.get(`/v1/rules/${'0'.repeat(64)}`)).status).toBe(404);
  }, 60_000);

  it('gives 40 concurrent requests with one transaction id one decision', async () => {
    const answers = await Promise.all(Array.from({ length: 40 }, () => post(pipeline.url, request('sync-40'))));
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 40 }, () => 200));
    const distinct = new Set(answers.map((a) => JSON.stringify(a.body)));
    expect(distinct.size).toBe(1);
    const analyst = apiClient(pipeline.url, keys.analyst);
    const trail = await waitFor('the audit trail', async () => {
      const r = await analyst.get<AuditTrail>('/v1/transactions/sync-40');
      return r.status === 200 ? r.body : undefined;
    });
    expect(trail.decisionRecords).toBe(1);
  }, 60_000);

  it('serves a decision made on the asynchronous path at GET /v1/decisions/{id}, with the ledger state', async () => {
    const ingest = apiClient(pipeline.url, keys.ingest);
    expect((await ingest.post('/v1/transactions', request('async-1'))).status).toBe(202);
    const fetched = await waitFor('the decision to be recorded and posted', async () => {
      const r = await ingest.get<SyncDecision>('/v1/decisions/async-1');
      return r.status === 200 && r.body.ledger.status !== 'pending' ? r.body : undefined;
    });
    expect(fetched.transactionId).toBe('async-1');
    expect(fetched.ledger.status).toBe(fetched.decision === 'DECLINE' ? 'not_posted' : 'posted');
    expect((await ingest.get('/v1/decisions/never-sent')).status).toBe(404);
  }, 60_000);

  it('refuses other content under the same id (409), a bad deadline (400 at the header), and other roles (403)', async () => {
    expect((await post(pipeline.url, request('sync-1', { amount: { value: '1.00', currency: 'EUR' } }))).status).toBe(
      409,
    );
    const bad = await post(pipeline.url, request('sync-bad'), { 'vigil-decision-deadline-ms': '0' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('/headers/vigil-decision-deadline-ms');
    const asAnalyst = await fetch(pipeline.url + '/v1/decisions', {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.analyst}`, 'content-type': 'application/json' },
      body: JSON.stringify(request('sync-role')),
    });
    expect(asAnalyst.status).toBe(403);
    const analyst = apiClient(pipeline.url, keys.analyst);
    expect((await analyst.get('/v1/decisions/sync-1')).status).toBe(403);
  }, 60_000);
});
