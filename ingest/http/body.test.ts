import { TEST_PAN } from '../testing/fixtures.js';
import { isNdjson, parseBatchBody, parseJson, parseJsonBody } from './body.js';

describe('request bodies', () => {
  it('never quotes the input in a JSON error', () => {
    const parsed = parseJson(`x${TEST_PAN}`);
    expect(parsed).toEqual({ ok: false, message: expect.stringMatching(/^is not valid JSON/) as unknown });
    expect(JSON.stringify(parsed)).not.toContain(TEST_PAN);
    expect(parseJson('{"a":1 "b"}')).toEqual({ ok: false, message: 'is not valid JSON (error at character 7)' });
    expect(parseJson('{"a": }')).toEqual({ ok: false, message: 'is not valid JSON' });
  });

  it('refuses empty and non-UTF-8 bodies', () => {
    expect(() => parseJsonBody(Buffer.alloc(0))).toThrow(/empty/);
    expect(() => parseJsonBody(undefined)).toThrow(/empty/);
    expect(() => parseJsonBody(Buffer.from([0xff, 0xfe, 0x00]))).toThrow(/UTF-8/);
  });

  it('reads a JSON array batch, refusing anything else', () => {
    expect(parseBatchBody(Buffer.from('[{"a":1},2]'), 'application/json')).toEqual([
      { kind: 'parsed', body: { a: 1 } },
      { kind: 'parsed', body: 2 },
    ]);
    expect(() => parseBatchBody(Buffer.from('{"a":1}'), 'application/json')).toThrow(/JSON array/);
    expect(() => parseBatchBody(Buffer.from('[{"a":'), undefined)).toThrow(
      expect.objectContaining({ code: 'MALFORMED_JSON' }) as Error,
    );
  });

  it('reads NDJSON line by line; a bad line becomes an unparseable item, blank lines are skipped', () => {
    const body = Buffer.from(`{"a":1}\r\n\n{bad ${TEST_PAN}\n  \n[1]\n`);
    const items = parseBatchBody(body, 'application/x-ndjson; charset=utf-8');
    expect(items).toEqual([
      { kind: 'parsed', body: { a: 1 } },
      { kind: 'unparseable', problems: [{ path: '', message: 'line 3 is not valid JSON (error at character 1)' }] },
      { kind: 'parsed', body: [1] },
    ]);
    expect(JSON.stringify(items)).not.toContain(TEST_PAN);
  });

  it.each([
    ['application/x-ndjson', true],
    ['Application/X-NDJSON; charset=utf-8', true],
    ['application/jsonl', true],
    ['application/json', false],
    [undefined, false],
  ])('%s is NDJSON: %s', (type, expected) => {
    expect(isNdjson(type)).toBe(expected);
  });
});
