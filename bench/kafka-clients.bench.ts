/**
 * `npm run bench:kafka-clients`: plain produce and consume throughput of N 300-byte keyed records against the
 * local broker (`npm run services:up`), with kafkajs, with @platformatic/kafka, and with Kafka's own Java
 * ProducerPerformance (kafka-tools, same classpath as the broker) as the ceiling. Every producer uses acks=all.
 * Each client gets its own fresh 6-partition topic; consumers read it from the earliest offset in a new group.
 *
 * Options (env): BENCH_RECORDS (default 200000), BENCH_BATCH (records per send, 500), BENCH_CONCURRENCY (sends in
 * flight, 4), VIGIL_KAFKA_BROKERS (127.0.0.1:9092).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  Consumer as PlatformaticConsumer,
  MessagesStreamModes,
  ProduceAcks,
  Producer as PlatformaticProducer,
} from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { readInt } from '../platform/config.js';
import { KafkaBus } from '../platform/kafka/kafka-bus.js';
import { silentLogger } from '../platform/logger.js';

const env = process.env;
const total = readInt(env, 'BENCH_RECORDS', 200_000, { min: 1000 });
const batchSize = readInt(env, 'BENCH_BATCH', 500, { min: 1, max: 100_000 });
const concurrency = readInt(env, 'BENCH_CONCURRENCY', 4, { min: 1, max: 64 });
const brokers = (env.VIGIL_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const partitions = 6;
const recordBytes = 300;
const kafkaLibs = join(import.meta.dirname, '..', '.services', 'kafka', 'libs');

const value = Buffer.alloc(recordBytes, 'x');
const keyOf = (i: number): string => `account-${i % 1000}`;
const rate = (records: number, ms: number): string =>
  `${Math.round((records / ms) * 1000).toLocaleString('en-US')} records/s`;

const kafka = new Kafka({ clientId: 'vigil-bench', brokers, logLevel: logLevel.ERROR });
const admin = kafka.admin();

async function freshTopic(client: string): Promise<string> {
  const topic = `bench-${client}-${randomUUID().slice(0, 8)}`;
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
  });
  return topic;
}

/** Runs `sendBatch(from, count)` over [0, total) with `concurrency` batches in flight; returns elapsed ms. */
async function produceAll(sendBatch: (from: number, count: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const from = next;
        const count = Math.min(batchSize, total - from);
        next += count;
        await sendBatch(from, count);
      }
    }),
  );
  return performance.now() - started;
}

async function benchKafkajs(): Promise<void> {
  const topic = await freshTopic('kafkajs');
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const produceMs = await produceAll((from, count) =>
    producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: count }, (_, i) => ({ key: keyOf(from + i), value })),
    }),
  );
  await producer.disconnect();

  const consumer = kafka.consumer({
    groupId: `bench-${randomUUID()}`,
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let consumed = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: ({ batch }) => {
        consumed += batch.messages.length;
        if (consumed >= total) resolve();
        return Promise.resolve();
      },
    });
  });
  const consumeMs = performance.now() - started;
  await consumer.disconnect();
  console.log(
    `kafkajs 2.2.4              produce ${rate(total, produceMs)}   consume ${rate(total, consumeMs)} (incl. group join)`,
  );
}

/** Vigil's own adapter: idempotent producer, one request in flight per broker, positions per record. */
async function benchKafkaBus(): Promise<void> {
  const topic = await freshTopic('kafkabus');
  const bus = await KafkaBus.connect({ brokers, clientId: 'vigil-bench', logger: silentLogger });
  const producer = bus.producer();
  const produceMs = await produceAll((from, count) =>
    producer.send(
      topic,
      Array.from({ length: count }, (_, i) => ({ key: keyOf(from + i), value })),
    ),
  );
  let consumed = 0;
  let started = 0;
  await new Promise<void>((resolve) => {
    started = performance.now();
    void bus.subscribe({ groupId: `bench-${randomUUID()}`, topics: [topic] }, (batch) => {
      consumed += batch.records.length;
      if (consumed >= total) resolve();
      return Promise.resolve();
    });
  });
  const consumeMs = performance.now() - started;
  await bus.close();
  console.log(
    `KafkaBus (kafkajs, idem.)  produce ${rate(total, produceMs)}   consume ${rate(total, consumeMs)} (incl. group join, commit per batch)`,
  );
}

async function benchPlatformatic(): Promise<void> {
  const topic = await freshTopic('platformatic');
  const producer = new PlatformaticProducer({
    clientId: 'vigil-bench',
    bootstrapBrokers: brokers,
    acks: ProduceAcks.ALL,
    autocreateTopics: false,
  });
  const produceMs = await produceAll((from, count) =>
    producer.send({
      messages: Array.from({ length: count }, (_, i) => ({ topic, key: Buffer.from(keyOf(from + i)), value })),
    }),
  );
  await producer.close();

  const consumer = new PlatformaticConsumer({
    clientId: 'vigil-bench',
    groupId: `bench-${randomUUID()}`,
    bootstrapBrokers: brokers,
    maxWaitTime: 100,
  });
  let consumed = 0;
  const started = performance.now();
  const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false });
  await new Promise<void>((resolve, reject) => {
    stream.on('data', () => {
      if (++consumed === total) resolve();
    });
    stream.on('error', reject);
  });
  const consumeMs = performance.now() - started;
  await stream.close();
  await consumer.close();
  console.log(
    `@platformatic/kafka        produce ${rate(total, produceMs)}   consume ${rate(total, consumeMs)} (incl. group join)`,
  );
}

async function benchProducerPerformance(): Promise<void> {
  if (!existsSync(kafkaLibs)) {
    console.log(`ProducerPerformance: skipped, ${kafkaLibs} missing (run npm run services:up)`);
    return;
  }
  const topic = await freshTopic('java');
  const args = [
    '-Xmx512m',
    '-cp',
    `${kafkaLibs}/*`,
    'org.apache.kafka.tools.ProducerPerformance',
    '--topic',
    topic,
    '--num-records',
    String(total),
    '--record-size',
    String(recordBytes),
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${brokers.join(',')}`,
    'acks=all',
    // Batches comparable to the Node clients' 500-record sends (the 16 KiB default caps Java at ~50 records).
    'batch.size=262144',
    'linger.ms=5',
  ];
  const { stdout } = await promisify(execFile)('java', args, { maxBuffer: 16 * 1024 * 1024 });
  const summary = stdout.trim().split('\n').at(-1) ?? '';
  const match = /([\d.]+) records\/sec/.exec(summary);
  console.log(`Java ProducerPerformance   produce ${match ? rate(Number(match[1]), 1000) : '?'}   (${summary})`);
}

async function main(): Promise<void> {
  await admin.connect();
  console.log(
    `${total.toLocaleString('en-US')} records of ${recordBytes} B, ${partitions} partitions, acks=all, batches of ${batchSize}, ${concurrency} in flight`,
  );
  try {
    await benchKafkajs();
    await benchKafkaBus();
    await benchPlatformatic();
    await benchProducerPerformance();
  } finally {
    const benchTopics = (await admin.listTopics()).filter((t) => t.startsWith('bench-'));
    if (benchTopics.length > 0) await admin.deleteTopics({ topics: benchTopics });
    await admin.disconnect();
  }
}

await main();
