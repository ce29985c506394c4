/**
 * `node --import tsx infra/elasticsearch-api-keys.ts <url> <caFile> <rolesFile> <outFile>`, with the `elastic`
 * password in VIGIL_ES_ELASTIC_PASSWORD: makes one API key per role in `rolesFile` (least privilege: the roles name
 * only the vigil-* indices), plus the tests' own keys (TEST_KEYS) when VIGIL_ES_TEST_KEYS=1, and writes them with
 * the URL and CA to `outFile`, and each key alone to `<role>.api-key` beside it (what VIGIL_ELASTICSEARCH_API_KEY_FILE
 * names); every file mode 0600, owned by VIGIL_ES_KEY_OWNER_UID when set. Keys still valid from an earlier run, made
 * from the same roles, are kept. Used by infra/services.sh and by docker-compose.yml's elasticsearch-setup.
 */
import { createHash } from 'node:crypto';
import { chownSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client } from '@elastic/elasticsearch';

/**
 * Keys for the tests only: a valid key with no privileges (to show it is refused with 403), and one that may delete
 * what the tests create under vigil-test-* (the stages' keys cannot delete indices, by design).
 */
const TEST_KEYS: Record<string, Record<string, unknown>> = process.env.VIGIL_ES_TEST_KEYS !== '1'
  ? {}
  : {
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
  for (const [name, apiKey] of Object.entries(previous.apiKeys)) {
    if (!existsSync(join(dirname(outFile), `${name}.api-key`))) return false;
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
    const owner = process.env.VIGIL_ES_KEY_OWNER_UID;
    const write = (file: string, text: string): void => {
      writeFileSync(file, text, { mode: 0o600 });
      if (owner !== undefined) chownSync(file, Number(owner), Number(owner));
    };
    for (const [name, key] of Object.entries(apiKeys)) write(join(dirname(outFile), `${name}.api-key`), `${key}\n`);
    write(outFile, JSON.stringify(connection, null, 2) + '\n');
    console.error(`[services] elasticsearch-secured: API keys made for ${Object.keys(apiKeys).join(', ')}`);
  } finally {
    await admin.close();
  }
}

await main();
