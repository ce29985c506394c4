import { ValidationError } from '../../platform/errors.js';
import { currencyExponent } from '../../schemas/currencies.js';
import { ReportingCurrency, compileFxRates } from './fx-rates.js';
import { REFERENCE_FX_RATES, defaultReportingCurrency } from './reference-fx-rates.js';

const problemsOf = (document: unknown): string[] => {
  try {
    compileFxRates(document);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).code).toBe('FX_RATES_INVALID');
    return (error as ValidationError).problems.map((p) => `${p.path} ${p.message}`);
  }
  throw new Error('expected the rate table to be refused');
};
const table = (rates: Record<string, string>, base = 'EUR') =>
  compileFxRates({ source: 'test', date: '2024-11-25', base, rates });

describe('FX rate table validation', () => {
  test('the shipped ECB snapshot is valid: dated, sourced, 30 currencies plus the euro, each an ISO 4217 code', () => {
    const shipped = compileFxRates(REFERENCE_FX_RATES);
    expect([shipped.date, shipped.base, shipped.currencies.length]).toEqual(['2024-11-25', 'EUR', 31]);
    expect(shipped.currencies.filter((c) => currencyExponent(c) === undefined)).toEqual([]);
  });

  test('every problem is reported with its path, not just the first', () => {
    expect(
      problemsOf({
        source: '',
        date: '2024-02-30',
        base: 'EU',
        rates: { USD: 1.0495, JPY: '0', GBP: '-0.8', XXX: '1.2', CHF: '1e3', SEK: '0.000', NOK: '11,58' },
      }),
    ).toEqual([
      '/source must name where the rates come from (a non-empty string)',
      '/date must be the rates day as YYYY-MM-DD',
      '/base must be an active ISO 4217 code',
      '/rates/USD must be a positive decimal string, e.g. "1.0495"',
      '/rates/JPY must be a positive decimal string, e.g. "1.0495"',
      '/rates/GBP must be a positive decimal string, e.g. "1.0495"',
      '/rates/XXX "XXX" is not an active ISO 4217 code',
      '/rates/CHF must be a positive decimal string, e.g. "1.0495"',
      '/rates/SEK must be a positive decimal string, e.g. "1.0495"',
      '/rates/NOK must be a positive decimal string, e.g. "1.0495"',
    ]);
  });

  test('the base quoted at anything but 1, a missing rates object and a non-object are refused', () => {
    expect(problemsOf({ source: 's', date: '2024-11-25', base: 'EUR', rates: { EUR: '1.1' } })).toEqual([
      '/rates/EUR the base currency can only be quoted at 1',
    ]);
    expect(problemsOf({ source: 's', date: '2024-11-25', base: 'EUR' })).toEqual([
      '/rates must be an object of currency code to decimal string',
    ]);
    expect(problemsOf([])).toEqual([' must be an object']);
    // The control: the same shapes with valid values pass.
    expect(table({ EUR: '1.000', USD: '1.0495' }).currencies).toEqual(['EUR', 'USD']);
  });

  test('a reporting currency the table does not quote is refused at its path', () => {
    const build = () => new ReportingCurrency(table({ USD: '1.0495' }), 'GBP');
    expect(build).toThrow(ValidationError);
    expect(() => build()).toThrow(/no rate for the reporting currency GBP/);
    expect(new ReportingCurrency(table({ USD: '1.0495', GBP: '0.83465' }), 'GBP').currency).toBe('GBP');
  });
});

describe('conversion to the reporting currency', () => {
  const eur = defaultReportingCurrency();

  test('exact at the quoted rate: ¥16,164 is €100.00, $104.95 is €100.00, and the euro converts to itself', () => {
    expect([
      eur.toReportingMinor(16_164n, 'JPY'),
      eur.toReportingMinor(10_495n, 'USD'),
      eur.toReportingMinor(123_456_789_012_345_678n, 'EUR'),
    ]).toEqual([10_000n, 10_000n, 123_456_789_012_345_678n]);
  });

  test('rounded once, half to even, to the reporting minor unit (not half up, not truncated)', () => {
    // 1 USD = 2 EUR cents per USD cent / 2: 1¢ → 0.5¢, 3¢ → 1.5¢, 5¢ → 2.5¢, 7¢ → 3.5¢; −3¢ → −1.5¢.
    const half = new ReportingCurrency(table({ USD: '2' }), 'EUR');
    expect([1n, 3n, 5n, 7n, -3n].map((minor) => half.toReportingMinor(minor, 'USD'))).toEqual([0n, 2n, 2n, 4n, -2n]);
    // ¥1,000 = 6.1866… EUR → 6.19; the float path gives the same major units only after the exact rounding.
    expect([eur.toReportingMinor(1_000n, 'JPY'), eur.toReportingMajor(1_000n, 'JPY')]).toEqual([619n, 6.19]);
  });

  test('across the base: with USD as reporting currency, GBP converts through the euro at the cross rate', () => {
    const usd = new ReportingCurrency(compileFxRates(REFERENCE_FX_RATES), 'USD');
    // £834.65 = €1,000 = $1,049.50; ¥1 with exponent 0 into cents: 1 / 161.64 × 1.0495 $ = 0.649 ¢ → 1 ¢.
    expect([
      usd.toReportingMinor(83_465n, 'GBP'),
      usd.toReportingMinor(100_000n, 'EUR'),
      usd.toReportingMinor(1n, 'JPY'),
    ]).toEqual([104_950n, 104_950n, 1n]);
  });

  test('a currency without a rate does not convert: undefined, never a rate of 1', () => {
    expect([eur.converts('KWD'), eur.toReportingMinor(1_000n, 'KWD'), eur.toReportingMajor(1_000n, 'KWD')]).toEqual([
      false,
      undefined,
      undefined,
    ]);
  });
});

describe('cash reporting thresholds per currency', () => {
  const eur = defaultReportingCurrency();

  test('USD, EUR and GBP have their own 10,000; others the euro threshold converted; no rate and no threshold: none', () => {
    expect({
      USD: eur.cashWindow('USD'),
      EUR: eur.cashWindow('EUR'),
      GBP: eur.cashWindow('GBP'),
      JPY: eur.cashWindow('JPY'),
      KWD: eur.cashWindow('KWD'),
    }).toEqual({
      USD: { fromMinor: 800_000n, toMinor: 1_000_000n },
      EUR: { fromMinor: 800_000n, toMinor: 1_000_000n },
      GBP: { fromMinor: 800_000n, toMinor: 1_000_000n },
      // €10,000 × 161.64 = ¥1,616,400.
      JPY: { fromMinor: 1_293_120n, toMinor: 1_616_400n },
      KWD: null,
    });
  });
});
