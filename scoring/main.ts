import { ConsumerHealth } from '../platform/consumer-health.js';
import { join } from 'node:path';
import type { Bus } from '../platform/bus.js';
import type { Clock } from '../platform/clock.js';
import { describeError } from '../platform/errors.js';
import type { Env } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import type { MetricsRegistry } from '../platform/metrics.js';
import { createCodec } from '../schemas/codec.js';
import { DeadLetterWriter } from '../schemas/dead-letter.js';
import type {
  Account,
  AnalystLabel,
  FraudAlert,
  LedgerBalance,
  ScoredTransaction,
  Transaction,
} from '../schemas/generated/types.js';
import type { SchemaRegistry } from '../schemas/registry.js';
import { startRulesVersionFeed } from '../schemas/rules-versions.js';
import { Topics } from '../schemas/topics.js';
import type { ClickHouseClient } from '@clickhouse/client';
import { ClickHouseRulesArchive } from './adapters/clickhouse-rules-archive.js';
import { type LoadedRules, loadRulesFile, prepareRules } from './adapters/rules-file.js';
import { FileSnapshotStore } from './adapters/snapshot-store.js';
import { TfjsModelScorer } from './adapters/tfjs-model.js';
import { readScoringConfig } from './config.js';
import { ScoringProcessor } from './app/scorer.js';
import { ScoringLoop } from './app/scoring-loop.js';
import type { RuleSet } from './domain/rules.js';

/**
 * The scoring stage's composition root: reads config, loads the rules and the model artefact, builds the
 * processor and starts the exactly-once loop (app/scoring-loop.ts) as group `scoring`. The rules in force are the
 * newest on Topics.rulesVersions (put there by `PUT /v1/rules`), else the rules file; a new record there is put in
 * force between batches, without a restart.
 *
 * With several scoring instances each sees only its partitions' labels; terminal fraud ratios are then per
 * instance (see README gaps).
 */
export interface ScoringDeps {
  bus: Bus;
  registry: SchemaRegistry;
  logger: Logger;
  metrics: MetricsRegistry;
  clock: Clock;
  dataDir: string;
  env: Env;
  /** Where the loaded rules version is archived (`rules_versions`); without it scoring logs that it is not. */
  clickhouse?: ClickHouseClient;
}

export interface ScoringStage {
  isReady(): boolean;
  close(): Promise<void>;
}

export const SCORING_GROUP = 'scoring';

export async function startScoring(deps: ScoringDeps): Promise<ScoringStage> {
  const { bus, registry, logger, metrics, clock } = deps;
  const config = readScoringConfig(deps.env);
  const archive = deps.clickhouse !== undefined ? new ClickHouseRulesArchive(deps.clickhouse) : undefined;
  if (archive === undefined) logger.warn('no ClickHouse configured: rules versions are not archived');
  // Archived before the first decision names the version, so every recorded version can be read back.
  const archived = async (loaded: LoadedRules): Promise<RuleSet> => {
    await archive?.archive({
      version: loaded.rules.version,
      label: loaded.label,
      canonicalDocument: loaded.canonicalDocument,
      loadedAtMs: clock.nowMs(),
    });
    return loaded.rules;
  };

  // Rules put in force through the API come on Topics.rulesVersions; the newest there wins over the file.
  let started = false;
  // Set once the processor exists; a version read before that is the one it is built with.
  const live: { processor?: ScoringProcessor } = {};
  let inForce: RuleSet | undefined;
  const rulesFeed = await startRulesVersionFeed(bus, registry, clock, SCORING_GROUP, async (record) => {
    if (!started) return;
    let loaded: LoadedRules;
    try {
      loaded = prepareRules(JSON.parse(record.rulesJson));
    } catch (error) {
      // Validated by the writer; only a build whose features differ can refuse it. The rules in force stay.
      logger.error('rules put in force do not compile in this build; the rules in force stay', {
        rulesVersion: record.version,
        error: describeError(error),
      });
      return;
    }
    inForce = await archived(loaded);
    live.processor?.useRules(inForce);
    logger.info('rules put in force', {
      rulesVersion: record.version,
      rulesLabel: record.label,
      publishedBy: record.publishedBy,
    });
  });
  await rulesFeed.loaded;
  const published = rulesFeed.latest();
  started = true;
  const initial =
    published !== undefined ? prepareRules(JSON.parse(published.rulesJson)) : await loadRulesFile(config.rulesFile);
  const initialRules = await archived(initial);
  inForce ??= initialRules;
  const model = await TfjsModelScorer.load(config.modelDir);
  const [transactions, labels, accounts, balances, scored, alerts] = await Promise.all([
    createCodec<Transaction>(registry, Topics.transactionsRaw),
    createCodec<AnalystLabel>(registry, Topics.analystLabels),
    createCodec<Account>(registry, Topics.accounts),
    createCodec<LedgerBalance>(registry, Topics.ledgerBalances),
    createCodec<ScoredTransaction>(registry, Topics.transactionsScored),
    createCodec<FraudAlert>(registry, Topics.fraudAlerts),
  ]);
  const deadLetters = await DeadLetterWriter.create(bus, registry, SCORING_GROUP, clock);
  const processor = new ScoringProcessor({
    producer: bus.producer(),
    codecs: { transactions, labels, accounts, balances, scored, alerts },
    deadLetters,
    model,
    rules: inForce,
    thresholds: { review: config.reviewThreshold, decline: config.declineThreshold },
    clock,
    metrics,
    logger,
    modelReasons: config.modelReasons,
  });
  live.processor = processor;

  metrics.gauge(
    'vigil_scoring_state_keys',
    'Keys held in feature state (cards, customers, terminals, devices).',
    () => {
      const s = processor.engine.stats();
      return s.cards + s.customers + s.terminals + s.devices;
    },
  );
  metrics.gauge(
    'vigil_scoring_funds_in_flight',
    'Debits of policy accounts not yet reflected by the ledger.',
    () => processor.funds.stats().inFlightDebits,
  );
  const store = new FileSnapshotStore(join(deps.dataDir, 'feature-state.snapshot'));
  const loop = await ScoringLoop.start(
    bus,
    processor,
    store,
    { clock, logger, metrics },
    {
      groupId: SCORING_GROUP,
      maxBatchRecords: config.maxBatchRecords,
      deadLetter: deadLetters.sink,
      snapshotEveryRecords: config.snapshotEveryRecords,
      snapshotIntervalMs: config.snapshotIntervalMs,
    },
  );
  logger.info('scoring started', {
    modelVersion: model.version,
    rulesVersion: processor.rulesInForce.version,
    rulesFrom: published !== undefined ? Topics.rulesVersions : config.rulesFile,
    rules: processor.rulesInForce.codes.length,
  });

  const health = ConsumerHealth.watch(loop, SCORING_GROUP, { metrics, clock, stuckAfterMs: config.stuckAfterMs });
  return {
    isReady: () => loop.isRunning() && !health.isStuck(),
    async close() {
      await rulesFeed.subscription.close();
      await loop.close();
      model.close();
    },
  };
}
