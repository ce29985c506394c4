/**
 * The card token format. A token names the key version it was made with, so tokens made before and after a
 * rotation can be told apart:
 *  - `tok_<mac>`: version v1 — every token made before key versions existed, and every v1 token since, unchanged;
 *  - `tok_<version>_<mac>`: versions v2 and later, e.g. `tok_v2_<mac>`;
 * where `<mac>` is the unpadded base64url of an HMAC-SHA-256 (43 characters). base64url has `_` in its alphabet, so
 * the prefix alone cannot tell `tok_v2_…` from a v1 token whose MAC happens to begin with `v2_`; the length does
 * (47 characters for v1, at least 50 for later versions), so parsing is exact.
 */

/** Key versions: `v` and a positive integer without leading zeros. */
export const KEY_VERSION_PATTERN = /^v[1-9][0-9]*$/;
/** The version of tokens without a version field, and the default fingerprint key's. */
export const FIRST_KEY_VERSION = 'v1';

const MAC_CHARS = 43;
const V1_TOKEN = new RegExp(`^tok_[A-Za-z0-9_-]{${MAC_CHARS}}$`);
const VERSIONED_TOKEN = new RegExp(`^tok_(v[1-9][0-9]*)_[A-Za-z0-9_-]{${MAC_CHARS}}$`);

/** The token for a MAC (base64url, 43 characters) made with key `version`. */
export function formatCardToken(version: string, mac: string): string {
  return version === FIRST_KEY_VERSION ? `tok_${mac}` : `tok_${version}_${mac}`;
}

/**
 * The key version a Vigil card token was made with, or undefined for a token Vigil did not make (a client may send
 * its own token in `card.token`). `tok_v1_<mac>` is not a form Vigil writes and is not recognised.
 */
export function cardTokenKeyVersion(token: string): string | undefined {
  if (V1_TOKEN.test(token)) return FIRST_KEY_VERSION;
  const version = VERSIONED_TOKEN.exec(token)?.[1];
  return version === FIRST_KEY_VERSION ? undefined : version;
}

/** Orders key versions by number (v2 < v10), for "the newest version" defaults. */
export function compareKeyVersions(a: string, b: string): number {
  return Number(a.slice(1)) - Number(b.slice(1));
}
