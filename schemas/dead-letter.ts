import { createHash } from 'node:crypto';
import type { Bus, BusRecord, DeadLetterSink, OutgoingRecord, Producer, RecordBatch } from '../platform/bus.js';
import type { Clock } from '../platform/clock.js';
import { BusErrorCode, type ErrorCode } from '../platform/error-codes.js';
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

/** How many of a record's bytes a letter keeps when the whole record does not fit in one (64 KiB). */
export const ORIGINAL_BYTES_KEPT = 64 * 1024;

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends ReadonlyArray<infer U> ? U[] : T[K] };

function isRecordTooLarge(error: unknown): boolean {
  return error instanceof VigilError && error.code === BusErrorCode.recordTooLarge;
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

  /**
   * Durably writes the items to the dead-letter topic; resolves when they are on the log. A letter the log refuses
   * as too large (its record was near the source topic's limit, and the letter adds the reason to it) is written
   * with the original bytes cut, first to ORIGINAL_BYTES_KEPT, then to none — never retried whole for ever, which
   * would stall the partition behind the poison it was meant to move past. The cut is said in the letter's problems
   * and headers (whole length and SHA-256); the whole record stays at its source position.
   */
  async send(items: readonly PoisonItem[]): Promise<void> {
    if (items.length === 0) return;
    try {
      await this.producer.send(
        Topics.deadLetters,
        items.map((item) => this.toRecord(item)),
      );
    } catch (error) {
      // Both logs check every record's size before appending any, so a refusal as too large landed nothing.
      if (!isRecordTooLarge(error)) throw error;
      for (const item of items) await this.sendCutIfNeeded(item);
    }
  }

  private async sendCutIfNeeded(item: PoisonItem): Promise<void> {
    for (const keep of [undefined, ORIGINAL_BYTES_KEPT, 0]) {
      if (keep !== undefined && keep >= item.originalBytes.length) continue;
      try {
        await this.producer.send(Topics.deadLetters, [this.toRecord(item, keep)]);
        return;
      } catch (error) {
        if (!isRecordTooLarge(error) || keep === 0) throw error;
      }
    }
  }

  /** The letter for `item`; with `keepOriginalBytes`, only that many of its original bytes, the cut recorded. */
  toRecord(item: PoisonItem, keepOriginalBytes?: number): OutgoingRecord {
    const error = item.error;
    const code: ErrorCode = error instanceof VigilError ? error.code : 'UNEXPECTED_ERROR';
    const reason = describeError(error);
    const letter: Mutable<DeadLetter> = {
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
    if (keepOriginalBytes !== undefined) {
      const whole = item.originalBytes;
      const sha256 = createHash('sha256').update(whole).digest('hex');
      letter.originalBytes = whole.subarray(0, keepOriginalBytes);
      letter.problems.push({
        path: '/originalBytes',
        message:
          `cut to ${keepOriginalBytes} of ${whole.length} bytes (SHA-256 ${sha256}): the letter with the whole record ` +
          `is larger than ${Topics.deadLetters} accepts`,
      });
      headers[HeaderNames.dlqOriginalLength] = String(whole.length);
      headers[HeaderNames.dlqOriginalSha256] = sha256;
    }
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
