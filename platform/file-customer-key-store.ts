import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { open, readFile, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, UnavailableError } from './errors.js';
import { KeyedLock } from './keyed-lock.js';
import { fsyncDirectory } from './embedded-log/files.js';
import {
  type CustomerDataKey,
  type CustomerKeyStatus,
  type CustomerKeyStore,
  DATA_KEY_BYTES,
  newDataKey,
} from './personal-data.js';

interface StoredVersion {
  readonly version: number;
  readonly createdAtMs: number;
  /** base64 of the 32-byte key; null once destroyed. */
  readonly key: string | null;
  readonly destroyedAtMs: number | null;
}

interface CustomerFile {
  readonly customerId: string;
  readonly versions: readonly StoredVersion[];
  readonly erasedAtMs: number | null;
}

export interface FileCustomerKeyStoreOptions {
  /**
   * A customer's current key is replaced by a new version once it is this old (0 = never), so that retention can
   * destroy old versions without touching recent data: a version seals nothing after `rotateAfterMs`.
   */
  readonly rotateAfterMs: number;
}

/**
 * The embedded default's per-customer data keys: one file per customer under `dir` (mode 0600, directory 0700),
 * named by the base64url customer id, listing every key version with its creation time; a destroyed version keeps
 * its number and times but not its key, so a new key never reuses a destroyed version's number. Writes go to a
 * temporary file, are fsync'd and renamed over the old one, so a crash leaves the old or the new file, never half of
 * one. Keys are cached after their first read. File work is asynchronous and serialised per customer: a new
 * customer's two fsyncs would otherwise stop the event loop, and with it every stage of the embedded process.
 *
 * A new customer is the common case of a busy store (about half the requests of the sync benchmark), so it is kept
 * cheap: the directory is listed once at open, and a customer with no file is known to have none without a failed
 * open; and the directory fsync that makes a new file's name durable is shared by every rename that finished before
 * it started (group commit), instead of one per customer.
 *
 * For the single-machine demo: the keys lie in plaintext beside the data (like the tokenisation keys), and removing
 * a key from a file does not scrub the disk blocks the old file used — a KMS or HSM destroys keys for real. One
 * process only: another process's cache would not hear of an erasure.
 */
export class FileCustomerKeyStore implements CustomerKeyStore {
  private readonly cache = new Map<string, CustomerFile | null>();
  private readonly locks = new KeyedLock();
  /** The directory fsync in flight, and the one that will follow it for renames made meanwhile. */
  private directorySync: Promise<void> | null = null;
  private nextDirectorySync: Promise<void> | null = null;

  private constructor(
    private readonly dir: string,
    private readonly options: FileCustomerKeyStoreOptions,
    /** Names of the customer files in `dir`: listed at open, added to by every rename into it. */
    private readonly files: Set<string>,
  ) {}

  /** Opens (creating) the store at `dir`. Throws ConfigError when the directory is readable by others. */
  static open(dir: string, options: FileCustomerKeyStoreOptions): FileCustomerKeyStore {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const mode = statSync(dir).mode & 0o777;
    if ((mode & 0o077) !== 0)
      throw new ConfigError(dir, `mode ${mode.toString(8)}`, 'a key directory its owner alone can read (chmod 700)');
    const files = new Set(readdirSync(dir).filter((name) => name.endsWith('.json')));
    return new FileCustomerKeyStore(dir, options, files);
  }

  currentKey(customerId: string, nowMs: number): Promise<CustomerDataKey> {
    return this.guard(customerId, async () => {
      const file = await this.read(customerId);
      const versions = file?.versions ?? [];
      const newest = versions.at(-1);
      const rotate =
        this.options.rotateAfterMs > 0 &&
        newest !== undefined &&
        nowMs - newest.createdAtMs >= this.options.rotateAfterMs;
      if (newest?.key != null && !rotate)
        return { customerId, version: newest.version, key: Buffer.from(newest.key, 'base64') };
      const key = newDataKey();
      const version = (newest?.version ?? 0) + 1;
      await this.write({
        customerId,
        versions: [...versions, { version, createdAtMs: nowMs, key: key.toString('base64'), destroyedAtMs: null }],
        erasedAtMs: file?.erasedAtMs ?? null,
      });
      return { customerId, version, key };
    });
  }

  keyOf(customerId: string, version: number): Promise<Buffer | undefined> {
    return this.guard(customerId, async () => {
      const stored = (await this.read(customerId))?.versions.find((v) => v.version === version)?.key;
      return stored == null ? undefined : Buffer.from(stored, 'base64');
    });
  }

  destroy(customerId: string, nowMs: number): Promise<{ readonly destroyedVersions: readonly number[] }> {
    return this.guard(customerId, async () => {
      const file = await this.read(customerId);
      const held = (file?.versions ?? []).filter((v) => v.key !== null).map((v) => v.version);
      await this.write({
        customerId,
        versions: (file?.versions ?? []).map((v) => (v.key === null ? v : { ...v, key: null, destroyedAtMs: nowMs })),
        erasedAtMs: nowMs,
      });
      return { destroyedVersions: held };
    });
  }

  status(customerId: string): Promise<CustomerKeyStatus> {
    return this.guard(customerId, async () => {
      const file = await this.read(customerId);
      const versions = file?.versions ?? [];
      return {
        heldVersions: versions.filter((v) => v.key !== null).map((v) => v.version),
        destroyedVersions: versions.filter((v) => v.key === null).map((v) => v.version),
        erasedAtMs: file?.erasedAtMs ?? null,
      };
    });
  }

  /**
   * Retention: destroys every key version that sealed its last value more than `retentionMs` before `nowMs` — with
   * rotation, a version seals values for `rotateAfterMs` after its creation at most, so its values are at most
   * `retentionMs + rotateAfterMs` old when it goes. Without rotation (`rotateAfterMs` 0) only versions already
   * replaced count, by their successor's creation. Returns how many versions it destroyed.
   */
  async destroyExpired(nowMs: number, retentionMs: number): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      throw new UnavailableError('CUSTOMER_KEY_STORE_FAILED', 'the customer key store could not be used', error);
    }
    let destroyed = 0;
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const customerId = Buffer.from(name.slice(0, -'.json'.length), 'base64url').toString('utf8');
      destroyed += await this.guard(customerId, async () => {
        const file = await this.read(customerId);
        if (file === null) return 0;
        const lastUseOf = (i: number): number => {
          const next = file.versions[i + 1];
          if (next !== undefined) return Math.min(next.createdAtMs, this.lastPossibleUse(file.versions[i]!));
          return this.options.rotateAfterMs > 0 ? this.lastPossibleUse(file.versions[i]!) : Number.POSITIVE_INFINITY;
        };
        const expired = file.versions.map((v, i) => v.key !== null && lastUseOf(i) + retentionMs <= nowMs);
        if (!expired.includes(true)) return 0;
        await this.write({
          ...file,
          versions: file.versions.map((v, i) => (expired[i] ? { ...v, key: null, destroyedAtMs: nowMs } : v)),
        });
        return expired.filter(Boolean).length;
      });
    }
    return destroyed;
  }

  private lastPossibleUse(version: StoredVersion): number {
    return this.options.rotateAfterMs > 0 ? version.createdAtMs + this.options.rotateAfterMs : Number.POSITIVE_INFINITY;
  }

  private fileNameOf(customerId: string): string {
    return `${Buffer.from(customerId, 'utf8').toString('base64url')}.json`;
  }

  private async read(customerId: string): Promise<CustomerFile | null> {
    const cached = this.cache.get(customerId);
    if (cached !== undefined) return cached;
    const name = this.fileNameOf(customerId);
    if (!this.files.has(name)) {
      this.cache.set(customerId, null);
      return null;
    }
    const path = join(this.dir, name);
    let file: CustomerFile | null;
    try {
      file = parseCustomerFile(await readFile(path, 'utf8'), path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      file = null;
    }
    this.cache.set(customerId, file);
    return file;
  }

  private async write(file: CustomerFile): Promise<void> {
    const name = this.fileNameOf(file.customerId);
    const path = join(this.dir, name);
    const temporary = `${path}.tmp`;
    const handle = await open(temporary, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(file) + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
    this.files.add(name);
    // The rename is durable only once the directory is.
    await this.syncDirectory();
    this.cache.set(file.customerId, file);
  }

  /**
   * Resolves once an fsync of the directory that began after this call is done. While one runs, every caller
   * shares the next: a rename that finished before that one began is covered by it.
   */
  private syncDirectory(): Promise<void> {
    if (this.directorySync === null) {
      this.directorySync = fsyncDirectory(this.dir).finally(() => (this.directorySync = null));
      return this.directorySync;
    }
    this.nextDirectorySync ??= this.directorySync
      .catch(() => undefined)
      .then(() => {
        this.nextDirectorySync = null;
        return this.syncDirectory();
      });
    return this.nextDirectorySync;
  }

  /** Runs `work` alone for `customerId` (a read, then maybe a write of its file); I/O failures become retriable. */
  private async guard<T>(customerId: string, work: () => Promise<T>): Promise<T> {
    const release = await this.locks.acquire([customerId]);
    try {
      return await work();
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw new UnavailableError('CUSTOMER_KEY_STORE_FAILED', 'the customer key store could not be used', error);
    } finally {
      release();
    }
  }
}

function parseCustomerFile(text: string, path: string): CustomerFile {
  const parsed = JSON.parse(text) as CustomerFile;
  for (const v of parsed.versions)
    if (v.key !== null && Buffer.from(v.key, 'base64').length !== DATA_KEY_BYTES)
      throw new ConfigError(path, `version ${v.version}`, `a ${DATA_KEY_BYTES}-byte key`);
  return parsed;
}
