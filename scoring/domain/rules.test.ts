import { readFileSync } from 'node:fs';
import { ValidationError } from '../../platform/errors.js';
import { aTransaction } from '../testing/transactions.js';
import { FEATURES, FEATURE_COUNT, fi } from './feature-names.js';
import { ReportingCurrency, compileFxRates } from './fx-rates.js';
import { REFERENCE_FX_RATES, defaultReportingCurrency } from './reference-fx-rates.js';
import { compileRules } from './rules.js';

const shipped = JSON.parse(readFileSync(new URL('../rules.json', import.meta.url), 'utf8')) as {
  version: string;
  rules: Array<{ code: string }>;
};
const rules = compileRules(shipped);
/** The default: amount features in EUR at the shipped ECB snapshot. */
const eur = defaultReportingCurrency();

const features = (values: Record<string, number>): Float32Array => {
  const row = new Float32Array(FEATURE_COUNT);
  for (const [name, v] of Object.entries(values)) row[fi(name)] = v;
  return row;
};
const fire = (values: Record<string, number>, tx = aTransaction()) => rules.evaluate(features(values), 0, tx, eur);

describe('rules file validation', () => {
  const problemsOf = (document: unknown) => {
    try {
      compileRules(document);
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).code).toBe('RULES_INVALID');
      return (error as ValidationError).problems.map((p) => p.path);
    }
    throw new Error('expected the rules to be rejected');
  };

  test('the shipped rules file is valid and versioned', () => {
    expect(rules.version).toBe(shipped.version);
    expect(rules.codes).toEqual(shipped.rules.map((r) => r.code));
  });

  test('every problem is reported with its JSON-pointer path, not just the first', () => {
    const paths = problemsOf({
      rules: [
        { code: 'bad code', description: 'x', when: { feature: 'nope', op: '~', value: 'high' }, action: 'REVIEW' },
        {
          code: 'R_OK',
          description: 'uses {missing}',
          when: { all: [{ field: 'planet', in: 'unknownList' }] },
          action: 'ADD_RISK',
        },
        { code: 'R_OK', description: 'dup', when: { any: [] }, action: 'BLOCK', risk: 2 },
      ],
    });
    expect(paths).toEqual(
      expect.arrayContaining([
        '/version',
        '/rules/0/code',
        '/rules/0/when/feature',
        '/rules/0/when/op',
        '/rules/0/when/value',
        '/rules/1/description',
        '/rules/1/when/all/0/field',
        '/rules/1/when/all/0/in',
        '/rules/1/risk',
        '/rules/2/code',
        '/rules/2/action',
        '/rules/2/risk',
        '/rules/2/when/any',
      ]),
    );
  });

  test('a non-object document is rejected', () => {
    expect(problemsOf([])).toEqual(['']);
  });
});

describe('shipped rules fire with their code and a filled-in explanation', () => {
  test('R_CARD_TESTING_1H', () => {
    const [rule] = fire(
      { card_not_present: 1, card_cnp_small_count_1h: 6 },
      aTransaction({ card: { token: 't', bin: '411111', last4: '1', present: false } }),
    );
    expect(rule).toMatchObject({
      code: 'R_CARD_TESTING_1H',
      action: 'REVIEW',
      description: 'Card testing: 6 small card-not-present payments on this card within an hour',
    });
  });

  test('R_CARD_TESTING_1H does not fire on an allow-listed merchant', () => {
    const allowing = compileRules({
      ...shipped,
      lists: { ...(shipped as unknown as { lists: object }).lists, allowedMerchants: ['merch-1'] },
    });
    expect(
      allowing
        .evaluate(features({ card_not_present: 1, card_cnp_small_count_1h: 6 }), 0, aTransaction(), eur)
        .map((r) => r.code),
    ).toEqual([]);
  });

  test('R_VELOCITY_1H', () => {
    expect(fire({ card_count_1h: 25, card_sum_1h: 812.5 })[0]).toMatchObject({
      code: 'R_VELOCITY_1H',
      action: 'ADD_RISK',
      description: '25 transactions on this card within an hour (812.50 EUR in total)',
    });
  });

  test('R_HIGH_AMOUNT_VS_HISTORY', () => {
    const [rule] = fire(
      { ch_card: 1, amount: 900, cust_history_count: 40, cust_amount_ratio_to_mean: 9, cust_amount_zscore: 14.2 },
      aTransaction({ amountMinor: 90_000n }),
    );
    expect(rule).toMatchObject({
      code: 'R_HIGH_AMOUNT_VS_HISTORY',
      description: "Card payment of 900.00 EUR is 9.00× the customer's mean (z-score 14.2)",
    });
  });

  test('R_IMPOSSIBLE_TRAVEL', () => {
    const [rule] = fire({ cust_geo_velocity_kmh: 4_000, cust_geo_distance_km: 1_000, cust_seconds_since_prev: 900 });
    expect(rule).toMatchObject({
      code: 'R_IMPOSSIBLE_TRAVEL',
      action: 'REVIEW',
      description: 'Impossible travel: 1000 km from the previous transaction in 15 min (4000 km/h)',
    });
  });

  test('R_NEW_DEVICE_LARGE_TRANSFER', () => {
    const [rule] = fire(
      { cust_new_device: 1, cust_history_count: 25, kind_transfer: 1, amount: 4_500 },
      aTransaction({ channel: 'SEPA', kind: 'TRANSFER', card: null, amountMinor: 450_000n }),
    );
    expect(rule).toMatchObject({
      code: 'R_NEW_DEVICE_LARGE_TRANSFER',
      action: 'REVIEW',
      description: 'Transfer of 4500.00 EUR from a device this customer has never used',
    });
  });

  test('R_STRUCTURING_CASH_7D', () => {
    const [rule] = fire({ cust_cash_near_10k_count_7d: 3, cust_cash_near_10k_sum_7d: 28_700 });
    expect(rule).toMatchObject({
      code: 'R_STRUCTURING_CASH_7D',
      description:
        "Possible structuring: 3 cash deposits just under their currency's reporting threshold within 7 days (total 28700.00 EUR)",
    });
  });

  test('R_DENIED_COUNTRY', () => {
    expect(fire({}, aTransaction({ country: 'KP' }))).toEqual([
      { code: 'R_DENIED_COUNTRY', action: 'DECLINE', risk: 1, description: 'Transaction in deny-listed country KP' },
    ]);
  });

  test('R_DENIED_BIN and R_HIGH_RISK_MCC', () => {
    const tx = aTransaction({ card: { token: 't', bin: '999999', last4: '1', present: true }, mcc: '7995' });
    expect(fire({}, tx).map((r) => [r.code, r.description])).toEqual([
      ['R_DENIED_BIN', 'Card from deny-listed BIN 999999'],
      ['R_HIGH_RISK_MCC', 'Merchant category 7995 is on the high-risk list'],
    ]);
  });

  test('R_TERMINAL_CONFIRMED_FRAUD', () => {
    expect(fire({ term_fraud_ratio_30d: 0.25, term_count_30d: 40 })[0]).toMatchObject({
      code: 'R_TERMINAL_CONFIRMED_FRAUD',
      description: "0.25 of this terminal's transactions in the last 30 days were confirmed fraud",
    });
  });

  test('an ordinary transaction fires nothing', () => {
    expect(fire({ amount: 25, card_count_1h: 1, cust_history_count: 30, cust_amount_ratio_to_mean: 1.1 })).toEqual([]);
  });
});

describe('per-currency amount thresholds (minor units of the transaction’s own currency)', () => {
  const transfer = { cust_new_device: 1, cust_history_count: 25, kind_transfer: 1 };
  const sepa = (currency: string, amountMinor: bigint) =>
    aTransaction({ channel: 'SEPA', kind: 'TRANSFER', card: null, currency, amountMinor });
  const largeTransferFires = (amountFeature: number, tx: ReturnType<typeof aTransaction>) =>
    fire({ ...transfer, amount: amountFeature }, tx).some((r) => r.code === 'R_NEW_DEVICE_LARGE_TRANSFER');

  test.each([
    ['EUR', 100_000n],
    ['USD', 100_000n],
    ['GBP', 100_000n],
    ['JPY', 15_000_000n],
  ])('R_NEW_DEVICE_LARGE_TRANSFER at %s %s minor: fires at the threshold, not one minor unit below', (currency, at) => {
    // The reporting-currency feature is set far off on purpose: a listed currency is compared in its own units only.
    expect([largeTransferFires(0, sepa(currency, at)), largeTransferFires(1e9, sepa(currency, at - 1n))]).toEqual([
      true,
      false,
    ]);
  });

  test('¥1,000 is not €1,000: a JPY transfer of 1,000 major units does not count as large, a EUR one does', () => {
    expect([largeTransferFires(6.19, sepa('JPY', 1_000n)), largeTransferFires(1_000, sepa('EUR', 100_000n))]).toEqual([
      false,
      true,
    ]);
    // The control: the former condition on raw major units could not tell the two apart.
    const former = compileRules({
      version: 'former',
      rules: [{ code: 'R_F', description: 'x', when: { feature: 'amount', op: '>=', value: 1000 }, action: 'REVIEW' }],
    });
    expect(former.evaluate(features({ amount: 1_000 }), 0, sepa('JPY', 1_000n), eur).length).toBe(1);
  });

  test('a currency not in the map falls to "unlisted": the amount feature in the reporting currency', () => {
    // CHF is listed; SEK is not, so its 2,000,000 öre (about EUR 1,739) is judged by the converted feature.
    expect([
      largeTransferFires(1_738.68, sepa('SEK', 2_000_000n)),
      largeTransferFires(999.99, sepa('SEK', 10_000_000n)),
    ]).toEqual([true, false]);
  });

  const compileOne = (condition: unknown) =>
    compileRules({
      version: 't',
      rules: [{ code: 'R_T', description: 'x {transactionAmount}', when: condition, action: 'REVIEW' }],
    });

  test.each([
    ['>', [false, false, true]],
    ['>=', [false, true, true]],
    ['<', [true, false, false]],
    ['<=', [true, true, false]],
    ['==', [false, true, false]],
    ['!=', [true, false, true]],
  ])('op %s compares exactly, one minor unit either side of the threshold', (op, expected) => {
    const ruleSet = compileOne({ amount: op, minor: { BHD: '1000001' }, unlisted: false });
    const at = (amountMinor: bigint) =>
      ruleSet.evaluate(new Float32Array(FEATURE_COUNT), 0, aTransaction({ currency: 'BHD', amountMinor }), eur)
        .length === 1;
    expect([at(1_000_000n), at(1_000_001n), at(1_000_002n)]).toEqual(expected);
  });

  test('unlisted: false and true are honoured, and the description shows the money with its currency', () => {
    const zero = new Float32Array(FEATURE_COUNT);
    const usd = aTransaction({ currency: 'USD', amountMinor: 150_000n });
    const onlyEur = (unlisted: boolean) =>
      compileOne({ amount: '>=', minor: { EUR: '1' }, unlisted }).evaluate(zero, 0, usd, eur);
    expect([onlyEur(false).length, onlyEur(true).map((r) => r.description)]).toEqual([0, ['x 1500.00 USD']]);
  });

  test('a bad threshold map is refused whole, each problem at its path', () => {
    try {
      compileRules({
        version: 't',
        rules: [
          {
            code: 'R_T',
            description: 'x',
            when: {
              all: [
                { amount: '=>', minor: { EUR: '1000.00', XXX: '5', JPY: 150000, USD: '-1', GBP: '0100' } },
                { amount: '>=', minor: {}, unlisted: 'sometimes', major: { EUR: '1' } },
              ],
            },
            action: 'REVIEW',
          },
        ],
      });
      throw new Error('expected the rules to be rejected');
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).problems.map((p) => p.path)).toEqual([
        '/rules/0/when/all/0/amount',
        '/rules/0/when/all/0/minor/EUR',
        '/rules/0/when/all/0/minor/XXX',
        '/rules/0/when/all/0/minor/JPY',
        '/rules/0/when/all/0/minor/USD',
        '/rules/0/when/all/0/minor/GBP',
        '/rules/0/when/all/0/unlisted',
        '/rules/0/when/all/1/minor',
        '/rules/0/when/all/1/unlisted',
        '/rules/0/when/all/1/major',
      ]);
    }
  });
});

describe('every amount in a reason names its currency', () => {
  const AMOUNT_FEATURES = FEATURES.filter((d) => d.unit === 'amount').map((d) => d.name);
  /** Every amount feature at one recognisable value, every shipped rule made to fire. */
  const everyRuleFiring = {
    ...Object.fromEntries(AMOUNT_FEATURES.map((name) => [name, 4_321.5])),
    card_not_present: 1,
    card_cnp_small_count_1h: 6,
    card_count_1h: 25,
    cust_geo_velocity_kmh: 4_000,
    cust_geo_distance_km: 1_000,
    cust_new_device: 1,
    cust_history_count: 40,
    kind_transfer: 1,
    ch_card: 1,
    cust_amount_ratio_to_mean: 9,
    cust_cash_near_10k_count_7d: 3,
    term_fraud_ratio_30d: 0.25,
    term_count_30d: 40,
  };
  const transfer = aTransaction({ currency: 'USD', amountMinor: 987_654n, kind: 'TRANSFER', channel: 'WIRE' });
  /** The amounts a text writes without a currency code after them: what an analyst cannot read. */
  const bareAmounts = (text: string): string[] =>
    [...text.matchAll(/\b(4321\.50|4322|9876\.54)\b(?! [A-Z]{3}\b)/g)].map((m) => m[0]);

  test('shipped rules: features in the reporting currency, the transaction amount in its own', () => {
    const descriptions = rules.evaluate(features(everyRuleFiring), 0, transfer, eur).map((r) => r.description);
    expect(descriptions.filter((d) => d.includes('4321.50 EUR')).length).toBe(2); // R_VELOCITY_1H, R_STRUCTURING_CASH_7D
    expect(descriptions.filter((d) => d.includes('9876.54 USD')).length).toBe(2); // the two {transactionAmount} rules
    expect(descriptions.flatMap(bareAmounts)).toEqual([]);
    // Negative control: the check finds an amount written as before, with no currency.
    expect(bareAmounts('25 transactions on this card within an hour (4321.50 in total)')).toEqual(['4321.50']);
  });

  test('in a reporting currency without decimals the amount has none (JPY), and is named', () => {
    const jpy = new ReportingCurrency(compileFxRates(REFERENCE_FX_RATES), 'JPY');
    const [velocity] = rules.evaluate(features({ card_count_1h: 25, card_sum_1h: 131_337 }), 0, aTransaction(), jpy);
    expect(velocity!.description).toBe('25 transactions on this card within an hour (131337 JPY in total)');
  });

  const showAmounts = compileRules({
    version: 't',
    rules: [
      {
        code: 'R_SHOW',
        description: '{transactionAmount} debited as {amount}; {card_sum_1h} on the card',
        when: { feature: 'card_count_1h', op: '>=', value: 0 },
        action: 'REVIEW',
      },
    ],
  });
  const shown = (tx: ReturnType<typeof aTransaction>, values: Record<string, number>) =>
    showAmounts.evaluate(features({ card_count_1h: 1, ...values }), 0, tx, eur)[0]!.description;

  test('settled in another currency: the instructed amount in its own, the features in the reporting one', () => {
    const settled = aTransaction({
      currency: 'USD',
      amountMinor: 10_495n,
      settlement: { amountMinor: 10_000n, currency: 'EUR' },
    });
    expect(shown(settled, { amount: 100, card_sum_1h: 350 })).toBe(
      '104.95 USD debited as 100.00 EUR; 350.00 EUR on the card',
    );
  });

  test('a debit currency without a rate is named where its amount went in unconverted', () => {
    // KES is not in the shipped ECB table: the amount feature holds its KES major units (features.ts).
    const kes = aTransaction({ currency: 'KES', amountMinor: 650_000n });
    expect(shown(kes, { amount: 6_500, card_sum_1h: 6_620 })).toBe(
      '6500.00 KES debited as 6500.00 KES (no KES rate: not converted); ' +
        '6620.00 EUR (counting KES amounts unconverted: no KES rate) on the card',
    );
  });
});
