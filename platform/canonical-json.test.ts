import { canonicalJson } from './canonical-json.js';

describe('canonicalJson', () => {
  it('sorts keys, drops undefined, writes bigint as a string', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined, d: { z: 10n, y: 1.5 } })).toBe(
      '{"a":[true,null,"x"],"b":1,"d":{"y":1.5,"z":"10"}}',
    );
  });

  it('is independent of insertion order, nested too', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [2, { y: 2, z: 1 }] }, b: 1 }),
    );
  });

  it('orders integer-like keys as text, which JSON.stringify of a sorted copy would not', () => {
    expect(canonicalJson({ '2': 'b', '10': 'a', x: 'c' })).toBe('{"10":"a","2":"b","x":"c"}');
  });

  it('writes bigint money as an exact decimal string', () => {
    expect(canonicalJson({ amountMinor: 2n ** 63n - 1n })).toBe('{"amountMinor":"9223372036854775807"}');
  });

  it('refuses values JSON cannot carry exactly', () => {
    expect(() => canonicalJson({ a: NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ a: Infinity })).toThrow(TypeError);
    expect(() => canonicalJson(() => 1)).toThrow(TypeError);
  });
});
