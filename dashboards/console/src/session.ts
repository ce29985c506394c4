/**
 * Signing in. People sign in at the OpenID provider named by `/assets/sign-in.json`: authorization code flow with
 * PKCE (RFC 7636), the code verifier and state kept in sessionStorage across the redirect; the access token then
 * serves exactly as an API key would. An API key can be pasted instead. The key or access token lives in
 * sessionStorage (this tab only): REST calls send it as `Authorization: Bearer`, the WebSocket as the subprotocol
 * `bearer.<token>`. The refresh token, which outlives many access tokens, lives only in memory (a TokenKeeper):
 * a reload keeps the access token until it expires, then the person signs in again.
 */
import { RefreshFailed, TokenKeeper, type Tokens } from './token-keeper.js';

const TOKEN_STORAGE = 'vigil.apiKey';
const ROLE_STORAGE = 'vigil.role';
const PKCE_STORAGE = 'vigil.pkce';

/** The roles the console serves: analysts work cases, compliance officers read the books and the logs. */
export type ConsoleRole = 'analyst' | 'compliance';

/** Where people sign in (an issuer URL, a client id and the API's audience); null when the page asks for a key. */
export interface SignInConfig {
  readonly issuer: string;
  readonly clientId: string;
  readonly audience: string;
}

export const storedToken = (): string | null => sessionStorage.getItem(TOKEN_STORAGE);
/** The role found at sign-in; it only chooses what the console shows, the API checks every call itself. */
export const storedRole = (): ConsoleRole =>
  sessionStorage.getItem(ROLE_STORAGE) === 'compliance' ? 'compliance' : 'analyst';
export const storeToken = (token: string, role: ConsoleRole = 'analyst'): void => {
  sessionStorage.setItem(TOKEN_STORAGE, token);
  sessionStorage.setItem(ROLE_STORAGE, role);
};
export const forgetToken = (): void => {
  sessionStorage.removeItem(TOKEN_STORAGE);
  sessionStorage.removeItem(ROLE_STORAGE);
};

export async function loadSignInConfig(): Promise<SignInConfig | null> {
  return fetch('/assets/sign-in.json')
    .then((r) => (r.ok ? (r.json() as Promise<SignInConfig | null>) : null))
    .catch(() => null);
}

/**
 * Which console `token` opens, from `GET /v1/me`: 'analyst' or 'compliance' — an administrator works in the analysts'
 * console (the API lets them do all an analyst does: e.g. be the second pair of eyes on a release); 'other-role' for
 * a role the console has no views for (ingest); 'refused' (401: unknown, expired or revoked) or 'unavailable' (any other answer, e.g. 429 or 503: it
 * says nothing about the token). Throws when Vigil cannot be reached.
 */
export async function checkRole(token: string): Promise<ConsoleRole | 'other-role' | 'refused' | 'unavailable'> {
  const response = await fetch('/v1/me', { headers: { authorization: `Bearer ${token}` } });
  if (response.ok) {
    const { role } = (await response.json()) as { role: string };
    if (role === 'admin') return 'analyst';
    return role === 'analyst' || role === 'compliance' ? role : 'other-role';
  }
  return response.status === 401 ? 'refused' : 'unavailable';
}

const base64url = (bytes: ArrayBuffer | Uint8Array): string =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const randomText = (): string => base64url(crypto.getRandomValues(new Uint8Array(32)));
const redirectUri = (): string => `${location.origin}/`;

/** The endpoints the console uses from the provider's discovery document (OpenID Connect Discovery 1.0 §3). */
interface Discovery {
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
  /** RFC 7009; a provider may offer none. */
  readonly revocation_endpoint?: string;
}

let discovered: { issuer: string; document: Promise<Discovery> } | undefined;
/** The discovery document, fetched once per page (a failed fetch is tried again next time). */
async function discovery(config: SignInConfig): Promise<Discovery> {
  if (discovered?.issuer !== config.issuer) {
    const document = fetch(`${config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`).then((response) => {
      if (!response.ok) throw new Error(`the sign-in service answered ${response.status}`);
      return response.json() as Promise<Discovery>;
    });
    discovered = { issuer: config.issuer, document };
    document.catch(() => {
      if (discovered?.document === document) discovered = undefined;
    });
  }
  return discovered.document;
}

interface TokenResponse {
  readonly access_token?: string;
  readonly refresh_token?: string;
  readonly id_token?: string;
  readonly expires_in?: number;
  readonly error?: string;
  readonly error_description?: string;
}

/** POSTs a grant to the discovery document's token endpoint (RFC 6749 §3.2) as the public client it is. */
async function requestTokens(config: SignInConfig, grant: Record<string, string>): Promise<Response> {
  const { token_endpoint: endpoint } = await discovery(config);
  return fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...grant, client_id: config.clientId }).toString(),
  });
}

const tokensOf = (body: TokenResponse, receivedAtMs: number): Tokens => ({
  accessToken: body.access_token!,
  refreshToken: body.refresh_token,
  idToken: body.id_token,
  expiresAtMs: typeof body.expires_in === 'number' ? receivedAtMs + body.expires_in * 1000 : undefined,
  receivedAtMs,
});

/**
 * Exchanges a refresh token for new tokens (RFC 6749 §6) at the discovery document's token endpoint. Rejects with
 * RefreshFailed: `refused` when the provider answered with an error (4xx: revoked, expired, used twice), not when
 * it could not be reached or failed (5xx).
 */
export async function refreshTokens(config: SignInConfig, refreshToken: string): Promise<Tokens> {
  let response: Response;
  try {
    response = await requestTokens(config, { grant_type: 'refresh_token', refresh_token: refreshToken });
  } catch (error) {
    throw new RefreshFailed(`the sign-in service cannot be reached: ${(error as Error).message}`, false);
  }
  const body = (await response.json().catch(() => ({}))) as TokenResponse;
  if (response.ok && body.access_token !== undefined) return tokensOf(body, Date.now());
  throw new RefreshFailed(
    body.error_description ?? body.error ?? `the sign-in service answered ${response.status}`,
    response.status >= 400 && response.status < 500,
  );
}

/** A keeper for `tokens` that refreshes at `config`'s provider with the browser's clock and timers. */
export function keeperFor(config: SignInConfig | null, tokens: Tokens): TokenKeeper {
  return new TokenKeeper(tokens, {
    exchange: (refreshToken) =>
      config === null
        ? Promise.reject(new RefreshFailed('no sign-in service', true))
        : refreshTokens(config, refreshToken),
    nowMs: () => Date.now(),
    setTimer: (run, delayMs) => setTimeout(run, delayMs),
    clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout> | undefined),
  });
}

/**
 * Revokes the sign-in's refresh token at the provider's revocation endpoint (RFC 7009), when the discovery document
 * names one; the provider then refuses it (and ends its grant). Best effort: signing out in the console never waits
 * on the provider being up, and resolves either way.
 */
export async function revokeRefreshToken(config: SignInConfig, refreshToken: string): Promise<void> {
  try {
    const { revocation_endpoint: endpoint } = await discovery(config);
    if (endpoint === undefined) return;
    await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: refreshToken,
        token_type_hint: 'refresh_token',
        client_id: config.clientId,
      }).toString(),
    });
  } catch {
    // The refresh token then lives on at the provider until it expires; the console has dropped it all the same.
  }
}

/** Sends the browser to the provider's sign-in page; it comes back to `/?code=…&state=…`. */
export async function startProviderSignIn(config: SignInConfig): Promise<void> {
  const { authorization_endpoint: endpoint } = await discovery(config);
  const verifier = randomText();
  const state = randomText();
  sessionStorage.setItem(PKCE_STORAGE, JSON.stringify({ verifier, state }));
  const challenge = base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const url = new URL(endpoint);
  url.search = new URLSearchParams({
    client_id: config.clientId,
    response_type: 'code',
    redirect_uri: redirectUri(),
    scope: 'openid profile vigil',
    resource: config.audience,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.href);
}

/** Whether this load is the provider sending the browser back (with a code or an error). */
export const isProviderReturn = (params: URLSearchParams): boolean => params.has('code') || params.has('error');

/**
 * Back from the provider with `?code=&state=`: exchanges the code for tokens and returns them with the role once
 * Vigil takes the access token as an analyst's or a compliance officer's. Throws, saying why, when the provider
 * refused, the response is not this tab's, or the person holds neither role.
 */
export async function finishProviderSignIn(
  config: SignInConfig,
  params: URLSearchParams,
): Promise<{ tokens: Tokens; role: ConsoleRole }> {
  const saved = JSON.parse(sessionStorage.getItem(PKCE_STORAGE) ?? 'null') as {
    verifier: string;
    state: string;
  } | null;
  sessionStorage.removeItem(PKCE_STORAGE);
  history.replaceState(null, '', location.pathname);
  const error = params.get('error');
  if (error !== null) throw new Error(params.get('error_description') ?? error);
  if (saved === null || saved.state !== params.get('state'))
    throw new Error('the sign-in response does not match this tab');
  const response = await requestTokens(config, {
    grant_type: 'authorization_code',
    code: params.get('code') ?? '',
    redirect_uri: redirectUri(),
    code_verifier: saved.verifier,
  });
  const body = (await response.json()) as TokenResponse;
  if (!response.ok || body.access_token === undefined)
    throw new Error(body.error_description ?? 'the sign-in was refused');
  const tokens = tokensOf(body, Date.now());
  const check = await checkRole(body.access_token);
  if (check === 'other-role') throw new Error('You are signed in, but not as an analyst or a compliance officer.');
  if (check === 'refused') throw new Error('Vigil did not accept the sign-in.');
  if (check === 'unavailable') throw new Error('Vigil could not check the sign-in just now; try again in a moment.');
  return { tokens, role: check };
}
