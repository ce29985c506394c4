import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { startDashboards } from '../dashboards/main.js';
import { startIngest } from '../ingest/main.js';
import { startLedgerSink } from '../ledger-sink/main.js';
import { startNotifier } from '../notifier/main.js';
import { type ApiKey, ApiKeyAuthenticator, ManagedKeyTable, Role, parseApiKeys } from '../platform/auth.js';
import { createClickHouseClient } from '../platform/clickhouse.js';
import type { Bus } from '../platform/bus.js';
import { type Clock, systemClock } from '../platform/clock.js';
import type { Env } from '../platform/config.js';
import { EmbeddedLog } from '../platform/embedded-log/embedded-log.js';
import { startHttpServer } from '../platform/http-server.js';
import { readRateLimitConfig } from '../platform/rate-limit.js';
import { type Logger, createLogger } from '../platform/logger.js';
import { MetricsRegistry } from '../platform/metrics.js';
import { startApiKeyFeed } from '../schemas/api-keys.js';
import { topicSpecs } from '../schemas/partitions.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { startScoring } from '../scoring/main.js';
import { preparedRulesOf } from '../scoring/adapters/rules-file.js';
import { checkCandidate } from '../scoring/adapters/model-candidates.js';
import { modelCandidatesDirOf } from '../scoring/config.js';
import { ConfigError } from '../platform/errors.js';
import { httpAccountDeskApi } from '../simulator/account-desk.js';
import { type ChannelCounts, createChannelFeed } from '../simulator/channel-feed.js';
import { startLiveTraffic } from '../simulator/live.js';
import { GroundTruth, httpAnalystApi, startVerdictDesk } from '../simulator/verdict-desk.js';
import { type SimulatorStateFile, openSimulatorStateFile } from '../simulator/state-file.js';
import type { SimulatorState } from '../simulator/state.js';
import type { TransactionRequest } from '../schemas/api.js';
import { type EmbeddedConfig, readEmbeddedConfig } from './config.js';
import { FileTokenizationKeyStore } from '../ingest/adapters/file-key-store.js';
import type { TokenizationKeyStore } from '../ingest/ports.js';
import { FileCustomerKeyStore } from '../platform/file-customer-key-store.js';
import { describeError } from '../platform/errors.js';
import {
  adyenWebhookSecretsFor,
  customerKeysDirOf,
  demoApiKeysFor,
  demoUsersFor,
  identityProviderSigningKeyFor,
  secretsDirOf,
  stripeWebhookSecretFor,
  webhookSecretKeyFor,
} from './secrets.js';
import { type DemoUser, startIdentityProvider } from '../identity-provider/provider.js';
import { type OidcConfig, OidcTokenVerifier, identityRoleMap, readClockToleranceS } from '../platform/oidc.js';

/**
 * The embedded default: every stage in one process over the durable embedded log, chDB as the ClickHouse
 * engine, and the traffic simulator feeding ingest. The stages are the same code that runs as separate
 * services in distributed mode; only the adapters built here differ.
 */
export interface EmbeddedPipeline {
  readonly config: EmbeddedConfig;
  /** Base URL of the HTTP server, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** The HTTP server behind `url`, for tools that read the routes it answers (the OpenAPI document's test). */
  readonly server: Server;
  readonly apiKeys: readonly ApiKey[];
  readonly keysWereGenerated: boolean;
  /** The built-in OpenID provider and its demo users; undefined when people sign in at the bank's (VIGIL_OIDC_ISSUER). */
  readonly identityProvider: { readonly issuer: string; readonly users: readonly DemoUser[] } | undefined;
  /** The log itself, for tools that replay or inspect topics (tests, benchmarks). */
  readonly bus: Bus;
  /**
   * What the simulator has sent through each channel besides the JSON API (undefined without a simulator); final
   * once `close` has resolved.
   */
  simulatorChannelCounts(): ChannelCounts | undefined;
  /** Stops the simulator, the HTTP server and every stage, committing what was processed; idempotent. */
  close(): Promise<void>;
}

export interface EmbeddedOptions {
  readonly env?: Env;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Tokenisation keys instead of the data directory's file store (tests); keys in the environment still win. */
  readonly tokenizationKeys?: TokenizationKeyStore;
}

const DAY_MS = 86_400_000;
/**
 * A customer's data key is replaced once it is this old, so retention can destroy old versions while recent
 * values stay readable (a version seals nothing after it).
 */
const CUSTOMER_KEY_ROTATE_AFTER_MS = 30 * DAY_MS;
/** How often the personal-data retention sweep runs (and once at start). */
const PERSONAL_DATA_SWEEP_MS = 60 * 60_000;

/** Who submits the built-in simulator's traffic, which reaches ingest in-process rather than with an API key. */
const SIMULATOR_SUBMITTER = 'simulator';

/**
 * Share of a new simulated world's customers with a balance policy when VIGIL_SIMULATOR_POLICY_SHARE is unset. 2 %:
 * about 400 holders, set up in about 11 s before traffic starts (10 % took 40–55 s); their INSUFFICIENT_FUNDS
 * declines come as salaries run short, a few in a run's first minutes, none in some.
 */
const DEFAULT_SIMULATOR_POLICY_SHARE = 0.02;

/**
 * The simulated world of this data directory: the saved one when there is one (same customers, next
 * transaction ids), else a new one from VIGIL_SIMULATOR_SEED or a fresh seed. A new world in a data directory
 * whose scoring state remembers the old one would flood the first minute with false impossible-travel
 * reviews, so a VIGIL_SIMULATOR_SEED that differs from the saved world's seed is refused, not obeyed; so is a
 * VIGIL_SIMULATOR_POLICY_SHARE that differs from the saved world's (its accounts and their history exist).
 * A new world gets policies only when there is an admin key to set them with.
 * Throws ConfigError for those conflicts and for an unreadable state file (naming the file).
 */
function simulatorWorldFor(
  config: EmbeddedConfig,
  clock: Clock,
  canSetPolicies: boolean,
): { seed: number; policyShare: number; resume: SimulatorState | undefined; stateStore: SimulatorStateFile } {
  const stateStore = openSimulatorStateFile(join(config.dataDir, 'simulator'));
  const resume = stateStore.load();
  if (resume === undefined)
    return {
      seed: config.simulatorSeed ?? clock.nowMs() >>> 0,
      policyShare: canSetPolicies ? (config.simulatorPolicyShare ?? DEFAULT_SIMULATOR_POLICY_SHARE) : 0,
      resume,
      stateStore,
    };
  const { seed, policyShare } = resume.options;
  const conflict = (key: string, given: number, saved: number, what: string): ConfigError =>
    new ConfigError(
      key,
      String(given),
      `${saved}, the ${what} of the simulated world saved in ${stateStore.path} (unset it to continue that world, ` +
        'or use a new VIGIL_DATA_DIR for a new one)',
    );
  if (config.simulatorSeed !== undefined && config.simulatorSeed !== seed)
    throw conflict('VIGIL_SIMULATOR_SEED', config.simulatorSeed, seed, 'seed');
  if (config.simulatorPolicyShare !== undefined && config.simulatorPolicyShare !== policyShare)
    throw conflict('VIGIL_SIMULATOR_POLICY_SHARE', config.simulatorPolicyShare, policyShare, 'policy share');
  return { seed, policyShare, resume, stateStore };
}

export async function startEmbeddedPipeline(options: EmbeddedOptions = {}): Promise<EmbeddedPipeline> {
  const baseEnv = options.env ?? process.env;
  const config = readEmbeddedConfig(baseEnv);
  const logger = options.logger ?? createLogger({ level: config.logLevel, fields: { service: 'vigil' } });
  const clock = options.clock ?? systemClock;
  mkdirSync(config.dataDir, { recursive: true });

  const keysWereGenerated = config.apiKeys === undefined;
  const apiKeys = config.apiKeys === undefined ? demoApiKeysFor(config.dataDir) : parseApiKeys(config.apiKeys);
  // Only the simulator's account desk gets the admin key, wrapped so that PUT /v1/accounts/{id} is all it can call
  // with it; it reads the ledger's state of its opening balances with the ingest key (admin may do that too).
  const adminKey = apiKeys.find((k) => k.role === Role.admin);
  const ingestKey = apiKeys.find((k) => k.role === Role.ingest) ?? adminKey;
  // Read before anything starts, so a conflicting seed or an unreadable state file fails the start cleanly.
  const simulatorWorld = config.simulatorTps > 0 ? simulatorWorldFor(config, clock, adminKey !== undefined) : undefined;
  // People sign in at the bank's provider when one is configured, else at the built-in one on its own port, which
  // listens first so that its issuer is known here; it answers once the console's address is known (open, below).
  const demoUsers = config.oidc === undefined ? demoUsersFor(config.dataDir) : [];
  const builtInProvider =
    config.oidc === undefined
      ? await startIdentityProvider({
          host: config.httpHost,
          port: config.identityProvider.port,
          audience: config.identityProvider.audience,
          accessTokenTtlS: config.identityProvider.accessTokenTtlS,
          refreshTokens: config.identityProvider.refreshTokens,
          users: demoUsers,
          signingKey: identityProviderSigningKeyFor(config.dataDir),
          logger: logger.child({ component: 'identity-provider' }),
        })
      : undefined;
  const oidc: OidcConfig = config.oidc ?? {
    issuer: builtInProvider!.issuer,
    audience: config.identityProvider.audience,
    roleClaim: 'roles',
    roleMap: identityRoleMap,
    clockToleranceS: readClockToleranceS(baseEnv),
  };
  // The gateway routes get demo secrets when none are configured, so the simulator can sign its webhooks with them.
  const adyenDemo = baseEnv['VIGIL_ADYEN_HMAC_KEY'] === undefined ? adyenWebhookSecretsFor(config.dataDir) : undefined;
  const env: Env = {
    ...baseEnv,
    VIGIL_WEBHOOK_SECRET_KEY: baseEnv['VIGIL_WEBHOOK_SECRET_KEY'] ?? webhookSecretKeyFor(config.dataDir),
    VIGIL_STRIPE_WEBHOOK_SECRET: baseEnv['VIGIL_STRIPE_WEBHOOK_SECRET'] ?? stripeWebhookSecretFor(config.dataDir),
    ...(adyenDemo === undefined
      ? {}
      : {
          VIGIL_ADYEN_HMAC_KEY: adyenDemo.hmacKey,
          VIGIL_ADYEN_WEBHOOK_USERNAME: adyenDemo.username,
          VIGIL_ADYEN_WEBHOOK_PASSWORD: adyenDemo.password,
        }),
    // The console signs people in where the tokens come from (dashboards' config reads these).
    VIGIL_OIDC_ISSUER: oidc.issuer,
    VIGIL_OIDC_AUDIENCE: oidc.audience,
  };
  // Configured (or demo) keys, the keys admins manage through /v1/api-keys (Topics.apiKeys), and people's tokens.
  const managedKeys = new ManagedKeyTable();
  const authenticator = new ApiKeyAuthenticator(
    apiKeys,
    { table: managedKeys, nowMs: () => clock.nowMs() },
    new OidcTokenVerifier(oidc, clock),
  );
  const metrics = new MetricsRegistry();
  const registry = new EmbeddedSchemaRegistry({
    registrationsFile: join(config.dataDir, 'schemas', 'registrations.jsonl'),
  });

  const bus = await EmbeddedLog.open({
    dir: join(config.dataDir, 'log'),
    logger: logger.child({ component: 'log' }),
    retentionMs: config.logRetentionMs,
  });
  await bus.ensureTopics(topicSpecs(config.partitions));
  const apiKeyFeed = await startApiKeyFeed(bus, registry, managedKeys, clock);
  // Serve no request before the managed keys are in: a feed's valid key must never be refused at start.
  await apiKeyFeed.loaded;
  const clickhouse = createClickHouseClient(`embedded:${join(config.dataDir, 'clickhouse')}`);

  const customerKeys = FileCustomerKeyStore.open(customerKeysDirOf(config.dataDir), {
    rotateAfterMs: CUSTOMER_KEY_ROTATE_AFTER_MS,
  });
  const retentionMs = config.personalDataRetentionDays * DAY_MS;
  const sweepPersonalData = async (): Promise<void> => {
    try {
      const destroyed = await customerKeys.destroyExpired(clock.nowMs(), retentionMs);
      if (destroyed > 0) logger.info('personal data past retention erased', { keyVersions: destroyed, retentionMs });
    } catch (error) {
      logger.error('personal-data retention sweep failed; it runs again within the hour', {
        error: describeError(error),
      });
    }
  };
  if (retentionMs > 0) await sweepPersonalData();
  const retentionSweep =
    retentionMs > 0 ? setInterval(() => void sweepPersonalData(), PERSONAL_DATA_SWEEP_MS) : undefined;
  retentionSweep?.unref();

  const common = { bus, registry, metrics, clock, env };
  const ledgerSink = await startLedgerSink({ ...common, clickhouse, logger: logger.child({ stage: 'ledger-sink' }) });
  // Where `npm run train -- --from-history` writes by default (`<data dir>/model-candidates`).
  const modelCandidatesDir = modelCandidatesDirOf(env, config.dataDir);
  const scoring = await startScoring({
    ...common,
    dataDir: join(config.dataDir, 'scoring'),
    modelCandidatesDir,
    clickhouse,
    logger: logger.child({ stage: 'scoring' }),
  });
  // Keys set in the environment win (ingest's config reads them); otherwise the data directory's versioned key files.
  const keysInEnv = ['VIGIL_TOKENIZATION_KEY', 'VIGIL_TOKENIZATION_KEYS'].some((k) => (baseEnv[k] ?? '') !== '');
  const ingest = await startIngest({
    ...common,
    ...(keysInEnv
      ? {}
      : { tokenizationKeys: options.tokenizationKeys ?? FileTokenizationKeyStore.open(secretsDirOf(config.dataDir)) }),
    authenticator,
    customerKeys,
    dataDir: join(config.dataDir, 'ingest'),
    logger: logger.child({ stage: 'ingest' }),
  });
  const dashboards = await startDashboards({
    ...common,
    clickhouse,
    authenticator,
    apiKeys: apiKeyFeed,
    customerKeys,
    prepareRules: preparedRulesOf,
    checkModelCandidate: (version) => checkCandidate(modelCandidatesDir, version),
    logger: logger.child({ stage: 'dashboards' }),
  });
  const notifier = await startNotifier({
    ...common,
    authenticator,
    dataDir: join(config.dataDir, 'notifier'),
    logger: logger.child({ stage: 'notifier' }),
  });

  const http = await startHttpServer({
    port: config.httpPort,
    host: config.httpHost,
    routers: [ingest.router, dashboards.router, notifier.router],
    api: [ingest.api, dashboards.api, notifier.api],
    checks: [
      { name: 'ingest', isReady: () => ingest.isReady() },
      { name: 'scoring', isReady: () => scoring.isReady() },
      { name: 'ledger-sink', isReady: () => ledgerSink.isReady() },
      { name: 'dashboards', isReady: () => dashboards.isReady() },
      { name: 'notifier', isReady: () => notifier.isReady() },
      { name: 'api-keys', isReady: () => apiKeyFeed.isLoaded() },
    ],
    metrics,
    authenticator,
    logger,
    rateLimit: readRateLimitConfig(env),
  });
  dashboards.attach(http.server);
  const url = http.url;
  // The console is reached as 127.0.0.1 or as localhost: both are its addresses.
  builtInProvider?.open([
    `${url}/`,
    ...(url.includes('//127.0.0.1:') ? [`${url.replace('//127.0.0.1:', '//localhost:')}/`] : []),
  ]);

  const groundTruth = new GroundTruth();
  const channelFeed =
    simulatorWorld !== undefined && ingestKey !== undefined
      ? createChannelFeed({
          url,
          ingestKey: ingestKey.key,
          share: config.simulatorChannelShare,
          channels: config.simulatorChannels,
          ...(env['VIGIL_STRIPE_WEBHOOK_SECRET'] ? { stripeSecret: env['VIGIL_STRIPE_WEBHOOK_SECRET'] } : {}),
          ...(env['VIGIL_ADYEN_HMAC_KEY'] && env['VIGIL_ADYEN_WEBHOOK_USERNAME'] && env['VIGIL_ADYEN_WEBHOOK_PASSWORD']
            ? {
                adyen: {
                  hmacKey: env['VIGIL_ADYEN_HMAC_KEY'],
                  username: env['VIGIL_ADYEN_WEBHOOK_USERNAME'],
                  password: env['VIGIL_ADYEN_WEBHOOK_PASSWORD'],
                },
              }
            : {}),
          clock,
          logger: logger.child({ component: 'simulator-channels' }),
          metrics,
        })
      : undefined;
  const sendSimulated = async (batch: TransactionRequest[]): Promise<void> => {
    if (batch.length > 0) await ingest.accept(batch, 'SIMULATOR', SIMULATOR_SUBMITTER);
  };
  const traffic =
    simulatorWorld !== undefined
      ? startLiveTraffic({
          tps: config.simulatorTps,
          ...simulatorWorld,
          clock,
          logger: logger.child({ component: 'simulator' }),
          send: channelFeed?.wrap(sendSimulated) ?? sendSimulated,
          onDelivered: (delivered) => {
            const nowMs = clock.nowMs();
            for (const { transactionId, fraud } of delivered) groundTruth.record(transactionId, fraud, nowMs);
          },
          ...(adminKey !== undefined && ingestKey !== undefined
            ? { accountDesk: httpAccountDeskApi(url, { admin: adminKey.key, ingest: ingestKey.key }) }
            : {}),
        })
      : undefined;
  // Simulated analysts and chargebacks, through the API with an analyst's key, so the ledger's holds, verdicts
  // and reversals happen in the demo too (simulator/verdict-desk.ts).
  const analystKey = apiKeys.find((k) => k.role === Role.analyst);
  const verdictDesk =
    traffic !== undefined && analystKey !== undefined
      ? startVerdictDesk({
          api: httpAnalystApi(url, analystKey.key),
          truth: groundTruth,
          clock,
          logger: logger.child({ component: 'simulated-analysts' }),
        })
      : undefined;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      clearInterval(retentionSweep);
      await traffic?.stop();
      if (channelFeed !== undefined)
        logger.info('simulated channel traffic', { share: config.simulatorChannelShare, counts: channelFeed.counts() });
      await verdictDesk?.stop();
      await http.close();
      await builtInProvider?.close();
      // Upstream first, so each stage drains what the previous one produced before the log closes.
      await ingest.close();
      await scoring.close();
      await ledgerSink.close();
      await dashboards.close();
      await notifier.close();
      await apiKeyFeed.subscription.close();
      await bus.close();
      await clickhouse.close();
    })());

  const identityProvider =
    builtInProvider === undefined ? undefined : { issuer: builtInProvider.issuer, users: demoUsers };
  return {
    config,
    url,
    server: http.server,
    apiKeys,
    keysWereGenerated,
    identityProvider,
    bus,
    simulatorChannelCounts: () => channelFeed?.counts(),
    close,
  };
}
