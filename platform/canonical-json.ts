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
      // Loops and concatenation rather than entries/filter/sort/map/join: ingest fingerprints every
      // transaction with this, and the intermediate arrays were most of its cost.
      if (Array.isArray(value)) {
        let text = '[';
        for (let i = 0; i < value.length; i++) text += (i === 0 ? '' : ',') + canonicalJson(value[i]);
        return text + ']';
      }
      const record = value as Record<string, unknown>;
      // The default sort compares UTF-16 code units, the order this format promises.
      const keys = Object.keys(record).sort();
      let text = '{';
      for (const key of keys) {
        const member = record[key];
        if (member === undefined) continue;
        text += (text.length === 1 ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(member);
      }
      return text + '}';
    }
    default:
      throw new TypeError(`canonical JSON has no representation for a ${typeof value}`);
  }
}
