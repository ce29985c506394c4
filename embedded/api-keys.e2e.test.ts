import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiKeyCreated, ApiKeyList, ApiKeyView, AuditTrail, TransactionRequest } from '../schemas/api.js';
import {
  type PipelineProcess,
  apiClient,
  killPipelineProcess,
  startPipelineProcess,
  stopPipelineProcess,
  waitFor,
} from './testing.js';

/**
 * Managed API keys on the embedded default: an admin creates a key for a feed (its secret shown once), the feed's
 * transactions are recorded under the key's principal id, a rotation keeps the old key working for its overlap
 * beside the new one, a revocation stops a key at once, and all of it survives a restart (the records are on the
 * log, read whole again at start).
 */
const keys = {
  admin: 'api-keys-e2e-admin-key-0123456789',
  compliance: 'api-keys-e2e-compliance-key-01234',
  analyst: 'api-keys-e2e-analyst-key-0123456',
};

function payment(id: string): TransactionRequest {
  return {
    transactionId: id,
    channel: 'ach',
    amount: { value: '12.00', currency: 'USD' },
    payer: { accountId: 'acct-feed-payer' },
    payee: { accountId: 'acct-feed-payee' },
  };
}

describe('managed API keys (embedded)', () => {
  let dataDir: string;
  let running: PipelineProcess | undefined;
  const env = {
    VIGIL_API_KEYS: Object.entries(keys)
      .map(([role, key]) => `${role}:${key}`)
      .join(','),
  };

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-api-keys-e2e-'));
  });
  afterAll(async () => {
    if (running) await killPipelineProcess(running);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates, uses, rotates and revokes keys, recording the feed under its key, across a restart', async () => {
    running = await startPipelineProcess(dataDir, env);
    const admin = apiClient(running.url, keys.admin);

    // Only admins manage keys; bad requests name every field.
    expect((await apiClient(running.url, keys.analyst).get('/v1/api-keys')).status).toBe(403);
    const bad = await admin.post<{ problems: Array<{ path: string }> }>('/v1/api-keys', {
      role: 'root',
      name: '',
      expiresAt: '2000-01-01T00:00:00Z',
      scope: 'all',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.problems.map((p) => p.path)).toEqual(['/role', '/name', '/expiresAt', '/scope']);

    const created = await admin.post<ApiKeyCreated>('/v1/api-keys', { role: 'ingest', name: 'acquirer-feed' });
    expect(created.status).toBe(201);
    const first = created.body;
    expect(first).toMatchObject({ role: 'ingest', name: 'acquirer-feed', status: 'active', expiresAt: null });
    expect(first.createdBy).toMatch(/^admin:[0-9a-f]{8}$/);

    // The feed's transaction is accepted and its audit trail names the key's principal.
    const feed = apiClient(running.url, first.key);
    expect((await feed.post('/v1/transactions', payment('feed-1'))).status).toBe(202);
    const compliance = apiClient(running.url, keys.compliance);
    const trail = await waitFor('the audit trail of feed-1', async () => {
      const r = await compliance.get<AuditTrail>('/v1/transactions/feed-1');
      return r.status === 200 ? r.body : undefined;
    });
    expect(trail.transaction.submittedBy).toBe(first.principalId);

    // The list never carries a secret or a digest.
    const listed = await admin.get<ApiKeyList>('/v1/api-keys');
    expect(listed.body.keys.map((k) => k.keyId)).toEqual([first.keyId]);
    expect(JSON.stringify(listed.body)).not.toContain(first.key);
    expect(Object.keys(listed.body.keys[0]!)).not.toContain('digest');

    // Rotation: a new key, and the old one keeps working for the overlap (an hour here).
    const rotationNotBeforeMs = Date.now();
    const rotated = await admin.post<ApiKeyCreated & { replaces: ApiKeyView }>(`/v1/api-keys/${first.keyId}/rotate`, {
      overlapSeconds: 3600,
    });
    const rotationNotAfterMs = Date.now();
    expect(rotated.status).toBe(201);
    const second = rotated.body;
    expect(second.replaces).toMatchObject({ keyId: first.keyId, rotatedTo: second.keyId, status: 'active' });
    // The overlap runs from the moment the server rotated, somewhere between the two readings around the call
    // (one machine clock): exactly an hour from then, however long the call took.
    const overlapEndMs = Date.parse(second.replaces.expiresAt!);
    expect(overlapEndMs - 3_600_000).toBeGreaterThanOrEqual(rotationNotBeforeMs);
    expect(overlapEndMs - 3_600_000).toBeLessThanOrEqual(rotationNotAfterMs);
    expect((await feed.post('/v1/transactions', payment('feed-2'))).status).toBe(202);
    expect((await apiClient(running.url, second.key).post('/v1/transactions', payment('feed-3'))).status).toBe(202);
    expect((await admin.post(`/v1/api-keys/${first.keyId}/rotate`, {})).status).toBe(400);

    // Revocation stops the new key at once; the old one is still within its overlap.
    const revoked = await admin.delete<ApiKeyView>(`/v1/api-keys/${second.keyId}`);
    expect(revoked.body).toMatchObject({ status: 'revoked', revokedBy: first.createdBy });
    expect((await apiClient(running.url, second.key).post('/v1/transactions', payment('feed-4'))).status).toBe(401);
    expect((await admin.delete('/v1/api-keys/key_ffffffffffff')).status).toBe(404);

    // A restart reads the keys back from the log: same answers.
    expect(await stopPipelineProcess(running)).toBe(0);
    running = await startPipelineProcess(dataDir, env);
    const after = (key: string, id: string) =>
      apiClient(running!.url, key)
        .post('/v1/transactions', payment(id))
        .then((r) => r.status);
    expect(await after(second.key, 'feed-5')).toBe(401);
    expect(await after(first.key, 'feed-6')).toBe(202);
    // Negative control: a key never created is refused the same way.
    expect(await after('vk_never-created-0123456789abcdef0123', 'feed-7')).toBe(401);
    const again = await apiClient(running.url, keys.admin).get<ApiKeyList>('/v1/api-keys');
    expect(again.body.keys.map((k) => [k.keyId, k.status])).toEqual(
      [
        [first.keyId, 'active'],
        [second.keyId, 'revoked'],
      ].sort(([a], [b]) => a!.localeCompare(b!)),
    );
    expect(await stopPipelineProcess(running)).toBe(0);
    running = undefined;
  }, 240_000);
});
