import { createHash, createHmac } from 'node:crypto';
import { Secret } from '../../platform/config.js';
import { formatCardToken } from '../domain/card-token.js';
import type { ContentHasher, PanTokenizer, TokenizationKeyStore } from '../ports.js';
import { StaticTokenizationKeyStore } from './static-key-store.js';

function hmacBase64url(key: Buffer, pan: string): string {
  return createHmac('sha256', key).update(pan, 'utf8').digest('base64url');
}

/**
 * Card tokens: HMAC-SHA-256(key, PAN) in base64url, in the versioned format of `domain/card-token.ts` (`tok_<mac>`
 * for v1, `tok_v2_<mac>` after a rotation). Keyed, so a token cannot be reversed by hashing the (small) space of
 * valid PANs without the key (PCI DSS 3.4, "keyed cryptographic hashes of the entire PAN"). Stable per key version:
 * the same card has the same token until the key rotates, which scoring's per-card features rely on.
 *
 * The fingerprint token is the same construction under the fingerprint key, always in the v1 format: with the
 * default fingerprint key (the v1 tokenisation key) it equals the v1 token, so fingerprints made before key
 * versions existed are unchanged.
 *
 * Keys are read from the store once, at construction: a store that rotates needs a new tokenizer (a restart).
 */
export class HmacPanTokenizer implements PanTokenizer {
  readonly #version: string;
  readonly #key: Buffer;
  readonly #fingerprintKey: Buffer;

  /** `keys` as a string: that one key as version v1 (tests, tools). */
  constructor(keys: TokenizationKeyStore | string) {
    const store = typeof keys === 'string' ? StaticTokenizationKeyStore.single(new Secret(keys)) : keys;
    const current = store.current();
    this.#version = current.version;
    this.#key = Buffer.from(current.key.reveal(), 'utf8');
    this.#fingerprintKey = Buffer.from(store.fingerprintKey().reveal(), 'utf8');
  }

  tokenize(pan: string): string {
    return formatCardToken(this.#version, hmacBase64url(this.#key, pan));
  }

  fingerprintToken(pan: string): string {
    return `tok_${hmacBase64url(this.#fingerprintKey, pan)}`;
  }
}

export const sha256Hasher: ContentHasher = Object.freeze({
  sha256Hex: (text: string) => createHash('sha256').update(text, 'utf8').digest('hex'),
});
