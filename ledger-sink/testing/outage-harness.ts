import type { Bus, RecordBatch, Subscription } from '../../platform/bus.js';
import type { Clock } from '../../platform/clock.js';
import { isRetriable } from '../../platform/errors.js';
import { type Logger, createLogger, silentLogger } from '../../platform/logger.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MetricsRegistry } from '../../platform/metrics.js';
import type { Codec } from '../../schemas/codec.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import type { AnalystLabel, ScoredTransaction } from '../../schemas/generated/types.js';
import type { SchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import { LedgerBatchHandler } from '../app/ledger-writer.js';
import type { AuditIndex, LedgerStore } from '../ports.js';
import { type CapturingBus, capturingBus } from './fixtures.js';

/**
 * The ledger-sink stage as the fault suite's outage tests run it: the real {@link LedgerBatchHandler} behind a
 * real subscription (the Kafka bus's redelivery and backoff), on a topic of the test's own standing in for
 * `tx.scored` — the shared broker's `tx.scored` belongs to whoever else runs. Every handler call is recorded, so
 * a test can count retries during an outage and see which batches the subscription held in memory.
 * Dead letters are captured in memory (none are expected; the test asserts how many).
 */
export interface HandlerCall {
  readonly partition: number;
  readonly firstOffset: number;
  readonly records: number;
  readonly startedAtMs: number;
  readonly outcome: 'handled' | 'retriable' | 'failed';
}

export interface LedgerSinkUnderFault {
  readonly subscription: Subscription;
  readonly handler: LedgerBatchHandler;
  readonly calls: readonly HandlerCall[];
  readonly deadLetters: CapturingBus;
  readonly metrics: MetricsRegistry;
}

export interface LedgerSinkUnderFaultOptions {
  readonly bus: Bus;
  readonly topic: string;
  readonly groupId: string;
  readonly registry: SchemaRegistry;
  readonly scoredCodec: Codec<ScoredTransaction>;
  readonly labelCodec: Codec<AnalystLabel>;
  readonly store: LedgerStore;
  readonly auditIndex?: AuditIndex;
  readonly clock: Clock;
  /** As ledger-sink's VIGIL_LEDGER_MAX_BATCH_RECORDS. */
  readonly maxBatchRecords: number;
}

/** Subscribes the real handler, as ledger-sink/main.ts does (after-batch commits, from the earliest offset). */
export async function subscribeLedgerSink(options: LedgerSinkUnderFaultOptions): Promise<LedgerSinkUnderFault> {
  const deadLetterBus = capturingBus();
  const deadLetters = await DeadLetterWriter.create(deadLetterBus, options.registry, 'ledger-sink', options.clock);
  const metrics = new MetricsRegistry();
  const handler = new LedgerBatchHandler({
    store: options.store,
    scoredCodec: options.scoredCodec,
    labelCodec: options.labelCodec,
    deadLetters,
    logger: silentLogger,
    metrics,
    clock: options.clock,
    ...(options.auditIndex ? { auditIndex: options.auditIndex } : {}),
  });
  const calls: HandlerCall[] = [];
  const subscription = await options.bus.subscribe(
    {
      groupId: options.groupId,
      topics: [options.topic],
      commitMode: 'after-batch',
      maxBatchRecords: options.maxBatchRecords,
      startFrom: 'earliest',
      deadLetter: deadLetters.sink,
    },
    async (batch: RecordBatch) => {
      const call = {
        partition: batch.partition,
        firstOffset: batch.records[0]!.offset,
        records: batch.records.length,
        startedAtMs: Date.now(),
      };
      try {
        // The handler routes by topic name; the test's topic carries tx.scored's records.
        await handler.handle({ ...batch, topic: Topics.transactionsScored });
        calls.push({ ...call, outcome: 'handled' });
      } catch (error) {
        calls.push({ ...call, outcome: isRetriable(error) ? 'retriable' : 'failed' });
        throw error;
      }
    },
  );
  return { subscription, handler, calls, deadLetters: deadLetterBus, metrics };
}

/** Records of `topic` not yet committed by `groupId`: end offset − committed offset, summed over partitions. */
export async function committedLag(bus: Bus, topic: string, groupId: string): Promise<number> {
  const [ends, committed] = await Promise.all([bus.endOffsets(topic), bus.committedOffsets(groupId, topic)]);
  return ends.reduce((lag, end, p) => lag + end - Math.max(0, committed[p] ?? 0), 0);
}

/** Sends `items` to `topic` keyed by payer account (as scoring does), in chunks; resolves once all are durable. */
export async function produceScored(
  bus: Bus,
  topic: string,
  codec: Codec<ScoredTransaction>,
  items: readonly ScoredTransaction[],
  chunk = 500,
): Promise<void> {
  const producer = bus.producer();
  for (let start = 0; start < items.length; start += chunk)
    await producer.send(
      topic,
      items.slice(start, start + chunk).map((s) => ({ key: s.transaction.payerAccountId, value: codec.encode(s) })),
    );
}

/** Heap and RSS in MiB, and the largest seen, sampled while a phase runs. */
export class MemorySampler {
  private maxHeapMiB = 0;
  private maxRssMiB = 0;
  private timer: NodeJS.Timeout | undefined;

  /** Heap and RSS right after a full collection, so the figure is what is live, not garbage yet to collect. */
  static settled(): { heapMiB: number; rssMiB: number } {
    collectGarbage();
    return MemorySampler.now();
  }

  static now(): { heapMiB: number; rssMiB: number } {
    const usage = process.memoryUsage();
    return { heapMiB: usage.heapUsed / 2 ** 20, rssMiB: usage.rss / 2 ** 20 };
  }

  start(everyMs = 500): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  stop(): { maxHeapMiB: number; maxRssMiB: number } {
    clearInterval(this.timer);
    this.sample();
    return { maxHeapMiB: this.maxHeapMiB, maxRssMiB: this.maxRssMiB };
  }

  private sample(): void {
    const { heapMiB, rssMiB } = MemorySampler.now();
    this.maxHeapMiB = Math.max(this.maxHeapMiB, heapMiB);
    this.maxRssMiB = Math.max(this.maxRssMiB, rssMiB);
  }
}

/**
 * Node's `gc()`, enabled at run time the way Jest's leak detector does it (no --expose-gc flag needed).
 */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/**
 * A bus logger that counts the consumer's group joins ("kafka: joined group"): one join means the member kept
 * its partitions through the fault; more mean it was evicted and rejoined (a rebalance) meanwhile.
 */
export function joinCountingLogger(): { logger: Logger; joins: () => number } {
  let joins = 0;
  const logger = createLogger({
    level: 'info',
    write: (line) => {
      if (line.includes('kafka: joined group')) joins += 1;
    },
  });
  return { logger, joins: () => joins };
}
