import { createHmac, hkdfSync } from 'node:crypto';
import type { Secret } from '../../platform/config.js';
import { type CustomerKeyStore, PersonalDataCipher } from '../../platform/personal-data.js';
import type { Transaction } from '../../schemas/generated/types.js';
import { dataSubjectOf, sealableFields, withSealedFields } from '../domain/personal-data.js';
import type { PersonalDataProtector } from '../ports.js';

/** Bytes of the device pseudonym's MAC that are kept: 128 bits, 22 base64url characters. */
const PSEUDONYM_BYTES = 16;

/**
 * The device pseudonym's key, derived (HKDF-SHA-256) from the fingerprint key: that key never rotates, so a device
 * keeps its pseudonym, and scoring its per-device history, for good; and no new secret has to be kept.
 */
export function devicePseudonymKey(fingerprintKey: Secret): Buffer {
  return Buffer.from(hkdfSync('sha256', fingerprintKey.reveal(), '', 'vigil device pseudonym v1', 32));
}

/**
 * Seals personal fields under per-customer keys and pseudonymises the device id with a keyed HMAC, so the log, and
 * every store after it, holds ciphertext and pseudonyms only. Keyed, so a guessed device id cannot be confirmed
 * without the key.
 */
export class SealingPersonalDataProtector implements PersonalDataProtector {
  private readonly cipher: PersonalDataCipher;

  constructor(
    keys: CustomerKeyStore,
    private readonly pseudonymKey: Buffer,
  ) {
    this.cipher = new PersonalDataCipher(keys);
  }

  async protect(tx: Transaction): Promise<Transaction> {
    const sealed = await this.cipher.sealAll(dataSubjectOf(tx), sealableFields(tx), tx.receivedAtMs);
    return withSealedFields(tx, sealed, tx.deviceId === null ? null : this.devicePseudonym(tx.deviceId));
  }

  /** `dev_` and 22 base64url characters; the same device id always gives the same pseudonym. */
  devicePseudonym(deviceId: string): string {
    const mac = createHmac('sha256', this.pseudonymKey).update(deviceId, 'utf8').digest();
    return `dev_${mac.subarray(0, PSEUDONYM_BYTES).toString('base64url')}`;
  }
}
