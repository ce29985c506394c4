import { resolve } from 'node:path';
import { type OidcConfig, readOidcConfig } from '../platform/oidc.js';
import { ConfigError } from '../platform/errors.js';
import { DEFAULT_CHANNEL_SHARE, SIMULATED_CHANNELS, type SimulatedChannel } from '../simulator/channel-feed.js';
import {
  type Env,
  readBoolean,
  readEnum,
  readInt,
  readNumber,
  readOptionalString,
  readString,
} from '../platform/config.js';

/** Configuration of the one-process embedded default, parsed once at start. */
export interface EmbeddedConfig {
  /** HTTP port for the API, the dashboard page and the WebSocket (VIGIL_HTTP_PORT, default 8080; 0 = any free port). */
  readonly httpPort: number;
  /** Interface to bind (VIGIL_HTTP_HOST, default 127.0.0.1: the demo is not exposed beyond this machine). */
  readonly httpHost: string;
  /** Where the log, ClickHouse data, snapshots and generated secrets live (VIGIL_DATA_DIR, default ./.vigil-data). */
  readonly dataDir: string;
  /** Simulated transactions per second fed through ingest (VIGIL_SIMULATOR_TPS, default 20; 0 = off). */
  readonly simulatorTps: number;
  /**
   * Seed of a new simulated world (VIGIL_SIMULATOR_SEED); default: a fresh one. The world is saved in
   * `<dataDir>/simulator/state.json` and a restart continues it; a seed that differs from the saved world's is
   * refused at start (a new world needs a new data directory).
   */
  readonly simulatorSeed: number | undefined;
  /**
   * Share of a new simulated world's customers whose accounts get a balance policy, an opening balance and
   * salaries, so some of their debits are declined with INSUFFICIENT_FUNDS (VIGIL_SIMULATOR_POLICY_SHARE,
   * 0..1; unset: 0.02 for a new world, the saved world's own share otherwise). A share that differs from the saved
   * world's is refused at start, like a different seed.
   */
  readonly simulatorPolicyShare: number | undefined;
  /**
   * Share of the simulated transactions a channel can carry that go through it instead of the JSON API
   * (VIGIL_SIMULATOR_CHANNEL_SHARE, 0..1, default 0.1): transfers as ISO 20022 pain.001, NACHA and CSV files, card
   * purchases as signed Stripe and Adyen webhooks (simulator/channel-feed.ts).
   */
  readonly simulatorChannelShare: number;
  /**
   * The channels fed (VIGIL_SIMULATOR_CHANNELS, comma-separated from iso20022, nacha, csv, stripe, adyen; default
   * all of them, `none` for none).
   */
  readonly simulatorChannels: readonly SimulatedChannel[];
  /**
   * Age after which the embedded log deletes a sealed segment that every consumer group has committed past
   * (VIGIL_LOG_RETENTION_MS, default 7 days; 0 = keep forever). Compacted topics (accounts) are never deleted.
   */
  readonly logRetentionMs: number;
  /**
   * How long personal data stays readable (VIGIL_PERSONAL_DATA_RETENTION_DAYS, default 400; 0 = until erased): a
   * customer's data key is replaced every 30 days, and each version is destroyed once the last value it sealed is
   * this old, so sealed values become unreadable at most 30 days after the limit (SECURITY.md, Retention).
   */
  readonly personalDataRetentionDays: number;
  /** Partitions per topic (VIGIL_PARTITIONS, default 8). Fixed once topics exist. */
  readonly partitions: number;
  /** `role:key` pairs (VIGIL_API_KEYS); when unset, demo keys are generated and printed at start. */
  readonly apiKeys: string | undefined;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** The bank's OpenID provider (VIGIL_OIDC_ISSUER and the other VIGIL_OIDC_* keys); when set, no built-in one runs. */
  readonly oidc: OidcConfig | undefined;
  /** The built-in OpenID provider, when `oidc` is unset: people sign in there as the printed demo users. */
  readonly identityProvider: {
    /**
     * Its own port (VIGIL_IDP_PORT; default the HTTP port + 1, or any free port when VIGIL_HTTP_PORT is 0), on the
     * HTTP interface: a separate origin, as a bank's provider would be.
     */
    readonly port: number;
    /** The audience of its access tokens (VIGIL_OIDC_AUDIENCE, default `urn:vigil`: RFC 8707 wants an absolute URI). */
    readonly audience: string;
    /**
     * Lifetime of its access tokens (VIGIL_IDP_ACCESS_TOKEN_TTL_S, default 900 = 15 min, 5–86 400; the console
     * refreshes them, so a short one costs a refresh, not a sign-in).
     */
    readonly accessTokenTtlS: number;
    /** Whether the console gets refresh tokens (VIGIL_IDP_REFRESH_TOKENS, default true). */
    readonly refreshTokens: boolean;
  };
}

export function readEmbeddedConfig(env: Env): EmbeddedConfig {
  const seed = readOptionalString(env, 'VIGIL_SIMULATOR_SEED');
  const policyShare = readOptionalString(env, 'VIGIL_SIMULATOR_POLICY_SHARE');
  const httpPort = readInt(env, 'VIGIL_HTTP_PORT', 8080, { min: 0, max: 65535 });
  return Object.freeze({
    httpPort,
    httpHost: readString(env, 'VIGIL_HTTP_HOST', '127.0.0.1'),
    dataDir: resolve(readString(env, 'VIGIL_DATA_DIR', '.vigil-data')),
    simulatorTps: readInt(env, 'VIGIL_SIMULATOR_TPS', 20, { min: 0, max: 100_000 }),
    simulatorSeed:
      seed === undefined ? undefined : readInt(env, 'VIGIL_SIMULATOR_SEED', 0, { min: 0, max: 2 ** 32 - 1 }),
    simulatorPolicyShare:
      policyShare === undefined ? undefined : readNumber(env, 'VIGIL_SIMULATOR_POLICY_SHARE', 0, { min: 0, max: 1 }),
    simulatorChannelShare: readNumber(env, 'VIGIL_SIMULATOR_CHANNEL_SHARE', DEFAULT_CHANNEL_SHARE, { min: 0, max: 1 }),
    simulatorChannels: readSimulatedChannels(env),
    logRetentionMs: readInt(env, 'VIGIL_LOG_RETENTION_MS', 7 * 24 * 60 * 60 * 1000, {
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
    }),
    personalDataRetentionDays: readInt(env, 'VIGIL_PERSONAL_DATA_RETENTION_DAYS', 400, { min: 0, max: 36_500 }),
    partitions: readInt(env, 'VIGIL_PARTITIONS', 8, { min: 1, max: 256 }),
    apiKeys: readOptionalString(env, 'VIGIL_API_KEYS'),
    logLevel: readEnum(env, 'VIGIL_LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info'),
    oidc: readOidcConfig(env),
    identityProvider: Object.freeze({
      port: readInt(env, 'VIGIL_IDP_PORT', httpPort === 0 ? 0 : httpPort + 1, { min: 0, max: 65535 }),
      audience: readString(env, 'VIGIL_OIDC_AUDIENCE', 'urn:vigil'),
      accessTokenTtlS: readInt(env, 'VIGIL_IDP_ACCESS_TOKEN_TTL_S', 900, { min: 5, max: 86_400 }),
      refreshTokens: readBoolean(env, 'VIGIL_IDP_REFRESH_TOKENS', true),
    }),
  });
}

function readSimulatedChannels(env: Env): readonly SimulatedChannel[] {
  const text = readOptionalString(env, 'VIGIL_SIMULATOR_CHANNELS');
  if (text === undefined) return SIMULATED_CHANNELS;
  if (text.trim() === 'none') return Object.freeze([]);
  const names = text.split(',').map((name) => name.trim());
  const known = new Set<string>(SIMULATED_CHANNELS);
  if (names.some((name) => !known.has(name)))
    throw new ConfigError(
      'VIGIL_SIMULATOR_CHANNELS',
      text,
      `a comma-separated list of ${SIMULATED_CHANNELS.join(', ')}, or none`,
    );
  return Object.freeze(SIMULATED_CHANNELS.filter((c) => names.includes(c)));
}
