import type { Bus, Subscription } from '../../platform/bus.js';
import type { Clock } from '../../platform/clock.js';
import { createCodec } from '../../schemas/codec.js';
import { type DeadLetterWriter, decodeOrDeadLetter } from '../../schemas/dead-letter.js';
import type { FraudAlert, ScoredTransaction } from '../../schemas/generated/types.js';
import type { SchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import type { LiveStats } from '../domain/live-stats.js';
import type { LiveAlertHub } from '../ws/live-hub.js';

export interface LiveFeedOptions {
  readonly alertsGroupId: string;
  readonly statsGroupId: string;
}

/**
 * Feeds the live console from the bus: `fraud.alerts` → the hub (pushed to clients), `tx.scored` → the rolling
 * stats. Both groups start at 'latest' on first use: the console shows what happens now, and history comes
 * from `GET /v1/alerts`. Undecodable records go to the dead-letter topic, as everywhere.
 */
export async function startLiveFeed(
  bus: Bus,
  registry: SchemaRegistry,
  deadLetters: DeadLetterWriter,
  hub: LiveAlertHub,
  stats: LiveStats,
  clock: Clock,
  options: LiveFeedOptions,
): Promise<Subscription[]> {
  const alertCodec = await createCodec<FraudAlert>(registry, Topics.fraudAlerts);
  const scoredCodec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
  const alerts = await bus.subscribe(
    { groupId: options.alertsGroupId, topics: [Topics.fraudAlerts], startFrom: 'latest', deadLetter: deadLetters.sink },
    async (batch) => {
      for (const { value } of await decodeOrDeadLetter(batch, alertCodec, deadLetters)) hub.publishAlert(value);
    },
  );
  try {
    const scored = await bus.subscribe(
      {
        groupId: options.statsGroupId,
        topics: [Topics.transactionsScored],
        startFrom: 'latest',
        deadLetter: deadLetters.sink,
      },
      async (batch) => {
        const nowMs = clock.nowMs();
        for (const { value } of await decodeOrDeadLetter(batch, scoredCodec, deadLetters))
          stats.recordScored(value.decision, value.score, nowMs);
      },
    );
    return [alerts, scored];
  } catch (error) {
    await alerts.close();
    throw error;
  }
}
