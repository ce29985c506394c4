import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DemoUser, generateDemoUsers, generateSigningKey } from '../identity-provider/provider.js';
import { type ApiKey, generateDemoKeys, isRole, parseApiKeys } from '../platform/auth.js';
import { ConfigError } from '../platform/errors.js';

/**
 * Secrets the embedded default makes for itself on first start and keeps under `<dataDir>/secrets/` (mode 0600):
 * the key sealing webhook signing secrets (registered endpoints must keep verifying after a restart) and
 * the demo API keys (so a key pasted into the dashboard keeps working after a restart), and the built-in OpenID
 * provider's demo users and signing key. The card tokenisation keys
 * live beside them, versioned, in ingest's file key store (`ingest/adapters/file-key-store.ts`). Production
 * deployments pass all of them through the environment instead and nothing is written.
 */
function readOrCreate(dataDir: string, name: string, create: () => string): string {
  const dir = secretsDirOf(dataDir);
  const file = join(dir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const value = create();
  writeFileSync(file, value + '\n', { mode: 0o600, flag: 'wx' });
  return value;
}

/** Where the embedded default keeps its secrets. */
export function secretsDirOf(dataDir: string): string {
  return join(dataDir, 'secrets');
}

/** The key that seals webhook signing secrets in the notifier's outbox (VIGIL_WEBHOOK_SECRET_KEY). */
export function webhookSecretKeyFor(dataDir: string): string {
  return readOrCreate(dataDir, 'webhook-secrets.key', () => randomBytes(32).toString('base64url'));
}

/** Where the embedded default keeps its per-customer data keys (platform/file-customer-key-store.ts). */
export function customerKeysDirOf(dataDir: string): string {
  return join(secretsDirOf(dataDir), 'customer-keys');
}

/**
 * The built-in OpenID provider's demo users, one per person's role, with passwords generated on first start (kept so
 * a printed password keeps working after a restart).
 */
export function demoUsersFor(dataDir: string): DemoUser[] {
  const raw = readOrCreate(dataDir, 'demo-users', () =>
    generateDemoUsers()
      .map((u) => `${u.role}:${u.username}:${u.password}`)
      .join(','),
  );
  return raw.split(',').map((entry) => {
    const [role, username, password] = entry.split(':');
    if (role === undefined || !isRole(role) || !username || !password)
      throw new ConfigError(`${dataDir}/secrets/demo-users`, '<unreadable>', 'role:username:password entries');
    return { role, username, password };
  });
}

/** The built-in OpenID provider's signing key (a private JWK), kept so its tokens stay valid across a restart. */
export function identityProviderSigningKeyFor(dataDir: string): Record<string, unknown> {
  return JSON.parse(
    readOrCreate(dataDir, 'oidc-signing-key.jwk', () => JSON.stringify(generateSigningKey())),
  ) as Record<string, unknown>;
}

export function demoApiKeysFor(dataDir: string): ApiKey[] {
  const raw = readOrCreate(dataDir, 'demo-api-keys', () =>
    generateDemoKeys()
      .map((k) => `${k.role}:${k.key}`)
      .join(','),
  );
  return parseApiKeys(raw, `${dataDir}/secrets/demo-api-keys`);
}

/**
 * The demo Stripe endpoint secret (VIGIL_STRIPE_WEBHOOK_SECRET when unset): the simulator signs its Stripe events
 * with it, as Stripe signs with the secret its dashboard shows.
 */
export function stripeWebhookSecretFor(dataDir: string): string {
  return readOrCreate(dataDir, 'stripe-webhook-secret', () => `whsec_${randomBytes(24).toString('base64url')}`);
}

/**
 * The demo Adyen webhook credentials (VIGIL_ADYEN_HMAC_KEY, _USERNAME, _PASSWORD when unset): a 32-byte HMAC key in
 * hex, as the Customer Area issues one, and the basic-auth pair the simulator sends its notifications with.
 */
export function adyenWebhookSecretsFor(dataDir: string): { hmacKey: string; username: string; password: string } {
  const [hmacKey, username, password] = readOrCreate(dataDir, 'adyen-webhook', () =>
    [randomBytes(32).toString('hex').toUpperCase(), 'vigil-simulator', randomBytes(24).toString('base64url')].join(':'),
  ).split(':');
  if (!hmacKey || !username || !password)
    throw new ConfigError(`${dataDir}/secrets/adyen-webhook`, '<unreadable>', 'hmacKey:username:password');
  return { hmacKey, username, password };
}
