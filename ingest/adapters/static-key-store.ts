import type { Secret } from '../../platform/config.js';
import { FIRST_KEY_VERSION } from '../domain/card-token.js';
import type { TokenizationKey, TokenizationKeyStore } from '../ports.js';

/**
 * Tokenisation keys held in memory, as parsed from the environment in distributed mode (`config.ts`
 * VIGIL_TOKENIZATION_KEYS / VIGIL_TOKENIZATION_KEY_CURRENT / VIGIL_FINGERPRINT_KEY, or VIGIL_TOKENIZATION_KEY alone
 * as v1). The caller has checked that `current` is among `keys` and that a fingerprint key exists.
 */
export class StaticTokenizationKeyStore implements TokenizationKeyStore {
  readonly #keys: ReadonlyMap<string, Secret>;
  readonly #current: TokenizationKey;
  readonly #fingerprintKey: Secret;

  constructor(keys: ReadonlyMap<string, Secret>, currentVersion: string, fingerprintKey: Secret) {
    const key = keys.get(currentVersion);
    if (key === undefined) throw new Error(`current tokenisation key version ${currentVersion} is not among the keys`);
    this.#keys = new Map(keys);
    this.#current = Object.freeze({ version: currentVersion, key });
    this.#fingerprintKey = fingerprintKey;
  }

  /** One key, as version v1 and as the fingerprint key: the store before key versions existed. */
  static single(key: Secret): StaticTokenizationKeyStore {
    return new StaticTokenizationKeyStore(new Map([[FIRST_KEY_VERSION, key]]), FIRST_KEY_VERSION, key);
  }

  current(): TokenizationKey {
    return this.#current;
  }

  byVersion(version: string): TokenizationKey | undefined {
    const key = this.#keys.get(version);
    return key === undefined ? undefined : { version, key };
  }

  fingerprintKey(): Secret {
    return this.#fingerprintKey;
  }
}
