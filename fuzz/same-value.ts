/**
 * Structural equality for decoded values: SameValue for numbers (NaN equals NaN, -0 differs from 0, as IEEE 754
 * bits round-trip through Avro), bytes by content, records by own enumerable keys. Prototypes are ignored,
 * because avsc decodes records as instances of per-schema classes while generators build plain objects.
 * Returns the JSON pointer of the first difference, or undefined when the values are the same.
 */
export function firstDifference(a: unknown, b: unknown, path = ''): string | undefined {
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b))
    return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b) ? undefined : path || '/';
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null)
    return Object.is(a, b) ? undefined : path || '/';
  if (Array.isArray(a) !== Array.isArray(b)) return path || '/';
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return path || '/';
  for (const key of keysA) {
    if (!Object.hasOwn(b, key)) return `${path}/${key}`;
    const difference = firstDifference(
      (a as Record<string, unknown>)[key],
      (b as Record<string, unknown>)[key],
      `${path}/${key}`,
    );
    if (difference !== undefined) return difference;
  }
  return undefined;
}
