import { parseLedgerSinkConfig } from './config.js';

describe('ledger-sink config', () => {
  it('indexes audit documents only when VIGIL_ELASTICSEARCH_URL is set', () => {
    expect(parseLedgerSinkConfig({}).elasticsearch).toBeUndefined();
    expect(parseLedgerSinkConfig({ VIGIL_ELASTICSEARCH_URL: 'https://es.internal:9200' }).elasticsearch).toEqual({
      url: 'https://es.internal:9200',
      indexPrefix: 'vigil-audit-v1',
      requestTimeoutMs: 30_000,
      maxAttempts: 5,
      backoffMs: 200,
      maxBackoffMs: 5000,
      bulkDocuments: 1000,
    });
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
});
