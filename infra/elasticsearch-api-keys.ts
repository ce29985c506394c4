/**
 * `node --import tsx infra/elasticsearch-api-keys.ts <url> <caFile> <rolesFile> <outFile>`, with the `elastic`
 * password in VIGIL_ES_ELASTIC_PASSWORD: makes one API key per role in `rolesFile` (least privilege: the roles name
 * only the vigil-* indices), plus the tests' own keys (TEST_KEYS), and writes them with the URL and CA to
 * `outFile` (mode 0600), which the secured-path tests read. Keys still valid from an earlier run, made from the same
 * roles, are kept. Used by infra/services.sh.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Client } from '@elastic/elasticsearch';

/**
 * Keys for the tests only: a valid key with no privileges (to show it is refused with 403), and one that may delete
 * what the tests create under vigil-test-* (the stages' keys cannot delete indices, by design).
 */
const TEST_KEYS: Record<string, Record<string, unknown>> = {
  'vigil-test-no-access': {},
  'vigil-test-cleanup': {
    cluster: ['manage_index_templates'],
    indices: [{ names: ['vigil-test-*'], privileges: ['delete_index', 'view_index_metadata'] }],
  },
};

interface Connection {
  readonly url: string;
  readonly caFile: string;
  /** Encoded API keys (base64 of `id:key`) by role name. */
  readonly apiKeys: Record<string, string>;
  readonly rolesSha256: string;
}

const [url = '', caFile = '', rolesFile = '', outFile = ''] = process.argv.slice(2);
const password = process.env.VIGIL_ES_ELASTIC_PASSWORD ?? '';
if ([url, caFile, rolesFile, outFile, password].includes('')) {
  console.error('usage: VIGIL_ES_ELASTIC_PASSWORD=… elasticsearch-api-keys.ts <url> <caFile> <rolesFile> <outFile>');
  process.exit(2);
}
const rolesText = readFileSync(rolesFile, 'utf8');
const roles = JSON.parse(rolesText) as Record<string, Record<string, unknown>>;
const rolesSha256 = createHash('sha256').update(rolesText).update(JSON.stringify(TEST_KEYS)).digest('hex');
const tls = { ca: readFileSync(caFile, 'utf8') };

async function stillValid(): Promise<boolean> {
  if (!existsSync(outFile)) return false;
  const previous = JSON.parse(readFileSync(outFile, 'utf8')) as Connection;
  if (previous.rolesSha256 !== rolesSha256 || previous.url !== url) return false;
  for (const apiKey of Object.values(previous.apiKeys)) {
    const client = new Client({ node: url, tls, auth: { apiKey }, maxRetries: 0 });
    try {
      await client.security.authenticate();
    } catch {
      return false;
    } finally {
      await client.close();
    }
  }
  return true;
}

async function main(): Promise<void> {
  if (await stillValid()) return;
  const admin = new Client({ node: url, tls, auth: { username: 'elastic', password }, maxRetries: 0 });
  try {
    const apiKeys: Record<string, string> = {};
    for (const [name, descriptor] of Object.entries({ ...roles, ...TEST_KEYS })) {
      const key = await admin.security.createApiKey({ name, role_descriptors: { [name]: descriptor } });
      apiKeys[name] = key.encoded;
    }
    const connection: Connection = { url, caFile, apiKeys, rolesSha256 };
    writeFileSync(outFile, JSON.stringify(connection, null, 2) + '\n', { mode: 0o600 });
    console.error(`[services] elasticsearch-secured: API keys made for ${Object.keys(apiKeys).join(', ')}`);
  } finally {
    await admin.close();
  }
}

await main();
