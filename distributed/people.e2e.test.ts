import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONSOLE_CLIENT_ID, type IdentityProvider, startIdentityProvider } from '../identity-provider/provider.js';
import { signIn } from '../identity-provider/testing/sign-in.js';
import { silentLogger } from '../platform/logger.js';
import { apiClient } from '../embedded/testing.js';
import { type ServiceProcess, deleteTestNamespace, startService, stopService } from './processes.js';

/**
 * Distributed mode points at the bank's OpenID provider by issuer URL. The built-in provider, run as its own process
 * (identity-provider/main.ts), stands in for the bank's; an ingest service on Kafka, given only its issuer URL and
 * audience, accepts the tokens its users sign in for — and refuses a token from another issuer.
 */
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const brokers = (process.env.VIGIL_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const namespace = `people-e2e-${Date.now()}`;
const AUDIENCE = 'urn:vigil:bank-test';
const REDIRECT = 'http://127.0.0.1:1/console/';
const users = { admin: 'bank-admin-password-0123', analyst: 'bank-analyst-password-0123' };

/** Starts identity-provider/main.ts; resolves with its issuer once it logged "identity provider started". */
function startProviderProcess(): Promise<{ child: ChildProcess; issuer: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'identity-provider/main.ts')], {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      VIGIL_IDP_PORT: '0',
      VIGIL_OIDC_AUDIENCE: AUDIENCE,
      VIGIL_IDP_REDIRECT_URIS: REDIRECT,
      VIGIL_IDP_USERS: Object.entries(users)
        .map(([role, password]) => `${role}:${role}:${password}`)
        .join(','),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString('utf8');
      const line = log.split('\n').find((l) => l.includes('"identity provider started"'));
      if (line) resolve({ child, issuer: (JSON.parse(line) as { issuer: string }).issuer });
    });
    child.once('exit', (code) => reject(new Error(`identity provider exited with ${code}: ${log.slice(-3000)}`)));
  });
}

describe('people in distributed mode, signed in at a provider running as its own process', () => {
  let dataDir: string;
  let provider: { child: ChildProcess; issuer: string } | undefined;
  let otherIssuer: IdentityProvider | undefined;
  let ingest: ServiceProcess | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-people-dist-'));
    provider = await startProviderProcess();
    ingest = await startService(['ingest'], {
      VIGIL_KAFKA_BROKERS: brokers.join(','),
      VIGIL_KAFKA_NAMESPACE: namespace,
      VIGIL_API_KEYS: 'admin:people-e2e-admin-key-0123456789',
      VIGIL_TOKENIZATION_KEY: 'people-e2e-tokenization-key-0123456789ab',
      VIGIL_HTTP_HOST: '127.0.0.1',
      VIGIL_HTTP_PORT: '0',
      VIGIL_PARTITIONS: '2',
      VIGIL_DATA_DIR: join(dataDir, 'ingest'),
      VIGIL_LOG_LEVEL: 'info',
      VIGIL_OIDC_ISSUER: provider.issuer,
      VIGIL_OIDC_AUDIENCE: AUDIENCE,
    });
    otherIssuer = await startIdentityProvider({
      host: '127.0.0.1',
      port: 0,
      audience: AUDIENCE,
      users: [{ role: 'admin', username: 'admin', password: users.admin }],
      accessTokenTtlS: 300,
      logger: silentLogger,
    });
    otherIssuer.open([REDIRECT]);
  }, 120_000);

  afterAll(async () => {
    if (ingest) await stopService(ingest);
    provider?.child.kill('SIGTERM');
    await otherIssuer?.close();
    await deleteTestNamespace(brokers, namespace);
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  const tokenAt = (issuer: string, role: keyof typeof users): Promise<string> =>
    signIn({
      issuer,
      clientId: CONSOLE_CLIENT_ID,
      redirectUri: REDIRECT,
      resource: AUDIENCE,
      username: role,
      password: users[role],
    });

  it('accepts its admin’s token, refuses its analyst on an ingest route (403), and a token from another issuer (401)', async () => {
    const admin = apiClient(ingest!.url, await tokenAt(provider!.issuer, 'admin'));
    // Past authorisation: the empty transaction is refused by validation, not by the guard.
    const invalid = await admin.post<{ code: string }>('/v1/transactions', {});
    expect([invalid.status, invalid.body.code]).toEqual([400, 'VALIDATION_FAILED']);

    const analyst = apiClient(ingest!.url, await tokenAt(provider!.issuer, 'analyst'));
    expect((await analyst.post('/v1/transactions', {})).status).toBe(403);

    const stranger = apiClient(ingest!.url, await tokenAt(otherIssuer!.issuer, 'admin'));
    const refused = await stranger.post<{ code: string; detail: string }>('/v1/transactions', {});
    expect([refused.status, refused.body.detail]).toEqual([
      401,
      'access token refused: not signed by the configured issuer',
    ]);
  }, 60_000);
});
