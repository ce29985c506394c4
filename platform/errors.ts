import { type ErrorCode, type ErrorCodeEntry, errorCatalogue } from './error-codes.js';

/**
 * The one error base of Vigil. Every error carries a stable string `code` (safe to match on, log and
 * alert on), a `retriable` flag (retry only what is retriable) and an optional `cause`.
 * Categories decide how an edge reports it (HTTP status, dead-letter), never the domain code itself.
 */
export const ErrorCategory = {
  /** The caller sent something invalid; retrying the same input fails again. */
  invalidInput: 'invalid_input',
  /** The caller is not authenticated. */
  unauthenticated: 'unauthenticated',
  /** The caller is authenticated but its role does not allow this. */
  forbidden: 'forbidden',
  /** The thing asked for does not exist. */
  notFound: 'not_found',
  /** The request conflicts with what was accepted before (e.g. same id, different content). */
  conflict: 'conflict',
  /** The request is too large. */
  tooLarge: 'too_large',
  /** The caller sent more requests than its rate limit allows; the same request succeeds after a wait. */
  rateLimited: 'rate_limited',
  /** A dependency (log, store, model) is unavailable; the same request may succeed later. */
  unavailable: 'unavailable',
  /** A bug or broken invariant. */
  internal: 'internal',
} as const;
export type ErrorCategory = (typeof ErrorCategory)[keyof typeof ErrorCategory];

/** One problem at one location, e.g. `{ path: '/amount/value', message: 'must be a decimal string' }`. */
export interface FieldProblem {
  /** JSON-pointer style path to the offending field (RFC 6901). */
  readonly path: string;
  readonly message: string;
}

export interface VigilErrorOptions {
  /** Defaults to the code's category in the catalogue (platform/error-codes.ts). */
  readonly category?: ErrorCategory;
  readonly retriable?: boolean;
  readonly cause?: unknown;
  readonly problems?: readonly FieldProblem[];
  readonly details?: Readonly<Record<string, unknown>>;
}

export class VigilError extends Error {
  readonly code: ErrorCode;
  readonly category: ErrorCategory;
  readonly retriable: boolean;
  readonly problems: readonly FieldProblem[];
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: VigilErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    // The type admits only catalogue codes, but a cast or plain JS can pass any string: an error must still be
    // constructible then, so an unknown code falls back to `internal` instead of throwing here.
    const entry = (errorCatalogue as Readonly<Record<string, ErrorCodeEntry | undefined>>)[code];
    this.category = options.category ?? entry?.category ?? ErrorCategory.internal;
    this.retriable = options.retriable ?? this.category === ErrorCategory.unavailable;
    this.problems = Object.freeze([...(options.problems ?? [])]);
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }
}

/** Input failed validation; `problems` lists every failure with its field path, not just the first. */
export class ValidationError extends VigilError {
  constructor(message: string, problems: readonly FieldProblem[], code: ErrorCode = 'VALIDATION_FAILED') {
    super(code, message, { category: ErrorCategory.invalidInput, problems });
  }
}

/** Configuration is missing or out of range; thrown at startup so the process fails fast. */
export class ConfigError extends VigilError {
  constructor(key: string, value: string | undefined, expected: string) {
    super(
      'CONFIG_INVALID',
      `config ${key}=${value === undefined ? '(unset)' : JSON.stringify(value)}: expected ${expected}`,
      {
        category: ErrorCategory.internal,
        details: { key, expected },
      },
    );
  }
}

/** A dependency is unavailable; safe to retry later. */
export class UnavailableError extends VigilError {
  constructor(code: ErrorCode, message: string, cause?: unknown) {
    super(code, message, { category: ErrorCategory.unavailable, retriable: true, cause });
  }
}

/** True if `error` is worth retrying: a retriable VigilError, or a bare error from the platform (I/O). */
export function isRetriable(error: unknown): boolean {
  return error instanceof VigilError ? error.retriable : false;
}

/** A short, log-safe description of any thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof VigilError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
