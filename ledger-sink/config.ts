import { type Env, type Secret, readEnum, readInt, readString } from '../platform/config.js';
import { MAX_LINGER_MS } from '../platform/bus.js';
import { ConfigError } from '../platform/errors.js';
import type { AccountType } from '../schemas/generated/types.js';
import { readStuckAfterMs } from '../platform/consumer-health.js';
import { readAuditIndexTarget } from '../schemas/elasticsearch/audit.js';
import { DEFAULT_HOLD_SETTINGS, type HoldExpiryPolicy, type HoldSettings } from './domain/holds.js';

/** ledger-sink's configuration, parsed once at startup; a bad value fails fast naming the key. */
export interface LedgerSinkConfig {
  /** Consumer group on `tx.scored` and `analyst.labels` (VIGIL_LEDGER_GROUP_ID, default `ledger-sink`). */
  readonly groupId: string;
  /**
   * Upper bound on records per batch (VIGIL_LEDGER_MAX_BATCH_RECORDS, 1..100000, default 2000). One batch is
   * one insert per table, so this also bounds the size of one atomic part.
   */
  readonly maxBatchRecords: number;
  /**
   * How long a batch waits for more records once one is ready (VIGIL_LEDGER_LINGER_MS, 0..5000 and below
   * VIGIL_STUCK_AFTER_MS, default 250), and
   * a batch takes what is ready on every partition. ClickHouse pays per insert — a part to write, then to merge —
   * so at low rates one-record batches on each partition cost about as much CPU as full ones. Nothing waits on the
   * ledger record by record (a decision is answered from scoring), so postings become visible up to this much later.
   */
  readonly lingerMs: number;
  /** Transaction ids per idempotency lookup query (VIGIL_LEDGER_LOOKUP_CHUNK_IDS, 1..10000, default 1000). */
  readonly lookupChunkIds: number;
  /** The Elasticsearch audit index; undefined (no indexing) unless VIGIL_ELASTICSEARCH_URL is set. */
  readonly elasticsearch: AuditIndexConfig | undefined;
  /** No progress with lag for this long marks the consumer stuck (VIGIL_STUCK_AFTER_MS, default 60000). */
  readonly stuckAfterMs: number;
  /**
   * REVIEW holds: how long one waits for a verdict (VIGIL_LEDGER_REVIEW_HOLD_TIMEOUT_MS, 1000..31 days, default
   * 72 h) and what its expiry does (VIGIL_LEDGER_HOLD_EXPIRY, `void` (default) or `post`); AUTHORIZATION holds: how
   * long one waits for its captures (VIGIL_LEDGER_AUTHORIZATION_HOLD_TIMEOUT_MS, 1000..31 days, default 7 days).
   */
  readonly holds: HoldSettings;
  /**
   * The same settings for holds whose payer account is of a given type, where they differ from {@link holds}:
   * `VIGIL_LEDGER_HOLDS_<TYPE>` (TYPE one of CUSTOMER, MERCHANT, SETTLEMENT, CLEARING, FX_POSITION, SUSPENSE) as
   * `review=<ms>,expiry=void|post,authorization=<ms>`, each part optional, e.g.
   * `VIGIL_LEDGER_HOLDS_MERCHANT=review=86400000,expiry=post`.
   */
  readonly holdsByAccountType: Readonly<Partial<Record<AccountType, HoldSettings>>>;
  /** How often the expiry sweep looks for holds past their timeout (VIGIL_LEDGER_HOLD_SWEEP_MS, 100..3600000, default 60000). */
  readonly holdSweepMs: number;
}

export interface AuditIndexConfig {
  /** Base URL of Elasticsearch (VIGIL_ELASTICSEARCH_URL), e.g. http://elasticsearch:9200. */
  readonly url: string;
  /** Index prefix (VIGIL_ELASTICSEARCH_AUDIT_PREFIX, default `vigil-audit-v2`); indices are `<prefix>-YYYY.MM`. */
  readonly indexPrefix: string;
  /** Timeout of one request (VIGIL_ELASTICSEARCH_REQUEST_TIMEOUT_MS, 100..300000, default 30000). */
  readonly requestTimeoutMs: number;
  /** API key (VIGIL_ELASTICSEARCH_API_KEY or VIGIL_ELASTICSEARCH_API_KEY_FILE); see AuditIndexTarget. */
  readonly apiKey: Secret | undefined;
  /** CA certificates (VIGIL_ELASTICSEARCH_CA_FILE); see AuditIndexTarget. */
  readonly caPem: string | undefined;
  /** Attempts per bulk before the batch fails and is redelivered (VIGIL_LEDGER_AUDIT_MAX_ATTEMPTS, 1..20, default 5). */
  readonly maxAttempts: number;
  /** First retry delay, doubled per attempt (VIGIL_LEDGER_AUDIT_BACKOFF_MS, 1..60000, default 200). */
  readonly backoffMs: number;
  /** Largest retry delay (VIGIL_LEDGER_AUDIT_MAX_BACKOFF_MS, 1..300000, default 5000). */
  readonly maxBackoffMs: number;
  /** Documents per `_bulk` request (VIGIL_LEDGER_AUDIT_BULK_DOCUMENTS, 1..10000, default 1000). */
  readonly bulkDocuments: number;
}

const HOLD_TIMEOUT_RANGE = { min: 1000, max: 31 * 86_400_000 };
const ACCOUNT_TYPES: readonly AccountType[] = [
  'CUSTOMER',
  'MERCHANT',
  'SETTLEMENT',
  'CLEARING',
  'FX_POSITION',
  'SUSPENSE',
];

export function parseLedgerSinkConfig(env: Env): LedgerSinkConfig {
  const holds: HoldSettings = Object.freeze({
    reviewTimeoutMs: readInt(
      env,
      'VIGIL_LEDGER_REVIEW_HOLD_TIMEOUT_MS',
      DEFAULT_HOLD_SETTINGS.reviewTimeoutMs,
      HOLD_TIMEOUT_RANGE,
    ),
    expiryPolicy: readEnum(env, 'VIGIL_LEDGER_HOLD_EXPIRY', ['void', 'post'], DEFAULT_HOLD_SETTINGS.expiryPolicy),
    authorizationTimeoutMs: readInt(
      env,
      'VIGIL_LEDGER_AUTHORIZATION_HOLD_TIMEOUT_MS',
      DEFAULT_HOLD_SETTINGS.authorizationTimeoutMs,
      HOLD_TIMEOUT_RANGE,
    ),
  });
  const stuckAfterMs = readStuckAfterMs(env);
  return Object.freeze({
    groupId: readString(env, 'VIGIL_LEDGER_GROUP_ID', 'ledger-sink'),
    maxBatchRecords: readInt(env, 'VIGIL_LEDGER_MAX_BATCH_RECORDS', 2000, { min: 1, max: 100_000 }),
    // Below the stuck threshold: a consumer lingering that long with a record ready would report itself stuck.
    lingerMs: readInt(env, 'VIGIL_LEDGER_LINGER_MS', 250, { min: 0, max: Math.min(MAX_LINGER_MS, stuckAfterMs - 1) }),
    lookupChunkIds: readInt(env, 'VIGIL_LEDGER_LOOKUP_CHUNK_IDS', 1000, { min: 1, max: 10_000 }),
    elasticsearch: parseAuditIndexConfig(env),
    stuckAfterMs,
    holds,
    holdsByAccountType: readHoldsByAccountType(env, holds),
    holdSweepMs: readInt(env, 'VIGIL_LEDGER_HOLD_SWEEP_MS', 60_000, { min: 100, max: 3_600_000 }),
  });
}

function parseAuditIndexConfig(env: Env): AuditIndexConfig | undefined {
  const target = readAuditIndexTarget(env);
  if (target === undefined) return undefined;
  const backoffMs = readInt(env, 'VIGIL_LEDGER_AUDIT_BACKOFF_MS', 200, { min: 1, max: 60_000 });
  return Object.freeze({
    ...target,
    maxAttempts: readInt(env, 'VIGIL_LEDGER_AUDIT_MAX_ATTEMPTS', 5, { min: 1, max: 20 }),
    backoffMs,
    maxBackoffMs: readInt(env, 'VIGIL_LEDGER_AUDIT_MAX_BACKOFF_MS', 5000, { min: backoffMs, max: 300_000 }),
    bulkDocuments: readInt(env, 'VIGIL_LEDGER_AUDIT_BULK_DOCUMENTS', 1000, { min: 1, max: 10_000 }),
  });
}

/** `VIGIL_LEDGER_HOLDS_<TYPE>` for every account type that sets one, each over the general settings. */
function readHoldsByAccountType(env: Env, general: HoldSettings): Partial<Record<AccountType, HoldSettings>> {
  const byType: Partial<Record<AccountType, HoldSettings>> = {};
  for (const type of ACCOUNT_TYPES) {
    const key = `VIGIL_LEDGER_HOLDS_${type}`;
    const text = env[key];
    if (text === undefined || text.trim() === '') continue;
    const settings = { ...general };
    for (const part of text.split(',')) {
      const [name, value, ...rest] = part.trim().split('=');
      const fail = (why: string): never => {
        throw new ConfigError(key, text, `review=<ms>,expiry=void|post,authorization=<ms> (${why})`);
      };
      if (value === undefined || rest.length > 0) fail(`"${part.trim()}" is not name=value`);
      const ms = (): number => {
        // Digits only, as readInt takes the general keys: Number() alone would let `1e4` or `0x7d0` through.
        const n = /^\d+$/.test(value ?? '') ? Number(value) : NaN;
        if (!Number.isInteger(n) || n < HOLD_TIMEOUT_RANGE.min || n > HOLD_TIMEOUT_RANGE.max)
          fail(`${name} must be an integer of ms in ${HOLD_TIMEOUT_RANGE.min}..${HOLD_TIMEOUT_RANGE.max}`);
        return n;
      };
      if (name === 'review') settings.reviewTimeoutMs = ms();
      else if (name === 'authorization') settings.authorizationTimeoutMs = ms();
      else if (name === 'expiry') {
        if (value !== 'void' && value !== 'post') fail('expiry must be void or post');
        settings.expiryPolicy = value as HoldExpiryPolicy;
      } else fail(`unknown setting "${name}"`);
    }
    byType[type] = Object.freeze(settings);
  }
  return Object.freeze(byType);
}
