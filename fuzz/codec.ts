import avro from 'avsc';
import fc from 'fast-check';
import { VigilError } from '../platform/errors.js';
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
const HIGHEST_KNOWN_SCHEMA_ID = 7;

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
  readonly name?: string;
}

/** encode → decode returns the value exactly, for generated valid values of the topic's record type. */
export function roundTripTarget(topic: Topic, options: RoundTripOptions = {}): FuzzTarget {
  return defineTarget(options.name ?? `codec round trip ${topic}`, async () => {
    const codec = await codecFor(topic);
    const trip = options.encodeDecode ?? ((c: Codec<unknown>, value: unknown) => c.decode(c.encode(value)));
    return fc.asyncProperty(avroValue(readerType(TopicValueSchema[topic]), options.values), async (value) => {
      const decoded = await trip(codec, value);
      const difference = firstDifference(decoded, value);
      if (difference !== undefined) throw new Error(`decoded value differs at ${difference}`);
    });
  });
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

/**
 * A bound on the work of one decode, so that a crafted Avro block count cannot make a fuzz run hang: every
 * primitive read (boolean, int, long, float, double, string, bytes, enum) consumes at least one byte of a
 * well-formed record, so a decode that makes more such reads than the record has bytes is reading past its end.
 * A truncated record overreads by at most one read per field (past the end avsc reads zeros, so every block count
 * is 0); READ_SLACK covers that many, far fewer than the items a crafted block count makes avsc read.
 * Over the bound the read throws ReadBudgetExceeded (which the codec reports as CORRUPT_BODY, with it as the
 * cause). Counting only: within the bound avsc's reads are untouched. avsc freezes its type instances, so the
 * count sits on the primitive types' prototypes. fuzz/pending.ts holds the property that the bound is never hit.
 */
export class ReadBudgetExceeded extends Error {}
let readsLeft = Infinity;
/** More than the primitive fields of any Vigil record outside its arrays and maps (ScoredTransaction has ~40). */
const READ_SLACK = 256;
const countedPrimitives = [
  avro.types.BooleanType,
  avro.types.IntType,
  avro.types.LongType,
  avro.types.FloatType,
  avro.types.DoubleType,
  avro.types.StringType,
  avro.types.BytesType,
  avro.types.EnumType,
];
for (const primitive of countedPrimitives) {
  const prototype = primitive.prototype as unknown as { _read: (this: avro.Type, tap: unknown) => unknown };
  const read = prototype._read;
  prototype._read = function (this: avro.Type, tap: unknown) {
    if (--readsLeft < 0) throw new ReadBudgetExceeded('more primitive reads than the record has bytes');
    return read.call(this, tap);
  };
}

/** Decodes with the read bound of {@link ReadBudgetExceeded}. */
export async function boundedDecode(codec: Codec<unknown>, bytes: Buffer): Promise<unknown> {
  readsLeft = bytes.length + READ_SLACK;
  try {
    return await codec.decode(bytes);
  } finally {
    readsLeft = Infinity;
  }
}

export type Decode = (codec: Codec<unknown>, bytes: Buffer) => Promise<unknown>;

export interface DecodeOptions {
  /** The decode under test; a negative control plants a bug in a copy of it. */
  readonly decode?: Decode;
  /** Fail when a decode reaches the read bound (pending: no hang on a crafted block count). */
  readonly strictReadBudget?: boolean;
  /** Fail when bytes decode to a value that is not valid for the reader type (pending: out-of-range ints). */
  readonly strictValues?: boolean;
}

/** Checks one decode of damaged bytes against the codec's contract; returns what is wrong, or undefined. */
export async function judgeDecode(
  codec: Codec<unknown>,
  bytes: Buffer,
  expected: string | undefined,
  options: DecodeOptions = {},
): Promise<string | undefined> {
  let value: unknown;
  try {
    value = await (options.decode ?? boundedDecode)(codec, bytes);
  } catch (error) {
    if (!(error instanceof VigilError)) return `untyped rejection: ${String(error)}`;
    if (!decodeErrorCodes.has(error.code)) return `unexpected code ${error.code}`;
    if (error.retriable) return `${error.code} is marked retriable; bad bytes never heal`;
    if (error.cause instanceof ReadBudgetExceeded)
      return options.strictReadBudget
        ? 'the decoder made more reads than the record has bytes (a crafted block count hangs it)'
        : undefined;
    if (expected !== undefined && error.code !== expected) return `${error.code}, expected ${expected}`;
    return undefined;
  }
  if (expected !== undefined) return `decoded, expected ${expected}`;
  // Consumers trust decoded records; avsc does not range-check an int it reads (fuzz/README.md).
  if (options.strictValues && !readerType(TopicValueSchema[codec.topic]).isValid(value))
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

export const codecTargets: readonly FuzzTarget[] = allTopics.flatMap((topic) => [
  roundTripTarget(topic),
  decodeRobustnessTarget(topic),
]);
