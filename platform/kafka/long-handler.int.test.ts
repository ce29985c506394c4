/**
 * A handler call longer than the session timeout (the ledger sink waiting on a hung Elasticsearch request):
 * with the in-flight heartbeat the member keeps its membership and the batch is handled and committed once;
 * with it off (the negative control) the broker evicts the member and the group rebalances.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordBatch } from '../bus.js';
import type { Logger } from '../logger.js';
import type { KafkaBus } from './kafka-bus.js';
import { KafkaTestContext, requireBroker, waitFor } from './test-helpers.js';

const SESSION_TIMEOUT_MS = 6000;
/** The fault: one handler call held for 2.5 session timeouts. */
const HOLD_MS = 2.5 * SESSION_TIMEOUT_MS;
const RECORDS = 5;

/** Member ids of every group join the subscription logged, in order. */
function joinRecorder(): { logger: Logger; joins: string[] } {
  const joins: string[] = [];
  const logger: Logger = {
    debug: () => undefined,
    info: (message, fields) => {
      if (message === 'kafka: joined group') joins.push(String(fields?.memberId));
    },
    warn: () => undefined,
    error: () => undefined,
    child: () => logger,
  };
  return { logger, joins };
}

async function committedOffset(bus: KafkaBus, group: string, topic: string): Promise<number> {
  await sleep(100); // paces the admin requests of a polling waitFor
  return (await bus.committedOffsets(group, topic))[0]!;
}

describe('KafkaSubscription: a handler call longer than the session timeout', () => {
  const ctx = new KafkaTestContext();
  beforeAll(requireBroker);
  afterEach(() => ctx.cleanup());

  async function holdOneBatch(inFlightHeartbeatMs: number) {
    const { logger, joins } = joinRecorder();
    const bus = await ctx.bus({
      logger,
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      heartbeatIntervalMs: 500,
      inFlightHeartbeatMs,
    });
    const topic = ctx.topic('long-handler');
    const group = ctx.group();
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    await bus.producer().send(
      topic,
      Array.from({ length: RECORDS }, (_, i) => ({ key: 'k', value: Buffer.from(String(i)) })),
    );
    const calls: RecordBatch[] = [];
    let holdsDone = 0;
    await bus.subscribe({ groupId: group, topics: [topic], maxBatchRecords: RECORDS }, async (batch) => {
      calls.push(batch);
      if (calls.length === 1) {
        await sleep(HOLD_MS);
        holdsDone += 1;
      }
    });
    return { bus, topic, group, joins, calls, held: () => holdsDone === 1 };
  }

  it('keeps the membership: no rebalance, the batch handled once and committed once', async () => {
    const { bus, topic, group, joins, calls, held } = await holdOneBatch(500);
    await waitFor(held, 'the held handler call returned', HOLD_MS + 30_000);
    await waitFor(async () => (await committedOffset(bus, group, topic)) === RECORDS, 'offset 5 committed', 30_000);
    expect(joins).toHaveLength(1);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.records.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
    expect(await committedOffset(bus, group, topic)).toBe(RECORDS);
  }, 120_000);

  it('negative control: with the in-flight heartbeat off the member is evicted and rejoins', async () => {
    const { joins, calls, held } = await holdOneBatch(0);
    await waitFor(held, 'the held handler call returned', HOLD_MS + 30_000);
    await waitFor(() => joins.length >= 2, 'a second group join after the eviction', 60_000);
    expect(new Set(joins).size).toBe(joins.length);
    // The evicted member's commit was refused, so the same batch was handed over again.
    await waitFor(() => calls.length >= 2, 'the batch redelivered', 30_000);
    expect(calls[1]!.records[0]!.offset).toBe(0);
  }, 120_000);
});
