import { parseMinorUnits, formatMinorUnits } from './amount.js';
import { currencyExponent, currencyExponents } from '../../schemas/currencies.js';

const MAX = 1_000_000_000n;
const minor = (value: unknown, currency: string, max = MAX) => {
  const parsed = parseMinorUnits(value, currencyExponent(currency)!, max);
  return parsed.ok ? parsed.minor : parsed.message;
};

describe('parseMinorUnits', () => {
  it.each([
    // exponent 2
    ['12.34', 'EUR', 1234n],
    ['12.3', 'EUR', 1230n],
    ['12', 'EUR', 1200n],
    ['0.01', 'USD', 1n],
    ['1000000000', 'USD', 100_000_000_000n],
    // exponent 0
    ['1500', 'JPY', 1500n],
    ['1', 'KRW', 1n],
    // exponent 3
    ['1.234', 'BHD', 1234n],
    ['0.005', 'KWD', 5n],
    ['7.5', 'JOD', 7500n],
    ['2.001', 'OMR', 2001n],
    ['3', 'TND', 3000n],
    // exponent 4
    ['1.2345', 'CLF', 12345n],
  ])('%s %s → %s minor units', (value, currency, expected) => {
    expect(minor(value, currency)).toBe(expected);
  });

  it.each([
    ['1.234', 'EUR', /at most 2 fraction digits/],
    ['100.5', 'JPY', /no minor unit/],
    ['100.0', 'JPY', /no minor unit/],
    ['1.2345', 'BHD', /at most 3 fraction digits/],
    ['1.23456', 'CLF', /at most 4 fraction digits/],
    ['-1.00', 'EUR', /greater than zero/],
    ['0', 'EUR', /greater than zero/],
    ['0.00', 'EUR', /greater than zero/],
    ['1e5', 'EUR', /plain decimal/],
    [' 1', 'EUR', /plain decimal/],
    ['1 ', 'EUR', /plain decimal/],
    ['1,00', 'EUR', /plain decimal/],
    ['1.', 'EUR', /plain decimal/],
    ['.5', 'EUR', /plain decimal/],
    ['+1', 'EUR', /plain decimal/],
    ['01.00', 'EUR', /plain decimal/],
    ['0x10', 'EUR', /plain decimal/],
    ['', 'EUR', /plain decimal/],
    ['１２', 'EUR', /plain decimal/],
    ['9'.repeat(60), 'EUR', /plain decimal/],
    ['1000000000.01', 'EUR', /exceeds the maximum of 1000000000/],
    ['1000000001', 'JPY', /exceeds the maximum/],
  ])('%j %s is refused: %s', (value, currency, message) => {
    expect(minor(value, currency)).toMatch(message);
  });

  it('refuses JSON numbers and other non-strings, without echoing them', () => {
    expect(minor(12.34, 'EUR')).toMatch(/not a JSON number/);
    expect(minor(null, 'EUR')).toMatch(/decimal string/);
    expect(minor({ value: 1 }, 'EUR')).toMatch(/decimal string/);
    expect(minor('4111111111111111.999', 'EUR')).not.toContain('4111111111111111');
  });

  it('honours a configured maximum', () => {
    expect(minor('100.00', 'EUR', 100n)).toBe(10_000n);
    expect(minor('100.01', 'EUR', 100n)).toMatch(/exceeds/);
  });

  it('formats minor units back per exponent', () => {
    expect(formatMinorUnits(1234n, 'EUR')).toBe('12.34');
    expect(formatMinorUnits(5n, 'KWD')).toBe('0.005');
    expect(formatMinorUnits(1500n, 'JPY')).toBe('1500');
  });
});

describe('ISO 4217 table', () => {
  it('knows the exponent classes', () => {
    expect(['USD', 'EUR', 'GBP', 'CHF', 'CNY', 'INR', 'BRL', 'MXN', 'ZAR', 'SEK'].map(currencyExponent)).toEqual(
      Array(10).fill(2),
    );
    expect(['JPY', 'KRW', 'VND', 'CLP', 'ISK', 'UGX', 'XAF', 'XOF', 'PYG'].map(currencyExponent)).toEqual(
      Array(9).fill(0),
    );
    expect(['BHD', 'KWD', 'JOD', 'OMR', 'TND', 'IQD', 'LYD'].map(currencyExponent)).toEqual(Array(7).fill(3));
    expect(['CLF', 'UYW'].map(currencyExponent)).toEqual([4, 4]);
  });

  it('leaves out withdrawn, non-payment and unknown codes', () => {
    for (const code of ['HRK', 'XAU', 'XDR', 'XXX', 'ABC', 'eur', 'toString', '__proto__'])
      expect(currencyExponent(code)).toBeUndefined();
  });

  it('has well-formed entries and is frozen', () => {
    expect(Object.keys(currencyExponents).length).toBeGreaterThan(150);
    for (const [code, exponent] of Object.entries(currencyExponents)) {
      expect(code).toMatch(/^[A-Z]{3}$/);
      expect([0, 2, 3, 4]).toContain(exponent);
    }
    expect(Object.isFrozen(currencyExponents)).toBe(true);
  });
});
