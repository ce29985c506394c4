import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Secret } from '../../platform/config.js';
import { ConfigError } from '../../platform/errors.js';
import { FIRST_KEY_VERSION, KEY_VERSION_PATTERN, compareKeyVersions } from '../domain/card-token.js';
import type { TokenizationKey, TokenizationKeyStore } from '../ports.js';
import { StaticTokenizationKeyStore } from './static-key-store.js';

/** v1 keeps the file name it had before key versions existed, so an existing data directory keeps its tokens. */
const V1_FILE = 'tokenization.key';
const VERSIONED_FILE = /^tokenization-(v[1-9][0-9]*)\.key$/;
const CURRENT_FILE = 'tokenization.current';

function keyFileName(version: string): string {
  return version === FIRST_KEY_VERSION ? V1_FILE : `tokenization-${version}.key`;
}

function newKey(): string {
  return randomBytes(32).toString('base64url');
}

/** A secret file must be the owner's alone: a key readable by others is no longer a secret. */
function readSecretFile(file: string): string {
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new ConfigError(file, `mode ${mode.toString(8)}`, 'a key file readable by its owner only (chmod 600)');
  return readFileSync(file, 'utf8').trim();
}

function writeSecretFile(dir: string, name: string, value: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // 'wx': a key once written is never overwritten — that would orphan every token made with it.
  writeFileSync(join(dir, name), value + '\n', { mode: 0o600, flag: 'wx' });
}

/**
 * The embedded default's tokenisation keys, one file per version under `<dataDir>/secrets/` (mode 0600, directory
 * 0700): `tokenization.key` is v1 (made on first start), `tokenization-v2.key` and later come from `rotate`, and
 * `tokenization.current` names the version new tokens are made with (absent: the highest). The fingerprint key is
 * v1's, which the store never retires. Plaintext keys beside the data are for the single-machine demo only;
 * distributed mode takes them from the environment (or a KMS) and writes nothing.
 */
export class FileTokenizationKeyStore implements TokenizationKeyStore {
  private constructor(
    private readonly keys: StaticTokenizationKeyStore,
    private readonly held: readonly string[],
  ) {}

  /** Reads the keys in `secretsDir`, making v1 when there is none. Throws ConfigError on a key file others can read. */
  static open(secretsDir: string): FileTokenizationKeyStore {
    if (!existsSync(join(secretsDir, V1_FILE))) writeSecretFile(secretsDir, V1_FILE, newKey());
    const keys = new Map<string, Secret>([[FIRST_KEY_VERSION, new Secret(readSecretFile(join(secretsDir, V1_FILE)))]]);
    for (const name of readdirSync(secretsDir)) {
      const version = VERSIONED_FILE.exec(name)?.[1];
      if (version !== undefined && version !== FIRST_KEY_VERSION)
        keys.set(version, new Secret(readSecretFile(join(secretsDir, name))));
    }
    const held = [...keys.keys()].sort(compareKeyVersions);
    const currentFile = join(secretsDir, CURRENT_FILE);
    const current = existsSync(currentFile) ? readFileSync(currentFile, 'utf8').trim() : held.at(-1)!;
    if (!KEY_VERSION_PATTERN.test(current) || !keys.has(current))
      throw new ConfigError(currentFile, current, `one of ${held.join(', ')}`);
    const store = new StaticTokenizationKeyStore(keys, current, keys.get(FIRST_KEY_VERSION)!);
    return new FileTokenizationKeyStore(store, held);
  }

  /**
   * Makes the next key version and makes it current; returns the version. Takes effect at the next start: a
   * running ingest keeps the keys it read. Tokens made before stay readable as their version.
   */
  static rotate(secretsDir: string): string {
    const newest = FileTokenizationKeyStore.open(secretsDir).versions().at(-1)!;
    const next = `v${Number(newest.slice(1)) + 1}`;
    writeSecretFile(secretsDir, keyFileName(next), newKey());
    const temporary = join(secretsDir, `${CURRENT_FILE}.tmp`);
    writeFileSync(temporary, next + '\n', { mode: 0o600 });
    renameSync(temporary, join(secretsDir, CURRENT_FILE));
    return next;
  }

  /** The versions held, oldest first. */
  versions(): readonly string[] {
    return this.held;
  }

  current(): TokenizationKey {
    return this.keys.current();
  }

  byVersion(version: string): TokenizationKey | undefined {
    return this.keys.byVersion(version);
  }

  fingerprintKey(): Secret {
    return this.keys.fingerprintKey();
  }
}
