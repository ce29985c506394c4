import { ValidationError } from '../../platform/errors.js';
import { parseAccountRequest } from './accounts-body.js';

function problemsOf(body: unknown): Array<{ path: string; message: string }> {
  try {
    parseAccountRequest(body);
  } catch (error) {
    if (error instanceof ValidationError) return [...error.problems];
    throw error;
  }
  throw new Error('expected a ValidationError');
}

const limit = (value: unknown, currency: unknown = 'EUR'): unknown => ({
  type: 'customer',
  currency: 'EUR',
  policy: { overdraftLimit: { value, currency } },
});

describe('PUT /v1/accounts/:id body', () => {
  it('reads a policy exactly into minor units of the account currency', () => {
    expect(parseAccountRequest(limit('0.00'))).toEqual({
      type: 'CUSTOMER',
      currency: 'EUR',
      overdraftLimitMinor: 0n,
      scheme: null,
    });
    expect(parseAccountRequest(limit('500'))).toEqual({
      type: 'CUSTOMER',
      currency: 'EUR',
      overdraftLimitMinor: 50_000n,
      scheme: null,
    });
    // 2^53 + 1 minor units: a float would round it.
    expect(parseAccountRequest(limit('90071992547409.93')).overdraftLimitMinor).toBe(9_007_199_254_740_993n);
    expect(
      parseAccountRequest({
        type: 'settlement',
        currency: 'JPY',
        policy: { overdraftLimit: { value: '7', currency: 'JPY' } },
      }),
    ).toEqual({ type: 'SETTLEMENT', currency: 'JPY', overdraftLimitMinor: 7n, scheme: null });
    expect(
      parseAccountRequest({
        type: 'clearing',
        currency: 'BHD',
        policy: { overdraftLimit: { value: '1.234', currency: 'BHD' } },
      }).overdraftLimitMinor,
    ).toBe(1234n);
  });

  it('takes an absent or null policy as no limit', () => {
    expect(parseAccountRequest({ type: 'merchant', currency: 'USD' })).toEqual({
      type: 'MERCHANT',
      currency: 'USD',
      overdraftLimitMinor: null,
      scheme: null,
    });
    expect(parseAccountRequest({ type: 'suspense', currency: 'USD', policy: null }).overdraftLimitMinor).toBeNull();
  });

  it.each([
    ['customer', 'CUSTOMER'],
    ['merchant', 'MERCHANT'],
    ['settlement', 'SETTLEMENT'],
    ['clearing', 'CLEARING'],
    ['fx_position', 'FX_POSITION'],
    ['suspense', 'SUSPENSE'],
  ])('reads type %p as %p', (name, type) => {
    expect(parseAccountRequest({ type: name, currency: 'EUR' }).type).toBe(type);
  });

  it('reads the scheme of a clearing or settlement account; absent or null is none', () => {
    expect(parseAccountRequest({ type: 'clearing', currency: 'EUR', scheme: 'SEPA_CT' }).scheme).toBe('SEPA_CT');
    expect(parseAccountRequest({ type: 'settlement', currency: 'EUR', scheme: 'TARGET2' }).scheme).toBe('TARGET2');
    expect(parseAccountRequest({ type: 'clearing', currency: 'EUR', scheme: null }).scheme).toBeNull();
    expect(parseAccountRequest({ type: 'clearing', currency: 'EUR' }).scheme).toBeNull();
  });

  it('refuses a malformed scheme, a card number as one, and a scheme on a type that serves none, at /scheme', () => {
    const schemeMessage =
      'must be a scheme name of 2–32 upper-case letters, digits or _, starting with a letter, e.g. "SEPA_CT"';
    for (const scheme of ['sepa_ct', 'SEPA CT', '1SEPA', 'S', 'A'.repeat(33), 42, '', 'X4111111111111111'])
      expect({ scheme, problems: problemsOf({ type: 'clearing', currency: 'EUR', scheme }) }).toEqual({
        scheme,
        problems: [{ path: '/scheme', message: schemeMessage }],
      });
    expect(problemsOf({ type: 'customer', currency: 'EUR', scheme: 'SEPA_CT' })).toEqual([
      { path: '/scheme', message: 'only clearing and settlement accounts serve a scheme' },
    ]);
    // Every problem at once: the type, the scheme and an unknown field.
    expect(problemsOf({ type: 'bank', currency: 'EUR', scheme: 'sepa', schema: 'SEPA' }).map((p) => p.path)).toEqual([
      '/type',
      '/scheme',
      '/schema',
    ]);
  });

  it('holds the largest limit an Avro long takes, and refuses one minor unit more', () => {
    expect(parseAccountRequest(limit('92233720368547758.07')).overdraftLimitMinor).toBe(2n ** 63n - 1n);
    expect(problemsOf(limit('92233720368547758.08'))).toEqual([
      {
        path: '/policy/overdraftLimit/value',
        message: 'must be at most 92233720368547758.07 EUR (an Avro long of minor units)',
      },
    ]);
    expect(problemsOf(limit('1'.repeat(25)))).toEqual([
      {
        path: '/policy/overdraftLimit/value',
        message: 'must be at most 92233720368547758.07 EUR (an Avro long of minor units)',
      },
    ]);
  });

  it('reports every problem of a bad body with its path', () => {
    expect(
      problemsOf({
        type: 'CUSTOMER',
        currency: 'eur',
        policy: { overdraftLimit: { value: 12.5, currency: 'USD', note: 'x' }, mode: 'hard' },
        owner: 'someone',
      }),
    ).toEqual([
      { path: '/type', message: 'must be one of customer, merchant, settlement, clearing, fx_position, suspense' },
      { path: '/currency', message: 'must be an active ISO 4217 code in upper case, e.g. "EUR"' },
      { path: '/policy/mode', message: 'is not a known field' },
      { path: '/policy/overdraftLimit/note', message: 'is not a known field' },
      // /currency is bad, so there is nothing to compare USD with: only the value's own problem.
      { path: '/policy/overdraftLimit/value', message: 'must be a decimal string such as "500.00", not a JSON number' },
      { path: '/owner', message: 'is not a known field' },
    ]);
  });

  it('refuses a limit in another currency than the account', () => {
    expect(problemsOf(limit('10.00', 'USD'))).toEqual([
      { path: '/policy/overdraftLimit/currency', message: "must equal /currency, the account's currency" },
    ]);
    const missing = { type: 'customer', currency: 'EUR', policy: { overdraftLimit: { value: '10.00' } } };
    expect(problemsOf(missing)).toEqual([
      { path: '/policy/overdraftLimit/currency', message: "must equal /currency, the account's currency" },
    ]);
  });

  it.each([
    ['-1.00', 'must not be negative (0 allows no overdraft)'],
    ['-0', 'must not be negative (0 allows no overdraft)'],
    ['1e3', 'must be a plain decimal string such as "500.00" (no sign, exponent, spaces, separators or leading zeros)'],
    [
      ' 1.00',
      'must be a plain decimal string such as "500.00" (no sign, exponent, spaces, separators or leading zeros)',
    ],
    [
      '1,000.00',
      'must be a plain decimal string such as "500.00" (no sign, exponent, spaces, separators or leading zeros)',
    ],
    ['+1', 'must be a plain decimal string such as "500.00" (no sign, exponent, spaces, separators or leading zeros)'],
    [
      '01.00',
      'must be a plain decimal string such as "500.00" (no sign, exponent, spaces, separators or leading zeros)',
    ],
    ['1.', 'must be a plain decimal string such as "500.00" (no sign, exponent, spaces, separators or leading zeros)'],
    ['', 'must be a plain decimal string such as "500.00" (no sign, exponent, spaces, separators or leading zeros)'],
    ['1.001', 'at most 2 fraction digits for EUR'],
    [null, 'must be a decimal string such as "500.00"'],
  ])('refuses the limit value %p', (value, message) => {
    expect(problemsOf(limit(value))).toEqual([{ path: '/policy/overdraftLimit/value', message }]);
  });

  it('counts fraction digits by the currency exponent (ISO 4217)', () => {
    const jpy = { type: 'customer', currency: 'JPY', policy: { overdraftLimit: { value: '1.5', currency: 'JPY' } } };
    expect(problemsOf(jpy)).toEqual([
      { path: '/policy/overdraftLimit/value', message: 'JPY has no minor unit; send whole units only' },
    ]);
  });

  it('reports a missing or malformed policy and limit at their own paths', () => {
    expect(problemsOf({ type: 'customer', currency: 'EUR', policy: {} })).toEqual([
      {
        path: '/policy/overdraftLimit',
        message: 'must be an object { value, currency }, e.g. { "value": "500.00", "currency": "EUR" }',
      },
    ]);
    expect(problemsOf({ type: 'customer', currency: 'EUR', policy: '0.00' })).toEqual([
      { path: '/policy', message: 'must be an object with overdraftLimit, or null for no limit' },
    ]);
    expect(problemsOf({})).toEqual([
      { path: '/type', message: 'must be one of customer, merchant, settlement, clearing, fx_position, suspense' },
      { path: '/currency', message: 'must be an active ISO 4217 code in upper case, e.g. "EUR"' },
    ]);
  });

  it('escapes unknown field names as JSON pointers (RFC 6901)', () => {
    expect(problemsOf({ type: 'customer', currency: 'EUR', 'a/b~c': 1 })).toEqual([
      { path: '/a~1b~0c', message: 'is not a known field' },
    ]);
  });

  it.each([null, [], 'text', 3])('refuses a body that is not an object: %p', (body) => {
    expect(problemsOf(body)).toEqual([{ path: '', message: 'must be a JSON object' }]);
  });

  it.each(['XAU', 'XXX', 'HRK', 'EURO', ''])('refuses %p as the account currency', (currency) => {
    expect(problemsOf({ type: 'customer', currency }).map((p) => p.path)).toEqual(['/currency']);
  });
});
