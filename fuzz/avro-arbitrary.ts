import avro from 'avsc';
import fc from 'fast-check';

/**
 * A fast-check arbitrary of valid values for an avsc type, derived from the type itself, so every topic's schema
 * (and any field added to it later) is covered without a hand-written generator to keep in step with the .avsc.
 * Covers the type names Vigil's schemas use; an unknown one throws, so a new schema feature fails loudly here.
 */
export function avroValue(type: avro.Type, options: AvroValueOptions = {}): fc.Arbitrary<unknown> {
  const cache = new Map<avro.Type, fc.Arbitrary<unknown>>();
  const build = (t: avro.Type): fc.Arbitrary<unknown> => {
    const cached = cache.get(t);
    if (cached) return cached;
    const arbitrary = derive(t, build, {
      numberLong: options.fullSafeIntegerRange ? fc.maxSafeInteger() : zigzagSafeInteger,
      mapKey: options.protoMapKeys
        ? fc.oneof(avroString, fc.constant('__proto__'))
        : avroString.filter((key) => key !== '__proto__'),
    });
    cache.set(t, arbitrary);
    return arbitrary;
  };
  return build(type);
}

export interface AvroValueOptions {
  /**
   * Generate number-typed longs (timestamp-millis) over every safe integer, as schemas/avro.ts documents, instead
   * of ±2^52: avsc's number long zigzag-encodes n as 2n, which is no longer exact beyond 2^52 (fuzz/README.md).
   */
  readonly fullSafeIntegerRange?: boolean;
  /**
   * Let map keys be "__proto__" (fast-check's strings produce it): avsc decodes a map with `val[key] = …`, so
   * that key sets the prototype instead of an entry and is lost (fuzz/README.md). Off, the key is never generated.
   */
  readonly protoMapKeys?: boolean;
}

/** The number longs avsc encodes exactly: |n| ≤ 2^52, whose zigzag form 2|n| is still a safe integer. */
const zigzagSafeInteger = fc.bigInt({ min: -(2n ** 52n), max: 2n ** 52n }).map(Number);

/** Text as Avro carries it: well-formed Unicode (a lone surrogate has no UTF-8 encoding; see fuzz/README.md). */
const avroString = fc.string({ unit: 'binary', maxLength: 40 });

function derive(
  t: avro.Type,
  build: (t: avro.Type) => fc.Arbitrary<unknown>,
  { numberLong, mapKey }: { numberLong: fc.Arbitrary<number>; mapKey: fc.Arbitrary<string> },
): fc.Arbitrary<unknown> {
  if (t instanceof avro.types.RecordType) {
    const fields: Record<string, fc.Arbitrary<unknown>> = {};
    for (const field of t.fields) fields[field.name] = build(field.type);
    return fc.record(fields);
  }
  if (t instanceof avro.types.UnwrappedUnionType) return fc.oneof(...t.types.map(build));
  if (t instanceof avro.types.ArrayType) return fc.array(build(t.itemsType), { maxLength: 5 });
  if (t instanceof avro.types.MapType)
    // Object.fromEntries makes own data properties, so a generated "__proto__" key (protoMapKeys) is an entry.
    return fc
      .array(fc.tuple(mapKey, build(t.valuesType as avro.Type)), { maxLength: 5 })
      .map((entries) => Object.fromEntries(entries));
  if (t instanceof avro.types.EnumType) return fc.constantFrom(...t.symbols);
  if (t instanceof avro.types.LogicalType) {
    if (t.typeName === 'logical:timestamp-millis') return numberLong;
    throw new Error(`no arbitrary for Avro logical type ${t.typeName}`);
  }
  switch (t.typeName) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'int':
      return fc.integer();
    // Vigil's long is a bigint over the whole int64 range (schemas/avro.ts); the built-in long is a safe integer.
    case 'abstract:long':
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case 'long':
      return numberLong;
    case 'float':
      return fc.float();
    // NaN, ±Infinity and -0 included: Avro doubles are IEEE 754 binary64 and must come back bit for bit.
    case 'double':
      return fc.double();
    case 'string':
      return avroString;
    case 'bytes':
      return fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes));
    default:
      throw new Error(`no arbitrary for Avro type ${t.typeName}`);
  }
}
