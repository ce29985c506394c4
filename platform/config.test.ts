import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  readBoolean,
  readEnum,
  readInt,
  readList,
  readNumber,
  readOptionalFile,
  readOptionalSecret,
} from './config.js';

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

describe('secrets and files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-config-'));
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('reads a secret from the environment or, trimmed, from the file named by <key>_FILE', () => {
    expect(readOptionalSecret({}, 'PASSWORD')).toBeUndefined();
    expect(readOptionalSecret({ PASSWORD: 's3cret' }, 'PASSWORD')?.reveal()).toBe('s3cret');
    const secret = readOptionalSecret({ PASSWORD_FILE: file('password', 's3cret\n') }, 'PASSWORD');
    expect(secret?.reveal()).toBe('s3cret');
    expect(`${String(secret)} ${JSON.stringify({ secret })}`).toBe('[secret] {"secret":"[secret]"}');
  });

  it('refuses both forms, a missing file and an empty one, naming the key and never the secret', () => {
    const both = () => readOptionalSecret({ PASSWORD: 's3cret', PASSWORD_FILE: file('p2', 'x') }, 'PASSWORD');
    expect(both).toThrow(/PASSWORD.*either PASSWORD or PASSWORD_FILE/);
    expect(both).not.toThrow(/s3cret/);
    expect(() => readOptionalSecret({ PASSWORD_FILE: join(dir, 'nope') }, 'PASSWORD')).toThrow(
      /PASSWORD_FILE=.*nope.*readable file \(ENOENT\)/,
    );
    expect(() => readOptionalSecret({ PASSWORD_FILE: file('empty', ' \n') }, 'PASSWORD')).toThrow(
      /PASSWORD_FILE.*empty/,
    );
  });

  it('reads a file named by a key, or fails naming the key', () => {
    expect(readOptionalFile({ CA: file('ca.pem', 'PEM') }, 'CA')).toBe('PEM');
    expect(readOptionalFile({}, 'CA')).toBeUndefined();
    expect(() => readOptionalFile({ CA: join(dir, 'nope.pem') }, 'CA')).toThrow(/CA=.*nope\.pem/);
  });
});
