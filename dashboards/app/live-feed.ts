import type { Bus, BusRecord, Subscription } from '../../platform/bus.js';
import type { Clock } from '../../platform/clock.js';
import { createCodec } from '../../schemas/codec.js';
import { type DeadLetterWriter, decodeOrDeadLetter } from '../../schemas/dead-letter.js';
import { Decision, type FraudAlert, type ScoredTransaction } from '../../schemas/generated/types.js';
import type { SchemaRegistry } from '../../schemas/registry.js';
import { HeaderNames, Topics } from '../../schemas/topics.js';
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
        // Counting needs only the decision and score, which scoring copies into headers; records without them
        // (written before the headers existed) are decoded.
        const unhinted: BusRecord[] = [];
        for (const record of batch.records) {
          const hint = scoredHint(record);
          if (hint === undefined) unhinted.push(record);
          else stats.recordScored(hint.decision, hint.score, nowMs);
        }
        if (unhinted.length === 0) return;
        for (const { value } of await decodeOrDeadLetter({ ...batch, records: unhinted }, scoredCodec, deadLetters))
          stats.recordScored(value.decision, value.score, nowMs);
      },
    );
    return [alerts, scored];
  } catch (error) {
    await alerts.close();
    throw error;
  }
}

const decisions = new Set<string>(Object.values(Decision));

/** The decision and score scoring copied into a `tx.scored` record's headers; undefined when absent or malformed. */
export function scoredHint(record: Pick<BusRecord, 'headers'>): { decision: Decision; score: number } | undefined {
  const decision = record.headers[HeaderNames.scoredDecision];
  const scoreText = record.headers[HeaderNames.scoredScore];
  if (decision === undefined || scoreText === undefined || !decisions.has(decision)) return undefined;
  const score = Number(scoreText);
  return Number.isFinite(score) ? { decision: decision as Decision, score } : undefined;
}
