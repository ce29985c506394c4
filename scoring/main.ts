import { join } from 'node:path';
import type { Bus, Subscription } from '../platform/bus.js';
import type { Clock } from '../platform/clock.js';
import type { Env } from '../platform/config.js';
import { describeError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { MetricsRegistry } from '../platform/metrics.js';
import { createCodec } from '../schemas/codec.js';
import { DeadLetterWriter } from '../schemas/dead-letter.js';
import type { AnalystLabel, FraudAlert, ScoredTransaction, Transaction } from '../schemas/generated/types.js';
import type { SchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import { loadRulesFile } from './adapters/rules-file.js';
import { FileSnapshotStore } from './adapters/snapshot-store.js';
import { TfjsModelScorer } from './adapters/tfjs-model.js';
import { readScoringConfig } from './config.js';
import { ScoringProcessor } from './app/scorer.js';

/**
 * The scoring stage's composition root: reads config, loads the rules and the model artefact, restores the
 * feature-state snapshot and subscribes group `scoring` to tx.raw and analyst.labels in 'manual' commit mode.
 * Offsets are committed only after a snapshot reflecting them is on disk (see stage.ts for why that makes
 * feature state exactly-once across restarts).
 *
 * Labels share the subscription so one snapshot covers both topics' offsets. With several scoring instances
 * each sees only its partitions' labels; terminal fraud ratios are then per instance (see README gaps).
 */
export interface ScoringDeps {
  bus: Bus;
  registry: SchemaRegistry;
  logger: Logger;
  metrics: MetricsRegistry;
  clock: Clock;
  dataDir: string;
  env: Env;
}

export interface ScoringStage {
  isReady(): boolean;
  close(): Promise<void>;
}

export const SCORING_GROUP = 'scoring';

export async function startScoring(deps: ScoringDeps): Promise<ScoringStage> {
  const { bus, registry, logger, metrics, clock } = deps;
  const config = readScoringConfig(deps.env);
  const rules = await loadRulesFile(config.rulesFile);
  const model = await TfjsModelScorer.load(config.modelDir);
  const [transactions, labels, scored, alerts] = await Promise.all([
    createCodec<Transaction>(registry, Topics.transactionsRaw),
    createCodec<AnalystLabel>(registry, Topics.analystLabels),
    createCodec<ScoredTransaction>(registry, Topics.transactionsScored),
    createCodec<FraudAlert>(registry, Topics.fraudAlerts),
  ]);
  const deadLetters = await DeadLetterWriter.create(bus, registry, SCORING_GROUP, clock);
  const processor = new ScoringProcessor({
    producer: bus.producer(),
    codecs: { transactions, labels, scored, alerts },
    deadLetters,
    model,
    rules,
    thresholds: { review: config.reviewThreshold, decline: config.declineThreshold },
    clock,
    metrics,
    logger,
    modelReasons: config.modelReasons,
  });

  const store = new FileSnapshotStore(join(deps.dataDir, 'feature-state.snapshot'));
  const restored = await store.load();
  if (restored) {
    processor.restore(restored);
    logger.info('scoring state restored', { writtenAtMs: restored.writtenAtMs, offsets: restored.offsets.length });
  }
  metrics.gauge(
    'vigil_scoring_state_keys',
    'Keys held in feature state (cards, customers, terminals, devices).',
    () => {
      const s = processor.engine.stats();
      return s.cards + s.customers + s.terminals + s.devices;
    },
  );
  const snapshots = metrics.counter('vigil_scoring_snapshots_total', 'Feature-state snapshots written.');

  let lastSnapshotMs = clock.nowMs();
  let subscription: Subscription | undefined;
  let ready = false;

  /** Snapshot first, commit second: committed offsets never run ahead of the state on disk. */
  const snapshotAndCommit = async (): Promise<void> => {
    await store.save(processor.snapshot(clock.nowMs()));
    lastSnapshotMs = clock.nowMs();
    snapshots.inc();
    await subscription?.commit();
  };

  subscription = await bus.subscribe(
    {
      groupId: SCORING_GROUP,
      topics: [Topics.transactionsRaw, Topics.analystLabels],
      commitMode: 'manual',
      maxBatchRecords: config.maxBatchRecords,
    },
    async (batch) => {
      await processor.handle(batch);
      if (
        processor.unsnapshottedRecords >= config.snapshotEveryRecords ||
        (processor.unsnapshottedRecords > 0 && clock.nowMs() - lastSnapshotMs >= config.snapshotIntervalMs)
      ) {
        await snapshotAndCommit();
      }
    },
  );
  ready = true;
  logger.info('scoring started', {
    modelVersion: model.version,
    rulesVersion: rules.version,
    rules: rules.codes.length,
  });

  return {
    isReady: () => ready,
    async close() {
      ready = false;
      await subscription?.close();
      subscription = undefined;
      // Offsets stay as last committed; the final snapshot's offsets make the restart skip what it reflects.
      try {
        if (processor.unsnapshottedRecords > 0) await store.save(processor.snapshot(clock.nowMs()));
      } catch (error) {
        logger.error('final scoring snapshot failed; records since the last one will be re-scored', {
          error: describeError(error),
        });
      }
      model.close();
    },
  };
}
