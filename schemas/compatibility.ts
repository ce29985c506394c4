import avro from 'avsc';

/**
 * Avro schema compatibility, with Confluent Schema Registry's level names. Whether a reader can read a writer's
 * data is decided by avsc's schema resolution (`reader.createResolver(writer)` throws exactly when the Avro
 * spec's resolution rules fail: a reader field missing from the writer without a default, a type that does not
 * promote, an enum symbol the reader lacks, a record renamed without an alias); the field walk below only
 * locates each failure by path, so every problem is reported, not just the first.
 */
export const CompatibilityLevel = {
  /** No check: any schema is accepted. */
  none: 'NONE',
  /** The new schema can read data written with the latest registered one (consumers upgrade first). */
  backward: 'BACKWARD',
  backwardTransitive: 'BACKWARD_TRANSITIVE',
  /** Readers of the latest registered schema can read data written with the new one (producers upgrade first). */
  forward: 'FORWARD',
  forwardTransitive: 'FORWARD_TRANSITIVE',
  /** Both directions. */
  full: 'FULL',
  fullTransitive: 'FULL_TRANSITIVE',
} as const;
export type CompatibilityLevel = (typeof CompatibilityLevel)[keyof typeof CompatibilityLevel];

/** One reason a schema is incompatible with one registered version. */
export interface CompatibilityProblem {
  /** `backward`: the new schema cannot read that version's data; `forward`: that version's readers cannot read the new data. */
  readonly direction: 'backward' | 'forward';
  /** Index of the registered version in the list given (0 = oldest). */
  readonly versionIndex: number;
  /** JSON-pointer style path of the field at fault (`/amountMinor`), `/` for the whole record. */
  readonly path: string;
  readonly message: string;
}

/**
 * Why `reader` cannot read data written with `writer` per Avro schema resolution; empty when it can.
 * Never throws.
 */
export function readProblems(reader: avro.Type, writer: avro.Type): { path: string; message: string }[] {
  try {
    reader.createResolver(writer);
    return [];
  } catch (cause) {
    const located = locate(reader, writer, '');
    return located.length > 0 ? located : [{ path: '/', message: (cause as Error).message }];
  }
}

function locate(reader: avro.Type, writer: avro.Type, path: string): { path: string; message: string }[] {
  if (
    !(reader instanceof avro.types.RecordType && writer instanceof avro.types.RecordType) ||
    !sameName(reader, writer)
  ) {
    try {
      reader.createResolver(writer);
      return [];
    } catch (cause) {
      return [{ path: path || '/', message: (cause as Error).message }];
    }
  }
  const problems: { path: string; message: string }[] = [];
  for (const field of reader.fields) {
    const fieldPath = `${path}/${field.name}`;
    const written = writer.fields.find((w) => w.name === field.name || field.aliases.includes(w.name));
    if (written === undefined) {
      // Avro spec, schema resolution: a reader field absent from the writer takes its default, or is an error.
      if (field.defaultValue() === undefined)
        problems.push({ path: fieldPath, message: 'missing from the writer and has no default in the reader' });
      continue;
    }
    problems.push(...locate(field.type, written.type, fieldPath));
  }
  return problems;
}

function sameName(reader: avro.types.RecordType, writer: avro.types.RecordType): boolean {
  return reader.name === writer.name || (reader.aliases ?? []).includes(writer.name ?? '');
}

/**
 * Checks `candidate` against a subject's `registered` versions (oldest first) at `level`: non-transitive levels
 * compare with the latest version only, transitive ones with every version. A subject with no versions accepts
 * anything. Returns every problem found; the candidate is compatible when the list is empty.
 */
export function compatibilityProblems(
  candidate: avro.Type,
  registered: readonly avro.Type[],
  level: CompatibilityLevel,
): CompatibilityProblem[] {
  if (level === CompatibilityLevel.none || registered.length === 0) return [];
  const transitive = level.endsWith('_TRANSITIVE');
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  const first = transitive ? 0 : registered.length - 1;
  const problems: CompatibilityProblem[] = [];
  for (let versionIndex = first; versionIndex < registered.length; versionIndex++) {
    const version = registered[versionIndex]!;
    if (backward)
      for (const p of readProblems(candidate, version)) problems.push({ direction: 'backward', versionIndex, ...p });
    if (forward)
      for (const p of readProblems(version, candidate)) problems.push({ direction: 'forward', versionIndex, ...p });
  }
  return problems;
}

/** True if `value` is one of the level names (as a registry's config endpoint or an env variable gives it). */
export function isCompatibilityLevel(value: unknown): value is CompatibilityLevel {
  return Object.values(CompatibilityLevel).includes(value as CompatibilityLevel);
}
