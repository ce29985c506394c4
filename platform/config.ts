import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';

/**
 * Typed readers for configuration from the environment. Each stage's `config.ts` parses everything once at
 * startup into a frozen object; a bad value fails fast naming the key, the value and the allowed range.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export interface IntRange {
  readonly min?: number;
  readonly max?: number;
}

export function readInt(env: Env, key: string, fallback: number, range: IntRange = {}): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const min = range.min ?? Number.MIN_SAFE_INTEGER;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(key, raw, `an integer in [${min}, ${max}]`);
  }
  return value;
}

export function readNumber(env: Env, key: string, fallback: number, range: IntRange = {}): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  const min = range.min ?? -Infinity;
  const max = range.max ?? Infinity;
  if (!Number.isFinite(value) || value < min || value > max)
    throw new ConfigError(key, raw, `a number in [${min}, ${max}]`);
  return value;
}

export function readString(env: Env, key: string, fallback: string): string {
  const raw = env[key];
  return raw === undefined || raw === '' ? fallback : raw;
}

export function readOptionalString(env: Env, key: string): string | undefined {
  const raw = env[key];
  return raw === undefined || raw === '' ? undefined : raw;
}

export function readBoolean(env: Env, key: string, fallback: boolean): boolean {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(key, raw, 'one of true/false/1/0/yes/no/on/off');
}

export function readEnum<const T extends readonly string[]>(
  env: Env,
  key: string,
  allowed: T,
  fallback: T[number],
): T[number] {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  if (!allowed.includes(raw)) throw new ConfigError(key, raw, `one of ${allowed.join(', ')}`);
  return raw;
}

/** Comma-separated list; empty entries are dropped. */
export function readList(env: Env, key: string, fallback: readonly string[] = []): readonly string[] {
  const raw = env[key];
  if (raw === undefined || raw.trim() === '') return fallback;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** A secret that does not show up when the config object is logged, printed or serialised. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[secret]';
  }
  toJSON(): string {
    return '[secret]';
  }
}

/**
 * A secret given either in the environment (`key`) or in a file named by `<key>_FILE` (the Docker/Kubernetes
 * secrets convention, which keeps it out of the process environment and `docker inspect`); surrounding whitespace
 * is trimmed. Undefined when neither is set. Throws ConfigError when both are set, or the file is unreadable or
 * empty; the error names the key and the file, never the secret.
 */
export function readOptionalSecret(env: Env, key: string): Secret | undefined {
  const fileKey = `${key}_FILE`;
  const inline = readOptionalString(env, key);
  const file = readOptionalString(env, fileKey);
  if (inline !== undefined && file !== undefined)
    throw new ConfigError(key, '[secret]', `either ${key} or ${fileKey}, not both`);
  if (file === undefined) return inline === undefined ? undefined : new Secret(inline);
  const value = readTextFile(fileKey, file).trim();
  if (value === '') throw new ConfigError(fileKey, file, 'a file holding the secret (it is empty)');
  return new Secret(value);
}

/** The text of the file named by `key` (a PEM certificate, say); undefined when unset. Throws ConfigError if unreadable. */
export function readOptionalFile(env: Env, key: string): string | undefined {
  const file = readOptionalString(env, key);
  return file === undefined ? undefined : readTextFile(key, file);
}

function readTextFile(key: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const reason = typeof code === 'string' ? code : 'unreadable';
    throw new ConfigError(key, file, `a readable file (${reason})`);
  }
}
