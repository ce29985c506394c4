import type { ApiDocumentPart } from '../platform/openapi.js';
import { ConsumerHealth } from '../platform/consumer-health.js';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { ClickHouseClient } from '@clickhouse/client';
import { Client as ElasticsearchClient } from '@elastic/elasticsearch';
import type express from 'express';
import type { ApiKeyAuthenticator } from '../platform/auth.js';
import type { Bus, Subscription } from '../platform/bus.js';
import type { Clock } from '../platform/clock.js';
import type { Env } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import type { MetricsRegistry } from '../platform/metrics.js';
import type { CustomerKeyStore } from '../platform/personal-data.js';
import { createCodec } from '../schemas/codec.js';
import { DeadLetterWriter } from '../schemas/dead-letter.js';
import { elasticsearchConnection } from '../schemas/elasticsearch/audit.js';
import type { Account, AnalystLabel } from '../schemas/generated/types.js';
import type { SchemaRegistry } from '../schemas/registry.js';
import { startRulesVersionFeed } from '../schemas/rules-versions.js';
import { startShadowSettingFeed } from '../schemas/shadow-settings.js';
import { Topics } from '../schemas/topics.js';
import { type DashboardsConfig, readDashboardsConfig } from './config.js';
import { LiveStats } from './domain/live-stats.js';
import type { OutboxCounters } from './domain/outbox.js';
import { dashboardsRouter } from './http/routes.js';
import { AccessLogWriter, applyAccessLogRetention } from './adapters/clickhouse-access-log.js';
import type { ApiKeyDirectory, AuditSearch, RulesControl, ShadowControl } from './ports.js';
import { ClickHouseAuditSearch } from './adapters/clickhouse-audit-search.js';
import { ElasticsearchAuditSearch } from './adapters/elasticsearch-audit-search.js';
import { AccountTable, startAccountFeed } from './app/account-table.js';
import { startLiveFeed } from './app/live-feed.js';
import { startCaseFeed, startCaseIntake } from './app/case-feed.js';
import { liveCaseMessage } from './http/case-routes.js';
import { LiveAlertHub } from './ws/live-hub.js';
import { dashboardsApi } from './http/openapi.js';

export interface DashboardsDeps {
  readonly bus: Bus;
  readonly registry: SchemaRegistry;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly clock: Clock;
  /** Shared with ledger-sink in embedded mode (chDB binds one data directory per process). */
  readonly clickhouse: ClickHouseClient;
  readonly authenticator: ApiKeyAuthenticator;
  readonly env: Env;
  /** Managed API keys (`/v1/api-keys`): the process's key feed; without it those routes are not served. */
  readonly apiKeys?: ApiKeyDirectory;
  /**
   * The per-customer key store ingest seals personal fields with (the embedded default's file store, distributed
   * mode's customer.keys topic store): reads open
   * sealed values through it and `DELETE /v1/customers/{id}/personal-data` destroys keys in it. Without one, the
   * erasure and export routes answer 409 PERSONAL_DATA_KEYS_OFF.
   */
  readonly customerKeys?: CustomerKeyStore;
  /**
   * Scoring's validation of a rules document (the composition root passes it: stages share no code). With it,
   * dashboards serves `PUT /v1/rules` and `GET /v1/rules/active` over Topics.rulesVersions.
   */
  readonly prepareRules?: RulesControl['prepare'];
  /**
   * Scoring's check of a candidate model by version (the composition root passes it). With it and `prepareRules`,
   * dashboards serves the champion-challenger routes (`/v1/shadow`) over Topics.shadowSettings.
   */
  readonly checkModelCandidate?: ShadowControl['checkModel'];
}

export interface DashboardsStage {
  /** The REST API and the web page; mount it on the process's express app. */
  readonly router: express.Router;
  /** What the router serves, for the process's `/openapi.json`. */
  readonly api: ApiDocumentPart;
  /** Serves the live alert WebSocket (`/v1/alerts/live`) on the process's HTTP server. */
  attach(server: Server): void;
  isReady(): boolean;
  /** Closes live clients and bus subscriptions and flushes the access log. Does not close shared clients. */
  close(): Promise<void>;
  /** Diagnostics: each live client's send counters (queued, maxQueued, sent, dropped, congested). */
  liveClients(): ReadonlyArray<OutboxCounters & { readonly principal: string }>;
}

/**
 * The dashboards stage's composition root: what analysts and compliance officers see. Reads config, builds
 * the access log, the live alert hub and its bus feed, the chart of accounts and its feed, and the HTTP routes.
 * Throws ConfigError on bad config.
 */
export async function startDashboards(deps: DashboardsDeps): Promise<DashboardsStage> {
  const config = readDashboardsConfig(deps.env);
  const logger = deps.logger.child({ stage: 'dashboards' });
  const { metrics, clock } = deps;

  const accessLog = new AccessLogWriter(
    deps.clickhouse,
    clock,
    logger,
    { batchSize: config.accessLogBatch },
    {
      written: metrics.counter('vigil_dashboards_access_log_written_total', 'Access-log rows written to ClickHouse'),
      failed: metrics.counter(
        'vigil_dashboards_access_log_insert_failures_total',
        'Access-log inserts that failed; the requests they covered were refused (503)',
      ),
    },
  );
  await applyAccessLogRetention(deps.clickhouse, config.accessLogRetentionDays);
  const auditSearch = createAuditSearch(config, deps.clickhouse);
  const stats = new LiveStats({ windowSeconds: 60, throughputSeconds: 10, latencySamples: 2048 });
  const hub = new LiveAlertHub(deps.authenticator, accessLog, clock, logger, metrics, stats, {
    policy: {
      capacity: config.wsQueueCapacity,
      highWaterBytes: config.wsHighWaterBytes,
      stallLimitMs: config.wsStallLimitMs,
    },
    heartbeatMs: config.wsHeartbeatMs,
    statsIntervalMs: config.statsIntervalMs,
    maxClients: config.wsMaxClients,
    dedupeCapacity: config.dedupeCapacity,
    maxCatchUpAlerts: config.wsMaxCatchUpAlerts,
  });

  // Every process keeps the whole chart of accounts, so each start reads Topics.accounts in a group of its own.
  const accountsGroupId = `dashboards.accounts.${randomUUID()}`;
  const accountTable = new AccountTable();
  let subscriptions: Subscription[] = [];
  try {
    const deadLetters = await DeadLetterWriter.create(deps.bus, deps.registry, 'dashboards', clock);
    const labelCodec = await createCodec<AnalystLabel>(deps.registry, Topics.analystLabels);
    const accountCodec = await createCodec<Account>(deps.registry, Topics.accounts);
    subscriptions = await startLiveFeed(deps.bus, deps.registry, deadLetters, hub, stats, clock, {
      alertsGroupId: config.liveGroupId,
      statsGroupId: config.statsGroupId,
    });
    const accountFeed = await startAccountFeed(deps.bus, accountCodec, deadLetters, accountTable, accountsGroupId);
    subscriptions.push(accountFeed.subscription);
    // Cases: every process folds the whole case log (and pushes each new step to its live clients); the alert intake
    // shares one group across replicas, so each alert becomes one step.
    const caseFeed = await startCaseFeed(deps.bus, deps.registry, deadLetters, {
      stepTimeoutMs: config.cases.stepTimeoutMs,
      onStep: (event, outcome, after) => {
        if (outcome.kind === 'applied' && after !== undefined)
          hub.publishCase(liveCaseMessage(event, after, clock.nowMs(), config.cases));
      },
    });
    subscriptions.push(caseFeed.subscription);
    const caseIntake = await startCaseIntake(deps.bus, deps.registry, deadLetters, clock, config.cases);
    subscriptions.push(caseIntake);
    const prepareRules = deps.prepareRules;
    const rulesFeed =
      prepareRules !== undefined
        ? await startRulesVersionFeed(deps.bus, deps.registry, clock, 'dashboards')
        : undefined;
    if (rulesFeed !== undefined) subscriptions.push(rulesFeed.subscription);
    const rules: RulesControl | undefined =
      prepareRules !== undefined && rulesFeed !== undefined
        ? { prepare: prepareRules, latest: () => rulesFeed.latest(), publish: (r) => rulesFeed.publish(r) }
        : undefined;
    const checkModel = deps.checkModelCandidate;
    const shadowFeed =
      rules !== undefined && checkModel !== undefined
        ? await startShadowSettingFeed(deps.bus, deps.registry, clock, 'dashboards')
        : undefined;
    if (shadowFeed !== undefined) subscriptions.push(shadowFeed.subscription);
    const shadow: ShadowControl | undefined =
      shadowFeed !== undefined && checkModel !== undefined
        ? {
            checkModel,
            loaded: () => shadowFeed.loaded,
            latest: () => shadowFeed.latest(),
            publish: (r) => shadowFeed.publish(r),
          }
        : undefined;
    const router = dashboardsRouter({
      clickhouse: deps.clickhouse,
      authenticator: deps.authenticator,
      accessLog,
      auditSearch,
      labels: { producer: deps.bus.producer(), codec: labelCodec },
      accounts: { producer: deps.bus.producer(), codec: accountCodec, table: accountTable },
      clock,
      logger,
      config,
      apiKeys: deps.apiKeys,
      customerKeys: deps.customerKeys,
      rules,
      shadow,
      cases: caseFeed,
    });
    const health = [
      ConsumerHealth.watch(subscriptions[0]!, config.liveGroupId, {
        metrics: deps.metrics,
        clock,
        stuckAfterMs: config.stuckAfterMs,
      }),
      ConsumerHealth.watch(subscriptions[1]!, config.statsGroupId, {
        metrics: deps.metrics,
        clock,
        stuckAfterMs: config.stuckAfterMs,
      }),
      ConsumerHealth.watch(accountFeed.subscription, accountsGroupId, {
        metrics: deps.metrics,
        clock,
        stuckAfterMs: config.stuckAfterMs,
      }),
      ConsumerHealth.watch(caseIntake, config.cases.groupId, {
        metrics: deps.metrics,
        clock,
        stuckAfterMs: config.stuckAfterMs,
      }),
    ];
    let closed = false;
    logger.info('dashboards started', {
      liveGroupId: config.liveGroupId,
      accountsGroupId,
      statsIntervalMs: config.statsIntervalMs,
      accessLogRetentionDays: config.accessLogRetentionDays,
      auditSearch: config.elasticsearch
        ? `elasticsearch ${config.elasticsearch.indexPrefix}-*`
        : 'clickhouse decisions',
    });
    return {
      router,
      api: dashboardsApi({
        rules: rules !== undefined,
        shadow: shadow !== undefined,
        apiKeys: deps.apiKeys !== undefined,
      }),
      attach: (server) => hub.attach(server),
      // Not ready until the chart of accounts is in: before that, a balance would leave out an overdraft limit.
      // Nor until the case log is folded: before that, the queue would be missing cases and actions would be refused.
      isReady: () => !closed && accountFeed.isLoaded() && caseFeed.isLoaded() && !health.some((h) => h.isStuck()),
      liveClients: () => hub.clientCounters(),
      close: async () => {
        if (closed) return;
        closed = true;
        await hub.close();
        await Promise.all(subscriptions.map((s) => s.close()));
        await accessLog.close();
        await auditSearch.close();
      },
    };
  } catch (error) {
    await hub.close();
    await Promise.all(subscriptions.map((s) => s.close()));
    await accessLog.close();
    await auditSearch.close();
    throw error;
  }
}

/** Elasticsearch when VIGIL_ELASTICSEARCH_URL is set (distributed mode), ClickHouse's `decisions` otherwise. */
function createAuditSearch(config: DashboardsConfig, clickhouse: ClickHouseClient): AuditSearch {
  const es = config.elasticsearch;
  if (es === undefined) return new ClickHouseAuditSearch(clickhouse);
  // One retry covers a dropped keep-alive connection; an outage surfaces as a 503 problem.
  const client = new ElasticsearchClient({
    ...elasticsearchConnection(es),
    maxRetries: 1,
    requestTimeout: es.requestTimeoutMs,
  });
  return new ElasticsearchAuditSearch(client, es.indexPrefix);
}
