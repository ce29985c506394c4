/**
 * The built-in OpenID provider as its own process: what stands in for a bank's provider when distributed mode is
 * tried on one machine (and in its tests). Point the services at it with VIGIL_OIDC_ISSUER (the URL it logs as
 * "identity provider started") and VIGIL_OIDC_AUDIENCE. Demo users come from VIGIL_IDP_USERS
 * (`role:username:password,…`) or are generated and printed; it keeps nothing on disk.
 *
 *   node --import tsx identity-provider/main.ts
 */
import { Role, isRole } from '../platform/auth.js';
import { type Env, readBoolean, readInt, readList, readOptionalString, readString } from '../platform/config.js';
import { ConfigError, describeError } from '../platform/errors.js';
import { createLogger } from '../platform/logger.js';
import { type DemoUser, generateDemoUsers, startIdentityProvider } from './provider.js';

/** Parses `role:username:password,…`; fails naming the bad entry (never echoing a password). */
function readUsers(env: Env): DemoUser[] {
  const raw = readOptionalString(env, 'VIGIL_IDP_USERS');
  if (raw === undefined) return generateDemoUsers();
  return readList(env, 'VIGIL_IDP_USERS').map((entry, index) => {
    const [role, username, ...rest] = entry.split(':');
    const password = rest.join(':');
    if (role === undefined || !isRole(role) || !username || password.length < 8)
      throw new ConfigError(
        `VIGIL_IDP_USERS[${index}]`,
        `${role ?? ''}:${username ?? ''}:<${password.length} chars>`,
        `role:username:password with role one of ${Object.values(Role).join(', ')} and a password of 8+ characters`,
      );
    return { role, username, password };
  });
}

const env = process.env;
const logger = createLogger({ level: 'info', fields: { service: 'vigil-identity-provider' } });
try {
  const users = readUsers(env);
  const provider = await startIdentityProvider({
    host: readString(env, 'VIGIL_IDP_HOST', '127.0.0.1'),
    port: readInt(env, 'VIGIL_IDP_PORT', 8090, { min: 0, max: 65535 }),
    audience: readString(env, 'VIGIL_OIDC_AUDIENCE', 'urn:vigil'),
    accessTokenTtlS: readInt(env, 'VIGIL_IDP_ACCESS_TOKEN_TTL_S', 900, { min: 5, max: 86_400 }),
    refreshTokens: readBoolean(env, 'VIGIL_IDP_REFRESH_TOKENS', true),
    users,
    logger,
  });
  // The console's address, where the provider sends the browser back with the code (VIGIL_IDP_REDIRECT_URIS).
  provider.open(readList(env, 'VIGIL_IDP_REDIRECT_URIS', ['http://127.0.0.1:8080/']));
  if (readOptionalString(env, 'VIGIL_IDP_USERS') === undefined)
    process.stdout.write(
      ['demo users:', ...users.map((u) => `  ${u.username.padEnd(11)} password ${u.password}`), ''].join('\n'),
    );
  const stop = (): void => void provider.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (error) {
  logger.error('failed to start', { error: describeError(error) });
  process.exit(1);
}
