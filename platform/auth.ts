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
  /**
   * Stable, non-secret id for audit logs: for an API key, its role plus the first 8 hex chars of its digest; for a
   * person signed in through OpenID Connect, `user:<sub>` (the provider's subject identifier).
   */
  readonly id: string;
  readonly role: Role;
  /** A person's display name (preferred_username or name), shown beside the id; keys have none. */
  readonly name?: string;
}

/** Verifies a person's access token (platform/oidc.ts); resolves with their principal or rejects with AuthError. */
export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}

/** A JWT in compact serialisation has exactly two dots; API keys never contain one. */
const isJwtShaped = (credential: string): boolean => credential.split('.').length === 3;

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

/** Hex SHA-256 of a secret key: all that is stored of a managed key. */
export const keyDigestHex = (key: string): string => digest(key).toString('hex');

/** The audit id of a key: role plus the first 8 hex chars of its digest (never the key). */
export const principalIdOf = (role: Role, digestHex: string): string => `${role}:${digestHex.slice(0, 8)}`;

/** A new secret for a managed key: 24 random bytes, base64url, with a prefix that says what it is. */
export const generateKeySecret = (): string => `vk_${randomBytes(24).toString('base64url')}`;

export const isRole = (value: string): value is Role => roles.includes(value);

/** A managed API key as the authenticator needs it (the record on Topics.apiKeys carries more). */
export interface ManagedKey {
  readonly keyId: string;
  readonly role: Role;
  readonly digestHex: string;
  readonly principalId: string;
  readonly expiresAtMs: number | null;
  readonly revokedAtMs: number | null;
  /** Version of the record: a record older than the one held is ignored. */
  readonly updatedAtMs: number;
}

/**
 * The managed keys every process holds: the latest record per key id, as Topics.apiKeys carries them. A key is
 * valid from its creation until it expires or is revoked, whichever comes first — so a rotation, which sets the old
 * key's expiry to the end of the overlap, keeps both keys working until then.
 */
export class ManagedKeyTable {
  private readonly keys = new Map<string, { key: ManagedKey; digest: Buffer; principal: Principal }>();

  /** Keeps `key` unless a newer record of it is held (equal times: the later-applied wins); true when kept. */
  apply(key: ManagedKey): boolean {
    const current = this.keys.get(key.keyId);
    if (current !== undefined && current.key.updatedAtMs > key.updatedAtMs) return false;
    this.keys.set(key.keyId, {
      key,
      digest: Buffer.from(key.digestHex, 'hex'),
      principal: Object.freeze({ role: key.role, id: key.principalId }),
    });
    return true;
  }

  get(keyId: string): ManagedKey | undefined {
    return this.keys.get(keyId)?.key;
  }

  /** Every key by key id. */
  list(): ManagedKey[] {
    return [...this.keys.keys()].sort().map((id) => this.keys.get(id)!.key);
  }

  /** The principal of the key whose digest is `presented`, if that key is valid at `nowMs`. Constant time per key. */
  match(presented: Buffer, nowMs: number): Principal | undefined {
    let found: Principal | undefined;
    for (const { key, digest: d, principal } of this.keys.values()) {
      const matches = d.length === presented.length && timingSafeEqual(d, presented);
      if (matches && isValidAt(key, nowMs)) found = principal;
    }
    return found;
  }
}

/** True while `key` is neither expired nor revoked at `nowMs`. */
export function isValidAt(key: ManagedKey, nowMs: number): boolean {
  return (key.expiresAtMs === null || nowMs < key.expiresAtMs) && (key.revokedAtMs === null || nowMs < key.revokedAtMs);
}

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

/**
 * Who is calling: machine feeds with API keys (configured, and managed through the API) and people with access
 * tokens from the OpenID provider, behind one `authenticate` call so every route and the live socket treat both alike.
 */
export class ApiKeyAuthenticator {
  private readonly entries: ReadonlyArray<{ digest: Buffer; principal: Principal }>;

  /**
   * `keys`: the configured keys (VIGIL_API_KEYS), valid for as long as they are configured. `managed`: the keys admins
   * create, rotate and revoke through the API (Topics.apiKeys), checked against `nowMs` on every request.
   */
  constructor(
    keys: readonly ApiKey[],
    private readonly managed?: { readonly table: ManagedKeyTable; readonly nowMs: () => number },
    private readonly tokens?: TokenVerifier,
  ) {
    this.entries = keys.map(({ role, key }) => {
      const d = digest(key);
      return { digest: d, principal: Object.freeze({ role, id: principalIdOf(role, d.toString('hex')) }) };
    });
  }

  /**
   * The principal for an `Authorization` header value: `Bearer <api key>` or, when OpenID Connect is configured,
   * `Bearer <access token>` (told apart by shape: a JWT has two dots). Rejects with AuthError UNAUTHENTICATED when
   * nothing matches or the token does not verify, FORBIDDEN when a valid token maps to no role.
   */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match)
      throw new AuthError(
        'UNAUTHENTICATED',
        'missing or malformed Authorization header; expected "Bearer <api key or access token>"',
      );
    const credential = match[1]!;
    if (isJwtShaped(credential)) {
      if (this.tokens === undefined)
        throw new AuthError('UNAUTHENTICATED', 'access tokens are not accepted here: no OpenID provider is configured');
      return this.tokens.verify(credential);
    }
    const presented = digest(credential);
    let found: Principal | undefined;
    // Compare against every key so the time taken does not reveal which one matched.
    for (const entry of this.entries) if (timingSafeEqual(entry.digest, presented)) found = entry.principal;
    found ??= this.managed?.table.match(presented, this.managed.nowMs());
    if (!found) throw new AuthError('UNAUTHENTICATED', 'unknown, expired or revoked API key');
    return found;
  }
}

/** Throws FORBIDDEN unless the principal's role is one of `allowed` (admin is always allowed). */
export function authorize(principal: Principal, allowed: readonly Role[]): void {
  if (principal.role === Role.admin || allowed.includes(principal.role)) return;
  throw new AuthError('FORBIDDEN', `role ${principal.role} may not do this; needs one of ${allowed.join(', ')}`);
}
