import { readDashboardsConfig } from '../config.js';
import { decodeAuditCursor, encodeAuditCursor, parseSearchText } from './audit-query.js';

describe('audit search text and cursors', () => {
  it('splits text into lowercased terms and each term into words, as ClickHouse splitByNonAlpha does', () => {
    expect(parseSearchText('  Impossible-Travel  R_VELOCITY_1H café ---  ')).toEqual([
      { text: 'impossible-travel', words: ['impossible', 'travel'] },
      { text: 'r_velocity_1h', words: ['r', 'velocity', '1h'] },
      { text: 'café', words: ['café'] },
      { text: '---', words: [] },
    ]);
    expect(parseSearchText('   ')).toEqual([]);
  });

  it('round-trips a cursor and refuses anything it did not issue', () => {
    const cursor = { eventTimeMs: 1_764_000_000_123, transactionId: 'tx-ü/1' };
    expect(decodeAuditCursor(encodeAuditCursor(cursor))).toEqual(cursor);
    expect(decodeAuditCursor('bogus')).toBeUndefined();
    expect(decodeAuditCursor(Buffer.from('[1,"x"]').toString('base64url'))).toBeUndefined(); // an alert cursor
    expect(decodeAuditCursor(Buffer.from('["a1",1.5,"x"]').toString('base64url'))).toBeUndefined();
  });

  it('reads Elasticsearch only when VIGIL_ELASTICSEARCH_URL is set, and fails fast on a bad one', () => {
    expect(readDashboardsConfig({}).elasticsearch).toBeUndefined();
    expect(readDashboardsConfig({ VIGIL_ELASTICSEARCH_URL: 'http://es:9200' }).elasticsearch).toEqual({
      url: 'http://es:9200',
      indexPrefix: 'vigil-audit-v2',
      requestTimeoutMs: 30_000,
    });
    expect(() => readDashboardsConfig({ VIGIL_ELASTICSEARCH_URL: 'es:9200' })).toThrow(/VIGIL_ELASTICSEARCH_URL/);
    expect(() =>
      readDashboardsConfig({ VIGIL_ELASTICSEARCH_URL: 'http://es:9200', VIGIL_ELASTICSEARCH_AUDIT_PREFIX: 'Audit*' }),
    ).toThrow(/VIGIL_ELASTICSEARCH_AUDIT_PREFIX/);
  });
});
