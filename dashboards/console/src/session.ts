/**
 * Signing in. People sign in at the OpenID provider named by `/assets/sign-in.json`: authorization code flow with
 * PKCE (RFC 7636), the code verifier and state kept in sessionStorage across the redirect; the access token then
 * serves exactly as an API key would. An API key can be pasted instead. The key or token lives in sessionStorage
 * (this tab only): REST calls send it as `Authorization: Bearer`, the WebSocket as the subprotocol `bearer.<token>`.
 */

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

async function discovery(config: SignInConfig): Promise<{ authorization_endpoint: string; token_endpoint: string }> {
  const response = await fetch(`${config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`the sign-in service answered ${response.status}`);
  return response.json() as Promise<{ authorization_endpoint: string; token_endpoint: string }>;
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
 * Back from the provider with `?code=&state=`: exchanges the code for the access token and returns it with the role
 * once Vigil takes it as an analyst's or a compliance officer's. Throws, saying why, when the provider refused, the
 * response is not this tab's, or the person holds neither role.
 */
export async function finishProviderSignIn(
  config: SignInConfig,
  params: URLSearchParams,
): Promise<{ token: string; role: ConsoleRole }> {
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
  const { token_endpoint: endpoint } = await discovery(config);
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: params.get('code') ?? '',
      redirect_uri: redirectUri(),
      client_id: config.clientId,
      code_verifier: saved.verifier,
    }).toString(),
  });
  const body = (await response.json()) as { access_token?: string; error_description?: string };
  if (!response.ok || body.access_token === undefined)
    throw new Error(body.error_description ?? 'the sign-in was refused');
  const check = await checkRole(body.access_token);
  if (check === 'other-role') throw new Error('You are signed in, but not as an analyst or a compliance officer.');
  if (check === 'refused') throw new Error('Vigil did not accept the sign-in.');
  if (check === 'unavailable') throw new Error('Vigil could not check the sign-in just now; try again in a moment.');
  return { token: body.access_token, role: check };
}
