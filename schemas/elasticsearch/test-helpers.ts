import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@elastic/elasticsearch';
import { auditIndexPattern, auditIndexTemplate } from './audit.js';

/**
 * Test support for the Elasticsearch audit index, shared by the ledger-sink (writer) and dashboards (reader)
 * integration tests: a client to the Elasticsearch that `npm run services:up` starts, unique prefixes, and the
 * cleanup of everything created under one.
 */
export const TEST_ELASTICSEARCH_URL = process.env['VIGIL_TEST_ELASTICSEARCH_URL'] ?? 'http://127.0.0.1:9200';

/**
 * A client to the test Elasticsearch. Rejects (so the suite FAILS, never skips) with what to run when the
 * cluster cannot be reached or is not healthy.
 */
export async function connectTestElasticsearch(): Promise<Client> {
  const client = new Client({ node: TEST_ELASTICSEARCH_URL, maxRetries: 0, requestTimeout: 10_000 });
  try {
    await client.cluster.health({ wait_for_status: 'yellow', timeout: '5s' });
    return client;
  } catch (error) {
    await client.close();
    throw new Error(
      `Elasticsearch is not reachable at ${TEST_ELASTICSEARCH_URL} (${error instanceof Error ? error.message : String(error)}). ` +
        'Start it with `npm run services:up` (or set VIGIL_TEST_ELASTICSEARCH_URL) and run the tests again.',
    );
  }
}

/** A prefix no other test run uses: lowercase, as index names must be. */
export function uniqueAuditPrefix(tag: string): string {
  return `vigil-test-${tag}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Installs the versioned audit template under `prefix`, as ledger-sink does at startup. */
export async function installAuditTemplate(client: Client, prefix: string): Promise<void> {
  const template = auditIndexTemplate(prefix);
  await client.indices.putIndexTemplate({ name: prefix, ...template });
}

/**
 * Deletes every index under `prefix` and its template. Indices are deleted by name: clusters refuse wildcard
 * deletes by default (`action.destructive_requires_name`).
 */
export async function deleteAuditIndices(client: Client, prefix: string): Promise<void> {
  const indices = await client.indices.get({
    index: auditIndexPattern(prefix),
    allow_no_indices: true,
    expand_wildcards: 'all',
  });
  const names = Object.keys(indices);
  if (names.length > 0) await client.indices.delete({ index: names });
  await client.indices.deleteIndexTemplate({ name: prefix }, { ignore: [404] });
}

/** Makes everything indexed under `prefix` searchable now. */
export async function refreshAuditIndices(client: Client, prefix: string): Promise<void> {
  await client.indices.refresh({ index: auditIndexPattern(prefix), allow_no_indices: true });
}

/** Documents under `prefix` (after a refresh). */
export async function countAuditDocuments(client: Client, prefix: string): Promise<number> {
  await refreshAuditIndices(client, prefix);
  const { count } = await client.count({ index: auditIndexPattern(prefix), allow_no_indices: true });
  return count;
}

/**
 * What infra/services.sh writes to `<services dir>/elasticsearch-secured/connection.json` about the secured node
 * (TLS from the local CA, API keys only): its URL, the CA file and one encoded API key per role of
 * infra/elasticsearch/api-key-roles.json, plus `vigil-test-no-access`, a valid key with no privileges.
 */
export interface SecuredElasticsearch {
  readonly url: string;
  readonly caFile: string;
  readonly apiKeys: Readonly<
    Record<'vigil-ledger-sink' | 'vigil-dashboards' | 'vigil-test-no-access' | 'vigil-test-cleanup', string>
  >;
}

/** The secured node's details. Fails the test (never skips it) when services.sh has not set it up, saying what to run. */
export function requireSecuredElasticsearch(): SecuredElasticsearch {
  const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
  const file = join(
    process.env.VIGIL_SERVICES_DIR ?? join(repoRoot, '.services'),
    'elasticsearch-secured',
    'connection.json',
  );
  if (!existsSync(file))
    throw new Error(
      `${file} is missing: the secured Elasticsearch is started by \`npm run services:up\` (or infra/services.sh up elasticsearch-secured)`,
    );
  return JSON.parse(readFileSync(file, 'utf8')) as SecuredElasticsearch;
}
