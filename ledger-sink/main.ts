import { randomUUID } from 'node:crypto';
import { ConsumerHealth } from '../platform/consumer-health.js';
import type { ClickHouseClient } from '@clickhouse/client';
import { Client as ElasticsearchClient } from '@elastic/elasticsearch';
import type { Bus, Subscription } from '../platform/bus.js';
import { CatchUp } from '../platform/catch-up.js';
import type { Clock } from '../platform/clock.js';
import type { Env } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import type { MetricsRegistry } from '../platform/metrics.js';
import { createCodec } from '../schemas/codec.js';
import { DeadLetterWriter, decodeOrDeadLetter } from '../schemas/dead-letter.js';
import { elasticsearchConnection } from '../schemas/elasticsearch/audit.js';
import type {
  Account,
  AnalystLabel,
  LedgerBalance,
  LedgerEvent,
  ScoredTransaction,
  ShadowDecision,
} from '../schemas/generated/types.js';
import type { SchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import { ClickHouseLedgerStore } from './adapters/clickhouse-store.js';
import { ElasticsearchAuditIndex } from './adapters/elasticsearch-audit-index.js';
import type { AuditIndex } from './ports.js';
import { type AuditIndexConfig, parseLedgerSinkConfig } from './config.js';
import { AccountTypes } from './app/account-types.js';
import { BalanceFeed } from './app/balance-feed.js';
import { LedgerEventFeed } from './app/ledger-events.js';
import { LedgerBatchHandler } from './app/ledger-writer.js';
import { sweepExpiredHolds } from './app/hold-sweep.js';
import { ShadowDecisionWriter } from './app/shadow-writer.js';

/**
 * ledger-sink's composition root: parses its config, creates the ClickHouse tables, wires the store, codecs and
 * dead-letter writer into the batch handler, and subscribes it to `tx.scored` and `analyst.labels`. With
 * VIGIL_ELASTICSEARCH_URL set it also installs the audit index template and indexes every decision after the
 * ClickHouse inserts (distributed mode); without it, audit search is served from ClickHouse.
 *
 * The ClickHouse client and the bus belong to the caller (chDB binds one data directory per process, so one
 * client is shared by every stage); `close()` stops consuming and leaves them open.
 */
export interface LedgerSinkDeps {
  bus: Bus;
  registry: SchemaRegistry;
  logger: Logger;
  metrics: MetricsRegistry;
  clock: Clock;
  clickhouse: ClickHouseClient;
  env: Env;
}

export interface LedgerSinkStage {
  /** True once subscribed, until closed. */
  isReady(): boolean;
  /** Stops fetching, waits for the in-flight batch and commits it. Idempotent. */
  close(): Promise<void>;
}

/**
 * @throws ConfigError on a bad VIGIL_LEDGER_* / VIGIL_ELASTICSEARCH_* value; UnavailableError if the tables or
 * the audit index template cannot be created.
 */
export async function startLedgerSink(deps: LedgerSinkDeps): Promise<LedgerSinkStage> {
  const config = parseLedgerSinkConfig(deps.env);
  const logger = deps.logger.child({ stage: 'ledger-sink' });

  const store = new ClickHouseLedgerStore(deps.clickhouse, { lookupChunkIds: config.lookupChunkIds });
  await store.ensureSchema();
  const auditIndex = config.elasticsearch && createAuditIndex(config.elasticsearch, deps, logger);
  try {
    await auditIndex?.ensureTemplate();
  } catch (error) {
    await auditIndex?.close();
    throw error;
  }

  // Topics are created by the caller, which knows VIGIL_PARTITIONS (`bus.ensureTopics(topicSpecs(...))`), as for
  // every stage: asking here for the default count would create 8 partitions where the pipeline wants another number.
  const consumed = [Topics.transactionsScored, Topics.analystLabels] as const;
  const [scoredCodec, labelCodec, accountCodec, balanceCodec, eventCodec, shadowCodec, deadLetters] = await Promise.all(
    [
      createCodec<ScoredTransaction>(deps.registry, Topics.transactionsScored),
      createCodec<AnalystLabel>(deps.registry, Topics.analystLabels),
      createCodec<Account>(deps.registry, Topics.accounts),
      createCodec<LedgerBalance>(deps.registry, Topics.ledgerBalances),
      createCodec<LedgerEvent>(deps.registry, Topics.ledgerEvents),
      createCodec<ShadowDecision>(deps.registry, Topics.shadowDecisions),
      DeadLetterWriter.create(deps.bus, deps.registry, 'ledger-sink', deps.clock),
    ],
  );
  const balances = new BalanceFeed({
    store,
    producer: deps.bus.producer(),
    codec: balanceCodec,
    clock: deps.clock,
    metrics: deps.metrics,
  });
  const accountTypes = new AccountTypes();
  const handler = new LedgerBatchHandler({
    store,
    scoredCodec,
    labelCodec,
    deadLetters,
    logger,
    metrics: deps.metrics,
    clock: deps.clock,
    ...(auditIndex ? { auditIndex } : {}),
    holds: config.holds,
    holdsByAccountType: config.holdsByAccountType,
    accountTypes,
    balances,
    events: new LedgerEventFeed({ producer: deps.bus.producer(), codec: eventCodec, metrics: deps.metrics }),
  });

  const shadowWriter = new ShadowDecisionWriter({
    store,
    codec: shadowCodec,
    deadLetters,
    clock: deps.clock,
    metrics: deps.metrics,
  });

  let subscription: Subscription | undefined;
  let chartOfAccounts: Subscription | undefined;
  let shadowDecisions: Subscription | undefined;
  try {
    // Every process reads the whole chart of accounts (a fresh group, never committed): a credit to a policy
    // account can arrive on any partition, so each process must know every policy.
    // Decisions wait until the chart of accounts is read up to where it ended now: a debit of a policy account
    // settled before its policy was known would never be named to scoring, and stay counted in flight there.
    const chart = await CatchUp.of(deps.bus, Topics.accounts);
    chartOfAccounts = await deps.bus.subscribe(
      {
        groupId: `${config.groupId}.accounts.${randomUUID()}`,
        topics: [Topics.accounts],
        commitMode: 'manual',
        startFrom: 'earliest',
        deadLetter: deadLetters.sink,
      },
      async (batch) => {
        for (const { value } of await decodeOrDeadLetter(batch, accountCodec, deadLetters)) {
          accountTypes.apply(value);
          await balances.applyAccount(value);
        }
        chart.handled(batch);
      },
    );
    if (!(await settlesWithin(chart.loaded, CHART_LOAD_LIMIT_MS)))
      logger.warn('the chart of accounts is not read to its end yet; consuming decisions anyway', {
        waitedMs: CHART_LOAD_LIMIT_MS,
      });
    subscription = await deps.bus.subscribe(
      {
        groupId: config.groupId,
        topics: consumed,
        commitMode: 'after-batch',
        maxBatchRecords: config.maxBatchRecords,
        lingerMs: config.lingerMs,
        acrossPartitions: true,
        startFrom: 'earliest',
        deadLetter: deadLetters.sink,
      },
      async (batch) => {
        const report = await handler.handle(batch);
        logger.debug('batch stored', { ...report, partition: batch.partition });
      },
    );
    // The challenger's decisions in a group of their own: they never wait for, or hold up, the ledger's.
    shadowDecisions = await deps.bus.subscribe(
      {
        groupId: `${config.groupId}.shadow`,
        topics: [Topics.shadowDecisions],
        commitMode: 'after-batch',
        maxBatchRecords: config.maxBatchRecords,
        lingerMs: config.lingerMs,
        acrossPartitions: true,
        startFrom: 'earliest',
        deadLetter: deadLetters.sink,
      },
      (batch) => shadowWriter.handle(batch),
    );
  } catch (error) {
    await subscription?.close();
    await chartOfAccounts?.close();
    await auditIndex?.close();
    throw error;
  }
  logger.info('ledger-sink started', {
    groupId: config.groupId,
    topics: consumed,
    maxBatchRecords: config.maxBatchRecords,
    lingerMs: config.lingerMs,
    auditIndex: config.elasticsearch ? config.elasticsearch.indexPrefix : 'none (audit search reads ClickHouse)',
  });

  const health = ConsumerHealth.watch(subscription, config.groupId, {
    metrics: deps.metrics,
    clock: deps.clock,
    stuckAfterMs: config.stuckAfterMs,
  });
  const sweep = sweepExpiredHolds(handler, config.holdSweepMs, logger);
  let closing: Promise<void> | undefined;
  return {
    isReady: () => closing === undefined && !health.isStuck(),
    close: () => {
      closing ??= sweep
        .stop()
        .then(() => Promise.all([subscription.close(), chartOfAccounts.close(), shadowDecisions.close()]))
        .then(() => auditIndex?.close())
        .then(() => logger.info('ledger-sink stopped'));
      return closing;
    },
  };
}

/** Longest ledger-sink waits at start for the chart of accounts before it consumes decisions anyway. */
const CHART_LOAD_LIMIT_MS = 60_000;

/** True if `promise` resolves within `ms`; the timer never keeps the process alive. */
async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function createAuditIndex(config: AuditIndexConfig, deps: LedgerSinkDeps, logger: Logger): AuditIndex {
  // maxRetries 0: the adapter retries per item, so what was indexed is never sent again within a call.
  const client = new ElasticsearchClient({
    ...elasticsearchConnection(config),
    maxRetries: 0,
    requestTimeout: config.requestTimeoutMs,
  });
  return new ElasticsearchAuditIndex(
    client,
    {
      indexPrefix: config.indexPrefix,
      maxAttempts: config.maxAttempts,
      backoffMs: config.backoffMs,
      maxBackoffMs: config.maxBackoffMs,
      bulkDocuments: config.bulkDocuments,
      nowMs: () => deps.clock.nowMs(),
    },
    logger,
    deps.metrics,
  );
}
