import { readBoolean, readEnum, readInt, readList, readNumber } from './config.js';

describe('config readers', () => {
  it('use the fallback when unset and parse valid values', () => {
    expect(readInt({}, 'N', 5)).toBe(5);
    expect(readInt({ N: '42' }, 'N', 5, { min: 1, max: 100 })).toBe(42);
    expect(readNumber({ X: '0.75' }, 'X', 0.5, { min: 0, max: 1 })).toBe(0.75);
    expect(readBoolean({ B: 'off' }, 'B', true)).toBe(false);
    expect(readEnum({ E: 'b' }, 'E', ['a', 'b'] as const, 'a')).toBe('b');
    expect(readList({ L: 'a, b,,c' }, 'L')).toEqual(['a', 'b', 'c']);
  });

  it.each<[string, () => unknown, RegExp]>([
    ['non-integer', () => readInt({ N: '4.5' }, 'N', 1), /N="4\.5".*integer/],
    ['out of range', () => readInt({ N: '0' }, 'N', 1, { min: 1, max: 9 }), /N="0".*\[1, 9\]/],
    ['not a number', () => readNumber({ X: 'abc' }, 'X', 1), /X="abc"/],
    ['bad boolean', () => readBoolean({ B: 'maybe' }, 'B', true), /B="maybe"/],
    ['bad enum', () => readEnum({ E: 'z' }, 'E', ['a', 'b'] as const, 'a'), /E="z".*one of a, b/],
  ])('fails fast naming the key and value: %s', (_name, read, message) => {
    expect(read).toThrow(message);
  });
});
