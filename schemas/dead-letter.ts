import type { Bus, BusRecord, DeadLetterSink, OutgoingRecord, Producer, RecordBatch } from '../platform/bus.js';
import type { Clock } from '../platform/clock.js';
import type { ErrorCode } from '../platform/error-codes.js';
import { VigilError, describeError, isRetriable } from '../platform/errors.js';
import { type Codec, createCodec } from './codec.js';
import type { DeadLetter } from './generated/types.js';
import type { SchemaRegistry } from './registry.js';
import { HeaderNames, Topics } from './topics.js';

/**
 * Poison records follow a policy, not an exception: anything a stage cannot process goes to `tx.dlq` with its
 * original bytes, where it came from (topic/partition/offset, also as headers) and every problem found.
 */
export interface PoisonItem {
  /** The record that failed, when it came from the bus. */
  readonly record?: BusRecord;
  readonly key?: string | null;
  readonly originalBytes: Buffer;
  readonly error: unknown;
}

export class DeadLetterWriter {
  private constructor(
    private readonly producer: Producer,
    private readonly codec: Codec<DeadLetter>,
    private readonly stage: string,
    private readonly clock: Clock,
  ) {}

  static async create(bus: Bus, registry: SchemaRegistry, stage: string, clock: Clock): Promise<DeadLetterWriter> {
    return new DeadLetterWriter(
      bus.producer(),
      await createCodec<DeadLetter>(registry, Topics.deadLetters),
      stage,
      clock,
    );
  }

  /**
   * The bus's dead-letter sink for this stage (SubscribeOptions.deadLetter): a record the handler refuses
   * every time is written here with the handler's error, its original bytes and where it came from.
   */
  readonly sink: DeadLetterSink = (record, error) => this.send([{ record, originalBytes: record.value, error }]);

  /** Durably writes the items to the dead-letter topic; resolves when they are on the log. */
  async send(items: readonly PoisonItem[]): Promise<void> {
    if (items.length === 0) return;
    await this.producer.send(
      Topics.deadLetters,
      items.map((item) => this.toRecord(item)),
    );
  }

  toRecord(item: PoisonItem): OutgoingRecord {
    const error = item.error;
    const code: ErrorCode = error instanceof VigilError ? error.code : 'UNEXPECTED_ERROR';
    const reason = describeError(error);
    const letter: DeadLetter = {
      stage: this.stage,
      errorCode: code,
      reason,
      problems: error instanceof VigilError ? error.problems.map((p) => ({ path: p.path, message: p.message })) : [],
      sourceTopic: item.record?.topic ?? null,
      sourcePartition: item.record?.partition ?? null,
      sourceOffset: item.record === undefined ? null : BigInt(item.record.offset),
      key: item.key ?? item.record?.key ?? null,
      originalBytes: item.originalBytes,
      failedAtMs: this.clock.nowMs(),
    };
    const headers: Record<string, string> = {
      [HeaderNames.dlqReason]: reason.slice(0, 1000),
      [HeaderNames.dlqErrorCode]: code,
    };
    if (item.record) {
      headers[HeaderNames.dlqSourceTopic] = item.record.topic;
      headers[HeaderNames.dlqSourcePartition] = String(item.record.partition);
      headers[HeaderNames.dlqSourceOffset] = String(item.record.offset);
    }
    return { key: letter.key, value: this.codec.encode(letter), headers };
  }
}

export interface Decoded<T> {
  readonly record: BusRecord;
  readonly value: T;
}

/**
 * Decodes every record of a batch. Records that cannot be decoded (corrupt body, unknown schema id, bad magic
 * byte) go to the dead-letter topic and are skipped; a retriable failure (registry down) rejects, so the bus
 * redelivers the batch instead of dead-lettering good records.
 */
export async function decodeOrDeadLetter<T>(
  batch: RecordBatch,
  codec: Codec<T>,
  deadLetters: DeadLetterWriter,
): Promise<Decoded<T>[]> {
  const decoded: Decoded<T>[] = [];
  const poison: PoisonItem[] = [];
  for (const record of batch.records) {
    try {
      decoded.push({ record, value: await codec.decode(record.value) });
    } catch (error) {
      if (isRetriable(error)) throw error;
      poison.push({ record, originalBytes: record.value, error });
    }
  }
  await deadLetters.send(poison);
  return decoded;
}
