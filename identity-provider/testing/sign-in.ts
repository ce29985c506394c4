import { createHash, randomBytes } from 'node:crypto';

/**
 * Signs a user in the way the console's browser does — authorization code flow with PKCE (RFC 7636) — but over plain
 * HTTP: follows the provider's redirects by hand, keeps its cookies between requests, fills in its sign-in form, and
 * exchanges the code at the token endpoint. Resolves with the access token; rejects naming the step that failed.
 */
export interface SignInOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly redirectUri: string;
  /** The resource indicator (RFC 8707) the access token is for. */
  readonly resource: string;
  readonly username: string;
  readonly password: string;
}

interface Discovery {
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
}

/** A cookie jar for one origin: enough for the provider's session and interaction cookies. */
class CookieJar {
  private readonly cookies = new Map<string, string>();
  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

const base64url = (bytes: Buffer): string => bytes.toString('base64url');

/** What the token endpoint answered: the access token, and the refresh token when the provider issues one. */
export interface SignedIn {
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
  readonly idToken: string | undefined;
  /** The access token's lifetime from the response's `expires_in`. */
  readonly expiresInS: number;
  readonly tokenEndpoint: string;
}

/** Signs in and resolves with the access token alone (see signInForTokens). */
export async function signIn(options: SignInOptions): Promise<string> {
  return (await signInForTokens(options)).accessToken;
}

/** Signs in and resolves with the whole token response. */
export async function signInForTokens(options: SignInOptions): Promise<SignedIn> {
  const discovery = (await (await fetch(`${options.issuer}/.well-known/openid-configuration`)).json()) as Discovery;
  const verifier = base64url(randomBytes(32));
  const state = base64url(randomBytes(16));
  const authorize = new URL(discovery.authorization_endpoint);
  authorize.search = new URLSearchParams({
    client_id: options.clientId,
    response_type: 'code',
    redirect_uri: options.redirectUri,
    scope: 'openid profile vigil',
    resource: options.resource,
    state,
    code_challenge: base64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
  }).toString();

  const jar = new CookieJar();
  const request = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: jar.header() },
    });
    jar.take(response);
    return response;
  };
  /** Follows redirects until one leaves the provider (the code coming back) or a page is served. */
  const follow = async (first: Response): Promise<Response | URL> => {
    let response = first;
    for (let hops = 0; hops < 10; hops++) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || location === null) return response;
      await response.arrayBuffer();
      const next = new URL(location, options.issuer);
      if (next.origin !== new URL(options.issuer).origin) return next;
      response = await request(next.href);
    }
    throw new Error('sign-in: too many redirects');
  };

  const page = await follow(await request(authorize.href));
  if (page instanceof URL) throw new Error(`sign-in: redirected away before the sign-in form: ${page.href}`);
  const html = await page.text();
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  if (page.status !== 200 || action === undefined)
    throw new Error(`sign-in: no sign-in form (status ${page.status}): ${html.slice(0, 300)}`);
  const submitted = await request(new URL(action, options.issuer).href, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: options.username, password: options.password }).toString(),
  });
  const back = await follow(submitted);
  if (!(back instanceof URL))
    throw new Error(`sign-in refused (status ${back.status}): ${(await back.text()).slice(0, 300)}`);
  if (back.searchParams.get('state') !== state) throw new Error(`sign-in: state mismatch in ${back.href}`);
  const code = back.searchParams.get('code');
  if (code === null) throw new Error(`sign-in: no code in ${back.href}`);

  const token = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: options.redirectUri,
      client_id: options.clientId,
      code_verifier: verifier,
    }).toString(),
  });
  const body = (await token.json()) as {
    access_token?: string;
    refresh_token?: string;
    id_token?: string;
    expires_in?: number;
    error?: string;
    error_description?: string;
  };
  if (!token.ok || body.access_token === undefined)
    throw new Error(`token exchange refused: ${body.error ?? token.status} ${body.error_description ?? ''}`);
  return {
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    idToken: body.id_token,
    expiresInS: body.expires_in ?? 0,
    tokenEndpoint: discovery.token_endpoint,
  };
}
