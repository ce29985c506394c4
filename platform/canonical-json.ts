/**
 * Canonical JSON, the one text form of a value that Vigil hashes or stores for comparison (ingest's content
 * fingerprints, ledger-sink's audit JSON, the simulator's stand-in fingerprints): object keys sorted by UTF-16
 * code unit, no whitespace, absent (undefined) members dropped, bigint written as a decimal string. Equal content
 * always gives the same text.
 *
 * Written out rather than `JSON.stringify` of a key-sorted copy, because JavaScript orders integer-like keys
 * ("2" before "10") ahead of the others whatever the insertion order, and silently turns NaN into null.
 * Throws on values JSON cannot carry exactly (non-finite numbers, functions, symbols).
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no representation for a non-finite number');
      return JSON.stringify(value);
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
      const entries = Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON has no representation for a ${typeof value}`);
  }
}
