import type { Bus, BusRecord, Subscription } from '../../platform/bus.js';
import type { Clock } from '../../platform/clock.js';
import { type Codec, createCodec } from '../../schemas/codec.js';
import { type DeadLetterWriter, decodeOrDeadLetter } from '../../schemas/dead-letter.js';
import { Decision, type FraudAlert, type ScoredTransaction } from '../../schemas/generated/types.js';
import type { SchemaRegistry } from '../../schemas/registry.js';
import { HeaderNames, Topics } from '../../schemas/topics.js';
import { isRetriable } from '../../platform/errors.js';
import type { FeedPosition } from '../domain/event-id.js';
import type { LiveStats } from '../domain/live-stats.js';
import type { AlertLog, LoggedAlert } from '../ports.js';
import type { LiveAlertHub } from '../ws/live-hub.js';

export interface LiveFeedOptions {
  readonly alertsGroupId: string;
  readonly statsGroupId: string;
}

/**
 * Feeds the live console from the bus: `fraud.alerts` → the hub (pushed to clients), `tx.scored` → the rolling
 * stats. Both groups start at 'latest' on first use: the console shows what happens now, and history comes
 * from `GET /v1/alerts`. Undecodable records go to the dead-letter topic, as everywhere. The hub is given
 * fraud.alerts itself (busAlertLog) to replay what reconnecting clients missed, and the position its feed
 * starts from: the group's committed offsets, else the log end (where 'latest' starts).
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
  hub.startFeed(await busAlertLog(bus, alertCodec), await feedStart(bus, options.alertsGroupId, Topics.fraudAlerts));
  const alerts = await bus.subscribe(
    { groupId: options.alertsGroupId, topics: [Topics.fraudAlerts], startFrom: 'latest', deadLetter: deadLetters.sink },
    async (batch) => {
      for (const { record, value } of await decodeOrDeadLetter(batch, alertCodec, deadLetters))
        hub.publishAlert(value, record);
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
          else stats.recordScored(hint.transactionId, hint.decision, hint.score, nowMs);
        }
        if (unhinted.length === 0) return;
        for (const { value } of await decodeOrDeadLetter({ ...batch, records: unhinted }, scoredCodec, deadLetters))
          stats.recordScored(value.transaction.transactionId, value.decision, value.score, nowMs);
      },
    );
    return [alerts, scored];
  } catch (error) {
    await alerts.close();
    throw error;
  }
}

const decisions = new Set<string>(Object.values(Decision));

/**
 * The transaction id, decision and score scoring copied into a `tx.scored` record's headers; undefined when any is
 * absent or malformed.
 */
export function scoredHint(
  record: Pick<BusRecord, 'headers'>,
): { transactionId: string; decision: Decision; score: number } | undefined {
  const transactionId = record.headers[HeaderNames.scoredTransactionId];
  const decision = record.headers[HeaderNames.scoredDecision];
  const scoreText = record.headers[HeaderNames.scoredScore];
  if (transactionId === undefined || transactionId === '') return undefined;
  if (decision === undefined || scoreText === undefined || !decisions.has(decision)) return undefined;
  const score = Number(scoreText);
  return Number.isFinite(score) ? { transactionId, decision: decision as Decision, score } : undefined;
}

/**
 * Where a 'latest' subscription of `groupId` will start, per partition: its committed offset, else the end. A
 * record appended between this call and the subscription is then replayable but never published live; a
 * resuming client gets it (more, never less).
 */
async function feedStart(bus: Bus, groupId: string, topic: string): Promise<FeedPosition> {
  const [committed, end] = await Promise.all([bus.committedOffsets(groupId, topic), bus.endOffsets(topic)]);
  return end.map((endOffset, partition) => {
    const offset = committed[partition] ?? -1;
    return offset >= 0 ? Math.min(offset, endOffset) : endOffset;
  });
}

/**
 * fraud.alerts as the hub replays it: records decoded with the feed's codec. An undecodable record comes back
 * without its alert (the feed dead-letters it; a replay skips it); retriable decode trouble rejects.
 */
export async function busAlertLog(bus: Bus, codec: Codec<FraudAlert>): Promise<AlertLog> {
  const partitions = await bus.partitionCount(Topics.fraudAlerts);
  return {
    partitions,
    endOffsets: () => bus.endOffsets(Topics.fraudAlerts),
    read: async (partition, fromOffset, maxRecords) => {
      const records = await bus.read(Topics.fraudAlerts, partition, fromOffset, maxRecords);
      const logged: LoggedAlert[] = [];
      for (const record of records) {
        let alert: FraudAlert | undefined;
        try {
          alert = await codec.decode(record.value);
        } catch (error) {
          if (isRetriable(error)) throw error;
          alert = undefined;
        }
        logged.push({ partition: record.partition, offset: record.offset, timestampMs: record.timestampMs, alert });
      }
      return logged;
    },
  };
}
