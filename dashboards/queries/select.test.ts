import { parseStoredJson } from './select.js';

describe('parseStoredJson', () => {
  it('keeps integers beyond 2^53 exact as decimal strings', () => {
    expect(parseStoredJson('{"amountMinor":9007199254740993,"n":12}')).toEqual({
      amountMinor: '9007199254740993',
      n: 12,
    });
    expect(parseStoredJson('[-9223372036854775808]')).toEqual(['-9223372036854775808']);
  });

  it('leaves floats with long fractions and exponents alone', () => {
    expect(parseStoredJson('[{"weight":0.9971082210540771,"score":1.234567890123456e-7}]')).toEqual([
      { weight: 0.9971082210540771, score: 1.234567890123456e-7 },
    ]);
  });

  it('does not touch digits inside strings', () => {
    expect(parseStoredJson('{"id":"12345678901234567890"}')).toEqual({ id: '12345678901234567890' });
  });

  it('returns the raw text when it is not JSON', () => {
    expect(parseStoredJson('{oops')).toEqual({ unparsed: '{oops' });
    expect(parseStoredJson('')).toBeNull();
  });
});
