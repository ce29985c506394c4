import { createHash, createHmac } from 'node:crypto';
import type { ContentHasher, PanTokenizer } from '../ports.js';

/**
 * Card tokens: `tok_` + base64url(HMAC-SHA-256(key, PAN)). Keyed, so a token cannot be reversed by hashing
 * the (small) space of valid PANs without the key (PCI DSS 3.4, "keyed cryptographic hashes of the entire PAN").
 * Stable per key: the same card always has the same token, which scoring's per-card features rely on.
 */
export class HmacPanTokenizer implements PanTokenizer {
  readonly #key: Buffer;

  constructor(key: string) {
    this.#key = Buffer.from(key, 'utf8');
  }

  tokenize(pan: string): string {
    return 'tok_' + createHmac('sha256', this.#key).update(pan, 'utf8').digest('base64url');
  }
}

export const sha256Hasher: ContentHasher = Object.freeze({
  sha256Hex: (text: string) => createHash('sha256').update(text, 'utf8').digest('hex'),
});
