import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, errors } from '@elastic/elasticsearch';
import { ElasticsearchAuditSearch } from '../dashboards/adapters/elasticsearch-audit-search.js';
import { readDashboardsConfig } from '../dashboards/config.js';
import { ElasticsearchAuditIndex } from '../ledger-sink/adapters/elasticsearch-audit-index.js';
import { parseLedgerSinkConfig } from '../ledger-sink/config.js';
import { scoredTransaction } from '../ledger-sink/testing/fixtures.js';
import { silentLogger } from '../platform/logger.js';
import { MetricsRegistry } from '../platform/metrics.js';
import { auditIndexPattern, elasticsearchConnection } from '../schemas/elasticsearch/audit.js';
import {
  deleteAuditIndices,
  requireSecuredElasticsearch,
  type SecuredElasticsearch,
  uniqueAuditPrefix,
} from '../schemas/elasticsearch/test-helpers.js';

/** The HTTP status an Elasticsearch call was refused with (undefined: it was not refused by Elasticsearch). */
async function refusal(call: Promise<unknown>): Promise<number | string | undefined> {
  try {
    await call;
    return undefined;
  } catch (error) {
    if (error instanceof errors.ResponseError) return error.statusCode;
    if (error instanceof errors.ConnectionError) return 'connection refused';
    throw error;
  }
}

/**
 * The audit index with Elasticsearch security on: HTTPS verified against the local CA, and an API key per stage
 * with least privilege (ledger-sink may create vigil-* indices and documents and install templates; dashboards may
 * only read vigil-*). The node is the secured one infra/services.sh starts beside the plain one; the settings are
 * read by the stages' own config readers, the key from a file, as a deployment would pass it.
 */
describe('the audit index on a secured Elasticsearch', () => {
  let es: SecuredElasticsearch;
  const clients: Client[] = [];
  const prefix = uniqueAuditPrefix('secured');

  /** A stage's environment for the secured node; the API key is passed as a file (VIGIL_ELASTICSEARCH_API_KEY_FILE). */
  const stageEnv = (apiKey: string) => {
    const keyFile = join(tmpdir(), `vigil-es-key-${process.pid}-${clients.length}`);
    writeFileSync(keyFile, `${apiKey}\n`, { mode: 0o600 });
    return {
      VIGIL_ELASTICSEARCH_URL: es.url,
      VIGIL_ELASTICSEARCH_CA_FILE: es.caFile,
      VIGIL_ELASTICSEARCH_API_KEY_FILE: keyFile,
      VIGIL_ELASTICSEARCH_AUDIT_PREFIX: prefix,
    };
  };
  const client = (options: ConstructorParameters<typeof Client>[0]): Client => {
    const created = new Client({ maxRetries: 0, requestTimeout: 30_000, ...options });
    clients.push(created);
    return created;
  };
  /** A client with the given key (or none) that trusts the local CA. */
  const withKey = (apiKey: string | undefined): Client =>
    client({
      node: es.url,
      tls: { ca: readFileSync(es.caFile, 'utf8') },
      ...(apiKey !== undefined ? { auth: { apiKey } } : {}),
    });

  beforeAll(() => {
    es = requireSecuredElasticsearch();
  });

  afterAll(async () => {
    // The stages' keys cannot delete indices (by design): the tests' cleanup key does.
    if (es !== undefined) await deleteAuditIndices(withKey(es.apiKeys['vigil-test-cleanup']), prefix);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('ledger-sink writes and dashboards searches an audit document, each with its own key, over verified TLS', async () => {
    const ledgerConfig = parseLedgerSinkConfig(stageEnv(es.apiKeys['vigil-ledger-sink'])).elasticsearch!;
    expect(String(ledgerConfig.apiKey)).toBe('[secret]');
    const writer = new ElasticsearchAuditIndex(
      client({ ...elasticsearchConnection(ledgerConfig) }),
      {
        indexPrefix: prefix,
        maxAttempts: 1,
        backoffMs: 10,
        maxBackoffMs: 10,
        bulkDocuments: 100,
        refresh: 'wait_for',
        nowMs: () => Date.now(),
      },
      silentLogger,
      new MetricsRegistry(),
    );
    await writer.ensureTemplate();
    const decision = scoredTransaction(7);
    expect(await writer.index([decision])).toEqual({ indexed: 1, alreadyIndexed: 0, rejected: [] });

    const dashboardsConfig = readDashboardsConfig(stageEnv(es.apiKeys['vigil-dashboards'])).elasticsearch!;
    const search = new ElasticsearchAuditSearch(client({ ...elasticsearchConnection(dashboardsConfig) }), prefix);
    const page = await search.search({ terms: [], limit: 10 });
    expect(page.hits.map((hit) => hit.transactionId)).toEqual([decision.transaction.transactionId]);
  });

  it('refuses a request without a key (401) and a valid key without index privileges (403)', async () => {
    const index = auditIndexPattern(prefix);
    expect(await refusal(withKey(undefined).search({ index }))).toBe(401);
    expect(await refusal(withKey(es.apiKeys['vigil-test-no-access']).search({ index }))).toBe(403);
    // Control: the same search with the dashboards key is allowed.
    expect(await refusal(withKey(es.apiKeys['vigil-dashboards']).search({ index }))).toBeUndefined();
  });

  it('gives each key only its own privileges', async () => {
    // Elasticsearch refuses a bulk as a whole when the key may write nowhere, and per item when it may write elsewhere.
    const createStatus = async (key: string, index: string): Promise<number | string | undefined> => {
      const write = withKey(key).bulk({
        operations: [{ create: { _index: index, _id: 'x' } }, { decision: 'APPROVE' }],
      });
      const refused = await refusal(write);
      return refused ?? (await write).items[0]?.create?.status;
    };
    // dashboards reads but cannot write; ledger-sink writes but cannot read, nor write outside vigil-*.
    expect(await createStatus(es.apiKeys['vigil-dashboards'], `${prefix}-2026.01`)).toBe(403);
    expect(await refusal(withKey(es.apiKeys['vigil-ledger-sink']).search({ index: auditIndexPattern(prefix) }))).toBe(
      403,
    );
    expect(await createStatus(es.apiKeys['vigil-ledger-sink'], 'other-audit')).toBe(403);
    // Control: the same write inside vigil-* is allowed to ledger-sink.
    expect(await createStatus(es.apiKeys['vigil-ledger-sink'], `${prefix}-2026.01`)).toBe(201);
  });

  it('does not connect without the local CA, nor over plain HTTP', async () => {
    const untrusted = client({ node: es.url, auth: { apiKey: es.apiKeys['vigil-dashboards'] } });
    expect(await refusal(untrusted.search({ index: auditIndexPattern(prefix) }))).toBe('connection refused');
    const plain = client({ node: es.url.replace('https:', 'http:') });
    expect(await refusal(plain.search({ index: auditIndexPattern(prefix) }))).toBe('connection refused');
  });
});
