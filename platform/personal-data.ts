import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { VigilError } from './errors.js';

/**
 * Personal data at rest, encrypted per customer so it can be erased by destroying keys (crypto-shredding, GDPR
 * art. 17): the log, ClickHouse and the audit index are append-only, so a customer's values cannot be deleted from
 * them, but once the customer's data keys are gone their ciphertext is noise everywhere at once.
 *
 * A sealed value is a string, so it travels in the schema's existing string fields unchanged:
 *
 *     pd1.<base64url customer id>.<key version>.<base64url of 12-byte IV ‖ AES-256-GCM ciphertext ‖ 16-byte tag>
 *
 * The header (everything before the last dot) names the key a reader must ask the key store for, and is the GCM
 * additional authenticated data, so a value moved to another customer or version fails authentication instead of
 * decrypting under the wrong key. Which fields are sealed, and why the others are not: SECURITY.md.
 */

const PREFIX = 'pd1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** AES-256. */
export const DATA_KEY_BYTES = 32;
const SEALED = /^pd1\.([A-Za-z0-9_-]+)\.([1-9][0-9]{0,8})\.([A-Za-z0-9_-]+)$/;

/** What a read shows in place of a value whose key was destroyed: erased, not an error. */
export const ERASED = '[erased]';

/** One version of one customer's data key. */
export interface CustomerDataKey {
  readonly customerId: string;
  /** 1, 2, …: a key made after an erasure or a retention rotation gets the next number, never an old one. */
  readonly version: number;
  /** 32 bytes (AES-256). */
  readonly key: Buffer;
}

/** A customer's keys as the export reports them: versions still held, versions destroyed, when last erased. */
export interface CustomerKeyStatus {
  readonly heldVersions: readonly number[];
  readonly destroyedVersions: readonly number[];
  /** Epoch ms of the last erasure request, or null if none. */
  readonly erasedAtMs: number | null;
}

/**
 * The per-customer key store, shaped for a KMS: keys are addressed by customer and version, one version is current,
 * and destroying is the only way a key ends. The embedded default keeps them in files
 * (`file-customer-key-store.ts`); a production adapter would keep each data key wrapped by a KMS master key and drop
 * the wrapped copy on `destroy` (envelope encryption, keys unwrapped once and cached, so sealing never waits on the
 * network). Every method rejects with a retriable error when the store cannot be read or written.
 */
export interface CustomerKeyStore {
  /** The version new values of `customerId` are sealed with, made (durably) when there is none. */
  currentKey(customerId: string, nowMs: number): Promise<CustomerDataKey>;
  /** A version's key, or undefined when it was destroyed or never existed (a read shows ERASED). */
  keyOf(customerId: string, version: number): Promise<Buffer | undefined>;
  /** Destroys every version `customerId` has; the next `currentKey` makes a new one. Idempotent. */
  destroy(customerId: string, nowMs: number): Promise<{ readonly destroyedVersions: readonly number[] }>;
  status(customerId: string): Promise<CustomerKeyStatus>;
}

/** A sealed value's header: whose key, which version. */
export interface SealedHeader {
  readonly customerId: string;
  readonly version: number;
}

/** The header of a sealed value, or undefined for any other string (plaintext, or a value from before sealing). */
export function sealedHeaderOf(text: string): SealedHeader | undefined {
  const match = SEALED.exec(text);
  if (!match) return undefined;
  return { customerId: Buffer.from(match[1]!, 'base64url').toString('utf8'), version: Number(match[2]) };
}

function headerText(customerId: string, version: number): string {
  return `${PREFIX}.${Buffer.from(customerId, 'utf8').toString('base64url')}.${version}`;
}

/** Seals `plaintext` (UTF-8) with one customer data key; a fresh random IV each time. */
export function seal(key: CustomerDataKey, plaintext: string): string {
  const header = headerText(key.customerId, key.version);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  cipher.setAAD(Buffer.from(header, 'utf8'));
  const body = Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${header}.${body.toString('base64url')}`;
}

/**
 * Opens a sealed value with `key` (the version its header names).
 * @throws VigilError PERSONAL_DATA_CORRUPT when the value is not sealed, was altered, or `key` is not its key.
 */
export function open(sealed: string, key: Buffer): string {
  const match = SEALED.exec(sealed);
  const body = match ? Buffer.from(match[3]!, 'base64url') : Buffer.alloc(0);
  if (!match || body.length < IV_BYTES + TAG_BYTES)
    throw new VigilError('PERSONAL_DATA_CORRUPT', 'a sealed personal value is malformed');
  const header = sealed.slice(0, sealed.length - match[3]!.length - 1);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(header, 'utf8'));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch (cause) {
    // GCM authentication failed: the bytes were altered, or this is not the key they were sealed with.
    throw new VigilError('PERSONAL_DATA_CORRUPT', 'a sealed personal value failed authentication', { cause });
  }
}

/** A fresh random data key. */
export function newDataKey(): Buffer {
  return randomBytes(DATA_KEY_BYTES);
}

/**
 * Seals and opens personal values through a {@link CustomerKeyStore}. Opening is lenient about what is not sealed
 * (values written before sealing existed are returned as they are) and shows a value whose key is gone as
 * {@link ERASED}; it throws only on a value that was altered.
 */
export class PersonalDataCipher {
  constructor(private readonly keys: CustomerKeyStore) {}

  /** `values` sealed under `customerId`'s current key; nulls stay null. */
  async sealAll(
    customerId: string,
    values: ReadonlyArray<string | null>,
    nowMs: number,
  ): Promise<Array<string | null>> {
    if (values.every((v) => v === null)) return values.map(() => null);
    const key = await this.keys.currentKey(customerId, nowMs);
    return values.map((v) => (v === null ? null : seal(key, v)));
  }

  /** The plaintext of one value, ERASED when its key is destroyed, the value itself when it is not sealed. */
  async open(text: string): Promise<string> {
    return this.opener()(text);
  }

  /**
   * A copy of `value` (parsed JSON: objects, arrays, strings, numbers …) with every sealed string in it opened, at
   * any depth; keys are fetched once per customer and version.
   */
  async openDeep<T>(value: T): Promise<T> {
    const openOne = this.opener();
    const visit = async (node: unknown): Promise<unknown> => {
      if (typeof node === 'string') return openOne(node);
      if (Array.isArray(node)) return Promise.all(node.map(visit));
      if (node === null || typeof node !== 'object') return node;
      const entries = await Promise.all(Object.entries(node).map(async ([k, v]) => [k, await visit(v)] as const));
      return Object.fromEntries(entries);
    };
    return (await visit(value)) as T;
  }

  private opener(): (text: string) => Promise<string> {
    const cache = new Map<string, Promise<Buffer | undefined>>();
    return async (text) => {
      const header = sealedHeaderOf(text);
      if (header === undefined) return text;
      const id = `${header.version}:${header.customerId}`;
      let key = cache.get(id);
      if (key === undefined) cache.set(id, (key = this.keys.keyOf(header.customerId, header.version)));
      const bytes = await key;
      return bytes === undefined ? ERASED : open(text, bytes);
    };
  }
}
