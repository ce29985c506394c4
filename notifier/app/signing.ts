import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Endpoint secrets: generated once, shown once, kept sealed. Signing follows the scheme in schemas/webhooks.ts
 * (Stripe's), so `stripe.webhooks.constructEvent` verifies Vigil's deliveries when handed the header.
 */

/** A new signing secret: `whsec_` and 32 random bytes, base64url. The whole string is the HMAC key. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** The `Vigil-Signature` header value for `body` sent at `timestampSeconds`. */
export function signatureHeader(secret: string, timestampSeconds: number, body: Buffer): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.`).update(body).digest('hex');
  return `t=${timestampSeconds},v1=${mac}`;
}

/**
 * Seals endpoint secrets at rest (the outbox log holds them) with AES-256-GCM under a key derived from
 * VIGIL_WEBHOOK_SECRET_KEY: reading the log's files alone does not give anyone the power to forge deliveries.
 * A sealed secret is `v1.<iv>.<tag>.<ciphertext>` in base64url; the endpoint id is bound as associated data, so
 * a sealed secret copied onto another endpoint's record does not open.
 */
export class SecretSealer {
  private readonly key: Buffer;

  constructor(keyText: string) {
    this.key = Buffer.from(hkdfSync('sha256', keyText, 'vigil', 'webhook endpoint secrets', 32));
  }

  seal(endpointId: string, secret: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv).setAAD(Buffer.from(endpointId));
    const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), ciphertext]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  /** The secret, or throws when the sealed text was not made by this key for this endpoint. */
  open(endpointId: string, sealed: string): string {
    const [version, iv, tag, ciphertext] = sealed.split('.');
    if (version !== 'v1' || iv === undefined || tag === undefined || ciphertext === undefined)
      throw new Error(`endpoint ${endpointId}: sealed secret has an unknown format`);
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'))
      .setAAD(Buffer.from(endpointId))
      .setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }
}
