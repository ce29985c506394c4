import { Kafka, logLevel } from 'kafkajs';
import type { OutgoingRecord } from '../bus.js';
import { VigilError } from '../errors.js';
import { splitIntoRounds } from './kafka-bus.js';
import { brokers, KafkaTestContext, readAll, requireBroker } from './test-helpers.js';

/** A topic whose `max.message.bytes` is small, so a few hundred ordinary records exceed one batch. */
const LIMIT_BYTES = 20_000;

async function createSmallTopic(topic: string, partitions: number): Promise<void> {
  const admin = new Kafka({ clientId: 'vigil-test-admin', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic,
          numPartitions: partitions,
          configEntries: [{ name: 'max.message.bytes', value: String(LIMIT_BYTES) }],
        },
      ],
    });
  } finally {
    await admin.disconnect();
  }
}

function records(count: number, bytes: number, key: (i: number) => string | null): OutgoingRecord[] {
  return Array.from({ length: count }, (_, i) => ({ key: key(i), value: Buffer.from(String(i).padEnd(bytes, '.')) }));
}

describe('KafkaBus sizes produce requests by the topic’s max.message.bytes', () => {
  const ctx = new KafkaTestContext();
  beforeAll(requireBroker);
  afterEach(() => ctx.cleanup());

  it('sends 600 records of 300 bytes (≈ 9× the limit) in order, with the positions the broker gave them', async () => {
    const bus = await ctx.bus();
    const topic = ctx.topic();
    await createSmallTopic(topic, 2);
    const sent = records(600, 300, (i) => `account-${i % 3}`);
    const positions = await bus.send(topic, sent);
    expect(positions).toHaveLength(600);

    const read = [...(await readAll(bus, topic, 0)), ...(await readAll(bus, topic, 1))];
    expect(read).toHaveLength(600);
    const byPosition = new Map(read.map((r) => [`${r.partition}:${r.offset}`, r.value.toString()]));
    positions.forEach((p, i) => expect(byPosition.get(`${p.partition}:${p.offset}`)).toBe(sent[i]!.value.toString()));
    // Per key, offsets rise in send order.
    for (const key of ['account-0', 'account-1', 'account-2']) {
      const offsets = positions.filter((_, i) => sent[i]!.key === key).map((p) => p.offset);
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    }
  });

  it('refuses a record larger than the limit as RECORD_TOO_LARGE (not retriable), naming the record', async () => {
    const bus = await ctx.bus();
    const topic = ctx.topic();
    await createSmallTopic(topic, 1);
    const batch = [...records(3, 100, () => 'k'), { key: 'k', value: Buffer.alloc(LIMIT_BYTES + 1) }];
    const error = await bus.send(topic, batch).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(VigilError);
    expect((error as VigilError).code).toBe('RECORD_TOO_LARGE');
    expect((error as VigilError).retriable).toBe(false);
    expect((error as VigilError).message).toContain('record 3');
  });

  it('negative control: the same 600 records as one request are refused by the broker', async () => {
    const topic = ctx.topic();
    await createSmallTopic(topic, 2);
    const kafka = new Kafka({ clientId: 'vigil-test-raw', brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ retry: { retries: 0 } });
    await producer.connect();
    try {
      const messages = records(600, 300, () => 'account-0').map((r) => ({ key: r.key, value: r.value, partition: 0 }));
      await expect(producer.send({ topic, acks: -1, messages })).rejects.toThrow(
        /larger than the max message size|MESSAGE_TOO_LARGE/i,
      );
    } finally {
      await producer.disconnect();
    }
  });
});

describe('splitIntoRounds', () => {
  it('keeps each partition’s records in order across rounds and never exceeds the budget', () => {
    const messages = Array.from({ length: 50 }, (_, i) => ({ key: null, value: Buffer.alloc(100 + i) }));
    const partitions = messages.map((_, i) => i % 2);
    const rounds = splitIntoRounds(messages, partitions, 2_000);
    if (typeof rounds === 'number') throw new Error('unexpected oversize');
    expect(rounds.flat().sort((a, b) => a - b)).toEqual(messages.map((_, i) => i));
    for (const partition of [0, 1]) {
      const order = rounds.flatMap((round) => round.filter((i) => partitions[i] === partition));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    expect(rounds.length).toBeGreaterThan(1);
    expect(splitIntoRounds([{ key: null, value: Buffer.alloc(5_000) }], [0], 2_000)).toBe(0);
  });
});
