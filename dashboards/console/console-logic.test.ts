import { AlertBook, type AlertItem } from './src/alerts.js';
import { durationOf, priorityText } from './src/format.js';
import { baselineRows, featureAmountsNote } from './src/baseline.js';
import { formatFeatureAmount, formatMinor } from './src/money.js';

/** The console's pure pieces, in Node: money, priorities, durations and the alert book. */

const exponents = { EUR: 2, JPY: 0, BHD: 3, KES: 2 };

describe('formatMinor: exact decimals from minor units by ISO 4217 exponent', () => {
  it.each([
    ['123456', 'EUR', '1,234.56 EUR'],
    ['-5', 'EUR', '-0.05 EUR'],
    ['150000', 'JPY', '150,000 JPY'],
    ['1', 'BHD', '0.001 BHD'],
    // Beyond 2^53: a float would round the last digits.
    ['9007199254740993', 'EUR', '90,071,992,547,409.93 EUR'],
  ])('%s %s → %s', (minor, currency, text) => {
    expect(formatMinor(minor, currency, exponents)).toBe(text);
  });

  it('shows exact minor units for a currency it has no exponent for, and before the table loaded', () => {
    expect(formatMinor('1234', 'XYZ', exponents)).toBe('1234 minor units XYZ');
    expect(formatMinor(1234n, 'EUR', undefined)).toBe('1234 minor units EUR');
  });
});

describe('formatFeatureAmount: an amount feature (a float of major units) to its currency’s minor unit', () => {
  it.each([
    [812.5, 'EUR', '812.50 EUR'],
    // Float32, as features are stored: 20.87 reads back as 20.8700008…, shown as the amount it was rounded to.
    [Math.fround(20.87), 'EUR', '20.87 EUR'],
    [131337, 'JPY', '131,337 JPY'],
    [1234567.25, 'EUR', '1,234,567.25 EUR'],
    [0, 'BHD', '0.000 BHD'],
    [6500, 'KES', '6,500.00 KES'],
  ])('%s %s → %s', (value, currency, text) => {
    expect(formatFeatureAmount(value, currency, exponents)).toBe(text);
  });

  it('shows the number as it is, with its code, for a currency it has no exponent for', () => {
    expect(formatFeatureAmount(12.5, 'XYZ', exponents)).toBe('12.5 XYZ');
  });
});

describe('baselineRows: the case view’s amounts in the currency the decision recorded', () => {
  const features = {
    amount: 1500,
    cust_mean_amount_24h: 812.5,
    cust_mean_amount_7d: 640,
    cust_mean_amount_30d: 401.25,
  };

  it('labels the amount and the customer’s means with the decision’s reporting currency', () => {
    const [amount] = baselineRows(features, { reportingCurrency: 'EUR', unconvertedCurrency: null });
    // Before the exponent table loads the numbers show as they are; the currency is named either way.
    expect(amount).toEqual({
      feature: 'amount',
      label: 'Amount (EUR)',
      value: '1500 EUR',
      baseline: 'mean 812.5 EUR (24 h) · 640 EUR (7 d) · 401.25 EUR (30 d)',
    });
    expect(featureAmountsNote({ reportingCurrency: 'EUR', unconvertedCurrency: null })).toBe('amounts in EUR');
  });

  it('says a decision from before v6 did not record the currency, and names none', () => {
    const notRecorded = { reportingCurrency: null, unconvertedCurrency: null };
    const [amount] = baselineRows(features, notRecorded);
    expect(amount).toEqual({
      feature: 'amount',
      label: 'Amount (currency not recorded)',
      value: '1500',
      baseline: 'mean 812.50 (24 h) · 640 (7 d) · 401.25 (30 d)',
    });
    expect(JSON.stringify(baselineRows(features, notRecorded))).not.toMatch(/\b[A-Z]{3}\b/);
    expect(featureAmountsNote(notRecorded)).toBe('the currency of their amounts is not recorded for this decision');
  });

  it('shows an amount that had no rate in its own currency, and says the means count such amounts unconverted', () => {
    const kes = { reportingCurrency: 'EUR', unconvertedCurrency: 'KES' };
    const [amount] = baselineRows({ ...features, amount: 6500 }, kes);
    // Before the exponent table loads (as above): formatFeatureAmount gives 6,500.00 KES once it has.
    expect(amount).toEqual({
      feature: 'amount',
      label: 'Amount (KES, no rate: not converted)',
      value: '6500 KES',
      baseline:
        'mean 812.5 EUR (24 h) · 640 EUR (7 d) · 401.25 EUR (30 d) (counting KES amounts unconverted: no KES rate)',
    });
    expect(featureAmountsNote(kes)).toBe(
      'amounts in EUR; amount in KES (no KES rate: not converted), and the windows count KES amounts unconverted',
    );
    // The other rows are not amounts: unchanged by the currency.
    expect(baselineRows(features, kes).slice(1)).toEqual(
      baselineRows(features, { reportingCurrency: 'EUR', unconvertedCurrency: null }).slice(1),
    );
  });
});

describe('priorityText: score (bp) × amount (1/10,000 major) as score × major units, two decimals', () => {
  it.each([
    ['0', '0.00'],
    ['2400000', '0.02'],
    ['123456789012', '1,234.56'],
  ])('%s → %s', (priority, text) => expect(priorityText(priority)).toBe(text));
});

describe('durationOf', () => {
  it.each([
    [59_999, '0 min'],
    [95_000, '1 min'],
    [7_300_000, '2 h 1 min'],
    [2 * 86_400_000 + 3 * 3_600_000, '2 d 3 h'],
  ])('%d ms → %s', (ms, text) => expect(durationOf(ms)).toBe(text));
});

const alert = (id: string): AlertItem => ({
  transactionId: id,
  decision: 'REVIEW',
  score: 0.5,
  reasons: [],
  channel: 'CARD',
  amountText: '1.00 EUR',
  payer: 'acct',
  card: null,
  country: null,
  atMs: 0,
  label: null,
  fresh: true,
});
const ids = (book: AlertBook) => book.list.map((a) => a.transactionId);

describe('AlertBook', () => {
  it('lists each alert once, newest first, at most its limit', () => {
    const book = new AlertBook(3);
    for (const id of ['a', 'b', 'a', 'c', 'd']) book.addLive(alert(id));
    expect(ids(book)).toEqual(['d', 'c', 'b']);
  });

  it('keeps the live alerts that arrived while a history load was in flight on top of the history', async () => {
    const book = new AlertBook(10);
    book.addLive(alert('old-live'));
    let answer!: (rows: AlertItem[]) => void;
    const reload = book.reload(() => new Promise<AlertItem[]>((resolve) => (answer = resolve)));
    book.addLive(alert('during'));
    answer([alert('h1'), alert('h2')]);
    await reload;
    // 'old-live' arrived before the load and the history replaces it (it lists it once the ledger's store has it);
    // 'during' arrived while the load was in flight, so it stays on top though the history does not list it yet.
    expect(ids(book)).toEqual(['during', 'h1', 'h2']);
    // Control: a load that started after 'late' arrived does not keep what the history lacks.
    book.addLive(alert('late'));
    await book.reload(() => Promise.resolve([alert('h1')]));
    expect(ids(book)).toEqual(['h1']);
  });

  it('shows an alert once when the history already lists one that arrived live during the load', async () => {
    const book = new AlertBook(10);
    let answer!: (rows: AlertItem[]) => void;
    const reload = book.reload(() => new Promise<AlertItem[]>((resolve) => (answer = resolve)));
    book.addLive(alert('both'));
    answer([alert('h1'), alert('both')]);
    await reload;
    expect(ids(book)).toEqual(['h1', 'both']);
  });

  it('leaves the list as it was when the history cannot be read', async () => {
    const book = new AlertBook(10);
    book.addLive(alert('a'));
    await expect(book.reload(() => Promise.reject(new Error('503')))).rejects.toThrow('503');
    expect(ids(book)).toEqual(['a']);
  });
});
