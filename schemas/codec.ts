import avro from 'avsc';
import { ErrorCategory, VigilError } from '../platform/errors.js';
import { MalformedAvroError, checkAvroEncoding, loadSchemaSet, parseSchema } from './avro.js';
import type { SchemaRegistry } from './registry.js';
import { type Topic, TopicValueSchema, valueSubject } from './topics.js';

/**
 * Encode/decode pairs for topic values in the Confluent wire format: magic byte 0, the writer schema's id as a
 * 4-byte big-endian integer, then the Avro binary body. Decoding resolves the writer's schema (looked up by id)
 * against this build's reader schema, so consumers read records written by older and newer producers alike.
 * Every body is checked against its writer schema (`checkAvroEncoding`) before avsc reads it, and every body this
 * build writes is checked the same way, so a record that decodes on no consumer is never produced.
 */
const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

/** Why a record could not be decoded; never retriable — the record goes to the dead-letter topic. */
export class CodecError extends VigilError {
  constructor(
    code: 'BAD_MAGIC_BYTE' | 'TRUNCATED_RECORD' | 'CORRUPT_BODY' | 'INCOMPATIBLE_SCHEMA' | 'INVALID_VALUE',
    message: string,
    details: Record<string, unknown> = {},
    cause?: unknown,
  ) {
    super(code, message, { category: ErrorCategory.invalidInput, retriable: false, details, cause });
  }
}

export interface Codec<T> {
  readonly topic: Topic;
  /** The id this build writes with. */
  readonly writerSchemaId: number;
  encode(value: T): Buffer;
  /** Rejects with CodecError (bad bytes) or UnknownSchemaIdError; retriable errors only if the registry is down. */
  decode(bytes: Buffer): Promise<T>;
  /**
   * Like `decode`, and also says which schema wrote the record and the top-level fields that writer has and this
   * reader does not (decoded with the writer's schema), so a record from a newer producer loses nothing the
   * consumer could forward. Costs a second decode only for records of a foreign writer.
   */
  decodeRecord(bytes: Buffer): Promise<DecodedRecord<T>>;
}

/** A record as this build reads it, with what its (newer) writer wrote beyond that. */
export interface DecodedRecord<T> {
  readonly value: T;
  readonly writerSchemaId: number;
  /** Fields of the writer's record that this reader does not have; empty for records written by this build. */
  readonly fieldsUnknownToReader: Readonly<Record<string, unknown>>;
}

export interface CodecOptions {
  /**
   * The schema this codec writes and reads with; default the newest contract of the topic. Tests pass another
   * version to act as an older or newer build.
   */
  readonly type?: avro.Type;
}

const schemaSet = loadSchemaSet();

/** The reader (newest) type for a record name. */
export function readerType(recordName: string): avro.Type {
  const type = schemaSet.latest.get(recordName);
  if (!type) throw new Error(`no Avro schema named ${recordName}`);
  return type;
}

/**
 * Creates the codec for a topic's values, registering this build's schema under the topic's subject. Rejects with
 * SchemaIncompatibleError when the registry refuses the schema, so an incompatible writer gets no codec and
 * produces nothing.
 */
export async function createCodec<T>(
  registry: SchemaRegistry,
  topic: Topic,
  options: CodecOptions = {},
): Promise<Codec<T>> {
  const type = options.type ?? readerType(TopicValueSchema[topic]);
  const writerSchemaId = await registry.register(
    valueSubject(topic),
    JSON.stringify(type.schema({ exportAttrs: true })),
  );
  return new AvroCodec<T>(registry, topic, type, writerSchemaId);
}

/** How to read bodies written with one schema id: its writer type, and the resolver when it is not ours. */
interface WriterSchema {
  readonly writer: avro.Type;
  readonly resolver?: avro.Resolver;
}

class AvroCodec<T> implements Codec<T> {
  private readonly writers = new Map<number, WriterSchema>();
  private readonly header: Buffer;

  constructor(
    private readonly registry: SchemaRegistry,
    readonly topic: Topic,
    private readonly type: avro.Type,
    readonly writerSchemaId: number,
  ) {
    this.header = Buffer.alloc(HEADER_BYTES);
    this.header.writeUInt8(MAGIC_BYTE, 0);
    this.header.writeUInt32BE(writerSchemaId, 1);
    this.writers.set(writerSchemaId, { writer: type });
  }

  encode(value: T): Buffer {
    // Hot path: avsc's writer type-checks as it serialises, so validate (slowly, collecting every bad path)
    // only when serialisation fails.
    let body: Buffer;
    try {
      body = this.type.toBuffer(value);
    } catch (cause) {
      const problems: string[] = [];
      this.type.isValid(value, {
        errorHook: (path: string[], v: unknown) =>
          problems.push(`/${path.join('/')}: ${typeof v === 'bigint' ? `${v}n` : JSON.stringify(v)}`),
      });
      throw new CodecError(
        'INVALID_VALUE',
        `value does not match ${this.type.name}: ${problems.join('; ') || String(cause)}`,
        { topic: this.topic },
        cause,
      );
    }
    try {
      // Catches what avsc writes but cannot read back, e.g. a map key "__proto__".
      checkAvroEncoding(this.type, body);
    } catch (cause) {
      if (!(cause instanceof MalformedAvroError)) throw cause;
      throw new CodecError(
        'INVALID_VALUE',
        `value does not match ${this.type.name}: ${cause.message}`,
        { topic: this.topic },
        cause,
      );
    }
    const framed = Buffer.allocUnsafe(HEADER_BYTES + body.length);
    this.header.copy(framed, 0);
    body.copy(framed, HEADER_BYTES);
    return framed;
  }

  async decode(bytes: Buffer): Promise<T> {
    return (await this.decodeRecord(bytes)).value;
  }

  async decodeRecord(bytes: Buffer): Promise<DecodedRecord<T>> {
    if (bytes.length < HEADER_BYTES)
      throw new CodecError('TRUNCATED_RECORD', `record of ${bytes.length} bytes is shorter than the 5-byte header`, {
        topic: this.topic,
      });
    if (bytes[0] !== MAGIC_BYTE)
      throw new CodecError('BAD_MAGIC_BYTE', `record starts with byte ${bytes[0]}, not the Confluent magic byte 0`, {
        topic: this.topic,
      });
    const schemaId = bytes.readUInt32BE(1);
    const { writer, resolver } = this.writers.get(schemaId) ?? (await this.writerSchema(schemaId));
    const body = bytes.subarray(HEADER_BYTES);
    try {
      // avsc trusts block counts and int widths (a 13-byte record can claim 4·10^9 array items); bound them first.
      checkAvroEncoding(writer, body);
      const result = this.type.decode(body, 0, resolver);
      const value: unknown = result.value;
      const offset = result.offset;
      if (offset !== body.length)
        throw new Error(
          offset < 0 ? 'body ends before the record does' : `${body.length - offset} bytes left after the record`,
        );
      return { value: value as T, writerSchemaId: schemaId, fieldsUnknownToReader: this.unknownFields(writer, body) };
    } catch (cause) {
      throw new CodecError(
        'CORRUPT_BODY',
        `Avro body does not decode with writer schema ${schemaId}: ${(cause as Error).message}`,
        { topic: this.topic, schemaId },
        cause,
      );
    }
  }

  private unknownFields(writer: avro.Type, body: Buffer): Record<string, unknown> {
    if (writer === this.type || !(writer instanceof avro.types.RecordType)) return {};
    const known = new Set((this.type as avro.types.RecordType).fields.flatMap((f) => [f.name, ...f.aliases]));
    const extra = writer.fields.filter((f) => !known.has(f.name));
    if (extra.length === 0) return {};
    const full = writer.fromBuffer(body) as Record<string, unknown>;
    return Object.fromEntries(extra.map((f) => [f.name, full[f.name]]));
  }

  private async writerSchema(schemaId: number): Promise<WriterSchema> {
    const writer = parseSchema(await this.registry.schemaById(schemaId));
    let resolver: avro.Resolver;
    try {
      resolver = this.type.createResolver(writer);
    } catch (cause) {
      throw new CodecError(
        'INCOMPATIBLE_SCHEMA',
        `writer schema ${schemaId} cannot be read as ${this.type.name}: ${(cause as Error).message}`,
        { topic: this.topic, schemaId },
        cause,
      );
    }
    const schema = { writer, resolver };
    this.writers.set(schemaId, schema);
    return schema;
  }
}
