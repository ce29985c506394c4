import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { canonicalJson } from '../platform/canonical-json.js';
import { type FuzzTarget, defineTarget } from './target.js';

/**
 * Properties of canonical JSON (platform/canonical-json.ts): the same value in any key order gives the same text,
 * and JSON.parse of the text is the value with bigints as decimal strings and undefined members dropped.
 */
export type CanonicalJson = (value: unknown) => string;

type Value = null | boolean | number | string | bigint | undefined | Value[] | { [key: string]: Value };

// Integer-like keys matter: JavaScript lists them first in ascending numeric order whatever the insertion order.
const key = fc.oneof(fc.string({ maxLength: 6 }), fc.nat({ max: 1000 }).map(String), fc.constant('__proto__'));

const { value } = fc.letrec<{ value: Value; member: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string(),
    fc.bigInt(),
    fc.array(tie('value'), { maxLength: 4 }),
    // Object.fromEntries makes own data properties, "__proto__" included, as JSON.parse does.
    fc.array(fc.tuple(key, tie('member')), { maxLength: 5 }).map((entries) => Object.fromEntries(entries) as Value),
  ),
  // An object member may be undefined (dropped from the text); an array item may not (JSON has no such item).
  member: fc.oneof(tie('value'), fc.constant(undefined)),
}));

/** The same value with every object's keys re-inserted in the order `order` picks. */
function reorder(v: Value, order: (keys: string[]) => string[]): Value {
  if (Array.isArray(v)) return v.map((item) => reorder(item, order));
  if (typeof v !== 'object' || v === null) return v;
  const entries = Object.entries(v);
  const byKey = new Map(entries);
  return Object.fromEntries(order(entries.map(([k]) => k)).map((k) => [k, reorder(byKey.get(k), order)]));
}

/** What JSON.parse of the canonical text must give: bigint → string, undefined members gone, -0 → 0. */
function expectedParse(v: Value): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Object.is(v, -0) ? 0 : v;
  if (Array.isArray(v)) return v.map(expectedParse);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, member]) => member !== undefined)
      .map(([k, member]) => [k, expectedParse(member)]),
  );
}

export function keyOrderTarget(canonical: CanonicalJson = canonicalJson): FuzzTarget {
  return defineTarget('canonical JSON ignores key order', () =>
    fc.property(value, fc.integer(), (v, shuffleSeed) => {
      // A deterministic shuffle from the generated seed, so a failure replays exactly.
      let state = shuffleSeed >>> 0 || 1;
      const random = (): number => (state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32;
      const shuffled = reorder(v, (keys) =>
        keys
          .map((k) => [random(), k] as const)
          .sort(([a], [b]) => a - b)
          .map(([, k]) => k),
      );
      const reversed = reorder(v, (keys) => [...keys].reverse());
      const text = canonical(v);
      if (canonical(shuffled) !== text || canonical(reversed) !== text)
        throw new Error(`key order changed the text: ${text} vs ${canonical(shuffled)}`);
    }),
  );
}

export function parseBackTarget(canonical: CanonicalJson = canonicalJson): FuzzTarget {
  return defineTarget('canonical JSON parses back to the value', () =>
    fc.property(value, (v) => {
      const text = canonical(v);
      const parsed: unknown = JSON.parse(text);
      if (!isDeepStrictEqual(parsed, expectedParse(v))) throw new Error(`JSON.parse(${text}) is not the value`);
      // The text of the parsed value is the same text: canonical form is a fixed point.
      if (canonical(parsed) !== text) throw new Error(`not a fixed point: ${text} → ${canonical(parsed)}`);
    }),
  );
}

export const canonicalJsonTargets: readonly FuzzTarget[] = [keyOrderTarget(), parseBackTarget()];
