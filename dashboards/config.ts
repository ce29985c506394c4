import { readStuckAfterMs } from '../platform/consumer-health.js';
import { type Env, readEnum, readInt, readOptionalString, readString } from '../platform/config.js';
import { ConfigError } from '../platform/errors.js';
import { type AuditIndexTarget, readAuditIndexTarget } from '../schemas/elasticsearch/audit.js';
import { readCashThresholds, readCurrencyAmounts } from '../schemas/cash-thresholds.js';

/** Everything the dashboards stage reads from the environment, parsed once at startup and frozen. */
export interface DashboardsConfig {
  /**
   * Consumer group of the live alert feed (VIGIL_DASHBOARDS_LIVE_GROUP). Every dashboards replica must use
   * its own group: each one pushes every alert to the clients connected to it.
   */
  readonly liveGroupId: string;
  /** Consumer group counting `tx.scored` for the live throughput figures (VIGIL_DASHBOARDS_STATS_GROUP). */
  readonly statsGroupId: string;
  /** No progress with lag for this long marks a live-feed consumer stuck (VIGIL_STUCK_AFTER_MS, default 60000). */
  readonly stuckAfterMs: number;
  /** How often clients get a `stats` message (VIGIL_DASHBOARDS_STATS_INTERVAL_MS). */
  readonly statsIntervalMs: number;
  /** Alerts held per slow client before the oldest is dropped (VIGIL_DASHBOARDS_WS_QUEUE_CAPACITY). */
  readonly wsQueueCapacity: number;
  /** Socket buffer above which a client counts as slow (VIGIL_DASHBOARDS_WS_HIGH_WATER_BYTES). */
  readonly wsHighWaterBytes: number;
  /** How long a client may stay slow before it is disconnected (VIGIL_DASHBOARDS_WS_STALL_LIMIT_MS). */
  readonly wsStallLimitMs: number;
  /** Ping interval; a client that misses one pong is dropped (VIGIL_DASHBOARDS_WS_HEARTBEAT_MS). */
  readonly wsHeartbeatMs: number;
  /** Most simultaneous live clients (VIGIL_DASHBOARDS_WS_MAX_CLIENTS). */
  readonly wsMaxClients: number;
  /** Alert ids remembered for de-duplication (VIGIL_DASHBOARDS_DEDUPE_CAPACITY). */
  readonly dedupeCapacity: number;
  /**
   * Most alerts (fraud.alerts records) replayed to one reconnecting live client (VIGIL_DASHBOARDS_WS_MAX_CATCH_UP,
   * default 10000; 0 = never replay); past it the client gets a `gap` message and reloads over REST.
   */
  readonly wsMaxCatchUpAlerts: number;
  /** Most access-log rows one group-committed insert carries (VIGIL_DASHBOARDS_ACCESS_LOG_BATCH). */
  readonly accessLogBatch: number;
  /**
   * Days an access-log row is kept before ClickHouse's TTL drops it (VIGIL_ACCESS_LOG_RETENTION_DAYS, default 400;
   * 0 = forever). At least {@link MIN_ACCESS_LOG_RETENTION_DAYS}: PCI DSS 10.5.1 keeps audit logs 12 months.
   */
  readonly accessLogRetentionDays: number;
  /** Accounts listed by the trial balance (VIGIL_DASHBOARDS_TRIAL_BALANCE_TOP). */
  readonly trialBalanceTopAccounts: number;
  /**
   * Cash reporting threshold per currency, minor units (VIGIL_CASH_THRESHOLDS, formerly
   * VIGIL_DASHBOARDS_CASH_THRESHOLDS, `CCY:major,…`, default `EUR:10000,GBP:10000,USD:10000`; schemas/cash-thresholds.ts):
   * what the large-cash report calls large, and what structuring stays under — the same setting scoring's structuring
   * features read. Thresholds are set per currency because amounts in different currencies are never compared.
   */
  readonly cashThresholds: ReadonlyMap<string, bigint>;
  /**
   * Where `GET /v1/audit/search` reads: the Elasticsearch audit index when VIGIL_ELASTICSEARCH_URL is set
   * (distributed mode), ClickHouse's `decisions` otherwise (undefined; the embedded default).
   */
  readonly elasticsearch: AuditSearchIndexConfig | undefined;
  /**
   * Where the console signs people in (authorization code + PKCE in the browser): the OpenID provider's issuer
   * (VIGIL_OIDC_ISSUER), the audience to ask a token for (VIGIL_OIDC_AUDIENCE) and the console's client id there
   * (VIGIL_OIDC_CONSOLE_CLIENT_ID, default `vigil-console`). Undefined without an issuer: the console asks for a key.
   */
  readonly consoleSignIn: ConsoleSignIn | undefined;
  /** How REVIEW and DECLINE alerts become cases and how long analysts have for them. */
  readonly cases: CasesConfig;
}

/** Cases (`/v1/cases`): grouping, SLA and the four-eyes limits. */
export interface CasesConfig {
  /**
   * Consumer group that turns fraud.alerts into case steps (VIGIL_DASHBOARDS_CASES_GROUP, default `dashboards-cases`).
   * Shared by every dashboards replica: each alert is turned into a step once (a redelivered one is a no-op).
   */
  readonly groupId: string;
  /** What an alert's case is grouped by (VIGIL_CASES_GROUP_BY: `customer` = payer account, or `card`; default customer). */
  readonly groupBy: 'customer' | 'card';
  /**
   * An alert joins the unresolved case of its group when that case's last alert was raised at most this long before
   * (VIGIL_CASES_JOIN_WINDOW_MINUTES, default 1440); later, it opens a new case.
   */
  readonly joinWindowMs: number;
  /** Time from opening to resolution before a case is marked as past its SLA (VIGIL_CASES_SLA_MINUTES, default 240). */
  readonly slaMs: number;
  /**
   * Releasing held payments (resolving a case GENUINE) needs a second analyst's approval when a held amount is above
   * its currency's limit, minor units (VIGIL_CASES_FOUR_EYES_ABOVE, `CCY:major,…`, default `EUR:1000,GBP:1000,USD:1000`);
   * a currency not listed always needs it.
   */
  readonly fourEyesAbove: ReadonlyMap<string, bigint>;
  /**
   * Longest wait (ms) for this process to fold a step it wrote before answering (VIGIL_CASES_STEP_TIMEOUT_MS, default
   * 15000); past it the action answers 503 and may still take effect: reload the case.
   */
  readonly stepTimeoutMs: number;
}

/** What the console needs to sign a person in; served to the page as `/assets/sign-in.json`. */
export interface ConsoleSignIn {
  readonly issuer: string;
  readonly audience: string;
  readonly clientId: string;
}

/** The Elasticsearch audit index that ledger-sink writes (schemas/elasticsearch). */
export type AuditSearchIndexConfig = AuditIndexTarget;

/** PCI DSS 10.5.1: audit log history is kept for at least twelve months (366 days covers a leap year). */
export const MIN_ACCESS_LOG_RETENTION_DAYS = 366;

/** Parses the dashboards config; throws ConfigError naming the key, the value and what was expected. */
export function readDashboardsConfig(env: Env): DashboardsConfig {
  const cashThresholds = readCashThresholds(env);
  const accessLogRetentionDays = readInt(env, 'VIGIL_ACCESS_LOG_RETENTION_DAYS', 400, { min: 0, max: 36_500 });
  if (accessLogRetentionDays > 0 && accessLogRetentionDays < MIN_ACCESS_LOG_RETENTION_DAYS)
    throw new ConfigError(
      'VIGIL_ACCESS_LOG_RETENTION_DAYS',
      String(accessLogRetentionDays),
      `0 (forever) or at least ${MIN_ACCESS_LOG_RETENTION_DAYS} days (PCI DSS 10.5.1: audit logs are kept 12 months)`,
    );
  return Object.freeze({
    accessLogRetentionDays,
    liveGroupId: readString(env, 'VIGIL_DASHBOARDS_LIVE_GROUP', 'dashboards-live'),
    statsGroupId: readString(env, 'VIGIL_DASHBOARDS_STATS_GROUP', 'dashboards-live-stats'),
    stuckAfterMs: readStuckAfterMs(env),
    statsIntervalMs: readInt(env, 'VIGIL_DASHBOARDS_STATS_INTERVAL_MS', 1000, { min: 100, max: 60_000 }),
    wsQueueCapacity: readInt(env, 'VIGIL_DASHBOARDS_WS_QUEUE_CAPACITY', 256, { min: 1, max: 100_000 }),
    wsHighWaterBytes: readInt(env, 'VIGIL_DASHBOARDS_WS_HIGH_WATER_BYTES', 1_048_576, {
      min: 1024,
      max: 256 * 1_048_576,
    }),
    wsStallLimitMs: readInt(env, 'VIGIL_DASHBOARDS_WS_STALL_LIMIT_MS', 30_000, { min: 100, max: 3_600_000 }),
    wsHeartbeatMs: readInt(env, 'VIGIL_DASHBOARDS_WS_HEARTBEAT_MS', 30_000, { min: 100, max: 600_000 }),
    wsMaxClients: readInt(env, 'VIGIL_DASHBOARDS_WS_MAX_CLIENTS', 500, { min: 1, max: 100_000 }),
    dedupeCapacity: readInt(env, 'VIGIL_DASHBOARDS_DEDUPE_CAPACITY', 10_000, { min: 1, max: 10_000_000 }),
    wsMaxCatchUpAlerts: readInt(env, 'VIGIL_DASHBOARDS_WS_MAX_CATCH_UP', 10_000, { min: 0, max: 1_000_000 }),
    accessLogBatch: readInt(env, 'VIGIL_DASHBOARDS_ACCESS_LOG_BATCH', 500, { min: 1, max: 100_000 }),
    trialBalanceTopAccounts: readInt(env, 'VIGIL_DASHBOARDS_TRIAL_BALANCE_TOP', 50, { min: 1, max: 10_000 }),
    cashThresholds,
    elasticsearch: readAuditSearchIndexConfig(env),
    consoleSignIn: readConsoleSignIn(env),
    cases: Object.freeze({
      groupId: readString(env, 'VIGIL_DASHBOARDS_CASES_GROUP', 'dashboards-cases'),
      groupBy: readEnum(env, 'VIGIL_CASES_GROUP_BY', ['customer', 'card'] as const, 'customer'),
      joinWindowMs: readInt(env, 'VIGIL_CASES_JOIN_WINDOW_MINUTES', 1440, { min: 0, max: 525_600 }) * 60_000,
      slaMs: readInt(env, 'VIGIL_CASES_SLA_MINUTES', 240, { min: 1, max: 525_600 }) * 60_000,
      fourEyesAbove: readCurrencyAmounts(env, 'VIGIL_CASES_FOUR_EYES_ABOVE', DEFAULT_FOUR_EYES_ABOVE, { zero: true }),
      stepTimeoutMs: readInt(env, 'VIGIL_CASES_STEP_TIMEOUT_MS', 15_000, { min: 100, max: 600_000 }),
    }),
  });
}

function readConsoleSignIn(env: Env): ConsoleSignIn | undefined {
  const issuer = readOptionalString(env, 'VIGIL_OIDC_ISSUER');
  const audience = readOptionalString(env, 'VIGIL_OIDC_AUDIENCE');
  if (issuer === undefined || audience === undefined) return undefined;
  return Object.freeze({
    issuer,
    audience,
    clientId: readString(env, 'VIGIL_OIDC_CONSOLE_CLIENT_ID', 'vigil-console'),
  });
}

function readAuditSearchIndexConfig(env: Env): AuditSearchIndexConfig | undefined {
  const target = readAuditIndexTarget(env);
  return target === undefined ? undefined : Object.freeze({ ...target });
}

const DEFAULT_FOUR_EYES_ABOVE = ['EUR:1000', 'GBP:1000', 'USD:1000'];
