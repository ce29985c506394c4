import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONSOLE_CLIENT_ID } from '../identity-provider/provider.js';
import { signIn } from '../identity-provider/testing/sign-in.js';
import { silentLogger } from '../platform/logger.js';
import type { AccessLogPage, AuditTrail, LabelAccepted } from '../schemas/api.js';
import { type EmbeddedPipeline, startEmbeddedPipeline } from './pipeline.js';
import { apiClient, cardPayment, waitFor } from './testing.js';

/**
 * People on the embedded default: with no provider configured, the built-in OpenID provider runs on its own port with
 * a demo user per role; the demo analyst signs in (authorization code + PKCE, over HTTP) and works with the token,
 * the compliance officer finds the analyst by `user:<sub>` in the access log. Demo API keys keep working beside it.
 */
describe('people signed in through the built-in OpenID provider (embedded)', () => {
  let dataDir: string;
  let pipeline: EmbeddedPipeline;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-people-'));
    pipeline = await startEmbeddedPipeline({
      env: {
        VIGIL_DATA_DIR: dataDir,
        VIGIL_HTTP_PORT: '0',
        VIGIL_SIMULATOR_TPS: '0',
        // Generous: the decision must come back synchronously on a loaded machine.
        VIGIL_DECISION_DEADLINE_MS: '20000',
      },
      logger: silentLogger,
    });
  }, 120_000);

  afterAll(async () => {
    await pipeline?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  const tokenOf = (username: string): Promise<string> => {
    const provider = pipeline.identityProvider!;
    return signIn({
      issuer: provider.issuer,
      clientId: CONSOLE_CLIENT_ID,
      redirectUri: `${pipeline.url}/`,
      resource: 'urn:vigil',
      username,
      password: provider.users.find((u) => u.username === username)!.password,
    });
  };

  it('prints one demo user per person’s role', () => {
    expect(pipeline.identityProvider!.users.map((u) => `${u.username}:${u.role}`)).toEqual([
      'analyst:analyst',
      'compliance:compliance',
      'admin:admin',
    ]);
  });

  it('lets the signed-in analyst read alerts but not the access log, and records them as user:analyst', async () => {
    const analyst = apiClient(pipeline.url, await tokenOf('analyst'));
    expect((await analyst.get('/v1/alerts')).status).toBe(200);
    const refused = await analyst.get<{ code: string }>('/v1/audit/access');
    expect(refused).toEqual({ status: 403, body: expect.objectContaining({ code: 'FORBIDDEN' }) as unknown });

    const compliance = apiClient(pipeline.url, await tokenOf('compliance'));
    const page = await compliance.get<AccessLogPage>('/v1/audit/access?principal=user:analyst');
    expect(page.status).toBe(200);
    expect(page.body.entries.map((e) => [e.principal, e.principalName, e.role, e.action])).toEqual([
      ['user:analyst', 'analyst', 'analyst', 'alerts.list'],
    ]);
    // Negative control: the compliance officer's reads of the log (the one above and this one) are under their id.
    const own = await compliance.get<AccessLogPage>('/v1/audit/access?principal=user:compliance');
    expect(own.body.entries.map((e) => [e.principal, e.action])).toEqual([
      ['user:compliance', 'audit.access-log'],
      ['user:compliance', 'audit.access-log'],
    ]);
  }, 60_000);

  it('records who submitted a transaction and who labelled it by their user:<sub>', async () => {
    const admin = apiClient(pipeline.url, await tokenOf('admin'));
    const decided = await admin.post<{ decision: string }>(
      '/v1/decisions',
      cardPayment('people-tx-1', 'acct-people-payer', 'acct-people-payee', '12.00'),
    );
    expect(decided.status).toBe(200);
    // The answer comes from scoring; a label needs the decision stored by ledger-sink, which may still be writing it.
    const compliance = apiClient(pipeline.url, await tokenOf('compliance'));
    await waitFor('the decision stored', async () =>
      (await compliance.get('/v1/transactions/people-tx-1')).status === 200 ? true : undefined,
    );
    const analyst = apiClient(pipeline.url, await tokenOf('analyst'));
    const labelled = await analyst.post<LabelAccepted>('/v1/labels', {
      transactionId: 'people-tx-1',
      label: 'genuine',
    });
    expect([labelled.status, labelled.body.label.labelledBy]).toEqual([202, 'user:analyst']);

    const trail = await waitFor('the label on the audit trail', async () => {
      const answer = await compliance.get<AuditTrail>('/v1/transactions/people-tx-1');
      return answer.status === 200 && answer.body.labels.length === 1 ? answer.body : undefined;
    });
    expect([trail.transaction.submittedBy, trail.labels.map((l) => l.labelledBy)]).toEqual([
      'user:admin',
      ['user:analyst'],
    ]);
  }, 90_000);

  it('answers 401 to a token that is not one, and keeps the demo API keys working', async () => {
    const forged = apiClient(pipeline.url, 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl');
    const refused = await forged.get<{ code: string; detail: string }>('/v1/alerts');
    expect(refused.status).toBe(401);
    expect(refused.body.detail).toMatch(/^access token refused: /);
    const analystKey = pipeline.apiKeys.find((k) => k.role === 'analyst')!.key;
    expect((await apiClient(pipeline.url, analystKey).get('/v1/alerts')).status).toBe(200);
    // A key has no display name: its access row says so with null.
    const complianceKey = pipeline.apiKeys.find((k) => k.role === 'compliance')!.key;
    const page = await apiClient(pipeline.url, complianceKey).get<AccessLogPage>('/v1/audit/access?action=alerts.list');
    expect(page.body.entries.map((e) => [e.principal.startsWith('analyst:'), e.principalName])).toEqual([
      [true, null],
      [false, 'analyst'],
    ]);
  }, 60_000);
});
