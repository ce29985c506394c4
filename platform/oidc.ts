import { type JWTPayload, type JWTVerifyGetKey, createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import { AuthError, type Principal, Role, type TokenVerifier, isRole } from './auth.js';
import type { Clock } from './clock.js';
import { type Env, readInt, readOptionalString, readString } from './config.js';
import { ConfigError, ErrorCategory, VigilError } from './errors.js';

/**
 * People sign in at an OpenID Connect provider (the bank's, or the embedded default's built-in one) and present its
 * access token, a JWT, as `Authorization: Bearer <token>`. Vigil verifies the signature against the issuer's JWKS,
 * the issuer, the audience and the validity times, then maps one claim (the person's groups) to a Vigil role.
 */
export interface OidcConfig {
  /** The provider's issuer identifier (VIGIL_OIDC_ISSUER); its discovery document is at `<issuer>/.well-known/openid-configuration`. */
  readonly issuer: string;
  /** What the token's `aud` must contain (VIGIL_OIDC_AUDIENCE): the resource indicator Vigil is registered as. */
  readonly audience: string;
  /** The claim holding the person's groups or roles (VIGIL_OIDC_ROLE_CLAIM, default `roles`): a string or an array. */
  readonly roleClaim: string;
  /**
   * Claim value → Vigil role (VIGIL_OIDC_ROLE_MAP, `fraud-analysts:analyst,compliance:compliance`). Unset: the claim
   * values are Vigil's role names themselves.
   */
  readonly roleMap: ReadonlyMap<string, Role>;
  /** Leeway for `exp`/`nbf`/`iat` against clocks that drift (VIGIL_OIDC_CLOCK_TOLERANCE_S, default 30, 0–300). */
  readonly clockToleranceS: number;
}

/** Claim values that are Vigil's role names themselves: the default map, and the built-in provider's. */
export const identityRoleMap: ReadonlyMap<string, Role> = new Map(Object.values(Role).map((r) => [r, r]));

/** Parses `claimValue:role,claimValue:role`; fails naming the bad entry. */
export function parseRoleMap(raw: string, configKey = 'VIGIL_OIDC_ROLE_MAP'): ReadonlyMap<string, Role> {
  const map = new Map<string, Role>();
  raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .forEach((entry, index) => {
      // The claim value may itself hold colons (URNs, group paths): the role is after the last one.
      const colon = entry.lastIndexOf(':');
      const value = entry.slice(0, colon);
      const role = entry.slice(colon + 1);
      if (colon < 1 || !isRole(role))
        throw new ConfigError(
          `${configKey}[${index}]`,
          entry,
          `claimValue:role with role one of ${Object.values(Role).join(', ')}`,
        );
      map.set(value, role);
    });
  if (map.size === 0) throw new ConfigError(configKey, raw, 'at least one claimValue:role pair');
  return map;
}

/** The OpenID Connect settings, or undefined when VIGIL_OIDC_ISSUER is unset (API keys only). */
export function readOidcConfig(env: Env): OidcConfig | undefined {
  const issuer = readOptionalString(env, 'VIGIL_OIDC_ISSUER');
  if (issuer === undefined) return undefined;
  if (!URL.canParse(issuer) || !/^https?:$/.test(new URL(issuer).protocol))
    throw new ConfigError('VIGIL_OIDC_ISSUER', issuer, 'the provider’s issuer URL (http or https)');
  const audience = readOptionalString(env, 'VIGIL_OIDC_AUDIENCE');
  if (audience === undefined)
    throw new ConfigError('VIGIL_OIDC_AUDIENCE', undefined, 'the audience Vigil’s access tokens are issued for');
  const roleMapRaw = readOptionalString(env, 'VIGIL_OIDC_ROLE_MAP');
  return Object.freeze({
    issuer,
    audience,
    roleClaim: readString(env, 'VIGIL_OIDC_ROLE_CLAIM', 'roles'),
    roleMap: roleMapRaw === undefined ? identityRoleMap : parseRoleMap(roleMapRaw),
    clockToleranceS: readClockToleranceS(env),
  });
}

/**
 * VIGIL_OIDC_CLOCK_TOLERANCE_S (default 30, 0–300): the leeway on `exp`/`nbf`/`iat`, whichever provider issues the
 * tokens — the bank's, or the embedded default's built-in one.
 */
export function readClockToleranceS(env: Env): number {
  return readInt(env, 'VIGIL_OIDC_CLOCK_TOLERANCE_S', 30, { min: 0, max: 300 });
}

/** The display name a person is recorded under beside their `user:<sub>` id. */
const displayNameOf = (claims: JWTPayload): string | undefined => {
  const name = claims['preferred_username'] ?? claims['name'];
  return typeof name === 'string' && name !== '' ? name : undefined;
};

/**
 * Verifies access tokens of one issuer. The JWKS is found through the issuer's discovery document on first use and
 * cached by jose (refetched when a token names a key id it has not seen: the provider rotated its keys).
 */
export class OidcTokenVerifier implements TokenVerifier {
  private jwks: Promise<JWTVerifyGetKey> | undefined;

  constructor(
    private readonly config: OidcConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * The principal for a presented access token: id `user:<sub>`, the person's display name, and the one Vigil role
   * the role claim maps to. Throws AuthError UNAUTHENTICATED for a token that does not verify (bad signature, other
   * issuer, other audience, expired) and FORBIDDEN for a valid one whose claim maps to no role or to several;
   * VigilError IDENTITY_PROVIDER_UNAVAILABLE (503, retriable) when the issuer's keys cannot be fetched.
   */
  async verify(token: string): Promise<Principal> {
    let claims: JWTPayload;
    try {
      const { payload } = await jwtVerify(token, await this.keys(), {
        issuer: this.config.issuer,
        audience: this.config.audience,
        clockTolerance: this.config.clockToleranceS,
        currentDate: new Date(this.clock.nowMs()),
        requiredClaims: ['sub', 'exp'],
      });
      claims = payload;
    } catch (error) {
      // The provider being unreachable says nothing about the token: a retriable 503, not a 401 that signs people out.
      if (!(error instanceof joseErrors.JOSEError) || error instanceof joseErrors.JWKSTimeout)
        throw new VigilError(
          'IDENTITY_PROVIDER_UNAVAILABLE',
          `the keys of ${this.config.issuer} cannot be fetched: ${error instanceof Error ? error.message : String(error)}`,
          { category: ErrorCategory.unavailable, retriable: true, cause: error },
        );
      throw new AuthError('UNAUTHENTICATED', `access token refused: ${reasonOf(error)}`);
    }
    const roles = this.rolesOf(claims[this.config.roleClaim]);
    if (roles.length !== 1)
      throw new AuthError(
        'FORBIDDEN',
        roles.length === 0
          ? `the token's ${this.config.roleClaim} claim maps to no Vigil role`
          : `the token's ${this.config.roleClaim} claim maps to several Vigil roles (${roles.join(', ')}); a person has one`,
      );
    const name = displayNameOf(claims);
    return Object.freeze({ id: `user:${claims.sub!}`, role: roles[0]!, ...(name === undefined ? {} : { name }) });
  }

  private rolesOf(claim: unknown): Role[] {
    const values = typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : [];
    const roles = values.flatMap((v) => (typeof v === 'string' ? [this.config.roleMap.get(v)] : []));
    return [...new Set(roles.filter((r) => r !== undefined))].sort();
  }

  private keys(): Promise<JWTVerifyGetKey> {
    this.jwks ??= discoverJwks(this.config.issuer).catch((error: unknown) => {
      // A provider that was down at the first request must not stay unusable: look it up again next time.
      this.jwks = undefined;
      throw error;
    });
    return this.jwks;
  }
}

/** The issuer's JWKS, through its discovery document (OpenID Connect Discovery 1.0 §4). */
async function discoverJwks(issuer: string): Promise<JWTVerifyGetKey> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`discovery document ${url} answered ${response.status}`);
  const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  // Discovery §4.3: the document must name the issuer it was fetched for.
  if (document.issuer !== issuer) throw new Error(`discovery document ${url} names issuer ${String(document.issuer)}`);
  if (typeof document.jwks_uri !== 'string') throw new Error(`discovery document ${url} has no jwks_uri`);
  return createRemoteJWKSet(new URL(document.jwks_uri));
}

/** Why a token was refused, in words a caller can act on (never the token). */
function reasonOf(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return `claim ${error.claim} is not valid (${error.reason})`;
  if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWSSignatureVerificationFailed)
    return 'not signed by the configured issuer';
  if (error instanceof joseErrors.JOSEError) return `not a valid token (${error.code})`;
  return 'not a valid token';
}
