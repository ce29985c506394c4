import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { buildConsole } from '../dashboards/console/build.js';
import { silentLogger } from '../platform/logger.js';
import type { AccessLogPage } from '../schemas/api.js';
import { type EmbeddedPipeline, startEmbeddedPipeline } from './pipeline.js';
import { apiClient, chromiumExecutable, waitFor } from './testing.js';

/**
 * The console's sign-in in real headless Chromium: the page sends the browser to the built-in OpenID provider
 * (authorization code + PKCE, made in the page with WebCrypto), the demo analyst types their user name and password
 * there, and back on the console the code is exchanged for an access token that opens the live stream — which the
 * access log records under `user:analyst`. The demo compliance officer gets through the provider but not into the
 * analyst console (the negative control: the console checks the role, not merely that a sign-in happened).
 */
const WAIT_MS = 45_000;

describe('console sign-in through the built-in OpenID provider (embedded, Chromium)', () => {
  let dataDir: string;
  let pipeline: EmbeddedPipeline;
  let browser: Browser;

  beforeAll(async () => {
    await buildConsole();
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-console-sign-in-'));
    pipeline = await startEmbeddedPipeline({
      env: { VIGIL_DATA_DIR: dataDir, VIGIL_HTTP_PORT: '0', VIGIL_SIMULATOR_TPS: '0' },
      logger: silentLogger,
    });
    browser = await chromium.launch({ executablePath: chromiumExecutable() });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await pipeline?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  async function signInAs(username: string) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${pipeline.url}/`);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByLabel('User name').fill(username);
    await page
      .getByLabel('Password')
      .fill(pipeline.identityProvider!.users.find((u) => u.username === username)!.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${pipeline.url}/`, { timeout: WAIT_MS });
    return { context, page, errors };
  }

  it('signs the demo analyst in and opens the live stream as user:analyst', async () => {
    const { context, page, errors } = await signInAs('analyst');
    await page.locator('#console').waitFor({ timeout: WAIT_MS });
    const complianceKey = pipeline.apiKeys.find((k) => k.role === 'compliance')!.key;
    const opened = await waitFor(
      'the live session on the access log',
      async () => {
        const log = await apiClient(pipeline.url, complianceKey).get<AccessLogPage>(
          '/v1/audit/access?action=live.open&principal=user:analyst',
        );
        return log.body.entries.length > 0 ? log.body.entries : undefined;
      },
      WAIT_MS,
    );
    expect(opened.map((e) => [e.principal, e.principalName])).toEqual([['user:analyst', 'analyst']]);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('lets the demo administrator work in the analysts’ console, recorded as user:admin', async () => {
    const { context, page, errors } = await signInAs('admin');
    await page.locator('#console').waitFor({ timeout: WAIT_MS });
    await page.locator('#signed-in-as', { hasText: 'admin' }).waitFor({ timeout: WAIT_MS });
    const complianceKey = pipeline.apiKeys.find((k) => k.role === 'compliance')!.key;
    const opened = await waitFor(
      'the administrator’s live session on the access log',
      async () => {
        const log = await apiClient(pipeline.url, complianceKey).get<AccessLogPage>(
          '/v1/audit/access?action=live.open&principal=user:admin',
        );
        return log.body.entries.length > 0 ? log.body.entries : undefined;
      },
      WAIT_MS,
    );
    expect(opened.map((e) => [e.principal, e.role])).toEqual([['user:admin', 'admin']]);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
});
