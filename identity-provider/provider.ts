import { createHash, generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { type RequestListener, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Provider, { type KoaContextWithOIDC, errors as oidcErrors } from 'oidc-provider';
import { Role } from '../platform/auth.js';
import type { Logger } from '../platform/logger.js';

/**
 * Vigil's built-in OpenID provider (oidc-provider, certified by the OpenID Foundation): what people sign in at when
 * no bank provider is configured, so `npm start` needs no server. It knows a fixed list of demo users, one per role
 * a person holds, and one public client — the console — that must use the authorization code flow with PKCE (S256).
 * Access tokens are JWTs for Vigil's audience carrying the user's role in the `roles` claim, exactly what a bank's
 * provider is configured to send (platform/oidc.ts verifies both alike). The same module runs as its own process
 * (identity-provider/main.ts) to stand in for the bank's provider in distributed mode.
 *
 * The console also gets a refresh token (unless `refreshTokens` is off), so a sign-in lasts a shift while each access
 * token stays short-lived: rotated on every use (a refresh token used twice is refused and its whole grant revoked —
 * RFC 9700 §4.14.2), bound to the provider's session, and revocable at the revocation endpoint (RFC 7009), which the
 * console calls when the person signs out.
 *
 * Nothing is persisted but the signing key (when given): sessions, codes, grants and refresh tokens live in memory, so
 * a restart signs everyone out of the provider (the console's next refresh is refused) while access tokens already
 * issued stay valid until they expire.
 */
export interface DemoUser {
  /** Sign-in name, also the subject identifier (`sub`) and so the principal id `user:<username>`. */
  readonly username: string;
  readonly password: string;
  readonly role: Role;
}

/** The roles a person holds; `ingest` is a machine feed's role, which uses API keys. */
export const PERSON_ROLES: readonly Role[] = [Role.analyst, Role.compliance, Role.admin];

/** The console's client id, registered with the built-in provider (and, in a bank, with theirs). */
export const CONSOLE_CLIENT_ID = 'vigil-console';

/** The scope the access token for Vigil's audience carries. */
export const VIGIL_SCOPE = 'vigil';

/**
 * How long a sign-in lasts at most, in seconds: a night shift with its handover. The provider's session, the grant and
 * the refresh token chain all end then (rotation does not extend a browser client's chain), and the person signs in
 * again.
 */
export const SIGN_IN_LIFETIME_S = 12 * 3600;

export interface IdentityProviderOptions {
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  /** The `aud` of every access token: what Vigil checks (VIGIL_OIDC_AUDIENCE). */
  readonly audience: string;
  readonly users: readonly DemoUser[];
  /** Lifetime of an access token in seconds. */
  readonly accessTokenTtlS: number;
  /**
   * Whether the console gets refresh tokens (default true). Without them a sign-in ends with its first access token,
   * as it did before the console refreshed.
   */
  readonly refreshTokens?: boolean;
  /** RSA private key as a JWK, so tokens survive a restart; a fresh key per start when absent. */
  readonly signingKey?: Record<string, unknown>;
  readonly logger: Logger;
}

export interface IdentityProvider {
  /** The issuer identifier, e.g. http://127.0.0.1:8081 (VIGIL_OIDC_ISSUER). */
  readonly issuer: string;
  /**
   * Registers the console's redirect URIs and starts answering: until then every request gets 503, because the
   * console's address is known only once its server listens (the provider must listen first so that Vigil's
   * verifier, built before the console's server, knows the issuer).
   */
  open(consoleRedirectUris: readonly string[]): void;
  close(): Promise<void>;
}

/** A fresh RSA-2048 signing key as a private JWK with a key id. */
export function generateSigningKey(): Record<string, unknown> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
  return { ...jwk, kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' };
}

/** A demo user per person's role, with a random password each. */
export function generateDemoUsers(): DemoUser[] {
  return PERSON_ROLES.map((role) => ({ username: role, role, password: randomBytes(12).toString('base64url') }));
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Starts the provider on its own port; it answers 503 until `open` is called. Rejects if the port is taken. */
export async function startIdentityProvider(options: IdentityProviderOptions): Promise<IdentityProvider> {
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const issuer = `http://${host}:${port}`;
  let handler: RequestListener | undefined;
  server.on('request', (req, res) => {
    if (handler) handler(req, res);
    else res.writeHead(503, { 'retry-after': '1' }).end('the identity provider is starting');
  });

  const open = (consoleRedirectUris: readonly string[]): void => {
    if (handler) return;
    const provider = createProvider(issuer, options, consoleRedirectUris);
    const app = express();
    app.disable('x-powered-by');
    mountLogin(app, provider, options);
    app.use(provider.callback());
    handler = app;
    options.logger.info('identity provider started', { issuer, users: options.users.map((u) => u.username) });
  };
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return { issuer, open, close };
}

function createProvider(issuer: string, options: IdentityProviderOptions, redirectUris: readonly string[]): Provider {
  const userBySub = new Map(options.users.map((u) => [u.username, u]));
  const { audience } = options;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CONSOLE_CLIENT_ID,
        // A public client: the console runs in the browser and can keep no secret, hence PKCE (RFC 7636, RFC 9700 §2.1.1).
        token_endpoint_auth_method: 'none',
        redirect_uris: [...redirectUris],
        grant_types: options.refreshTokens === false ? ['authorization_code'] : ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
    pkce: { methods: ['S256'], required: () => true },
    // oidc-provider's documented way for a public web client doing the code flow: a refresh token without asking for
    // offline_access (which would outlive the session; this one ends with it — expiresWithSession's default).
    issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(grantType: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    // A browser cannot keep a refresh token safe the way a server can: each one serves once (RFC 9700 §4.14.2).
    rotateRefreshToken: true,
    // The console exchanges its code from the browser: only its own origins (those of its redirect URIs) may.
    clientBasedCORS: (_ctx: unknown, origin: string, client: { redirectUris?: readonly string[] }) =>
      (client.redirectUris ?? []).some((uri) => new URL(uri).origin === origin),
    jwks: { keys: [options.signingKey ?? generateSigningKey()] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'] },
    findAccount: (_ctx: unknown, sub: string) => {
      const user = userBySub.get(sub);
      return user === undefined
        ? undefined
        : { accountId: sub, claims: () => ({ sub, preferred_username: user.username, name: user.username }) };
    },
    // The role travels in the access token, where Vigil reads it; the bank's provider does the same with groups.
    extraTokenClaims: (_ctx: unknown, token: { kind: string; accountId?: string }) => {
      const user = token.accountId === undefined ? undefined : userBySub.get(token.accountId);
      if (token.kind !== 'AccessToken' || user === undefined) return undefined;
      return { roles: [user.role], preferred_username: user.username };
    },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        // The console asks for `openid` and Vigil's resource; its access token is for Vigil, not the userinfo endpoint.
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, indicator: string) => {
          if (indicator !== audience) throw new oidcErrors.InvalidTarget(`only ${audience} is served`);
          return {
            scope: VIGIL_SCOPE,
            audience,
            accessTokenTTL: options.accessTokenTtlS,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    // The console is Vigil's own first-party client: signing in is consent, so no consent page is shown.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const { client, session, result } = ctx.oidc;
      if (client === undefined || session?.accountId === undefined) return undefined;
      const grantId = result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      if (grantId !== undefined) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ accountId: session.accountId, clientId: client.clientId });
      grant.addOIDCScope('openid profile');
      grant.addResourceScope(audience, VIGIL_SCOPE);
      await grant.save();
      return grant;
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: options.accessTokenTtlS,
      IdToken: options.accessTokenTtlS,
      AuthorizationCode: 60,
      Interaction: 600,
      // A rotated token inherits what its predecessor had left (oidc-provider's own default for browser clients), so
      // rotation never stretches a sign-in past SIGN_IN_LIFETIME_S.
      RefreshToken: (ctx: { oidc: { entities: { RotatedRefreshToken?: { remainingTTL: number } } } } | undefined) =>
        ctx?.oidc.entities.RotatedRefreshToken?.remainingTTL ?? SIGN_IN_LIFETIME_S,
      Session: SIGN_IN_LIFETIME_S,
      Grant: SIGN_IN_LIFETIME_S,
    },
  });
  provider.on('server_error', (_ctx, error) =>
    options.logger.error('identity provider error', { error: error instanceof Error ? error.message : String(error) }),
  );
  return provider;
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid: string, message?: string): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><title>Sign in — Vigil</title>',
    // No favicon request: its 404 would be an error in the console of every browser signing in.
    '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"></head>',
    '<body><main><h1>Sign in to Vigil</h1>',
    message === undefined ? '' : `<p role="alert">${escapeHtml(message)}</p>`,
    `<form method="post" action="/interaction/${escapeHtml(uid)}/login">`,
    '<p><label for="username">User name</label><br><input id="username" name="username" autocomplete="username" required autofocus></p>',
    '<p><label for="password">Password</label><br><input id="password" name="password" type="password" autocomplete="current-password" required></p>',
    '<p><button type="submit">Sign in</button></p>',
    '</form></main></body></html>',
    '',
  ].join('\n');
}

/**
 * The sign-in page the provider sends the browser to (`interactions.url`): user name and password of a demo user.
 * Passwords are compared as SHA-256 digests in constant time.
 */
function mountLogin(app: express.Express, provider: Provider, options: IdentityProviderOptions): void {
  const users = options.users.map((u) => ({ user: u, digest: sha256(u.password) }));
  app.get('/interaction/:uid', (req, res, next) => {
    provider.interactionDetails(req, res).then((interaction) => {
      res.setHeader('Cache-Control', 'no-store');
      res.type('text/html; charset=utf-8').send(loginPage(interaction.uid));
    }, next);
  });
  app.post('/interaction/:uid/login', express.urlencoded({ extended: false, limit: '4kb' }), (req, res, next) => {
    const body = req.body as { username?: unknown; password?: unknown };
    const username = typeof body.username === 'string' ? body.username : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const presented = sha256(password);
    let found: DemoUser | undefined;
    for (const { user, digest } of users)
      if (timingSafeEqual(digest, presented) && user.username === username) found = user;
    provider
      .interactionDetails(req, res)
      .then(async (interaction) => {
        if (found === undefined) {
          options.logger.warn('sign-in refused', { username });
          res
            .status(401)
            .type('text/html; charset=utf-8')
            .send(loginPage(interaction.uid, 'Wrong user name or password.'));
          return;
        }
        options.logger.info('signed in', { username: found.username });
        await provider.interactionFinished(
          req,
          res,
          { login: { accountId: found.username } },
          { mergeWithLastSubmission: false },
        );
      }, next)
      .catch(next);
  });
}
