import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sampleTransaction } from '../fixtures.js';
import type { ScoredTransaction } from '../generated/types.js';
import {
  AUDIT_SCHEMA_VERSION,
  auditDocument,
  auditIndexTemplate,
  elasticsearchConnection,
  readAuditIndexTarget,
} from './audit.js';

type Mapping = { template: { mappings: { dynamic: string; properties: Record<string, unknown> } } };
const v1 = JSON.parse(
  readFileSync(fileURLToPath(new URL('./audit-template.v1.json', import.meta.url)), 'utf8'),
) as Mapping;

describe('audit document and its strict mapping', () => {
  const scored: ScoredTransaction = {
    transaction: sampleTransaction({ source: 'SIMULATOR', submittedBy: 'ingest:0a1b2c3d' }),
    decision: 'REVIEW',
    score: 0.2,
    risk: 0.7,
    reasons: [],
    rulesFired: [],
    features: {},
    featureValues: null,
    reportingCurrency: 'EUR',
    unconvertedCurrency: null,
    modelVersion: 'm1',
    rulesVersion: 'r1',
    scoredAtMs: Date.UTC(2026, 0, 1),
  };
  const doc = auditDocument(scored, Date.UTC(2026, 0, 1));

  it('records who submitted the transaction, its source and the combined risk beside the model score', () => {
    expect({ source: doc.source, submitted_by: doc.submitted_by, score: doc.score, risk: doc.risk }).toEqual({
      source: 'SIMULATOR',
      submitted_by: 'ingest:0a1b2c3d',
      score: 0.2,
      risk: 0.7,
    });
    expect(doc.schema_version).toBe(AUDIT_SCHEMA_VERSION);
  });

  it('maps every field the writer sends (dynamic: strict would refuse the document otherwise)', () => {
    const template = auditIndexTemplate('test-prefix');
    expect(template.template.mappings['dynamic']).toBe('strict');
    const mapped = Object.keys(template.template.mappings['properties'] as Record<string, unknown>);
    expect(Object.keys(doc).filter((field) => !mapped.includes(field))).toEqual([]);
    // Negative control: the v1 mapping lacks the new fields, which is why they need a new template and prefix.
    const v1Mapped = Object.keys(v1.template.mappings.properties);
    expect(Object.keys(doc).filter((field) => !v1Mapped.includes(field))).toEqual(['source', 'submitted_by', 'risk']);
  });
});

describe('the audit index target: API key and CA', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-audit-target-'));
  const keyFile = join(dir, 'api-key');
  const caFile = join(dir, 'ca.pem');
  writeFileSync(keyFile, 'ZW5jb2RlZDprZXk=\n');
  writeFileSync(caFile, 'CA PEM');

  it('reads the key (from a file here) and the CA, and hands both to the client, the key never serialised', () => {
    const target = readAuditIndexTarget({
      VIGIL_ELASTICSEARCH_URL: 'https://es.internal:9200',
      VIGIL_ELASTICSEARCH_API_KEY_FILE: keyFile,
      VIGIL_ELASTICSEARCH_CA_FILE: caFile,
    })!;
    expect(JSON.stringify(target)).not.toContain('ZW5jb2RlZDprZXk=');
    expect(elasticsearchConnection(target)).toEqual({
      node: 'https://es.internal:9200',
      auth: { apiKey: 'ZW5jb2RlZDprZXk=' },
      tls: { ca: 'CA PEM' },
    });
    // Security off (the embedded demo's and the test suite's plain node): no auth, Node's CAs.
    const plain = readAuditIndexTarget({ VIGIL_ELASTICSEARCH_URL: 'http://127.0.0.1:9200' })!;
    expect(elasticsearchConnection(plain)).toEqual({ node: 'http://127.0.0.1:9200' });
  });

  it('refuses to send a key, or to pin a CA, over plain http', () => {
    expect(() =>
      readAuditIndexTarget({ VIGIL_ELASTICSEARCH_URL: 'http://es:9200', VIGIL_ELASTICSEARCH_API_KEY: 'k' }),
    ).toThrow(/VIGIL_ELASTICSEARCH_URL.*https URL when VIGIL_ELASTICSEARCH_API_KEY/);
    expect(() =>
      readAuditIndexTarget({ VIGIL_ELASTICSEARCH_URL: 'http://es:9200', VIGIL_ELASTICSEARCH_CA_FILE: caFile }),
    ).toThrow(/https URL when VIGIL_ELASTICSEARCH_CA_FILE/);
  });
});
