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
  ShadowDecision,
  ShadowSetting,
  Transaction,
} from '../schemas/generated/types.js';
import type { SchemaRegistry } from '../schemas/registry.js';
import { startRulesVersionFeed } from '../schemas/rules-versions.js';
import { hasChallenger, startShadowSettingFeed } from '../schemas/shadow-settings.js';
import { Topics } from '../schemas/topics.js';
import type { ClickHouseClient } from '@clickhouse/client';
import { ClickHouseRulesArchive } from './adapters/clickhouse-rules-archive.js';
import { type LoadedRules, loadRulesFile, prepareRules } from './adapters/rules-file.js';
import { loadReportingCurrency } from './adapters/fx-rates-file.js';
import { FeatureEngine } from './domain/features.js';
import { FileSnapshotStore } from './adapters/snapshot-store.js';
import { loadCandidate } from './adapters/model-candidates.js';
import { TfjsModelScorer } from './adapters/tfjs-model.js';
import { modelCandidatesDirOf, readScoringConfig } from './config.js';
import { type Challenger, ScoringProcessor } from './app/scorer.js';
import { ScoringLoop } from './app/scoring-loop.js';
import type { RuleSet } from './domain/rules.js';
import type { ModelScorer } from './ports.js';

/**
 * The scoring stage's composition root: reads config, loads the rules and the model artefact, builds the
 * processor and starts the exactly-once loop (app/scoring-loop.ts) as group `scoring`. The rules in force are the
 * newest on Topics.rulesVersions (put there by `PUT /v1/rules`), else the rules file; a new record there is put in
 * force between batches, without a restart. Likewise the champion-challenger setting on Topics.shadowSettings (put
 * there by `PUT /v1/shadow` and `POST /v1/shadow/promote`): the challenger it names scores beside the champion from
 * the next batch on, and a model it made champion decides from then on (and after a restart).
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
  /**
   * Where candidate models are (challengers and promoted champions, by version); default
   * {@link modelCandidatesDirOf} of this stage's data directory. The composition roots pass the directory they give
   * dashboards, so a candidate is checked where it will be loaded.
   */
  modelCandidatesDir?: string;
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
  const reporting = await loadReportingCurrency(config.reportingCurrency, config.fxRatesFile, config.cashThresholds);
  const amountsWithoutRate = metrics.counter(
    'vigil_scoring_amounts_without_fx_rate_total',
    'Transactions whose debit currency has no FX rate: their amount features are in that currency, not the reporting one (label currency).',
  );
  const currenciesWarned = new Set<string>();
  const engine = new FeatureEngine({
    reporting,
    onAmountWithoutRate: (currency) => {
      amountsWithoutRate.inc({ currency });
      if (currenciesWarned.has(currency)) return;
      currenciesWarned.add(currency);
      logger.warn('no FX rate for a debit currency: its amount features are in its own major units', {
        currency,
        reportingCurrency: reporting.currency,
        ratesDate: reporting.table.date,
      });
    },
  });
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
  const candidatesDir = deps.modelCandidatesDir ?? modelCandidatesDirOf(deps.env, deps.dataDir);
  // The champion-challenger setting: read whole before the first batch, applied between batches after that.
  const shadowLive: { apply?: (setting: ShadowSetting) => Promise<void> } = {};
  const shadowFeed = await startShadowSettingFeed(bus, registry, clock, SCORING_GROUP, async (setting) => {
    await shadowLive.apply?.(setting);
  });
  await shadowFeed.loaded;
  const promoted = shadowFeed.latest()?.championModelVersion ?? null;
  const model = await championModel(promoted);
  const [transactions, labels, accounts, balances, scored, alerts, shadow] = await Promise.all([
    createCodec<Transaction>(registry, Topics.transactionsRaw),
    createCodec<AnalystLabel>(registry, Topics.analystLabels),
    createCodec<Account>(registry, Topics.accounts),
    createCodec<LedgerBalance>(registry, Topics.ledgerBalances),
    createCodec<ScoredTransaction>(registry, Topics.transactionsScored),
    createCodec<FraudAlert>(registry, Topics.fraudAlerts),
    createCodec<ShadowDecision>(registry, Topics.shadowDecisions),
  ]);
  const deadLetters = await DeadLetterWriter.create(bus, registry, SCORING_GROUP, clock);
  const processor = new ScoringProcessor({
    producer: bus.producer(),
    codecs: { transactions, labels, accounts, balances, scored, alerts, shadow },
    deadLetters,
    model,
    rules: inForce,
    thresholds: { review: config.reviewThreshold, decline: config.declineThreshold },
    clock,
    metrics,
    logger,
    modelReasons: config.modelReasons,
    engine,
  });
  live.processor = processor;
  // One setting at a time, in the order read: loading a model takes a while, and an older setting must not land last.
  let applying = Promise.resolve();
  shadowLive.apply = (setting) => (applying = applying.then(() => applyShadowSetting(processor, setting)));
  const initialSetting = shadowFeed.latest();
  if (initialSetting !== undefined) await shadowLive.apply(initialSetting);

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
    challenger: hasChallenger(initialSetting) ? 'set' : 'none',
    reportingCurrency: reporting.currency,
    fxRates: `${reporting.table.source}, ${reporting.table.date}`,
  });

  const health = ConsumerHealth.watch(loop, SCORING_GROUP, { metrics, clock, stuckAfterMs: config.stuckAfterMs });
  return {
    isReady: () => loop.isRunning() && !health.isStuck(),
    async close() {
      await rulesFeed.subscription.close();
      await shadowFeed.subscription.close();
      await loop.close();
      processor.closeModels();
    },
  };

  /**
   * The champion model: the candidate a promotion named, else the configured artefact. A promoted candidate that
   * no longer loads here is logged and the configured artefact decides (each decision names its model version).
   */
  async function championModel(version: string | null): Promise<ModelScorer> {
    if (version !== null)
      try {
        return await loadCandidate(candidatesDir, version);
      } catch (error) {
        logger.error('the promoted model does not load here; the configured model decides', {
          modelVersion: version,
          candidatesDir,
          error: describeError(error),
        });
      }
    return TfjsModelScorer.load(config.modelDir);
  }

  /**
   * Puts a champion-challenger setting in force on `processor`: the promoted champion model (when it changed), then
   * the challenger (or none). What does not load in this build is logged and left out; the champion is never
   * affected by a challenger that fails.
   */
  async function applyShadowSetting(target: ScoringProcessor, setting: ShadowSetting): Promise<void> {
    const championVersion = setting.championModelVersion;
    if (championVersion !== null && championVersion !== target.modelInForce.version) {
      try {
        target.useModel(await loadCandidate(candidatesDir, championVersion));
        logger.info('model promoted to champion', { modelVersion: championVersion, by: setting.changedBy });
      } catch (error) {
        logger.error('the promoted model does not load here; the champion stays', {
          modelVersion: championVersion,
          error: describeError(error),
        });
      }
    }
    if (!hasChallenger(setting)) {
      target.useChallenger(undefined);
      logger.info('no challenger', { change: setting.change, by: setting.changedBy });
      return;
    }
    let challenger: Challenger;
    try {
      const rules =
        setting.challengerRulesJson !== null
          ? await archived(prepareRules(JSON.parse(setting.challengerRulesJson)))
          : undefined;
      const modelVersion = setting.challengerModelVersion;
      const challengerModel =
        modelVersion === null
          ? undefined
          : modelVersion === target.modelInForce.version
            ? target.modelInForce
            : modelVersion === target.challengerInForce?.model?.version
              ? target.challengerInForce.model
              : await loadCandidate(candidatesDir, modelVersion);
      challenger = {
        ...(rules !== undefined ? { rules } : {}),
        ...(challengerModel ? { model: challengerModel } : {}),
      };
    } catch (error) {
      logger.error('the challenger does not load in this build; the previous one stays', {
        rulesVersion: setting.challengerRulesVersion,
        modelVersion: setting.challengerModelVersion,
        error: describeError(error),
      });
      return;
    }
    target.useChallenger(challenger);
    logger.info('challenger set', {
      rulesVersion: challenger.rules?.version ?? 'champion’s',
      modelVersion: challenger.model?.version ?? 'champion’s',
      by: setting.changedBy,
    });
  }
}
