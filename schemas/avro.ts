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

/**
 * timestamp-millis as epoch ms in a JS number (exact to year 285,616). avsc may give it the built-in long
 * (numbers) or the bigint long above, depending on how the schema spells the type; both are handled.
 */
class TimestampMillis extends avro.types.LogicalType {
  private readonly bigintUnderlying = this.underlyingType.isValid(1n);
  override _fromValue(value: bigint | number): number {
    return Number(value);
  }
  override _toValue(value: unknown): bigint | number | undefined {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) return undefined;
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

/** Every schema file, oldest version first, so references (`vigil.Transaction`) resolve. */
export function loadSchemaFiles(dir = avroDir): SchemaFile[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.avsc'));
  const order = ['Transaction', 'ScoredTransaction', 'FraudAlert', 'LedgerEntry', 'AnalystLabel', 'DeadLetter'];
  return files
    .map((file) => {
      const match = /^(\w+)\.v(\d+)\.avsc$/.exec(file);
      if (!match) throw new Error(`schema file ${file} must be named <Name>.v<version>.avsc`);
      const schema = JSON.parse(readFileSync(dir + file, 'utf8')) as avro.Schema & { namespace: string; name: string };
      return { file, name: `${schema.namespace}.${schema.name}`, short: match[1]!, version: Number(match[2]), schema };
    })
    .sort((a, b) => order.indexOf(a.short) - order.indexOf(b.short) || a.version - b.version)
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
    // A new version of a record replaces the old one wholesale; only the records it references come from earlier files.
    for (const [name, type] of latest) if (name !== file.name) collectNamed(type, named);
    const type = parseSchema(file.schema, named);
    latest.set(file.name, type);
    expanded.set(file.file, JSON.stringify(type.schema({ exportAttrs: true })));
  }
  return { latest, expanded };
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
