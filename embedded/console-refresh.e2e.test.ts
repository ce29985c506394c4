import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { buildConsole } from '../dashboards/console/build.js';
import { silentLogger } from '../platform/logger.js';
import type { TransactionRequest } from '../schemas/api.js';
import { type EmbeddedPipeline, startEmbeddedPipeline } from './pipeline.js';
import { apiClient, chromiumExecutable, waitFor } from './testing.js';

/**
 * An analyst's night shift compressed: access tokens live 5 s (VIGIL_IDP_ACCESS_TOKEN_TTL_S), so the first one the
 * demo analyst gets is refused by Vigil some 15 s after sign-in (5 s and a 10 s clock tolerance,
 * VIGIL_OIDC_CLOCK_TOLERANCE_S). The test waits for exactly that refusal, then drops the page's live connection (a
 * network blip, which makes the console present its token again), raises an alert and reloads the alert history. The
 * console in real Chromium, having refreshed its token at the built-in provider before each expiry, must show the
 * alert, get the history, log no error and see no 401; every refresh presents the refresh token the previous one
 * returned (rotation). A call answered 401 (played by the test, as Vigil answers a token that expired while the page
 * slept) is retried once with a new token. Signing out revokes the refresh token at the provider's revocation
 * endpoint.
 *
 * Negative control: the same shift against a provider that issues no refresh tokens (VIGIL_IDP_REFRESH_TOKENS=false),
 * which is the console as it was before it refreshed: the reconnect finds the token refused and the console says
 * "signed out — sign in again" instead of showing the alert.
 */
const WAIT_MS = 45_000;
/** Time for a 5-second token plus the verifier's 10 s clock tolerance to run out, with room for a slow machine. */
const EXPIRY_WAIT_MS = 120_000;

/** Records the page's WebSockets, so the test can drop the live connection as a network blip would. */
const recordSockets = `{
  const NativeWebSocket = window.WebSocket;
  window.vigilSockets = [];
  window.WebSocket = class extends NativeWebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      window.vigilSockets.push(this);
    }
  };
}`;

function payment(id: string): TransactionRequest {
  return {
    transactionId: id,
    channel: 'card',
    amount: { value: '12.34', currency: 'EUR' },
    payer: { accountId: `acct-${id}` },
    payee: { accountId: 'merchant-refresh' },
    card: { number: '4111111111111111', present: true },
    merchant: { id: 'merchant-refresh', terminalId: 'term-refresh', mcc: '5411' },
    location: { country: 'FR', latitude: 48.85, longitude: 2.35 },
  };
}

interface TokenGrant {
  readonly grantType: string | null;
  /** The refresh token presented, for a refresh grant. */
  readonly presented: string | null;
  readonly status: number;
  readonly body: { access_token?: string; refresh_token?: string; error?: string };
}

/** What one shift showed: the calls the page made and how it ended. */
interface Shift {
  readonly page: Page;
  readonly errors: string[];
  readonly grants: TokenGrant[];
  /** Each call the page made to Vigil's API after the first token was refused: path, status, token sent. */
  readonly laterCalls: { path: string; status: number; token: string }[];
  readonly firstToken: string;
  /** 'alert shown' when the alert raised after the first token's expiry reached the page, else 'signed out'. */
  readonly outcome: 'alert shown' | 'signed out';
  readonly close: () => Promise<void>;
}

/** Vigil's answer to an expired access token (RFC 7807, as platform/http.ts writes it). */
const EXPIRED_ANSWER = {
  status: 401,
  headers: { 'www-authenticate': 'Bearer' },
  contentType: 'application/problem+json',
  body: JSON.stringify({
    type: 'about:blank',
    title: 'Unauthorized',
    status: 401,
    detail: 'access token refused: expired',
    code: 'UNAUTHENTICATED',
  }),
};

/** The endpoints the test checks, from the provider's discovery document as the console reads them. */
async function discoveryOf(
  pipeline: EmbeddedPipeline,
): Promise<{ token_endpoint: string; revocation_endpoint: string }> {
  const response = await fetch(`${pipeline.identityProvider!.issuer}/.well-known/openid-configuration`);
  return (await response.json()) as { token_endpoint: string; revocation_endpoint: string };
}

describe('the console keeps an analyst signed in across token expiries (embedded, Chromium)', () => {
  let browser: Browser;
  const scratch: string[] = [];
  /** One at a time: chDB holds one data directory per process. */
  let running: EmbeddedPipeline | undefined;

  async function startPipeline(refreshTokens: boolean): Promise<EmbeddedPipeline> {
    await running?.close();
    running = undefined;
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-console-refresh-'));
    scratch.push(dataDir);
    const pipeline = await startEmbeddedPipeline({
      env: {
        VIGIL_DATA_DIR: dataDir,
        VIGIL_HTTP_PORT: '0',
        VIGIL_SIMULATOR_TPS: '0',
        VIGIL_REVIEW_THRESHOLD: '0',
        VIGIL_IDP_ACCESS_TOKEN_TTL_S: '5',
        // The console refreshes at four fifths of a token's life: 11 s before Vigil would refuse it.
        VIGIL_OIDC_CLOCK_TOLERANCE_S: '10',
        VIGIL_IDP_REFRESH_TOKENS: String(refreshTokens),
      },
      logger: silentLogger,
    });
    running = pipeline;
    return pipeline;
  }

  beforeAll(async () => {
    await buildConsole();
    browser = await chromium.launch({ executablePath: chromiumExecutable() });
  });

  afterAll(async () => {
    await browser?.close();
    await running?.close();
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  });

  /** Signs the demo analyst in, waits until Vigil refuses their first access token, then drops and raises. */
  async function nightShift(pipeline: EmbeddedPipeline, alertId: string): Promise<Shift> {
    const discovery = await discoveryOf(pipeline);
    const context = await browser.newContext();
    await context.addInitScript(recordSockets);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(`${message.text()} (${message.location().url})`);
    });
    const grants: TokenGrant[] = [];
    const pendingGrants: Promise<void>[] = [];
    let firstToken: string | undefined = undefined;
    const laterCalls: Shift['laterCalls'] = [];
    page.on('response', (response) => {
      const request = response.request();
      if (request.url() === discovery.token_endpoint && request.method() === 'POST') {
        const form = new URLSearchParams(request.postData() ?? '');
        pendingGrants.push(
          response.json().then((body: TokenGrant['body']) => {
            grants.push({
              grantType: form.get('grant_type'),
              presented: form.get('refresh_token'),
              status: response.status(),
              body,
            });
          }),
        );
      }
      const url = new URL(request.url());
      if (firstToken !== undefined && url.origin === pipeline.url && url.pathname.startsWith('/v1/'))
        laterCalls.push({
          path: url.pathname,
          status: response.status(),
          token: (request.headers()['authorization'] ?? '').replace(/^Bearer /, ''),
        });
    });

    await page.goto(`${pipeline.url}/`);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByLabel('User name').fill('analyst');
    await page
      .getByLabel('Password')
      .fill(pipeline.identityProvider!.users.find((u) => u.username === 'analyst')!.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${pipeline.url}/`, { timeout: WAIT_MS });
    await page.getByRole('link', { name: 'Live alerts' }).click();
    await page.locator('#kpi-connection', { hasText: /^live$/ }).waitFor({ timeout: WAIT_MS });
    await Promise.all(pendingGrants);
    const signIn = grants.find((g) => g.grantType === 'authorization_code');
    expect(signIn?.status).toBe(200);
    const first = signIn!.body.access_token!;

    await waitFor(
      'Vigil to refuse the first access token',
      async () => {
        const me = await fetch(`${pipeline.url}/v1/me`, { headers: { authorization: `Bearer ${first}` } });
        return me.status === 401 ? true : undefined;
      },
      EXPIRY_WAIT_MS,
      500,
    );
    firstToken = first;
    // The blip: the console reconnects, presenting its token to Vigil again.
    await page.evaluate('window.vigilSockets.filter((s) => s.readyState === WebSocket.OPEN).forEach((s) => s.close())');
    const ingestKey = pipeline.apiKeys.find((k) => k.role === 'ingest')!.key;
    expect((await apiClient(pipeline.url, ingestKey).post('/v1/transactions', payment(alertId))).status).toBe(202);
    const outcome = await Promise.race([
      page
        .locator(`#alerts > li[data-transaction-id="${alertId}"]`)
        .waitFor({ state: 'attached', timeout: WAIT_MS })
        .then(() => 'alert shown' as const),
      page
        .locator('#signed-out')
        .waitFor({ timeout: WAIT_MS })
        .then(() => 'signed out' as const),
    ]);
    return { page, errors, grants, laterCalls, firstToken: first, outcome, close: () => context.close() };
  }

  it('refreshes before each expiry: after the first token is refused, live alerts and API calls keep working; sign-out revokes', async () => {
    const pipeline = await startPipeline(true);
    const shift = await nightShift(pipeline, 'refresh-after-expiry');
    expect(shift.outcome).toBe('alert shown');

    const reloaded = shift.page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/alerts');
    await shift.page.locator('#reload').click();
    expect((await reloaded).status()).toBe(200);

    // Every call after the first token's expiry went out with a newer token, and none was refused.
    expect(shift.laterCalls.filter((c) => c.status === 401 || c.token === shift.firstToken)).toEqual([]);
    expect(shift.laterCalls.map((c) => c.path)).toContain('/v1/alerts');
    // Rotation as the console must follow it: each refresh presents the token the previous answer gave.
    const refreshes = shift.grants.filter((g) => g.grantType === 'refresh_token');
    expect(refreshes.length).toBeGreaterThan(0);
    const chain = shift.grants.map((g) => g.body.refresh_token);
    expect(refreshes.map((g) => [g.status, g.presented])).toEqual(refreshes.map((_, i) => [200, chain[i]]));
    expect(shift.errors).toEqual([]);

    // A call refused with 401 — what Vigil answers a token that expired while the page slept; played here by the test
    // for one call — is retried once, with a token that is not the refused one, and the analyst stays signed in.
    const before = shift.laterCalls.length;
    await shift.page.route(
      (url) => url.pathname === '/v1/alerts',
      (route) => route.fulfill(EXPIRED_ANSWER),
      {
        times: 1,
      },
    );
    const retried = shift.page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/alerts' && r.status() === 200);
    await shift.page.locator('#reload').click();
    await retried;
    const [refused, again] = shift.laterCalls.slice(before).filter((c) => c.path === '/v1/alerts');
    expect([refused?.status, again?.status, again?.token === refused?.token]).toEqual([401, 200, false]);
    expect(shift.laterCalls.slice(before).filter((c) => c.path === '/v1/alerts').length).toBe(2);
    expect(await shift.page.locator('#signed-out').count()).toBe(0);
    // Chromium logs every 4xx answer: the refused call, once, and nothing else.
    expect(shift.errors).toEqual([
      `Failed to load resource: the server responded with a status of 401 (Unauthorized) (${pipeline.url}/v1/alerts?limit=100)`,
    ]);

    // Signing out revokes the newest refresh token: the provider refuses it afterwards.
    const newest = chain[chain.length - 1]!;
    const discovery = await discoveryOf(pipeline);
    const revoked = shift.page.waitForResponse((r) => r.url() === discovery.revocation_endpoint);
    await shift.page.locator('#sign-out').click();
    expect((await revoked).status()).toBe(200);
    await shift.page.locator('#login').waitFor({ timeout: WAIT_MS });
    const after = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: newest, client_id: 'vigil-console' }),
    });
    expect([after.status, ((await after.json()) as { error: string }).error]).toEqual([400, 'invalid_grant']);
    // The page's storage holds no token any more.
    expect(await shift.page.evaluate('JSON.stringify(Object.keys(sessionStorage))')).toBe('[]');
    await shift.close();
  });

  it('negative control: without refresh tokens the same shift ends signed out, the alert never shown', async () => {
    const pipeline = await startPipeline(false);
    const shift = await nightShift(pipeline, 'no-refresh-after-expiry');
    expect(shift.outcome).toBe('signed out');
    await shift.page.locator('#signed-out', { hasText: 'Signed out — sign in again.' }).waitFor({ timeout: WAIT_MS });
    expect(shift.grants.map((g) => [g.grantType, g.status, g.body.refresh_token])).toEqual([
      ['authorization_code', 200, undefined],
    ]);
    // The console checked its token on the reconnect and was refused with it.
    expect(shift.laterCalls).toEqual([{ path: '/v1/me', status: 401, token: shift.firstToken }]);
    await shift.close();
  });
});
