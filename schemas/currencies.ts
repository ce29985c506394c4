/**
 * The one ISO 4217 minor-unit table of Vigil: every stage (ingest, scoring, dashboards and its web page via
 * GET /assets/currencies.json, the simulator) reads exponents from here, never from a copy of its own.
 *
 * Active ISO 4217 currencies and their minor-unit exponents (ISO 4217 list one, amendments through 2025).
 * Funds codes that banks settle in (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW) are included; the codes
 * whose minor unit is "N.A." in list one (XAG, XAU, XPD, XPT metals; XBA–XBD bond units; XDR; XSU; XUA;
 * XTS testing; XXX no currency) are not payment currencies, so they are left out and are not currency codes
 * here. Withdrawn codes (HRK, SLL, ZWL, CUC …) are left out as well; XCG (Caribbean guilder, in use from
 * 2025-03-31) is in, next to ANG during its changeover. schemas/currencies.test.ts cross-checks this table
 * against the ISO list-one XML shipped in the `currency-codes` package.
 */
// prettier-ignore -- a table reads better in rows than one code per line
export const currencyExponents: Readonly<Record<string, MinorUnitExponent>> = Object.freeze({
  AED: 2,
  AFN: 2,
  ALL: 2,
  AMD: 2,
  ANG: 2,
  AOA: 2,
  ARS: 2,
  AUD: 2,
  AWG: 2,
  AZN: 2,
  BAM: 2,
  BBD: 2,
  BDT: 2,
  BGN: 2,
  BHD: 3,
  BIF: 0,
  BMD: 2,
  BND: 2,
  BOB: 2,
  BOV: 2,
  BRL: 2,
  BSD: 2,
  BTN: 2,
  BWP: 2,
  BYN: 2,
  BZD: 2,
  CAD: 2,
  CDF: 2,
  CHE: 2,
  CHF: 2,
  CHW: 2,
  CLF: 4,
  CLP: 0,
  CNY: 2,
  COP: 2,
  COU: 2,
  CRC: 2,
  CUP: 2,
  CVE: 2,
  CZK: 2,
  DJF: 0,
  DKK: 2,
  DOP: 2,
  DZD: 2,
  EGP: 2,
  ERN: 2,
  ETB: 2,
  EUR: 2,
  FJD: 2,
  FKP: 2,
  GBP: 2,
  GEL: 2,
  GHS: 2,
  GIP: 2,
  GMD: 2,
  GNF: 0,
  GTQ: 2,
  GYD: 2,
  HKD: 2,
  HNL: 2,
  HTG: 2,
  HUF: 2,
  IDR: 2,
  ILS: 2,
  INR: 2,
  IQD: 3,
  IRR: 2,
  ISK: 0,
  JMD: 2,
  JOD: 3,
  JPY: 0,
  KES: 2,
  KGS: 2,
  KHR: 2,
  KMF: 0,
  KPW: 2,
  KRW: 0,
  KWD: 3,
  KYD: 2,
  KZT: 2,
  LAK: 2,
  LBP: 2,
  LKR: 2,
  LRD: 2,
  LSL: 2,
  LYD: 3,
  MAD: 2,
  MDL: 2,
  MGA: 2,
  MKD: 2,
  MMK: 2,
  MNT: 2,
  MOP: 2,
  MRU: 2,
  MUR: 2,
  MVR: 2,
  MWK: 2,
  MXN: 2,
  MXV: 2,
  MYR: 2,
  MZN: 2,
  NAD: 2,
  NGN: 2,
  NIO: 2,
  NOK: 2,
  NPR: 2,
  NZD: 2,
  OMR: 3,
  PAB: 2,
  PEN: 2,
  PGK: 2,
  PHP: 2,
  PKR: 2,
  PLN: 2,
  PYG: 0,
  QAR: 2,
  RON: 2,
  RSD: 2,
  RUB: 2,
  RWF: 0,
  SAR: 2,
  SBD: 2,
  SCR: 2,
  SDG: 2,
  SEK: 2,
  SGD: 2,
  SHP: 2,
  SLE: 2,
  SOS: 2,
  SRD: 2,
  SSP: 2,
  STN: 2,
  SVC: 2,
  SYP: 2,
  SZL: 2,
  THB: 2,
  TJS: 2,
  TMT: 2,
  TND: 3,
  TOP: 2,
  TRY: 2,
  TTD: 2,
  TWD: 2,
  TZS: 2,
  UAH: 2,
  UGX: 0,
  USD: 2,
  USN: 2,
  UYI: 0,
  UYU: 2,
  UYW: 4,
  UZS: 2,
  VED: 2,
  VES: 2,
  VND: 0,
  VUV: 0,
  WST: 2,
  XAF: 0,
  XCD: 2,
  XCG: 2,
  XOF: 0,
  XPF: 0,
  YER: 2,
  ZAR: 2,
  ZMW: 2,
  ZWG: 2,
});

export type MinorUnitExponent = 0 | 2 | 3 | 4;

/**
 * The minor-unit exponent of an active ISO 4217 code, or undefined for an unknown / inactive code. Codes are
 * matched exactly (upper case), as ISO 4217 writes them.
 */
export function currencyExponent(code: string): MinorUnitExponent | undefined {
  return Object.hasOwn(currencyExponents, code) ? currencyExponents[code] : undefined;
}

/** Same as {@link currencyExponent}: the minor-unit exponent of an active ISO 4217 code, else undefined. */
export const minorUnitExponent: (code: string) => MinorUnitExponent | undefined = currencyExponent;

/** True for an active ISO 4217 code in this table (upper case), false otherwise. */
export function isCurrencyCode(code: string): boolean {
  return Object.hasOwn(currencyExponents, code);
}

/**
 * Minor units as a decimal string in the major unit, by the currency's ISO 4217 exponent (2 for a code this table
 * does not know): (-1234n, 'EUR') → "-12.34"; (5n, 'JPY') → "5"; (1n, 'BHD') → "0.001". No floating point.
 */
export function formatMinorUnits(amountMinor: bigint, currency: string): string {
  const exponent = currencyExponent(currency.toUpperCase()) ?? 2;
  const negative = amountMinor < 0n;
  const digits = (negative ? -amountMinor : amountMinor).toString();
  if (exponent === 0) return (negative ? '-' : '') + digits;
  const padded = digits.padStart(exponent + 1, '0');
  return `${negative ? '-' : ''}${padded.slice(0, -exponent)}.${padded.slice(-exponent)}`;
}

/** A plain unsigned decimal: no leading zeros (but "0.5"), no sign, exponent, spaces or separators. */
const plainDecimal = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;
/** Longer text cannot be a sane amount; the cap keeps BigInt parsing of hostile input cheap. */
const MAX_DECIMAL_CHARS = 40;

/** True when `text` is a plain unsigned decimal of at most 40 characters, whatever its number of fraction digits. */
export function isPlainDecimal(text: string): boolean {
  return text.length <= MAX_DECIMAL_CHARS && plainDecimal.test(text);
}

/**
 * The one conversion of a decimal string in the major unit to integer minor units, for every stage: ("12.34", 2) →
 * 1234n; ("5", 0) → 5n; ("0.001", 3) → 1n. Undefined when `text` is not a plain unsigned decimal (see above, at most
 * 40 characters) or has more fraction digits than `exponent` — never rounded, never through a float. Callers add
 * their own rules (sign, zero, maximum) and their own messages.
 */
export function decimalToMinorUnits(text: string, exponent: number): bigint | undefined {
  const match = isPlainDecimal(text) ? plainDecimal.exec(text) : null;
  if (match === null) return undefined;
  const fraction = match[2] ?? '';
  if (fraction.length > exponent) return undefined;
  return BigInt(match[1]!) * 10n ** BigInt(exponent) + BigInt(fraction.padEnd(exponent, '0') || '0');
}
