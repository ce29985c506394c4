import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { data as isoList, publishDate } from 'currency-codes';
import {
  currencyExponent,
  decimalToMinorUnits,
  currencyExponents,
  formatMinorUnits,
  isCurrencyCode,
  minorUnitExponent,
} from './currencies.js';

/**
 * Cross-checks schemas/currencies.ts against an independent copy of ISO 4217 list one: the `currency-codes`
 * package (its `data` is generated from the ISO list-one XML, which it also ships). The package reports
 * "N.A." minor units as 0 digits, so the N.A. codes are read from the shipped XML itself.
 */
const require = createRequire(import.meta.url);
const listOneXml = readFileSync(require.resolve('currency-codes/iso-4217-list-one.xml'), 'utf8');
const minorUnitsInXml = new Map(
  [...listOneXml.matchAll(/<Ccy>([A-Z]{3})<\/Ccy>[\s\S]*?<CcyMnrUnts>([^<]*)<\/CcyMnrUnts>/g)].map(
    (m) => [m[1]!, m[2]!] as const,
  ),
);

/** List-one codes whose minor unit is "N.A.": not payment currencies, deliberately not in our table. */
const notApplicable = ['XAG', 'XAU', 'XBA', 'XBB', 'XBC', 'XBD', 'XDR', 'XPD', 'XPT', 'XSU', 'XTS', 'XUA', 'XXX'];
/** In the package's list but deliberately not ours: CUC left circulation in 2021 (Cuba's unification). */
const withdrawnButListed = ['CUC'];
/** Ours but newer than the package's list (published 2024-06-25): XCG, Caribbean guilder from 2025-03-31. */
const newerThanPackage: Readonly<Record<string, number>> = { XCG: 2 };

describe('ISO 4217 minor-unit table', () => {
  it('is read from a package list we know', () => {
    expect(publishDate).toBe('2024-06-25');
    expect(isoList.length).toBeGreaterThan(170);
  });

  it('has the "N.A." codes exactly as the ISO XML lists them, and none of them', () => {
    const naInXml = [...minorUnitsInXml].filter(([, units]) => units === 'N.A.').map(([code]) => code);
    expect(naInXml.sort()).toEqual([...notApplicable].sort());
    for (const code of notApplicable) {
      expect(isCurrencyCode(code)).toBe(false);
      expect(minorUnitExponent(code)).toBeUndefined();
    }
  });

  it('has every ISO list-one code with the same exponent, except the documented differences', () => {
    const skipped = new Set([...notApplicable, ...withdrawnButListed]);
    const mismatches: string[] = [];
    for (const { code, digits } of isoList) {
      if (skipped.has(code)) continue;
      if (currencyExponents[code] !== digits)
        mismatches.push(`${code}: ours ${currencyExponents[code]}, ISO ${digits}`);
      // The package's digits agree with the XML it ships.
      expect(minorUnitsInXml.get(code)).toBe(String(digits));
    }
    expect(mismatches).toEqual([]);
    for (const code of withdrawnButListed) expect(isCurrencyCode(code)).toBe(false);
  });

  it('has no code that the ISO list lacks, except the documented newer ones', () => {
    const iso = new Set(isoList.map((entry) => entry.code));
    const extra = Object.keys(currencyExponents).filter((code) => !iso.has(code));
    expect(extra.sort()).toEqual(Object.keys(newerThanPackage).sort());
    for (const [code, exponent] of Object.entries(newerThanPackage)) expect(currencyExponents[code]).toBe(exponent);
  });

  it('has the exponents the old scoring and web-page tables got wrong', () => {
    const zero = ['XOF', 'XAF', 'XPF', 'UGX', 'PYG', 'RWF', 'BIF', 'DJF', 'GNF', 'KMF', 'VUV', 'UYI'];
    expect(zero.map(minorUnitExponent)).toEqual(Array(zero.length).fill(0));
    expect(['CLF', 'UYW'].map(minorUnitExponent)).toEqual([4, 4]);
    expect(['JPY', 'KRW', 'EUR', 'USD', 'KWD', 'BHD'].map(minorUnitExponent)).toEqual([0, 0, 2, 2, 3, 3]);
    expect(['BOV', 'CHE', 'CHW', 'COU', 'MXV', 'USN'].map(minorUnitExponent)).toEqual(Array(6).fill(2));
  });

  it('answers only for exact active codes', () => {
    expect(minorUnitExponent).toBe(currencyExponent);
    expect(isCurrencyCode('EUR')).toBe(true);
    for (const code of ['eur', 'XYZ', '', 'HRK', 'SLL', 'ZWL', 'constructor', 'toString']) {
      expect(isCurrencyCode(code)).toBe(false);
      expect(minorUnitExponent(code)).toBeUndefined();
    }
    expect(Object.isFrozen(currencyExponents)).toBe(true);
  });
});

describe('formatMinorUnits', () => {
  it.each([
    [-1234n, 'EUR', '-12.34'],
    [5n, 'JPY', '5'],
    [1n, 'BHD', '0.001'],
    [0n, 'USD', '0.00'],
    [-5n, 'USD', '-0.05'],
    [123456789012345678901234567890n, 'EUR', '1234567890123456789012345678.90'],
    [7n, 'XXX-unknown', '0.07'],
  ])('%p %s → %s', (minor, currency, text) => {
    expect(formatMinorUnits(minor, currency)).toBe(text);
  });
});

describe('decimalToMinorUnits, the one decimal → minor units conversion', () => {
  it.each([
    ['12.34', 2, 1234n],
    ['12.3', 2, 1230n],
    ['12', 2, 1200n],
    ['0.001', 3, 1n],
    ['5', 0, 5n],
    ['0', 2, 0n],
    ['123456789012345678901234567890', 2, 12345678901234567890123456789000n],
  ])('%s with exponent %i is %s minor units, exactly', (text, exponent, minor) => {
    expect(decimalToMinorUnits(text, exponent)).toBe(minor);
  });

  it.each([
    ['1.234', 2],
    ['1.5', 0],
    ['-1', 2],
    ['+1', 2],
    ['01', 2],
    ['1e3', 2],
    [' 1', 2],
    ['1,000', 2],
    ['.5', 2],
    ['1.', 2],
    ['', 2],
    ['1'.repeat(41), 2],
  ])('refuses %j with exponent %i (never rounded)', (text, exponent) => {
    expect(decimalToMinorUnits(text, exponent)).toBeUndefined();
  });
});
