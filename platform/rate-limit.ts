import type { Request, RequestHandler } from 'express';
import type { ApiKeyAuthenticator } from './auth.js';
import type { Clock } from './clock.js';
import { type Env, readInt } from './config.js';
import { ErrorCategory, VigilError } from './errors.js';

/**
 * Rate limits at the shared HTTP edge (OWASP API4: unrestricted resource consumption): a token bucket per API key
 * and one per client address. A bucket holds at most `burst` tokens and gains `perSecond` a second; each request
 * takes one, and a request that finds less than one is refused with 429 and `Retry-After` (whole seconds until a
 * token is back). Time comes from an injected clock, so tests move it instead of waiting.
 */
export interface BucketLimit {
  /** Tokens gained per second (sustained requests per second). */
  readonly perSecond: number;
  /** Most tokens a bucket holds (requests allowed back to back after a quiet spell). */
  readonly burst: number;
}

export interface RateLimitConfig {
  /** Per API key (VIGIL_RATE_LIMIT_KEY_PER_SECOND, VIGIL_RATE_LIMIT_KEY_BURST); undefined when 0 (off). */
  readonly perKey: BucketLimit | undefined;
  /** Per client address (VIGIL_RATE_LIMIT_ADDRESS_PER_SECOND, …_ADDRESS_BURST); undefined when 0 (off). */
  readonly perAddress: BucketLimit | undefined;
  /** Most buckets kept per kind (VIGIL_RATE_LIMIT_MAX_TRACKED); past it the longest-idle bucket is forgotten. */
  readonly maxTracked: number;
}

/**
 * Reads VIGIL_RATE_LIMIT_*. The defaults are set above what one feed needs at the benchmarked rates (5000 decisions
 * a second on one key), so they stop floods rather than shape traffic; operators tighten them per deployment.
 * A rate of 0 turns that kind of limit off. Throws ConfigError naming the bad key.
 */
export function readRateLimitConfig(env: Env): RateLimitConfig {
  const limit = (kind: 'KEY' | 'ADDRESS', perSecond: number, burst: number): BucketLimit | undefined => {
    const rate = readInt(env, `VIGIL_RATE_LIMIT_${kind}_PER_SECOND`, perSecond, { min: 0, max: 1_000_000 });
    const size = readInt(env, `VIGIL_RATE_LIMIT_${kind}_BURST`, Math.max(burst, rate), { min: 1, max: 10_000_000 });
    return rate === 0 ? undefined : Object.freeze({ perSecond: rate, burst: size });
  };
  return Object.freeze({
    perKey: limit('KEY', 10_000, 20_000),
    perAddress: limit('ADDRESS', 20_000, 40_000),
    maxTracked: readInt(env, 'VIGIL_RATE_LIMIT_MAX_TRACKED', 100_000, { min: 1, max: 10_000_000 }),
  });
}

/** What taking a token answered: allowed, or refused with the whole seconds until one is back (at least 1). */
export type TakeResult = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

/** Token buckets by key, refilled lazily from the clock; at most `maxTracked` are kept (least recently used go). */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(
    private readonly limit: BucketLimit,
    private readonly clock: Clock,
    private readonly maxTracked: number,
  ) {}

  /** Takes one token from `key`'s bucket (a new key starts full). */
  take(key: string): TakeResult {
    const nowMs = this.clock.nowMs();
    const bucket = this.buckets.get(key) ?? { tokens: this.limit.burst, atMs: nowMs };
    // A clock stepping back must not mint tokens: elapsed time is never negative.
    const elapsedMs = Math.max(0, nowMs - bucket.atMs);
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + (elapsedMs * this.limit.perSecond) / 1000);
    bucket.atMs = nowMs;
    // Re-inserted so Map order is least recently used first.
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxTracked) this.buckets.delete(this.buckets.keys().next().value!);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / this.limit.perSecond));
    return { allowed: false, retryAfterSeconds };
  }

  /** Buckets currently kept. */
  get size(): number {
    return this.buckets.size;
  }
}

/** The address a request came from: the socket's peer (X-Forwarded-For is trusted only if express is told to). */
const clientAddress = (req: Request): string => req.ip ?? req.socket.remoteAddress ?? 'unknown';

/**
 * The edge middleware: the client address's bucket first, then — for a request whose key authenticates — the key's
 * bucket (by principal id, never the key). An unknown key is limited by address only, so random keys cannot make
 * the server keep a bucket each. Refusals go to the error middleware as RATE_LIMITED (429) with `Retry-After`.
 */
export function rateLimit(config: RateLimitConfig, authenticator: ApiKeyAuthenticator, clock: Clock): RequestHandler {
  const byAddress = config.perAddress && new TokenBuckets(config.perAddress, clock, config.maxTracked);
  const byKey = config.perKey && new TokenBuckets(config.perKey, clock, config.maxTracked);
  return (req, res, next) => {
    const refuse = (result: TakeResult, what: string): boolean => {
      if (result.allowed) return false;
      res.setHeader('Retry-After', String(result.retryAfterSeconds));
      next(
        new VigilError('RATE_LIMITED', `rate limit of this ${what} exceeded; retry in ${result.retryAfterSeconds} s`, {
          category: ErrorCategory.rateLimited,
          retriable: true,
        }),
      );
      return true;
    };
    if (byAddress && refuse(byAddress.take(clientAddress(req)), 'client address')) return;
    if (byKey && req.headers.authorization !== undefined) {
      authenticator.authenticate(req.headers.authorization).then(
        ({ id }) => {
          if (!refuse(byKey.take(id), 'API key')) next();
        },
        // Not a known key or token: the route's own guard answers 401; the address bucket already counted it.
        () => next(),
      );
      return;
    }
    next();
  };
}
