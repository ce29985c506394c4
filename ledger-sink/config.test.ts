import { parseLedgerSinkConfig } from './config.js';

describe('ledger-sink config', () => {
  it('indexes audit documents only when VIGIL_ELASTICSEARCH_URL is set', () => {
    expect(parseLedgerSinkConfig({}).elasticsearch).toBeUndefined();
    expect(parseLedgerSinkConfig({ VIGIL_ELASTICSEARCH_URL: 'https://es.internal:9200' }).elasticsearch).toEqual({
      url: 'https://es.internal:9200',
      indexPrefix: 'vigil-audit-v2',
      requestTimeoutMs: 30_000,
      maxAttempts: 5,
      backoffMs: 200,
      maxBackoffMs: 5000,
      bulkDocuments: 1000,
    });
  });

  it('lingers 250 ms for larger batches by default; VIGIL_LEDGER_LINGER_MS sets it, 0 turns it off', () => {
    expect(parseLedgerSinkConfig({}).lingerMs).toBe(250);
    expect(parseLedgerSinkConfig({ VIGIL_LEDGER_LINGER_MS: '0' }).lingerMs).toBe(0);
    expect(() => parseLedgerSinkConfig({ VIGIL_LEDGER_LINGER_MS: '5001' })).toThrow(/VIGIL_LEDGER_LINGER_MS/);
    expect(parseLedgerSinkConfig({ VIGIL_LEDGER_LINGER_MS: '999', VIGIL_STUCK_AFTER_MS: '1000' }).lingerMs).toBe(999);
    expect(() => parseLedgerSinkConfig({ VIGIL_LEDGER_LINGER_MS: '1000', VIGIL_STUCK_AFTER_MS: '1000' })).toThrow(
      /VIGIL_LEDGER_LINGER_MS/,
    );
  });

  it('fails fast naming the key', () => {
    expect(() => parseLedgerSinkConfig({ VIGIL_ELASTICSEARCH_URL: 'ftp://x' })).toThrow(/VIGIL_ELASTICSEARCH_URL/);
    expect(() =>
      parseLedgerSinkConfig({ VIGIL_ELASTICSEARCH_URL: 'http://x:9200', VIGIL_LEDGER_AUDIT_MAX_ATTEMPTS: '0' }),
    ).toThrow(/VIGIL_LEDGER_AUDIT_MAX_ATTEMPTS/);
    expect(() =>
      parseLedgerSinkConfig({
        VIGIL_ELASTICSEARCH_URL: 'http://x:9200',
        VIGIL_LEDGER_AUDIT_BACKOFF_MS: '500',
        VIGIL_LEDGER_AUDIT_MAX_BACKOFF_MS: '100',
      }),
    ).toThrow(/VIGIL_LEDGER_AUDIT_MAX_BACKOFF_MS/);
  });

  describe('holds', () => {
    const DAY_MS = 86_400_000;

    it('defaults to 72 h reviews voided at expiry and 7 d authorisations, with no account type differing', () => {
      const config = parseLedgerSinkConfig({});
      expect(config.holds).toEqual({
        reviewTimeoutMs: 72 * 3_600_000,
        expiryPolicy: 'void',
        authorizationTimeoutMs: 7 * DAY_MS,
      });
      expect(config.holdsByAccountType).toEqual({});
    });

    it('reads VIGIL_LEDGER_AUTHORIZATION_HOLD_TIMEOUT_MS in 1000..31 days, and refuses anything else naming the key', () => {
      const read = (value: string) =>
        parseLedgerSinkConfig({ VIGIL_LEDGER_AUTHORIZATION_HOLD_TIMEOUT_MS: value }).holds.authorizationTimeoutMs;
      expect(read('1000')).toBe(1000);
      expect(read(String(31 * DAY_MS))).toBe(31 * DAY_MS);
      for (const bad of ['999', String(31 * DAY_MS + 1), '-1', '1.5', '1e4', 'seven days'])
        expect(() => read(bad)).toThrow(/VIGIL_LEDGER_AUTHORIZATION_HOLD_TIMEOUT_MS/);
    });

    it('reads VIGIL_LEDGER_HOLDS_<TYPE> over the general settings, each part optional', () => {
      const config = parseLedgerSinkConfig({
        VIGIL_LEDGER_REVIEW_HOLD_TIMEOUT_MS: '7200000',
        VIGIL_LEDGER_AUTHORIZATION_HOLD_TIMEOUT_MS: String(5 * DAY_MS),
        VIGIL_LEDGER_HOLDS_MERCHANT: 'review=86400000, expiry=post',
        VIGIL_LEDGER_HOLDS_SETTLEMENT: `authorization=${DAY_MS}`,
        VIGIL_LEDGER_HOLDS_SUSPENSE: '  ',
      });
      expect(config.holdsByAccountType).toEqual({
        MERCHANT: { reviewTimeoutMs: DAY_MS, expiryPolicy: 'post', authorizationTimeoutMs: 5 * DAY_MS },
        SETTLEMENT: { reviewTimeoutMs: 7_200_000, expiryPolicy: 'void', authorizationTimeoutMs: DAY_MS },
      });
      expect(Object.isFrozen(config.holdsByAccountType.MERCHANT)).toBe(true);
    });

    it.each([
      ['review=999', 'below the range'],
      [`authorization=${31 * DAY_MS + 1}`, 'above the range'],
      ['review=1.5e6', 'not an integer'],
      ['review=1e4', 'an exponent, not digits'],
      ['review=0x7d0', 'hexadecimal, not digits'],
      ['review=', 'empty'],
      ['expiry=keep', 'an unknown policy'],
      ['timeout=1000', 'an unknown setting'],
      ['review', 'not name=value'],
      ['review=1000=2000', 'two values'],
      ['review=1000,', 'an empty part'],
    ])('refuses VIGIL_LEDGER_HOLDS_MERCHANT=%s (%s), naming the key', (value) => {
      expect(() => parseLedgerSinkConfig({ VIGIL_LEDGER_HOLDS_MERCHANT: value })).toThrow(
        /config VIGIL_LEDGER_HOLDS_MERCHANT=/,
      );
    });

    it('refuses a bad value for every account type under its own key', () => {
      for (const type of ['CUSTOMER', 'MERCHANT', 'SETTLEMENT', 'CLEARING', 'FX_POSITION', 'SUSPENSE'])
        expect(() => parseLedgerSinkConfig({ [`VIGIL_LEDGER_HOLDS_${type}`]: 'expiry=never' })).toThrow(
          new RegExp(`config VIGIL_LEDGER_HOLDS_${type}=`),
        );
    });
  });
});
