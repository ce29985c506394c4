import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';

/**
 * Loads the Avro schemas in `schemas/avro/` into avsc types. Avro `long` is decoded as `bigint` (money must
 * never pass through a float); `timestamp-millis` longs are plain numbers of epoch milliseconds.
 */
export const avroDir = fileURLToPath(new URL('./avro/', import.meta.url));

/** Avro long ⇄ JS bigint, exact over the whole int64 range. */
const BigIntLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n);
    return buf;
  },
  fromJSON: (v: unknown) => BigInt(v as string | number),
  toJSON: (n: bigint) =>
    n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString(),
  isValid: (n: unknown) => typeof n === 'bigint' && n >= -(2n ** 63n) && n < 2n ** 63n,
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

/** ±2^52 ms (about 142,700 years either side of 1970): what the built-in number long encodes exactly. */
const MAX_TIMESTAMP_MS = 2 ** 52;

/**
 * timestamp-millis as epoch ms in a JS number, within ±2^52 (MAX_TIMESTAMP_MS). avsc may give it
 * the built-in long (numbers) or the bigint long above, depending on how the schema spells the type; both are
 * handled. The built-in long zigzag-encodes n as the number 2|n| (or 2|n| - 1), which is exact only up to 2^53, so
 * past -2^52 the sign flips silently; both directions therefore refuse anything beyond ±2^52.
 */
class TimestampMillis extends avro.types.LogicalType {
  private readonly bigintUnderlying = this.underlyingType.isValid(1n);
  override _fromValue(value: bigint | number): number {
    const ms = Number(value);
    if (!(Math.abs(ms) <= MAX_TIMESTAMP_MS)) throw new Error(`timestamp-millis ${value} is beyond ±2^52 ms`);
    return ms;
  }
  override _toValue(value: unknown): bigint | number | undefined {
    if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) > MAX_TIMESTAMP_MS) return undefined;
    return this.bigintUnderlying ? BigInt(value) : value;
  }
  override _resolve(type: avro.Type): ((v: unknown) => unknown) | undefined {
    return avro.Type.isType(type, 'long', 'logical:timestamp-millis') ? (v: unknown) => v : undefined;
  }
}

export interface SchemaFile {
  /** e.g. `Transaction.v2.avsc` */
  readonly file: string;
  /** Full name, e.g. `vigil.Transaction`. */
  readonly name: string;
  readonly version: number;
  readonly schema: avro.Schema;
}

/** Parses a schema (which may reference earlier named types through `registry`) with Vigil's type hooks. */
export function parseSchema(schema: avro.Schema | string, registry: Record<string, avro.Type> = {}): avro.Type {
  // A string is schema JSON as a registry returns it (avsc alone would read it as a type name).
  const parsed = typeof schema === 'string' ? (JSON.parse(schema) as avro.Schema) : schema;
  return avro.Type.forSchema(parsed, {
    registry: { long: BigIntLong, ...registry },
    logicalTypes: { 'timestamp-millis': TimestampMillis },
    wrapUnions: false,
  });
}

/**
 * Every schema file in the order of its permanent id (`ids.json`), so a file that references another record
 * (`vigil.Transaction`) resolves it against the newest version that existed when it was added: ScoredTransaction v2
 * (id 8) embeds Transaction v2 (id 2) for good, and a later Transaction v3 reaches tx.scored only through a new
 * ScoredTransaction version. Resolving against the newest version instead would silently change what an existing id
 * means, and records already on a log would no longer decode.
 */
export function loadSchemaFiles(dir = avroDir): SchemaFile[] {
  const ids = JSON.parse(readFileSync(dir + 'ids.json', 'utf8')) as Record<string, unknown>;
  const idOf = (file: string): number => {
    const id = ids[file];
    if (typeof id !== 'number') throw new Error(`schemas/avro/ids.json has no id for ${file}; append one`);
    return id;
  };
  return readdirSync(dir)
    .filter((f) => f.endsWith('.avsc'))
    .map((file) => {
      const match = /^(\w+)\.v(\d+)\.avsc$/.exec(file);
      if (!match) throw new Error(`schema file ${file} must be named <Name>.v<version>.avsc`);
      const schema = JSON.parse(readFileSync(dir + file, 'utf8')) as avro.Schema & { namespace: string; name: string };
      return { file, name: `${schema.namespace}.${schema.name}`, version: Number(match[2]), schema, id: idOf(file) };
    })
    .sort((a, b) => a.id - b.id)
    .map(({ file, name, version, schema }) => ({ file, name, version, schema }));
}

export interface SchemaSet {
  /** The newest version's type for each record name; what this build reads and writes. */
  readonly latest: ReadonlyMap<string, avro.Type>;
  /** Self-contained (references expanded) schema JSON per file, as a registry stores it. */
  readonly expanded: ReadonlyMap<string, string>;
}

/**
 * Builds types for every version. Each version is parsed against the newest earlier versions of the types
 * it references, and stored expanded, so any registry can serve it without references.
 */
export function loadSchemaSet(dir = avroDir): SchemaSet {
  const latest = new Map<string, avro.Type>();
  const expanded = new Map<string, string>();
  for (const file of loadSchemaFiles(dir)) {
    const named: Record<string, avro.Type> = {};
    // A new version of a record replaces the old one wholesale; only the types it references without defining them
    // come from earlier files.
    for (const [name, type] of latest) if (name !== file.name) collectNamed(type, named);
    for (const name of definedNames(file.schema)) delete named[name];
    const type = parseSchema(file.schema, named);
    latest.set(file.name, type);
    expanded.set(file.file, JSON.stringify(type.schema({ exportAttrs: true })));
  }
  return { latest, expanded };
}

/**
 * Full names of the named types (record, enum, fixed) a schema defines inline, its own included; a nested
 * definition without a namespace takes its enclosing named type's (Avro spec, "Names").
 */
function definedNames(schema: unknown, namespace = ''): string[] {
  if (Array.isArray(schema)) return schema.flatMap((s) => definedNames(s, namespace));
  if (typeof schema !== 'object' || schema === null) return [];
  const node = schema as Record<string, unknown>;
  let enclosing = typeof node['namespace'] === 'string' ? node['namespace'] : namespace;
  const names: string[] = [];
  if (typeof node['name'] === 'string' && ['record', 'error', 'enum', 'fixed'].includes(String(node['type']))) {
    const name = node['name'];
    const fullName = name.includes('.') || enclosing === '' ? name : `${enclosing}.${name}`;
    names.push(fullName);
    enclosing = fullName.includes('.') ? fullName.slice(0, fullName.lastIndexOf('.')) : '';
  }
  const fields = Array.isArray(node['fields']) ? (node['fields'] as Array<{ type?: unknown }>) : [];
  for (const inner of [node['type'], node['items'], node['values'], ...fields.map((f) => f.type)])
    if (typeof inner === 'object') names.push(...definedNames(inner, enclosing));
  return names;
}

function collectNamed(type: avro.Type, into: Record<string, avro.Type>): void {
  if (type.name !== undefined) {
    if (into[type.name]) return;
    into[type.name] = type;
  }
  if (type instanceof avro.types.RecordType) for (const field of type.fields) collectNamed(field.type, into);
  else if (type instanceof avro.types.ArrayType) collectNamed(type.itemsType, into);
  else if (type instanceof avro.types.MapType) collectNamed(type.valuesType as avro.Type, into);
  else if (type instanceof avro.types.UnwrappedUnionType) for (const t of type.types) collectNamed(t, into);
  else if (type instanceof avro.types.LogicalType) collectNamed(type.underlyingType, into);
}

/**
 * Why bytes are not one well-formed Avro binary encoding of a schema; `path` is the field path inside the record
 * (`/problems/3/field`), `offset` the byte of the body where the check stopped.
 */
export class MalformedAvroError extends Error {
  readonly path: string[] = [];
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {
    // No message to Error: it would become an own property hiding the getter, and the path grows after this.
    super();
  }
  override get message(): string {
    return `${this.reason} at /${this.path.join('/')} (body byte ${this.offset})`;
  }
}

/**
 * Checks that `body` is exactly one value of `writer` in the Avro binary encoding (Avro 1.11 specification,
 * "Binary Encoding"), without building the value. It is run before avsc decodes, because avsc trusts the bytes:
 * it reads as many array items or map entries as a block count claims, past the end of the buffer (where it reads
 * zeros), so 13 bytes claiming 4·10^9 items keep a consumer busy for ever; and it reads an `int` as a varint of
 * up to 64 bits. This check is written against the specification, not avsc's internals, and refuses:
 * - a block count larger than the items the record can still hold: every item or entry is counted as at least one
 *   byte of the body (true of every type but `null` and empty records and fixeds, which no array or map of ours
 *   holds), so the work is bounded by the body's length whatever the counts say;
 * - an `int` (also an enum or union index) outside the 32-bit range, a `long` outside the 64-bit range, an
 *   enum or union index with no symbol or branch, a boolean byte other than 0 or 1;
 * - a length, a block byte-size, or a fixed-width value that runs past the end, a block byte-size that does not
 *   match its items, and bytes left after the value;
 * - a map key `"__proto__"`: avsc decodes maps into plain objects, where that key sets the prototype instead of
 *   adding an entry, so the entry would be lost.
 * @throws MalformedAvroError naming the reason, the field path and the byte offset.
 */
export function checkAvroEncoding(writer: avro.Type, body: Uint8Array): void {
  const reader = new ByteReader(body);
  checkerFor(writer)(reader);
  if (reader.pos !== body.length) reader.fail(`${body.length - reader.pos} bytes left after the value`);
}

type Check = (reader: ByteReader) => void;

class ByteReader {
  pos = 0;
  /** Array items and map entries the body can still hold (each needs at least one byte). */
  itemsLeft: number;
  constructor(readonly buf: Uint8Array) {
    this.itemsLeft = buf.length;
  }

  fail(reason: string): never {
    throw new MalformedAvroError(reason, this.pos);
  }

  take(bytes: number, what: string): void {
    if (bytes > this.buf.length - this.pos) this.fail(`${what} of ${bytes} bytes runs past the end of the body`);
    this.pos += bytes;
  }

  /**
   * A zigzag varint of at most `maxBytes` bytes whose last byte is at most `lastByteMax`: 5 and 0x0f for an int
   * (zigzag value < 2^32), 10 and 0x01 for a long (< 2^64). The result is exact up to 2^53 in magnitude, which is
   * all that counts, lengths and indexes need.
   */
  varint(maxBytes: number, lastByteMax: number, what: string, whatPrefix = ''): number {
    let unsigned = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (this.pos >= this.buf.length) this.fail(`the body ends inside ${whatPrefix}${what}`);
      const byte = this.buf[this.pos]!;
      if (i === maxBytes - 1 && byte > lastByteMax) this.fail(`${whatPrefix}${what} is out of range`);
      this.pos++;
      unsigned += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) break;
      scale *= 128;
    }
    return unsigned % 2 === 0 ? unsigned / 2 : -(unsigned + 1) / 2;
  }

  int(what = 'an int'): number {
    return this.varint(5, 0x0f, what);
  }

  long(what = 'a long'): number {
    return this.varint(10, 0x01, what);
  }

  /** A string or bytes value: a long length, then that many bytes. Returns where the bytes start. */
  lengthPrefixed(what: string): number {
    // The description is only put together on failure: this runs for every string of every record checked.
    const length = this.varint(10, 0x01, what, 'the length of ');
    if (length < 0) this.fail(`${what} has a negative length`);
    this.take(length, what);
    return this.pos - length;
  }

  /** Runs `item` once per array item or map entry, block by block (a negative count carries a byte size). */
  blocks(item: (reader: ByteReader, index: number) => void): void {
    let index = 0;
    for (;;) {
      let count = this.long('a block count');
      if (count === 0) return;
      let end: number | undefined;
      if (count < 0) {
        count = -count;
        const size = this.long('a block byte size');
        if (size < 0 || size > this.buf.length - this.pos) this.fail(`block byte size ${size} does not fit the body`);
        end = this.pos + size;
      }
      if (count > this.itemsLeft)
        this.fail(`block count ${count} is more than the ${this.itemsLeft} items the body can hold`);
      this.itemsLeft -= count;
      for (let i = 0; i < count; i++) item(this, index++);
      if (end !== undefined && this.pos !== end) this.fail(`block byte size does not match its items`);
    }
  }
}

/**
 * Adds a path segment to a MalformedAvroError on its way out. The checks call it from a catch around their loop
 * rather than wrapping each field or item in a closure: the success path, run for every record, allocates nothing.
 */
function withSegment(error: unknown, segment: string | number): unknown {
  if (error instanceof MalformedAvroError) error.path.unshift(String(segment));
  return error;
}

const PROTO_KEY = Buffer.from('__proto__');
const checkers = new WeakMap<avro.Type, Check>();

/** The compiled check of one type; recursive schemas resolve through the cache. */
function checkerFor(type: avro.Type): Check {
  const cached = checkers.get(type);
  if (cached) return cached;
  // A recursive type meets itself while compiling: it gets a forwarder to the check being compiled.
  const forward: { check?: Check } = {};
  checkers.set(type, (reader) => forward.check!(reader));
  const compiled = compileChecker(type);
  forward.check = compiled;
  checkers.set(type, compiled);
  return compiled;
}

function compileChecker(type: avro.Type): Check {
  // avsc's documented `typeName`s (the bigint long of parseSchema is an `abstract:long`).
  switch (type.typeName) {
    case 'null':
      return () => {};
    case 'boolean':
      return (reader) => {
        if (reader.pos >= reader.buf.length) reader.fail('the body ends inside a boolean');
        if (reader.buf[reader.pos]! > 1) reader.fail('a boolean is neither 0 nor 1');
        reader.pos++;
      };
    case 'int':
      return (reader) => void reader.int();
    case 'long':
    case 'abstract:long':
      return (reader) => void reader.long();
    case 'float':
      return (reader) => reader.take(4, 'a float');
    case 'double':
      return (reader) => reader.take(8, 'a double');
    case 'string':
      return (reader) => void reader.lengthPrefixed('a string');
    case 'bytes':
      return (reader) => void reader.lengthPrefixed('a bytes value');
    case 'fixed': {
      const { size } = type as avro.types.FixedType;
      return (reader) => reader.take(size, 'a fixed');
    }
    case 'enum': {
      const symbols = (type as avro.types.EnumType).symbols.length;
      return (reader) => {
        const index = reader.int('an enum index');
        if (index < 0 || index >= symbols) reader.fail(`enum index ${index} is not one of the ${symbols} symbols`);
      };
    }
    case 'union:unwrapped':
    case 'union:wrapped': {
      const branches = (type as avro.types.UnwrappedUnionType).types.map(checkerFor);
      return (reader) => {
        const index = reader.int('a union index');
        const branch = branches[index];
        if (!branch) return reader.fail(`union index ${index} is not one of the ${branches.length} branches`);
        branch(reader);
      };
    }
    case 'record':
    case 'error': {
      const fields = (type as avro.types.RecordType).fields.map((field) => ({
        name: field.name,
        check: checkerFor(field.type),
      }));
      return (reader) => {
        let i = 0;
        try {
          for (; i < fields.length; i++) fields[i]!.check(reader);
        } catch (error) {
          throw withSegment(error, fields[i]!.name);
        }
      };
    }
    case 'array': {
      const item = checkerFor((type as avro.types.ArrayType).itemsType);
      const itemAt = (r: ByteReader, index: number): void => {
        try {
          item(r);
        } catch (error) {
          throw withSegment(error, index);
        }
      };
      return (reader) => reader.blocks(itemAt);
    }
    case 'map': {
      const value = checkerFor((type as avro.types.MapType).valuesType as avro.Type);
      const entryAt = (r: ByteReader, index: number): void => {
        try {
          const keyStart = r.lengthPrefixed('a map key');
          if (r.pos - keyStart === PROTO_KEY.length && PROTO_KEY.equals(r.buf.subarray(keyStart, r.pos)))
            r.fail('map key "__proto__" would set the prototype of the decoded object, not add an entry');
          value(r);
        } catch (error) {
          throw withSegment(error, index);
        }
      };
      return (reader) => reader.blocks(entryAt);
    }
    default:
      if (type instanceof avro.types.LogicalType) return checkerFor(type.underlyingType);
      throw new Error(`no Avro encoding check for avsc type ${type.typeName}`);
  }
}
