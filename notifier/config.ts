import { readStuckAfterMs } from '../platform/consumer-health.js';
import { type Env, Secret, readInt, readList, readOptionalString, readString } from '../platform/config.js';
import { ConfigError } from '../platform/errors.js';
import type { RetryPolicy } from './domain/delivery-policy.js';
import { type AllowedTarget, parseAllowedTargets } from './domain/targets.js';

/** Everything the notifier stage reads from the environment, parsed once at startup and frozen. */
export interface NotifierConfig {
  /** Consumer group turning tx.scored and fraud.alerts into webhook events (VIGIL_NOTIFIER_GROUP). */
  readonly groupId: string;
  /**
   * VIGIL_WEBHOOK_ALLOWED_TARGETS: comma-separated `host:port` (or `host:*`) that may be reached although they are
   * loopback, private or link-local, and over plain http — for receivers inside the bank's network and for tests.
   */
  readonly allowedTargets: readonly AllowedTarget[];
  /**
   * VIGIL_WEBHOOK_INITIAL_BACKOFF_MS (default 1000), VIGIL_WEBHOOK_MAX_BACKOFF_MS (default 1 h),
   * VIGIL_WEBHOOK_RETRY_PERIOD_MS (default 24 h), VIGIL_WEBHOOK_MAX_CONSECUTIVE_FAILURES (default 20; with the
   * default backoff about six hours of an unreachable receiver).
   */
  readonly policy: RetryPolicy;
  /** Whole-attempt timeout (VIGIL_WEBHOOK_TIMEOUT_MS, default 10000). */
  readonly timeoutMs: number;
  /** Response bytes kept per attempt (VIGIL_WEBHOOK_MAX_RESPONSE_BYTES, default 1024); the rest is not read. */
  readonly maxResponseBytes: number;
  /** Accounts delivered to at once per endpoint (VIGIL_WEBHOOK_CONCURRENCY, default 8). */
  readonly concurrencyPerEndpoint: number;
  /** Attempts listed per endpoint (VIGIL_WEBHOOK_ATTEMPTS_KEPT, default 500). */
  readonly attemptsKept: number;
  /** Most events one replay re-sends (VIGIL_WEBHOOK_MAX_REPLAY_EVENTS, default 100000). */
  readonly maxReplayEvents: number;
  /** VIGIL_WEBHOOK_SECRET_KEY (required, ≥ 32 characters): seals endpoint signing secrets at rest. */
  readonly secretKey: Secret;
  /** No progress with lag for this long marks the fan-out stuck (VIGIL_STUCK_AFTER_MS). */
  readonly stuckAfterMs: number;
  /** E-mail notifications; undefined (off) unless VIGIL_SMTP_URL is set. */
  readonly email: EmailConfig | undefined;
}

/** E-mail notifications (README "Webhooks" → "E-mail"). */
export interface EmailConfig {
  /** VIGIL_SMTP_URL: `smtp://user:pass@host:587` or `smtps://…:465`; holds credentials, so kept as a Secret. */
  readonly smtpUrl: Secret;
  /** The relay as `host:port`, without credentials, for logs. */
  readonly smtpServer: string;
  /** VIGIL_SMTP_FROM (required with the URL): the From of every mail, e.g. `Vigil <alerts@bank.example>`. */
  readonly from: string;
  /** VIGIL_PUBLIC_URL (required with the URL): where analysts reach Vigil; console and unsubscribe links. */
  readonly publicUrl: string;
  /** VIGIL_SMTP_ALLOWED_DOMAINS: recipient domains subscriptions may use (lower case); empty = any. */
  readonly allowedDomains: readonly string[];
  /**
   * VIGIL_SMTP_INITIAL_BACKOFF_MS (1000), VIGIL_SMTP_MAX_BACKOFF_MS (1 h), VIGIL_SMTP_RETRY_PERIOD_MS (24 h) for
   * deferred mails (4xx, no reply); VIGIL_SMTP_MAX_REFUSALS (5): refusals (5xx) in a row that suspend a subscription.
   */
  readonly policy: RetryPolicy;
  /** Connect, greeting and socket timeout (VIGIL_SMTP_TIMEOUT_MS, default 30000). */
  readonly timeoutMs: number;
  /** VIGIL_EMAIL_MIN_DIGEST_EVERY_MS (default 60000) and the fixed maximum (7 days) a subscription may ask for. */
  readonly minDigestEveryMs: number;
  readonly maxDigestEveryMs: number;
  /** digestEveryMs when a subscription gives none: 1 h. */
  readonly defaultDigestEveryMs: number;
  /** Alerts listed per digest (VIGIL_EMAIL_DIGEST_MAX_ALERTS, default 100); the rest are counted. */
  readonly digestMaxAlerts: number;
  /** Consumer group turning fraud.alerts into `email.alerts` (VIGIL_NOTIFIER_GROUP + `-email`). */
  readonly groupId: string;
}

const HOUR_MS = 3_600_000;
const MIN_KEY_CHARS = 32;

/** Parses the notifier config; throws ConfigError naming the key, the value and what was expected. */
export function readNotifierConfig(env: Env): NotifierConfig {
  const entries = readList(env, 'VIGIL_WEBHOOK_ALLOWED_TARGETS');
  const { targets, problems } = parseAllowedTargets(entries);
  if (problems.length > 0)
    throw new ConfigError('VIGIL_WEBHOOK_ALLOWED_TARGETS', entries.join(','), problems.join('; '));
  const secretKey = readOptionalString(env, 'VIGIL_WEBHOOK_SECRET_KEY');
  if (secretKey === undefined || secretKey.length < MIN_KEY_CHARS)
    throw new ConfigError(
      'VIGIL_WEBHOOK_SECRET_KEY',
      secretKey === undefined ? '(unset)' : '[secret]',
      `a secret of at least ${MIN_KEY_CHARS} characters (e.g. 32 random bytes, base64url)`,
    );
  const initialBackoffMs = readInt(env, 'VIGIL_WEBHOOK_INITIAL_BACKOFF_MS', 1000, { min: 1, max: HOUR_MS });
  return Object.freeze({
    groupId: readString(env, 'VIGIL_NOTIFIER_GROUP', 'notifier'),
    allowedTargets: Object.freeze(targets),
    policy: Object.freeze({
      initialBackoffMs,
      maxBackoffMs: readInt(env, 'VIGIL_WEBHOOK_MAX_BACKOFF_MS', HOUR_MS, { min: initialBackoffMs, max: 24 * HOUR_MS }),
      retryPeriodMs: readInt(env, 'VIGIL_WEBHOOK_RETRY_PERIOD_MS', 24 * HOUR_MS, { min: 1, max: 30 * 24 * HOUR_MS }),
      maxConsecutiveFailures: readInt(env, 'VIGIL_WEBHOOK_MAX_CONSECUTIVE_FAILURES', 20, { min: 1, max: 1_000_000 }),
    }),
    timeoutMs: readInt(env, 'VIGIL_WEBHOOK_TIMEOUT_MS', 10_000, { min: 10, max: 120_000 }),
    maxResponseBytes: readInt(env, 'VIGIL_WEBHOOK_MAX_RESPONSE_BYTES', 1024, { min: 0, max: 65_536 }),
    concurrencyPerEndpoint: readInt(env, 'VIGIL_WEBHOOK_CONCURRENCY', 8, { min: 1, max: 256 }),
    attemptsKept: readInt(env, 'VIGIL_WEBHOOK_ATTEMPTS_KEPT', 500, { min: 1, max: 100_000 }),
    maxReplayEvents: readInt(env, 'VIGIL_WEBHOOK_MAX_REPLAY_EVENTS', 100_000, { min: 1, max: 10_000_000 }),
    secretKey: new Secret(secretKey),
    stuckAfterMs: readStuckAfterMs(env),
    email: readEmailConfig(env),
  });
}

const DAY_MS = 24 * HOUR_MS;

function readEmailConfig(env: Env): EmailConfig | undefined {
  const url = readOptionalString(env, 'VIGIL_SMTP_URL');
  if (url === undefined) return undefined;
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') || parsed.hostname === '')
    throw new ConfigError('VIGIL_SMTP_URL', '[secret]', 'smtp://user:pass@host:port or smtps://user:pass@host:port');
  const from = readOptionalString(env, 'VIGIL_SMTP_FROM');
  if (from === undefined || !/@[^@\s>]+\.[^@\s>]+>?$/.test(from))
    throw new ConfigError('VIGIL_SMTP_FROM', from ?? '(unset)', 'a From address such as "Vigil <alerts@bank.example>"');
  const publicUrl = readOptionalString(env, 'VIGIL_PUBLIC_URL');
  if (publicUrl === undefined || !/^https?:\/\/[^/\s]+/.test(publicUrl))
    throw new ConfigError('VIGIL_PUBLIC_URL', publicUrl ?? '(unset)', 'the http(s) URL analysts reach Vigil at');
  const initialBackoffMs = readInt(env, 'VIGIL_SMTP_INITIAL_BACKOFF_MS', 1000, { min: 1, max: HOUR_MS });
  return Object.freeze({
    smtpUrl: new Secret(url),
    smtpServer: `${parsed.hostname}:${parsed.port || (parsed.protocol === 'smtps:' ? '465' : '587')}`,
    from,
    publicUrl: publicUrl.replace(/\/+$/, ''),
    allowedDomains: Object.freeze(readList(env, 'VIGIL_SMTP_ALLOWED_DOMAINS').map((d) => d.toLowerCase())),
    policy: Object.freeze({
      initialBackoffMs,
      maxBackoffMs: readInt(env, 'VIGIL_SMTP_MAX_BACKOFF_MS', HOUR_MS, { min: initialBackoffMs, max: DAY_MS }),
      retryPeriodMs: readInt(env, 'VIGIL_SMTP_RETRY_PERIOD_MS', DAY_MS, { min: 1, max: 7 * DAY_MS }),
      maxConsecutiveFailures: readInt(env, 'VIGIL_SMTP_MAX_REFUSALS', 5, { min: 1, max: 1000 }),
    }),
    timeoutMs: readInt(env, 'VIGIL_SMTP_TIMEOUT_MS', 30_000, { min: 10, max: 300_000 }),
    minDigestEveryMs: readInt(env, 'VIGIL_EMAIL_MIN_DIGEST_EVERY_MS', 60_000, { min: 1, max: DAY_MS }),
    maxDigestEveryMs: 7 * DAY_MS,
    defaultDigestEveryMs: HOUR_MS,
    digestMaxAlerts: readInt(env, 'VIGIL_EMAIL_DIGEST_MAX_ALERTS', 100, { min: 1, max: 1000 }),
    groupId: `${readString(env, 'VIGIL_NOTIFIER_GROUP', 'notifier')}-email`,
  });
}
