import { currencyExponent, formatMinor, moneyView, parseMajorToMinor } from './money.js';

describe('money formatting', () => {
  it.each([
    [1234n, 'EUR', '12.34'],
    [-1234n, 'EUR', '-12.34'],
    [5n, 'EUR', '0.05'],
    [-5n, 'USD', '-0.05'],
    [0n, 'GBP', '0.00'],
    [100n, 'EUR', '1.00'],
    [5n, 'JPY', '5'],
    [-12345n, 'KRW', '-12345'],
    [1n, 'KWD', '0.001'],
    [123456n, 'BHD', '123.456'],
    [1n, 'CLF', '0.0001'],
  ])('renders %p minor units of %s as %p', (minor, currency, expected) => {
    expect(formatMinor(minor, currency)).toBe(expected);
  });

  it('stays exact above 2^53 (a float would round 9007199254740993 to ...992)', () => {
    expect(formatMinor(9_007_199_254_740_993n, 'EUR')).toBe('90071992547409.93');
    expect(formatMinor(-(2n ** 63n), 'USD')).toBe('-92233720368547758.08');
  });

  it('gives the view with amount and exact amountMinor as strings, from bigint or ClickHouse text', () => {
    expect(moneyView(9_007_199_254_740_993n, 'EUR')).toEqual({
      amount: '90071992547409.93',
      amountMinor: '9007199254740993',
      currency: 'EUR',
    });
    expect(moneyView('-150', 'JPY')).toEqual({ amount: '-150', amountMinor: '-150', currency: 'JPY' });
  });

  it('knows ISO 4217 exponents, defaulting to 2', () => {
    expect([
      currencyExponent('JPY'),
      currencyExponent('usd'),
      currencyExponent('TND'),
      currencyExponent('XYZ'),
    ]).toEqual([0, 2, 3, 2]);
  });

  it('parses major-unit decimals into minor units and rejects too many fraction digits', () => {
    expect(parseMajorToMinor('10000', 'USD')).toBe(1_000_000n);
    expect(parseMajorToMinor('9999.9', 'USD')).toBe(999_990n);
    expect(parseMajorToMinor('-0.01', 'EUR')).toBe(-1n);
    expect(parseMajorToMinor('1.5', 'JPY')).toBeUndefined();
    expect(parseMajorToMinor('1.234', 'EUR')).toBeUndefined();
    expect(parseMajorToMinor('1e5', 'EUR')).toBeUndefined();
    expect(parseMajorToMinor('', 'EUR')).toBeUndefined();
  });
});
