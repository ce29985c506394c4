import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError, ErrorCategory, VigilError } from './errors.js';

/**
 * API-key authentication with roles. Keys are provisioned as `role:key` pairs (env VIGIL_API_KEYS); only
 * their SHA-256 digests are kept in memory, and lookups compare digests in constant time.
 */
export const Role = {
  /** Feeds: may post transactions. */
  ingest: 'ingest',
  /** People triaging alerts: may read alerts, transactions and label them. */
  analyst: 'analyst',
  /** Compliance officers: reports, audit trails, audit search. */
  compliance: 'compliance',
  /** Operators: everything. */
  admin: 'admin',
} as const;
export type Role = (typeof Role)[keyof typeof Role];
const roles = Object.values(Role) as readonly string[];

export interface Principal {
  /** Stable, non-secret id for audit logs: role plus the first 8 hex chars of the key's digest. */
  readonly id: string;
  readonly role: Role;
}

export class AuthError extends VigilError {
  constructor(code: 'UNAUTHENTICATED' | 'FORBIDDEN', message: string) {
    super(code, message, {
      category: code === 'UNAUTHENTICATED' ? ErrorCategory.unauthenticated : ErrorCategory.forbidden,
    });
  }
}

export interface ApiKey {
  readonly role: Role;
  readonly key: string;
}

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/** Parses `role:key,role:key`; fails naming the bad entry (without echoing the secret). */
export function parseApiKeys(raw: string, configKey = 'VIGIL_API_KEYS'): ApiKey[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((entry, index) => {
      const colon = entry.indexOf(':');
      const role = entry.slice(0, colon);
      const key = entry.slice(colon + 1);
      if (colon < 1 || !roles.includes(role))
        throw new ConfigError(`${configKey}[${index}]`, role, `role:key with role one of ${roles.join(', ')}`);
      if (key.length < 16)
        throw new ConfigError(
          `${configKey}[${index}]`,
          `${role}:<${key.length} chars>`,
          'a key of at least 16 characters',
        );
      return { role: role as Role, key };
    });
}

/** A fresh random key per role, for the embedded demo (printed once at start). */
export function generateDemoKeys(): ApiKey[] {
  return Object.values(Role).map((role) => ({ role, key: `vk_${role}_${randomBytes(18).toString('base64url')}` }));
}

export class ApiKeyAuthenticator {
  private readonly entries: ReadonlyArray<{ digest: Buffer; principal: Principal }>;

  constructor(keys: readonly ApiKey[]) {
    this.entries = keys.map(({ role, key }) => {
      const d = digest(key);
      return { digest: d, principal: Object.freeze({ role, id: `${role}:${d.toString('hex').slice(0, 8)}` }) };
    });
  }

  /** The principal for an `Authorization` header value (`Bearer <key>`); throws AuthError when none matches. */
  authenticate(authorization: string | undefined): Principal {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match)
      throw new AuthError('UNAUTHENTICATED', 'missing or malformed Authorization header; expected "Bearer <api key>"');
    const presented = digest(match[1]!);
    let found: Principal | undefined;
    // Compare against every key so the time taken does not reveal which one matched.
    for (const entry of this.entries) if (timingSafeEqual(entry.digest, presented)) found = entry.principal;
    if (!found) throw new AuthError('UNAUTHENTICATED', 'unknown API key');
    return found;
  }
}

/** Throws FORBIDDEN unless the principal's role is one of `allowed` (admin is always allowed). */
export function authorize(principal: Principal, allowed: readonly Role[]): void {
  if (principal.role === Role.admin || allowed.includes(principal.role)) return;
  throw new AuthError('FORBIDDEN', `role ${principal.role} may not do this; needs one of ${allowed.join(', ')}`);
}
