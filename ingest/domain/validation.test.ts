import { NOW_MS, TEST_PAN, cardRequest, transferRequest } from '../testing/fixtures.js';
import { isIpAddress, parseEventTime, validateTransactionRequest, type ValidationOutcome } from './validation.js';

const limits = { maxAmountMajor: 1_000_000_000n, maxFutureSkewMs: 5 * 60_000, maxEventAgeMs: 30 * 86_400_000 };
const tokenizer = {
  tokenize: (pan: string) => `tok_test_${pan.length}`,
  fingerprintToken: (pan: string) => `tok_fp_${pan.length}`,
};
const validate = (body: unknown): ValidationOutcome =>
  validateTransactionRequest(body, { nowMs: NOW_MS, limits, tokenizer });
const problemsOf = (body: unknown) => {
  const outcome = validate(body);
  if (outcome.ok) throw new Error('expected problems, got a valid transaction');
  return outcome.problems;
};
const paths = (body: unknown) => problemsOf(body).map((p) => p.path);

describe('validateTransactionRequest', () => {
  it('accepts a full card request and tokenises the card', () => {
    const outcome = validate(cardRequest());
    expect(outcome).toEqual({
      ok: true,
      fingerprintCardToken: 'tok_fp_16',
      value: {
        transactionId: 'tx-0001',
        channel: 'CARD',
        kind: 'PURCHASE',
        amountMinor: 1234n,
        currency: 'EUR',
        settlement: null,
        payerAccountId: 'acct-payer-1',
        payeeAccountId: 'acct-merchant-1',
        customerId: 'acct-payer-1',
        card: { token: 'tok_test_16', bin: '411111', last4: '1111', present: true },
        merchantId: 'm-1',
        terminalId: 't-1',
        mcc: '5411',
        deviceId: 'dev-1',
        ipAddress: '192.0.2.1',
        country: 'FR',
        latitude: 48.85,
        longitude: 2.35,
        description: 'groceries',
        bankTransfer: null,
        channelReference: null,
        eventTimeMs: NOW_MS - 60_000,
      },
    });
  });

  it('accepts a minimal transfer, defaulting kind, customer and event time', () => {
    const outcome = validate({
      transactionId: 'a',
      channel: 'ach',
      amount: { value: '1', currency: 'USD' },
      payer: { accountId: 'p' },
      payee: { accountId: 'q' },
    });
    expect(outcome.ok && outcome.value).toMatchObject({
      kind: 'TRANSFER',
      customerId: 'p',
      card: null,
      eventTimeMs: null,
      bankTransfer: null,
    });
  });

  it('defaults the customer of a cash deposit to the payee (the customer’s account), of a withdrawal to the payer', () => {
    const cash = (kind: 'deposit' | 'withdrawal') =>
      validate({
        transactionId: `cash-${kind}`,
        channel: 'cash',
        kind,
        amount: { value: '9500', currency: 'USD' },
        payer: { accountId: kind === 'deposit' ? 'branch-cash-7' : 'acct-customer' },
        payee: { accountId: kind === 'deposit' ? 'acct-customer' : 'atm-cash-3' },
      });
    for (const kind of ['deposit', 'withdrawal'] as const) {
      const outcome = cash(kind);
      expect(outcome.ok && outcome.value.customerId).toBe('acct-customer');
    }
  });

  it.each([
    ['card', 'PURCHASE'],
    ['cash', 'WITHDRAWAL'],
    ['wallet', 'TRANSFER'],
    ['p2p', 'TRANSFER'],
    ['wire', 'TRANSFER'],
    ['sepa', 'TRANSFER'],
  ])('defaults kind for channel %s to %s', (channel, kind) => {
    const outcome = validate(cardRequest({ channel }));
    expect(outcome.ok && outcome.value.kind).toBe(kind);
  });

  it('keeps an explicit kind and settlement amount', () => {
    const outcome = validate(cardRequest({ kind: 'refund', settlementAmount: { value: '13.5', currency: 'USD' } }));
    expect(outcome.ok && outcome.value).toMatchObject({
      kind: 'REFUND',
      settlement: { amountMinor: 1350n, currency: 'USD' },
    });
  });

  it('accepts a transfer with bank details', () => {
    const outcome = validate(transferRequest({ eventTime: '2026-11-24T10:00:00+01:00' }));
    expect(outcome.ok && outcome.value).toMatchObject({
      channel: 'SEPA',
      customerId: 'cust-9',
      bankTransfer: { scheme: 'SEPA_CT', endToEndId: 'E2E-1', remittanceInfo: 'invoice 42' },
      eventTimeMs: NOW_MS,
    });
  });

  // Avro writes strings as UTF-8, which has no form for a lone surrogate: it would be logged as U+FFFD, and the
  // logged content would no longer hash to its fingerprint.
  it('refuses text with an unpaired UTF-16 surrogate in any string field, naming each field', () => {
    const lone = (text: string) => `${text}\ud800`;
    const body = transferRequest({
      description: lone('rent'),
      bankTransfer: { scheme: 'SEPA_CT', endToEndId: lone('E2E'), remittanceInfo: '\udc00' },
      channelReference: lone('ref'),
    });
    expect(problemsOf(body)).toEqual([
      { path: '/description', message: 'must be well-formed Unicode (no unpaired UTF-16 surrogate)' },
      { path: '/bankTransfer/endToEndId', message: 'must be well-formed Unicode (no unpaired UTF-16 surrogate)' },
      { path: '/bankTransfer/remittanceInfo', message: 'must be well-formed Unicode (no unpaired UTF-16 surrogate)' },
      { path: '/channelReference', message: 'must be well-formed Unicode (no unpaired UTF-16 surrogate)' },
    ]);
  });

  it('accepts text with paired surrogates (characters beyond the BMP)', () => {
    const outcome = validate(transferRequest({ description: 'paid \ud83d\ude00' }));
    expect(outcome.ok && outcome.value.description).toBe('paid 😀');
  });

  it('collects every problem with its JSON pointer, not just the first', () => {
    const problems = problemsOf({
      transactionId: 'bad id with spaces',
      channel: 'carrier-pigeon',
      kind: 'gift',
      amount: { value: '1.234', currency: 'EUR' },
      settlementAmount: { value: '-1', currency: 'XYZ' },
      payer: {},
      payee: { accountId: '' },
      card: { number: '4111111111111112' },
      merchant: { mcc: '54' },
      device: { ip: '999.1.1.1' },
      location: { country: 'fr', latitude: 91, longitude: -181 },
      eventTime: 'yesterday',
      extra: true,
    });
    expect(problems.map((p) => p.path)).toEqual([
      '/extra',
      '/transactionId',
      '/channel',
      '/kind',
      '/amount/value',
      '/settlementAmount/currency',
      '/settlementAmount/value',
      '/payer/accountId',
      '/payee/accountId',
      '/card/number',
      '/merchant/mcc',
      '/device/ip',
      '/location/country',
      '/location/latitude',
      '/location/longitude',
      '/eventTime',
    ]);
    expect(problems.find((p) => p.path === '/card/number')?.message).toBe('not a valid card number');
    expect(problems.find((p) => p.path === '/extra')?.message).toBe('is not a known field');
  });

  it('requires the mandatory fields', () => {
    expect(paths({})).toEqual(['/transactionId', '/channel', '/amount', '/payer', '/payee']);
    expect(
      paths({ transactionId: 'x', channel: 'card', amount: {}, payer: { accountId: 'p' }, payee: { accountId: 'q' } }),
    ).toEqual(['/amount/currency', '/amount/value', '/card']);
  });

  it.each([null, [], 'text', 42, true])('refuses a body that is not an object: %j', (body) => {
    expect(problemsOf(body)).toEqual([{ path: '', message: 'must be an object' }]);
  });

  it('rejects unknown fields at every level (strict contract)', () => {
    expect(
      paths(
        cardRequest({
          pan: '1',
          payer: { accountId: 'p', nickname: 'x' },
          card: { number: TEST_PAN, expiry: '12/29' },
        }),
      ),
    ).toEqual(['/pan', '/payer/nickname', '/card/expiry']);
  });

  it('escapes field names in pointers (RFC 6901) and masks digit runs in them', () => {
    expect(paths(cardRequest({ 'a/b~c': 1 }))).toEqual(['/a~1b~0c']);
    expect(paths(cardRequest({ [TEST_PAN]: 1 }))).toEqual(['/[REDACTED]']);
  });

  describe('card security codes (PCI DSS)', () => {
    it.each([
      [{ card: { number: TEST_PAN, cvv: '123' } }, '/card/cvv'],
      [{ card: { number: TEST_PAN, CVC2: '123' } }, '/card/CVC2'],
      [{ cvv2: '123' }, '/cvv2'],
      [{ payer: { accountId: 'p', securityCode: '123' } }, '/payer/securityCode'],
      [{ merchant: { id: 'm', card_security_code: '1' } }, '/merchant/card_security_code'],
      [{ card: { number: TEST_PAN, cid: '1234' } }, '/card/cid'],
      [{ description: 'x', nested: [{ deep: { cvc: '1' } }] }, '/nested/0/deep/cvc'],
    ])('rejects %j at %s', (overrides, path) => {
      const problems = problemsOf(cardRequest(overrides));
      expect(problems).toContainEqual({
        path,
        message: expect.stringMatching(/security codes .* must never be sent/) as unknown,
      });
    });

    it('rejects them even when their value is empty or null, and never as a mere unknown field', () => {
      const problems = problemsOf(cardRequest({ card: { number: TEST_PAN, cvv: null } }));
      expect(problems).toHaveLength(1);
      expect(problems[0]!.message).toMatch(/must never be sent/);
    });
  });

  describe('card details', () => {
    it('requires card details on the card channel only', () => {
      expect(paths(cardRequest({ card: undefined }))).toEqual(['/card']);
      expect(validate(transferRequest()).ok).toBe(true);
    });

    it('accepts a pre-tokenised card', () => {
      const outcome = validate(cardRequest({ card: { token: 'vault_tok_123456', bin: '411111', last4: '1111' } }));
      expect(outcome.ok && outcome.value.card).toEqual({
        token: 'vault_tok_123456',
        bin: '411111',
        last4: '1111',
        present: false,
      });
    });

    it('accepts grouped card numbers and checks bin/last4 against them', () => {
      expect(validate(cardRequest({ card: { number: '4111 1111 1111 1111', bin: '411111', last4: '1111' } })).ok).toBe(
        true,
      );
      expect(paths(cardRequest({ card: { number: '4111-1111-1111-1111', bin: '999999', last4: '0000' } }))).toEqual([
        '/card/bin',
        '/card/last4',
      ]);
    });

    it.each([
      ['4111111111111112', 'Luhn failure'],
      ['41111111111', '11 digits'],
      ['41111111111111111111', '20 digits'],
      ['4111x11111111111', 'letters'],
      [4111111111111111, 'a JSON number'],
      ['', 'empty'],
    ])('rejects card number %j (%s) without echoing it', (number: unknown, _reason: string) => {
      const problems = problemsOf(cardRequest({ card: { number } }));
      expect(problems).toEqual([{ path: '/card/number', message: 'not a valid card number' }]);
      expect(JSON.stringify(problems)).not.toContain('41111111111');
    });

    it('needs number or token, not both, not neither', () => {
      expect(paths(cardRequest({ card: { present: true } }))).toEqual(['/card']);
      expect(paths(cardRequest({ card: { number: TEST_PAN, token: 'tok_abcdefgh' } }))).toEqual(['/card/token']);
      expect(paths(cardRequest({ card: { token: 'tok_abcdefgh' } }))).toEqual(['/card/bin', '/card/last4']);
    });

    it('refuses a card number sent as a token', () => {
      expect(problemsOf(cardRequest({ card: { token: TEST_PAN, bin: '411111', last4: '1111' } }))).toEqual([
        { path: '/card/token', message: expect.stringMatching(/looks like a card number/) as unknown },
      ]);
    });
  });

  describe('identifiers holding a card number', () => {
    it.each([
      ['/transactionId', { transactionId: `tx-${TEST_PAN}` }],
      ['/payer/accountId', { payer: { accountId: TEST_PAN } }],
      ['/payee/accountId', { payee: { accountId: 'acct4111111111111111' } }],
      ['/merchant/id', { merchant: { id: '5555-5555-5555-4444' } }],
      ['/device/id', { device: { id: `dev_${TEST_PAN}_x` } }],
      ['/channelReference', { channelReference: `ref:${TEST_PAN}` }],
    ])('refuses %s, naming what to do and never echoing the number', (path, overrides) => {
      const problems = problemsOf(cardRequest(overrides));
      expect(problems).toEqual([
        { path, message: expect.stringMatching(/holds a card number .* card\.number/) as unknown },
      ]);
      expect(JSON.stringify(problems)).not.toContain(TEST_PAN);
    });

    it('refuses one in a bank transfer end-to-end id, and accepts ids with long or non-Luhn digit runs', () => {
      expect(paths(transferRequest({ bankTransfer: { scheme: 'SEPA_CT', endToEndId: TEST_PAN } }))).toEqual([
        '/bankTransfer/endToEndId',
      ]);
      // Found by the store scan (embedded/pan-scan.e2e.test.ts): the scheme's format admits 16 digits.
      expect(paths(transferRequest({ bankTransfer: { scheme: TEST_PAN } }))).toEqual(['/bankTransfer/scheme']);
      expect(paths(cardRequest({ card: { token: `tok-${TEST_PAN}`, bin: '411111', last4: '1111' } }))).toEqual([
        '/card/token',
      ]);
      expect(validate(cardRequest({ transactionId: 'tx-1764000000000-4111111111111112' })).ok).toBe(true);
    });
  });

  describe('free text', () => {
    it('masks a card number in the description or remittance info to first 6 / last 4, however it is written', () => {
      const described = (description: string) => {
        const outcome = validate(cardRequest({ description }));
        return outcome.ok ? outcome.value.description : outcome.problems;
      };
      expect(described(`card ${TEST_PAN.replace(/(\d{4})/g, '$1 ').trim()} please`)).toBe(
        'card 411111******1111 please',
      );
      expect(described(`card${TEST_PAN}`)).toBe('card411111******1111');
      expect(described('ref 5555-5555-5555-4444.')).toBe('ref 555555******4444.');
      // Not card numbers: a Luhn failure, an epoch timestamp, a longer number.
      expect(described('inv 4111111111111112 at 1764000000000, iban 41111111111111111111')).toBe(
        'inv 4111111111111112 at 1764000000000, iban 41111111111111111111',
      );
      const transfer = validate(transferRequest({ bankTransfer: { scheme: 'SEPA_CT', remittanceInfo: TEST_PAN } }));
      expect(transfer.ok && transfer.value.bankTransfer?.remittanceInfo).toBe('411111******1111');
    });
    it('limits length and control characters', () => {
      expect(paths(cardRequest({ description: 'x'.repeat(501) }))).toEqual(['/description']);
      expect(paths(cardRequest({ description: 'line\nbreak' }))).toEqual(['/description']);
      expect(paths(transferRequest({ bankTransfer: { scheme: 'SEPA_CT', endToEndId: 'E'.repeat(36) } }))).toEqual([
        '/bankTransfer/endToEndId',
      ]);
      expect(paths(transferRequest({ bankTransfer: { scheme: 'sepa' } }))).toEqual(['/bankTransfer/scheme']);
    });
  });

  describe('ids', () => {
    it.each<unknown>(['a'.repeat(129), '', 'with space', 'ümlaut', 'semi;colon', 42])(
      'refuses transactionId %j',
      (transactionId) => {
        expect(paths(cardRequest({ transactionId }))).toEqual(['/transactionId']);
      },
    );
    it.each(['a', 'a'.repeat(128), 'TX-2026.11:24_1'])('accepts transactionId %j', (transactionId) => {
      expect(validate(cardRequest({ transactionId })).ok).toBe(true);
    });
    it('reports the id of a refused request only when it is a valid id', () => {
      const refused = validate(cardRequest({ amount: { value: '0', currency: 'EUR' } }));
      expect(!refused.ok && refused.transactionId).toBe('tx-0001');
      const badId = validate(cardRequest({ transactionId: 'bad id', amount: { value: '0', currency: 'EUR' } }));
      expect(!badId.ok && badId.transactionId).toBeNull();
    });
  });

  describe('reserved account ids', () => {
    it.each([
      ['/payer/accountId', { payer: { accountId: 'fx:EUR' } }],
      ['/payee/accountId', { payee: { accountId: 'fx:USD' } }],
    ])('refuses %s in the ledger-reserved fx: namespace, as the ledger could never post it', (path, override) => {
      expect(problemsOf(transferRequest(override))).toEqual([
        { path, message: "must not start with fx: (reserved for the ledger's own accounts)" },
      ]);
    });
    it('accepts ids that only resemble the prefix (negative control: the check is not a substring match)', () => {
      for (const accountId of ['FX:EUR', 'acct-fx:EUR', 'fx-EUR'])
        expect(validate(transferRequest({ payee: { accountId } })).ok).toBe(true);
    });
  });

  describe('location and device', () => {
    it('needs latitude and longitude together', () => {
      expect(paths(cardRequest({ location: { latitude: 10 } }))).toEqual(['/location/longitude']);
    });
    it.each([
      ['192.0.2.1', true],
      ['255.255.255.255', true],
      ['256.1.1.1', false],
      ['01.1.1.1', false],
      ['2001:db8::1', true],
      ['::', true],
      ['::ffff:192.0.2.1', true],
      ['2001:db8:0:0:0:0:0:1', true],
      ['2001:db8:0:0:0:0:0:0:1', false],
      ['2001::db8::1', false],
      ['1.2.3', false],
      ['gggg::1', false],
    ])('ip %s valid: %s', (ip, valid) => {
      expect(isIpAddress(ip)).toBe(valid);
    });
  });

  describe('event time', () => {
    it.each([
      ['2026-11-24T09:00:00Z', NOW_MS],
      ['2026-11-24T09:00:00.5Z', NOW_MS + 500],
      ['2026-11-24T09:00:00.123456789Z', NOW_MS + 123],
      ['2026-11-24T10:30:00+01:30', NOW_MS],
      ['2026-11-24T04:00:00-05:00', NOW_MS],
      ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ])('parses %s', (text, ms) => {
      expect(parseEventTime(text)).toBe(ms);
    });
    it.each([
      '2026-11-24T09:00:00',
      '2026-11-24 09:00:00Z',
      '2026-02-30T00:00:00Z',
      '2025-02-29T00:00:00Z',
      '2026-11-24T24:00:00Z',
      '2026-11-24T09:00:60Z',
      '2026-11-24T09:00Z',
      '1764000000000',
    ])('refuses %s', (text) => {
      expect(parseEventTime(text)).toBeUndefined();
    });
    it('bounds event time by the configured skew and age', () => {
      expect(validate(cardRequest({ eventTime: new Date(NOW_MS + 5 * 60_000).toISOString() })).ok).toBe(true);
      expect(
        problemsOf(cardRequest({ eventTime: new Date(NOW_MS + 5 * 60_000 + 1).toISOString() }))[0]!.message,
      ).toMatch(/future/);
      expect(validate(cardRequest({ eventTime: new Date(NOW_MS - 30 * 86_400_000).toISOString() })).ok).toBe(true);
      expect(
        problemsOf(cardRequest({ eventTime: new Date(NOW_MS - 30 * 86_400_000 - 1).toISOString() }))[0]!.message,
      ).toMatch(/past/);
    });
  });

  it('treats null optional fields as absent', () => {
    expect(
      validate(
        cardRequest({ kind: null, merchant: null, device: { id: null }, settlementAmount: null, eventTime: null }),
      ).ok,
    ).toBe(true);
  });

  it('refuses a settlement amount in the transaction currency and unknown currencies', () => {
    expect(paths(cardRequest({ settlementAmount: { value: '1', currency: 'EUR' } }))).toEqual([
      '/settlementAmount/currency',
    ]);
    expect(paths(cardRequest({ amount: { value: '1', currency: 'HRK' } }))).toEqual(['/amount/currency']);
    expect(paths(cardRequest({ amount: { value: '1', currency: 'eur' } }))).toEqual(['/amount/currency']);
  });

  it('stops at absurd nesting instead of overflowing the stack', () => {
    let deep: unknown = {};
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    expect(paths(cardRequest({ description: 'x', deep }))).toEqual(['', '/deep']);
  });

  it('never puts the card number into any problem', () => {
    const problems = problemsOf(
      cardRequest({ card: { number: TEST_PAN, cvv: '123', bin: '000000' }, transactionId: `x ${TEST_PAN}` }),
    );
    expect(JSON.stringify(problems)).not.toContain(TEST_PAN);
  });

  describe('/originalTransactionId', () => {
    const ORIGINAL_ONLY = 'only a capture (of its authorization) or a refund names an original';

    it.each([
      ['capture', 'CAPTURE'],
      ['refund', 'REFUND'],
    ])('is accepted on a %s and carried as given', (kind, expected) => {
      const outcome = validate(cardRequest({ kind, originalTransactionId: 'auth-0001' }));
      expect(outcome.ok && [outcome.value.kind, outcome.value.originalTransactionId]).toEqual([expected, 'auth-0001']);
    });

    it('is absent, not null, when not sent (a fingerprint from before Transaction v3 stays the same)', () => {
      for (const sent of [undefined, null]) {
        const outcome = validate(cardRequest({ kind: 'capture', originalTransactionId: sent }));
        expect(outcome.ok && Object.hasOwn(outcome.value, 'originalTransactionId')).toBe(false);
      }
    });

    it.each([
      ['a purchase', cardRequest({ kind: 'purchase', originalTransactionId: 'auth-0001' })],
      ['an authorization', cardRequest({ kind: 'authorization', originalTransactionId: 'auth-0001' })],
      ['a transfer', transferRequest({ kind: 'transfer', originalTransactionId: 'tx-sepa-0' })],
      ['a card request of the default kind (purchase)', cardRequest({ originalTransactionId: 'auth-0001' })],
      ['a sepa request of the default kind (transfer)', transferRequest({ originalTransactionId: 'tx-sepa-0' })],
    ])('is refused on %s, with its path', (_, body) => {
      expect(problemsOf(body)).toEqual([{ path: '/originalTransactionId', message: ORIGINAL_ONLY }]);
    });

    it('is refused when it names the transaction itself', () => {
      expect(problemsOf(cardRequest({ kind: 'capture', originalTransactionId: 'tx-0001' }))).toEqual([
        { path: '/originalTransactionId', message: 'must name another transaction than /transactionId' },
      ]);
    });

    it('is refused when it holds a card number, which the problem never echoes', () => {
      for (const id of [TEST_PAN, `auth-${TEST_PAN}`]) {
        const problems = problemsOf(cardRequest({ kind: 'refund', originalTransactionId: id }));
        expect(problems).toEqual([
          { path: '/originalTransactionId', message: expect.stringMatching(/card number/) as unknown },
        ]);
        expect(JSON.stringify(problems)).not.toContain(TEST_PAN);
      }
      // Control: the same digits failing the Luhn check are an ordinary id.
      expect(validate(cardRequest({ kind: 'refund', originalTransactionId: '4111111111111112' })).ok).toBe(true);
    });

    it.each<[unknown, string]>([
      ['', 'empty'],
      ['auth 0001', 'a space'],
      ['a'.repeat(129), '129 characters'],
      [42, 'a number'],
    ])('is refused when not an id (%p: %s)', (id) => {
      expect(paths(cardRequest({ kind: 'capture', originalTransactionId: id }))).toEqual(['/originalTransactionId']);
    });
  });
});
