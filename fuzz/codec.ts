import { readFileSync } from 'node:fs';
import avro from 'avsc';
import fc from 'fast-check';
import { VigilError } from '../platform/errors.js';
import { MalformedAvroError, avroDir } from '../schemas/avro.js';
import { type Codec, createCodec, readerType } from '../schemas/codec.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { type Topic, TopicValueSchema, Topics } from '../schemas/topics.js';
import { type AvroValueOptions, avroValue } from './avro-arbitrary.js';
import { firstDifference } from './same-value.js';
import { type FuzzTarget, defineTarget } from './target.js';

/**
 * Properties of the Confluent-framed Avro codecs (schemas/codec.ts), one pair of targets per topic:
 * encode → decode gives the value back exactly, and any bytes at all decode or reject with a typed CodecError /
 * UnknownSchemaIdError, never an untyped exception.
 */
const registry = new EmbeddedSchemaRegistry();
const codecs = new Map<Topic, Promise<Codec<unknown>>>();
export function codecFor(topic: Topic): Promise<Codec<unknown>> {
  let codec = codecs.get(topic);
  if (!codec) codecs.set(topic, (codec = createCodec<unknown>(registry, topic)));
  return codec;
}

export const allTopics: readonly Topic[] = Object.values(Topics);

/** The ids the embedded registry knows (schemas/avro/ids.json); anything above is unknown to it. */
const HIGHEST_KNOWN_SCHEMA_ID = Math.max(
  ...Object.values(JSON.parse(readFileSync(avroDir + 'ids.json', 'utf8')) as Record<string, unknown>).filter(
    (v): v is number => typeof v === 'number',
  ),
);

/** Every error code a decode may reject with; each one sends the record to the dead-letter topic. */
export const decodeErrorCodes: ReadonlySet<string> = new Set([
  'TRUNCATED_RECORD',
  'BAD_MAGIC_BYTE',
  'CORRUPT_BODY',
  'INCOMPATIBLE_SCHEMA',
  'UNKNOWN_SCHEMA_ID',
]);

export interface RoundTripOptions {
  /** The round trip under test; a negative control plants a bug in a copy of it. */
  readonly encodeDecode?: (codec: Codec<unknown>, value: unknown) => Promise<unknown>;
  readonly values?: AvroValueOptions;
  /**
   * Generated values that encode must refuse with INVALID_VALUE (values avsc would write but not read back
   * exactly); every other value must round-trip. Without it every generated value must round-trip.
   */
  readonly refused?: (value: unknown) => boolean;
  readonly name?: string;
}

const productionRoundTrip = async (codec: Codec<unknown>, value: unknown): Promise<unknown> =>
  codec.decode(codec.encode(value));

/** encode → decode returns the value exactly, for generated valid values of the topic's record type. */
export function roundTripTarget(topic: Topic, options: RoundTripOptions = {}): FuzzTarget {
  return defineTarget(options.name ?? `codec round trip ${topic}`, async () => {
    const codec = await codecFor(topic);
    const trip = options.encodeDecode ?? productionRoundTrip;
    return fc.asyncProperty(avroValue(readerType(TopicValueSchema[topic]), options.values), async (value) => {
      const mustRefuse = options.refused?.(value) ?? false;
      let decoded: unknown;
      try {
        decoded = await trip(codec, value);
      } catch (error) {
        if (mustRefuse && error instanceof VigilError && error.code === 'INVALID_VALUE') return;
        throw error;
      }
      if (mustRefuse) throw new Error('a value the codec cannot carry exactly was not refused');
      const difference = firstDifference(decoded, value);
      if (difference !== undefined) throw new Error(`decoded value differs at ${difference}`);
    });
  });
}

/** Whether a number anywhere in `value` is beyond ±2^52 (the timestamp-millis range of schemas/avro.ts). */
export function hasNumberBeyond2To52(value: unknown): boolean {
  if (typeof value === 'number') return Math.abs(value) > 2 ** 52;
  if (value !== null && typeof value === 'object') return Object.values(value).some(hasNumberBeyond2To52);
  return false;
}

/** Whether a map anywhere in `value` has the own key "__proto__". */
export function hasProtoKey(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  return Object.hasOwn(value, '__proto__') || Object.values(value).some(hasProtoKey);
}

/** Bytes a consumer may be handed: what a producer on this build writes, damaged in the ways the issue lists. */
type Damage =
  | { readonly kind: 'random'; readonly bytes: Uint8Array }
  | { readonly kind: 'random body'; readonly schemaId: number; readonly body: Uint8Array }
  | { readonly kind: 'truncated'; readonly keep: number }
  | { readonly kind: 'byte replaced'; readonly at: number; readonly byte: number }
  | { readonly kind: 'bad magic byte'; readonly byte: number }
  | { readonly kind: 'unknown schema id'; readonly schemaId: number }
  | { readonly kind: 'trailing bytes'; readonly extra: Uint8Array };

const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 80 }) }),
  fc.record({
    kind: fc.constant('random body' as const),
    schemaId: fc.integer({ min: 0, max: HIGHEST_KNOWN_SCHEMA_ID + 1 }),
    body: fc.uint8Array({ maxLength: 80 }),
  }),
  fc.record({ kind: fc.constant('truncated' as const), keep: fc.nat() }),
  fc.record({ kind: fc.constant('byte replaced' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('bad magic byte' as const), byte: fc.integer({ min: 1, max: 255 }) }),
  fc.record({
    kind: fc.constant('unknown schema id' as const),
    schemaId: fc.integer({ min: HIGHEST_KNOWN_SCHEMA_ID + 1, max: 0xffff_ffff }),
  }),
  fc.record({ kind: fc.constant('trailing bytes' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);

function header(schemaId: number): Buffer {
  const bytes = Buffer.alloc(5);
  bytes.writeUInt32BE(schemaId, 1);
  return bytes;
}

/** The damaged bytes, and the error code the damage must produce when it is certain (undefined: any outcome). */
function applyDamage(valid: Buffer, d: Damage): { bytes: Buffer; expected?: string } {
  switch (d.kind) {
    case 'random':
      return { bytes: Buffer.from(d.bytes) };
    case 'random body':
      return { bytes: Buffer.concat([header(d.schemaId), d.body]) };
    case 'truncated': {
      const keep = d.keep % valid.length;
      // A strict prefix of a valid encoding never decodes: decoding is deterministic from the first byte, so it
      // would stop where the full record's parse stops, and that is past the prefix.
      return { bytes: valid.subarray(0, keep), expected: keep < 5 ? 'TRUNCATED_RECORD' : 'CORRUPT_BODY' };
    }
    case 'byte replaced': {
      const bytes = Buffer.from(valid);
      bytes[d.at % bytes.length] = d.byte;
      return { bytes };
    }
    case 'bad magic byte': {
      const bytes = Buffer.from(valid);
      bytes[0] = d.byte;
      return { bytes, expected: 'BAD_MAGIC_BYTE' };
    }
    case 'unknown schema id': {
      const bytes = Buffer.from(valid);
      bytes.writeUInt32BE(d.schemaId, 1);
      return { bytes, expected: 'UNKNOWN_SCHEMA_ID' };
    }
    case 'trailing bytes':
      return { bytes: Buffer.concat([valid, d.extra]), expected: 'CORRUPT_BODY' };
  }
}

export type Decode = (codec: Codec<unknown>, bytes: Buffer) => Promise<unknown>;

export interface DecodeOptions {
  /** The decode under test; a negative control plants a bug in a copy of it. */
  readonly decode?: Decode;
}

const productionDecode: Decode = (codec, bytes) => codec.decode(bytes);

/** Checks one decode of damaged bytes against the codec's contract; returns what is wrong, or undefined. */
export async function judgeDecode(
  codec: Codec<unknown>,
  bytes: Buffer,
  expected: string | undefined,
  options: DecodeOptions = {},
): Promise<string | undefined> {
  let value: unknown;
  try {
    value = await (options.decode ?? productionDecode)(codec, bytes);
  } catch (error) {
    if (!(error instanceof VigilError)) return `untyped rejection: ${String(error)}`;
    if (!decodeErrorCodes.has(error.code)) return `unexpected code ${error.code}`;
    if (error.retriable) return `${error.code} is marked retriable; bad bytes never heal`;
    if (expected !== undefined && error.code !== expected) return `${error.code}, expected ${expected}`;
    return undefined;
  }
  if (expected !== undefined) return `decoded, expected ${expected}`;
  // Consumers trust decoded records: an int read as 2^31 (avsc reads any varint) must not pass as valid.
  if (!readerType(TopicValueSchema[codec.topic]).isValid(value))
    return 'decoded a value that is not valid for the reader type';
  return undefined;
}

/** Any bytes → a value or a typed, non-retriable decode error with the code the damage implies. */
export function decodeRobustnessTarget(
  topic: Topic,
  options: DecodeOptions & { readonly name?: string } = {},
): FuzzTarget {
  return defineTarget(options.name ?? `codec decode of damaged bytes ${topic}`, async () => {
    const codec = await codecFor(topic);
    return fc.asyncProperty(avroValue(readerType(TopicValueSchema[topic])), damage, async (value, d) => {
      const { bytes, expected } = applyDamage(codec.encode(value), d);
      const breach = await judgeDecode(codec, bytes, expected, options);
      // The bytes in hex, so a failure can be replayed against the codec without fast-check.
      if (breach !== undefined) throw new Error(`${breach}; bytes ${bytes.toString('hex')}`);
    });
  });
}

/** A long in Avro's zigzag varint form (Avro 1.11 specification, "Binary Encoding"). */
export function zigzagVarint(n: bigint): Buffer {
  let unsigned = n >= 0n ? n << 1n : (-n << 1n) - 1n;
  const bytes: number[] = [];
  do {
    const low = Number(unsigned & 0x7fn);
    unsigned >>= 7n;
    bytes.push(unsigned > 0n ? low | 0x80 : low);
  } while (unsigned > 0n);
  return Buffer.from(bytes);
}

/** The top-level array and map fields of a record type: where a crafted block count is easy to place. */
function blockFields(type: avro.Type): number[] {
  const fields = (type as avro.types.RecordType).fields;
  return fields.flatMap((field, index) =>
    field.type instanceof avro.types.ArrayType || field.type instanceof avro.types.MapType ? [index] : [],
  );
}

/** The topics whose record has a top-level array or map (tx.dlq problems, tx.scored features, fraud.alerts reasons). */
export const blockCountTopics: readonly Topic[] = allTopics.filter(
  (topic) => blockFields(readerType(TopicValueSchema[topic])).length > 0,
);

export interface BlockCountOptions extends DecodeOptions {
  /** The smallest crafted count; every one is more items than any generated body has bytes. */
  readonly minCount?: bigint;
  readonly name?: string;
}

/**
 * A valid record cut short at one of its array or map fields, whose block count is replaced by a huge one (as a
 * positive count, or negative with a byte size), followed by a few random bytes. No body that short holds that
 * many items, so decoding must refuse it with CORRUPT_BODY, and refuse it up front (the cause a MalformedAvroError
 * from the encoding check) rather than after avsc has read millions of items past the end of the buffer.
 */
export function blockCountTarget(topic: Topic, options: BlockCountOptions = {}): FuzzTarget {
  return defineTarget(
    options.name ?? `codec decode of damaged bytes ${topic} (no over-long block counts)`,
    async () => {
      const codec = await codecFor(topic);
      const type = readerType(TopicValueSchema[topic]) as avro.types.RecordType;
      const decode = options.decode ?? productionDecode;
      return fc.asyncProperty(
        avroValue(type),
        fc.constantFrom(...blockFields(type)),
        fc.bigInt({ min: options.minCount ?? 2n ** 24n, max: 2n ** 62n }),
        fc.option(fc.bigInt({ min: 0n, max: 2n ** 62n })),
        fc.uint8Array({ maxLength: 16 }),
        async (value, fieldIndex, count, blockSize, tail) => {
          const record = value as Record<string, unknown>;
          const before = type.fields.slice(0, fieldIndex).map((field) => field.type.toBuffer(record[field.name]));
          const countBytes =
            blockSize === null ? zigzagVarint(count) : Buffer.concat([zigzagVarint(-count), zigzagVarint(blockSize)]);
          const bytes = Buffer.concat([header(codec.writerSchemaId), ...before, countBytes, tail]);
          let breach: string | undefined;
          try {
            await decode(codec, bytes);
            breach = 'decoded';
          } catch (error) {
            if (!(error instanceof VigilError) || error.code !== 'CORRUPT_BODY')
              breach = `rejected with ${String(error)}`;
            else if (!(error.cause instanceof MalformedAvroError))
              breach = `CORRUPT_BODY only after decoding (cause: ${String(error.cause)})`;
          }
          if (breach !== undefined) throw new Error(`${breach}; bytes ${bytes.toString('hex')}`);
        },
      );
    },
  );
}

export const codecTargets: readonly FuzzTarget[] = [
  ...allTopics.flatMap((topic) => [roundTripTarget(topic), decodeRobustnessTarget(topic)]),
  ...blockCountTopics.map((topic) => blockCountTarget(topic)),
  // timestamp-millis carries ±2^52 ms exactly; beyond it (up to every safe integer) encode must refuse, not
  // flip the sign (-(2^52 + 1) used to come back as +2^52).
  roundTripTarget(Topics.analystLabels, {
    values: { fullSafeIntegerRange: true },
    refused: hasNumberBeyond2To52,
    name: `codec round trip ${Topics.analystLabels} (timestamps over every safe integer)`,
  }),
  // avsc decodes maps into plain objects, where a key "__proto__" sets the prototype: encode must refuse it.
  roundTripTarget(Topics.transactionsScored, {
    values: { protoMapKeys: true },
    refused: hasProtoKey,
    name: `codec round trip ${Topics.transactionsScored} (map key "__proto__")`,
  }),
];
