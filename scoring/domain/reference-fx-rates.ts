import { type FxRateDocument, ReportingCurrency, compileFxRates } from './fx-rates.js';

/**
 * The rate table Vigil ships: the European Central Bank's euro foreign exchange reference rates for Monday
 * 25 November 2024 (all 30 currencies the ECB quotes; units per 1 EUR), transcribed from a copy of that day's
 * `eurofxref.csv` (https://www.ecb.europa.eu/stats/eurofxref/eurofxref.zip). They were not checked against the ECB's
 * own archive when this file was written, so treat them as a dated, illustrative snapshot: an operator replaces it
 * with the bank's own daily rates through VIGIL_FX_RATES_FILE (a JSON file of this shape), never by editing this
 * file. It is data, kept as a module so that every FeatureEngine (live scoring, training, evaluation, backtests)
 * has the same default without reading a file.
 */
export const REFERENCE_FX_RATES: FxRateDocument = Object.freeze({
  source: 'ECB euro foreign exchange reference rates (eurofxref.csv), transcribed; illustrative snapshot',
  date: '2024-11-25',
  base: 'EUR',
  // The ECB's own column order, so the table can be checked against the source line by line.
  rates: Object.freeze({
    USD: '1.0495',
    JPY: '161.64',
    BGN: '1.9558',
    CZK: '25.295',
    DKK: '7.4586',
    GBP: '0.83465',
    HUF: '409.78',
    PLN: '4.3185',
    RON: '4.9767',
    SEK: '11.5030',
    CHF: '0.9324',
    ISK: '145.30',
    NOK: '11.5865',
    TRY: '36.3020',
    AUD: '1.6111',
    BRL: '6.0941',
    CAD: '1.4648',
    CNY: '7.6018',
    HKD: '8.1659',
    IDR: '16651.89',
    ILS: '3.8493',
    INR: '88.4595',
    KRW: '1469.87',
    MXN: '21.3301',
    MYR: '4.6724',
    NZD: '1.7926',
    PHP: '61.936',
    SGD: '1.4128',
    THB: '36.271',
    ZAR: '18.9592',
  }),
});

/**
 * The default reporting currency: EUR. The simulator's world is a euro-area bank (90 % of its customers hold EUR
 * accounts, its terminals price in EUR, its handbook mode is all EUR), the ECB quotes every rate against the euro,
 * and a EUR amount converts to itself with no rounding, so the features of euro traffic are what they were before
 * currencies were converted.
 */
export const DEFAULT_REPORTING_CURRENCY = 'EUR';

/** The reporting currency at the shipped rates: what a FeatureEngine uses unless it is given another. */
export const defaultReportingCurrency = (): ReportingCurrency =>
  new ReportingCurrency(compileFxRates(REFERENCE_FX_RATES), DEFAULT_REPORTING_CURRENCY);
