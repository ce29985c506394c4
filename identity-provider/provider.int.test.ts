import { ApiKeyAuthenticator, Role, parseApiKeys } from '../platform/auth.js';
import type { Clock } from '../platform/clock.js';
import { silentLogger } from '../platform/logger.js';
import { type OidcConfig, OidcTokenVerifier, parseRoleMap } from '../platform/oidc.js';
import { CONSOLE_CLIENT_ID, type IdentityProvider, generateDemoUsers, startIdentityProvider } from './provider.js';
import { signIn, signInForTokens } from './testing/sign-in.js';

/**
 * People's access tokens end to end against the real oidc-provider: signed in through the authorization code flow
 * with PKCE over HTTP, then verified as Vigil verifies them — and refused when expired, from another issuer, or for
 * another audience. A second provider instance on its own port stands in for "another issuer". Refresh tokens rotate:
 * each serves once, and one presented again is refused and ends its whole chain.
 */
const AUDIENCE = 'urn:vigil:test';
const REDIRECT = 'http://127.0.0.1:1/console/';
const users = generateDemoUsers();
const passwordOf = (username: string): string => users.find((u) => u.username === username)!.password;
let nowMs = Date.now();
const clock: Clock = { nowMs: () => nowMs };

const start = async (audience: string, refreshTokens = true): Promise<IdentityProvider> => {
  const provider = await startIdentityProvider({
    host: '127.0.0.1',
    port: 0,
    audience,
    users,
    accessTokenTtlS: 300,
    refreshTokens,
    logger: silentLogger,
  });
  provider.open([REDIRECT]);
  return provider;
};

const configFor = (issuer: string, overrides: Partial<OidcConfig> = {}): OidcConfig => ({
  issuer,
  audience: AUDIENCE,
  roleClaim: 'roles',
  roleMap: parseRoleMap('analyst:analyst,compliance:compliance,admin:admin'),
  clockToleranceS: 30,
  ...overrides,
});

let ours: IdentityProvider;
let other: IdentityProvider;
beforeAll(async () => {
  ours = await start(AUDIENCE);
  other = await start(AUDIENCE);
}, 30_000);
afterAll(async () => {
  await ours.close();
  await other.close();
});
beforeEach(() => {
  nowMs = Date.now();
});

const signInAt = (provider: IdentityProvider, username: string, resource = AUDIENCE): Promise<string> =>
  signIn({
    issuer: provider.issuer,
    clientId: CONSOLE_CLIENT_ID,
    redirectUri: REDIRECT,
    resource,
    username,
    password: passwordOf(username),
  });

describe('signing in at the built-in provider', () => {
  it('gives the demo analyst a token Vigil accepts as user:analyst with the analyst role', async () => {
    const auth = new ApiKeyAuthenticator([], undefined, new OidcTokenVerifier(configFor(ours.issuer), clock));
    const token = await signInAt(ours, 'analyst');
    expect(await auth.authenticate(`Bearer ${token}`)).toEqual({
      id: 'user:analyst',
      role: Role.analyst,
      name: 'analyst',
    });
    const compliance = await signInAt(ours, 'compliance');
    expect(await auth.authenticate(`Bearer ${compliance}`)).toEqual({
      id: 'user:compliance',
      role: Role.compliance,
      name: 'compliance',
    });
  }, 30_000);

  it('refuses a wrong password, and an authorization request without PKCE', async () => {
    await expect(
      signIn({
        issuer: ours.issuer,
        clientId: CONSOLE_CLIENT_ID,
        redirectUri: REDIRECT,
        resource: AUDIENCE,
        username: 'analyst',
        password: passwordOf('compliance'),
      }),
    ).rejects.toThrow(/sign-in refused \(status 401\).*Wrong user name or password/s);
    const withoutPkce = new URL(`${ours.issuer}/auth`);
    withoutPkce.search = new URLSearchParams({
      client_id: CONSOLE_CLIENT_ID,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid',
    }).toString();
    const refused = await fetch(withoutPkce, { redirect: 'manual' });
    // The error goes back to the client's redirect URI (RFC 6749 §4.1.2.1), never to a sign-in form.
    const location = new URL(refused.headers.get('location') ?? '', ours.issuer);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toBe(
      'Authorization Server policy requires PKCE to be used for this request',
    );
  }, 30_000);
});

/** The token endpoint's answer to a refresh grant (RFC 6749 §6), as the console sends it: no client secret. */
async function refresh(
  tokenEndpoint: string,
  refreshToken: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: CONSOLE_CLIENT_ID,
    }).toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const signInForTokensAt = (provider: IdentityProvider, username: string) =>
  signInForTokens({
    issuer: provider.issuer,
    clientId: CONSOLE_CLIENT_ID,
    redirectUri: REDIRECT,
    resource: AUDIENCE,
    username,
    password: passwordOf(username),
  });

describe('refreshing a sign-in', () => {
  it('gives a new access token Vigil accepts for a refresh token, which serves once: presented again, it ends the chain', async () => {
    const verifier = new OidcTokenVerifier(configFor(ours.issuer), clock);
    const first = await signInForTokensAt(ours, 'analyst');
    expect(first.refreshToken).toEqual(expect.any(String));
    const second = await refresh(first.tokenEndpoint, first.refreshToken!);
    expect(second.status).toBe(200);
    expect([second.body['token_type'], second.body['expires_in']]).toEqual(['Bearer', 300]);
    const rotated = second.body['refresh_token'] as string;
    expect(rotated).not.toBe(first.refreshToken);
    expect(second.body['access_token']).not.toBe(first.accessToken);
    expect(await verifier.verify(second.body['access_token'] as string)).toEqual({
      id: 'user:analyst',
      role: Role.analyst,
      name: 'analyst',
    });
    // Control: the rotated token serves (once), so the refusals below are about reuse, not about refreshing at all.
    const third = await refresh(first.tokenEndpoint, rotated);
    expect(third.status).toBe(200);
    const reused = await refresh(first.tokenEndpoint, first.refreshToken!);
    expect([reused.status, reused.body['error']]).toEqual([400, 'invalid_grant']);
    // Reuse means the token leaked: the chain it belongs to ends, the newest token included (RFC 9700 §4.14.2).
    const afterReuse = await refresh(first.tokenEndpoint, third.body['refresh_token'] as string);
    expect([afterReuse.status, afterReuse.body['error']]).toEqual([400, 'invalid_grant']);
  }, 30_000);

  it('refuses a refresh token revoked at the revocation endpoint the discovery document names', async () => {
    const discovery = (await (await fetch(`${ours.issuer}/.well-known/openid-configuration`)).json()) as {
      revocation_endpoint: string;
    };
    const signedIn = await signInForTokensAt(ours, 'analyst');
    const revoked = await fetch(discovery.revocation_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: signedIn.refreshToken!,
        token_type_hint: 'refresh_token',
        client_id: CONSOLE_CLIENT_ID,
      }).toString(),
    });
    expect(revoked.status).toBe(200);
    const refused = await refresh(signedIn.tokenEndpoint, signedIn.refreshToken!);
    expect([refused.status, refused.body['error']]).toEqual([400, 'invalid_grant']);
  }, 30_000);

  it('issues no refresh token when refresh tokens are off, and refuses the refresh grant (negative control)', async () => {
    const without = await start(AUDIENCE, false);
    try {
      const signedIn = await signInForTokensAt(without, 'analyst');
      expect([typeof signedIn.accessToken, signedIn.refreshToken]).toEqual(['string', undefined]);
      // The console is not registered for the grant, whatever token it presents.
      const refused = await refresh(signedIn.tokenEndpoint, 'no-such-token');
      expect([refused.status, refused.body['error'], refused.body['error_description']]).toEqual([
        400,
        'invalid_request',
        'requested grant type is not allowed for this client',
      ]);
    } finally {
      await without.close();
    }
  }, 30_000);
});

describe('tokens Vigil refuses', () => {
  it('refuses an expired token with 401, and accepts it within its lifetime and the clock tolerance', async () => {
    const auth = new ApiKeyAuthenticator([], undefined, new OidcTokenVerifier(configFor(ours.issuer), clock));
    const token = await signInAt(ours, 'analyst');
    nowMs += (300 + 29) * 1000;
    expect((await auth.authenticate(`Bearer ${token}`)).id).toBe('user:analyst');
    nowMs += 2_000;
    await expect(auth.authenticate(`Bearer ${token}`)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'access token refused: expired',
    });
  }, 30_000);

  it('refuses a token from another issuer, though that issuer’s own verifier accepts it (negative control)', async () => {
    const token = await signInAt(other, 'analyst');
    const ourAuth = new ApiKeyAuthenticator([], undefined, new OidcTokenVerifier(configFor(ours.issuer), clock));
    await expect(ourAuth.authenticate(`Bearer ${token}`)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'access token refused: not signed by the configured issuer',
    });
    const theirAuth = new ApiKeyAuthenticator([], undefined, new OidcTokenVerifier(configFor(other.issuer), clock));
    expect((await theirAuth.authenticate(`Bearer ${token}`)).id).toBe('user:analyst');
  }, 30_000);

  it('refuses a token for another audience, which the right audience accepts', async () => {
    const token = await signInAt(ours, 'analyst');
    const elsewhere = new OidcTokenVerifier(configFor(ours.issuer, { audience: 'urn:another-api' }), clock);
    await expect(elsewhere.verify(token)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: 'access token refused: claim aud is not valid (check_failed)',
    });
    // Negative control: the verifier for Vigil's audience accepts the same token.
    expect((await new OidcTokenVerifier(configFor(ours.issuer), clock).verify(token)).id).toBe('user:analyst');
  }, 30_000);

  it('refuses a valid token whose role claim maps to no Vigil role with 403', async () => {
    const token = await signInAt(ours, 'analyst');
    const mapped = new OidcTokenVerifier(
      configFor(ours.issuer, { roleMap: parseRoleMap('compliance:compliance') }),
      clock,
    );
    await expect(mapped.verify(token)).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: "the token's roles claim maps to no Vigil role",
    });
  }, 30_000);

  it('answers 503 (retriable) when the provider is unreachable and its keys were never fetched; fetched keys keep working', async () => {
    const gone = await start(AUDIENCE);
    const token = await signInAt(gone, 'analyst');
    const warm = new OidcTokenVerifier(configFor(gone.issuer), clock);
    expect((await warm.verify(token)).id).toBe('user:analyst');
    await gone.close();
    expect((await warm.verify(token)).id).toBe('user:analyst');
    const cold = new OidcTokenVerifier(configFor(gone.issuer), clock);
    await expect(cold.verify(token)).rejects.toMatchObject({
      code: 'IDENTITY_PROVIDER_UNAVAILABLE',
      category: 'unavailable',
      retriable: true,
    });
  }, 30_000);

  it('keeps API keys working beside tokens', async () => {
    const auth = new ApiKeyAuthenticator(
      parseApiKeys('ingest:ingest-key-0123456789'),
      undefined,
      new OidcTokenVerifier(configFor(ours.issuer), clock),
    );
    expect((await auth.authenticate('Bearer ingest-key-0123456789')).role).toBe(Role.ingest);
  });
});
