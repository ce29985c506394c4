import { hostname, tmpdir } from 'node:os';
import {
  type Env,
  Secret,
  readInt,
  readList,
  readOptionalSecret,
  readOptionalString,
  readString,
} from '../platform/config.js';
import { ConfigError } from '../platform/errors.js';
import { FIRST_KEY_VERSION, KEY_VERSION_PATTERN, compareKeyVersions } from './domain/card-token.js';
import type { ValidationLimits } from './domain/validation.js';

/** The ingest stage's configuration, parsed once at start from the environment. */
export interface IngestConfig {
  /** VIGIL_INGEST_MAX_BODY_BYTES: largest body of `POST /v1/transactions` (default 64 KiB); larger → 413. */
  readonly maxBodyBytes: number;
  /** VIGIL_INGEST_MAX_BATCH_BODY_BYTES: largest body of `POST /v1/transactions/batch` (default 8 MiB). */
  readonly maxBatchBodyBytes: number;
  /** VIGIL_INGEST_MAX_BATCH_ITEMS: most items in one batch (default 5,000); more → 413. */
  readonly maxBatchItems: number;
  /**
   * VIGIL_INGEST_MAX_CHANNEL_FILE_BYTES: largest channel file (`POST /v1/channels/iso20022`, `csv`, `nacha`; default
   * 256 MiB, at most 4 GiB); larger → 413. Files are spooled to disk and streamed, so this bounds disk, not memory;
   * their items are ingested VIGIL_INGEST_MAX_BATCH_ITEMS at a time.
   */
  readonly maxChannelFileBytes: number;
  /**
   * VIGIL_INGEST_CHANNEL_SPOOL_DIR: where channel files are spooled while they are checked and ingested (default: the
   * system's temporary directory); each upload's copy is removed once answered.
   */
  readonly channelSpoolDir: string;
  /**
   * The tokenisation keys from the environment (distributed mode), or undefined when none is set — then the
   * composition root must be handed a key store (the embedded default's file store) or it refuses to start. Each
   * setting below may instead name a file holding its value (`<KEY>_FILE`, e.g. a mounted Docker/Kubernetes secret).
   *  - VIGIL_TOKENIZATION_KEYS: `v1:<key>,v2:<key>,…`, every key ≥ 32 characters;
   *  - VIGIL_TOKENIZATION_KEY: one key, as version v1 (the form before key versions; may be combined with
   *    VIGIL_TOKENIZATION_KEYS holding v2 and later);
   *  - VIGIL_TOKENIZATION_KEY_CURRENT: the version new tokens are made with (default: the highest version);
   *  - VIGIL_FINGERPRINT_KEY: the never-rotated key of the duplicate fingerprint (default: the v1 key; required
   *    when v1 is not configured).
   */
  readonly tokenizationKeys: TokenizationKeySet | undefined;
  readonly limits: ValidationLimits;
  /**
   * VIGIL_DECISION_DEADLINE_MS (1..30000, default 150): how long `POST /v1/decisions` waits for the decision before
   * it answers 202 with a URL to fetch it from; a request may ask for another deadline in the header
   * `Vigil-Decision-Deadline-Ms`, within the same bounds.
   */
  readonly decisionDeadlineMs: number;
  /**
   * VIGIL_INGEST_INSTANCE_ID (default: the host name): names this process's own consumer group on tx.scored
   * (`ingest-decisions-<id>`). Every ingest replica must read every decision, so each needs its own id.
   */
  readonly instanceId: string;
  /**
   * VIGIL_IDEMPOTENCY_WINDOW_MS (default 7 days; 0 = forever): how long an accepted transaction id is answered by
   * ingest's own store. A repeat after it is accepted again and answered by ledger-sink's duplicate/conflict check.
   */
  readonly idempotencyWindowMs: number;
  /**
   * VIGIL_IDEMPOTENCY_CLAIM_TIMEOUT_MS (1000..3600000, default 60,000; distributed mode's claims store only): how old
   * another replica's claim on an id must be, still not written to tx.raw, before a retry may take it over (that
   * replica died between claim and append). Above the Kafka send timeout (30 s), so a live but slow replica is
   * not overtaken.
   */
  readonly idempotencyClaimTimeoutMs: number;
  /**
   * `POST /v1/channels/stripe`, authenticated by Stripe's signature instead of an API key; undefined (the route
   * answers 503 WEBHOOK_NOT_CONFIGURED) until VIGIL_STRIPE_WEBHOOK_SECRET (or `_FILE`) is set.
   */
  readonly stripeWebhooks: StripeWebhookConfig | undefined;
  /**
   * `POST /v1/channels/adyen`, authenticated by Adyen's per-item HMAC and basic auth instead of an API key; undefined
   * (the route answers 503 WEBHOOK_NOT_CONFIGURED) until VIGIL_ADYEN_HMAC_KEY (or `_FILE`) is set.
   */
  readonly adyenWebhooks: AdyenWebhookConfig | undefined;
}

/** How Adyen's standard notifications are verified (`hmacValidator` of `@adyen/api-library`, then basic auth). */
export interface AdyenWebhookConfig {
  /** VIGIL_ADYEN_HMAC_KEY: the webhook's HMAC key from the Customer Area, hex (64 characters as Adyen issues it). */
  readonly hmacKey: Secret;
  /** VIGIL_ADYEN_WEBHOOK_USERNAME: the basic-auth user name set on the webhook in the Customer Area. */
  readonly username: string;
  /** VIGIL_ADYEN_WEBHOOK_PASSWORD (or `_FILE`): the basic-auth password set on the webhook. */
  readonly password: Secret;
}

/** How Stripe's webhook events are verified (`stripe.webhooks.constructEvent`). */
export interface StripeWebhookConfig {
  /** VIGIL_STRIPE_WEBHOOK_SECRET: the endpoint's signing secret (`whsec_…`) from the Stripe dashboard. */
  readonly secret: Secret;
  /**
   * VIGIL_STRIPE_WEBHOOK_TOLERANCE_S (1..3600, default 300, Stripe's own default): how old the signed timestamp may
   * be; an older event is refused as a replay.
   */
  readonly toleranceSeconds: number;
}

/** Tokenisation keys by version, the current version and the fingerprint key, as read from the environment. */
export interface TokenizationKeySet {
  readonly keys: ReadonlyMap<string, Secret>;
  readonly currentVersion: string;
  readonly fingerprintKey: Secret;
}

/** Default and bounds of the synchronous decision deadline, shared by the config and the per-request header. */
export const DEFAULT_DECISION_DEADLINE_MS = 150;
export const DECISION_DEADLINE_BOUNDS = { min: 1, max: 30_000 } as const;

const KiB = 1024;
const MiB = 1024 * KiB;
const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
/** 128 bits of a base64 key; the embedded default generates 32 random bytes (43 base64url characters). */
const MIN_KEY_CHARS = 32;

/**
 * Reads the ingest config; throws ConfigError naming the key and the allowed range on the first bad value.
 *  - VIGIL_INGEST_MAX_AMOUNT_MAJOR: largest amount in major units of any currency (default 1,000,000,000;
 *    at most 10^14 so the minor units of a 4-exponent currency still fit an Avro long).
 *  - VIGIL_INGEST_MAX_FUTURE_SKEW_MS: how far eventTime may lie in the future (default 5 min).
 *  - VIGIL_INGEST_MAX_EVENT_AGE_MS: how old eventTime may be (default 30 days).
 */
export function loadIngestConfig(env: Env): IngestConfig {
  return Object.freeze({
    maxBodyBytes: readInt(env, 'VIGIL_INGEST_MAX_BODY_BYTES', 64 * KiB, { min: KiB, max: 16 * MiB }),
    maxBatchBodyBytes: readInt(env, 'VIGIL_INGEST_MAX_BATCH_BODY_BYTES', 8 * MiB, { min: KiB, max: 256 * MiB }),
    maxBatchItems: readInt(env, 'VIGIL_INGEST_MAX_BATCH_ITEMS', 5_000, { min: 1, max: 100_000 }),
    maxChannelFileBytes: readInt(env, 'VIGIL_INGEST_MAX_CHANNEL_FILE_BYTES', 256 * MiB, { min: KiB, max: 4096 * MiB }),
    channelSpoolDir: readString(env, 'VIGIL_INGEST_CHANNEL_SPOOL_DIR', tmpdir()),
    tokenizationKeys: readTokenizationKeys(env),
    decisionDeadlineMs: readInt(
      env,
      'VIGIL_DECISION_DEADLINE_MS',
      DEFAULT_DECISION_DEADLINE_MS,
      DECISION_DEADLINE_BOUNDS,
    ),
    instanceId: readString(env, 'VIGIL_INGEST_INSTANCE_ID', hostname()),
    idempotencyWindowMs: readInt(env, 'VIGIL_IDEMPOTENCY_WINDOW_MS', 7 * DAY_MS, {
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
    }),
    idempotencyClaimTimeoutMs: readInt(env, 'VIGIL_IDEMPOTENCY_CLAIM_TIMEOUT_MS', MINUTE_MS, {
      min: 1000,
      max: 60 * MINUTE_MS,
    }),
    stripeWebhooks: readStripeWebhooks(env),
    adyenWebhooks: readAdyenWebhooks(env),
    limits: Object.freeze({
      maxAmountMajor: BigInt(readInt(env, 'VIGIL_INGEST_MAX_AMOUNT_MAJOR', 1_000_000_000, { min: 1, max: 1e14 })),
      maxFutureSkewMs: readInt(env, 'VIGIL_INGEST_MAX_FUTURE_SKEW_MS', 5 * MINUTE_MS, { min: 0, max: DAY_MS }),
      maxEventAgeMs: readInt(env, 'VIGIL_INGEST_MAX_EVENT_AGE_MS', 30 * DAY_MS, { min: MINUTE_MS, max: 3650 * DAY_MS }),
    }),
  });
}

function readStripeWebhooks(env: Env): StripeWebhookConfig | undefined {
  const secret = readOptionalSecret(env, 'VIGIL_STRIPE_WEBHOOK_SECRET');
  const toleranceSeconds = readInt(env, 'VIGIL_STRIPE_WEBHOOK_TOLERANCE_S', 300, { min: 1, max: 3600 });
  return secret === undefined ? undefined : Object.freeze({ secret, toleranceSeconds });
}

/**
 * The HMAC key must be hex: the validator decodes it with `Buffer.from(key, 'hex')`, which silently drops what is
 * not hex, so a mistyped key would verify against a shorter key instead of failing here. Basic auth is required
 * with it — Adyen signs only some fields of an item (not its `eventDate`, `reason` or `additionalData`), so the
 * credentials are what authenticate the rest.
 */
function readAdyenWebhooks(env: Env): AdyenWebhookConfig | undefined {
  const hmacKey = readOptionalSecret(env, 'VIGIL_ADYEN_HMAC_KEY');
  if (hmacKey === undefined) return undefined;
  if (!/^(?:[0-9a-fA-F]{2}){16,}$/.test(hmacKey.reveal()))
    throw new ConfigError(
      'VIGIL_ADYEN_HMAC_KEY',
      `<${hmacKey.reveal().length} chars>`,
      'a hex key of at least 32 characters (Adyen issues 64)',
    );
  const username = readOptionalString(env, 'VIGIL_ADYEN_WEBHOOK_USERNAME');
  const password = readOptionalSecret(env, 'VIGIL_ADYEN_WEBHOOK_PASSWORD');
  if (username === undefined)
    throw new ConfigError(
      'VIGIL_ADYEN_WEBHOOK_USERNAME',
      undefined,
      'the basic-auth user name, set with VIGIL_ADYEN_HMAC_KEY',
    );
  if (password === undefined)
    throw new ConfigError(
      'VIGIL_ADYEN_WEBHOOK_PASSWORD',
      undefined,
      'the basic-auth password, set with VIGIL_ADYEN_HMAC_KEY',
    );
  return Object.freeze({ hmacKey, username, password });
}

/** A key of at least MIN_KEY_CHARS; the error names only its length, never the secret. */
function checkedKey(name: string, key: string): Secret {
  if (key.length < MIN_KEY_CHARS)
    throw new ConfigError(name, `<${key.length} chars>`, `a secret of at least ${MIN_KEY_CHARS} characters`);
  return new Secret(key);
}

function readTokenizationKeys(env: Env): TokenizationKeySet | undefined {
  const keys = new Map<string, Secret>();
  // Each may also come from a file (<KEY>_FILE): a secret store mounted into the container, not the environment.
  const single = readOptionalSecret(env, 'VIGIL_TOKENIZATION_KEY')?.reveal();
  if (single !== undefined) keys.set(FIRST_KEY_VERSION, checkedKey('VIGIL_TOKENIZATION_KEY', single));
  const expected = `comma-separated <version>:<key> pairs, versions v1, v2, …, each key at least ${MIN_KEY_CHARS} characters`;
  const listed = readOptionalSecret(env, 'VIGIL_TOKENIZATION_KEYS')?.reveal();
  for (const entry of readList({ VIGIL_TOKENIZATION_KEYS: listed }, 'VIGIL_TOKENIZATION_KEYS')) {
    const colon = entry.indexOf(':');
    const version = colon < 0 ? '' : entry.slice(0, colon);
    // Name the entry by its version only: the rest is a secret.
    if (!KEY_VERSION_PATTERN.test(version))
      throw new ConfigError('VIGIL_TOKENIZATION_KEYS', `<entry without a version>`, expected);
    if (keys.has(version))
      throw new ConfigError(
        'VIGIL_TOKENIZATION_KEYS',
        version,
        `each version once (v1 may come from VIGIL_TOKENIZATION_KEY or VIGIL_TOKENIZATION_KEYS, not both)`,
      );
    keys.set(version, checkedKey(`VIGIL_TOKENIZATION_KEYS (${version})`, entry.slice(colon + 1)));
  }
  const explicitFingerprintKey = readOptionalSecret(env, 'VIGIL_FINGERPRINT_KEY')?.reveal();
  const current = readOptionalString(env, 'VIGIL_TOKENIZATION_KEY_CURRENT');
  if (keys.size === 0) {
    if (current !== undefined || explicitFingerprintKey !== undefined)
      throw new ConfigError('VIGIL_TOKENIZATION_KEYS', undefined, 'the keys themselves, ' + expected);
    return undefined;
  }
  const versions = [...keys.keys()].sort(compareKeyVersions);
  const currentVersion = current ?? versions[versions.length - 1]!;
  if (!keys.has(currentVersion))
    throw new ConfigError('VIGIL_TOKENIZATION_KEY_CURRENT', currentVersion, `one of ${versions.join(', ')}`);
  const fingerprintKey =
    explicitFingerprintKey !== undefined
      ? checkedKey('VIGIL_FINGERPRINT_KEY', explicitFingerprintKey)
      : keys.get(FIRST_KEY_VERSION);
  if (fingerprintKey === undefined)
    throw new ConfigError(
      'VIGIL_FINGERPRINT_KEY',
      undefined,
      `a secret of at least ${MIN_KEY_CHARS} characters — required once v1 is retired: the v1 key it defaults to, unchanged`,
    );
  return Object.freeze({ keys, currentVersion, fingerprintKey });
}
