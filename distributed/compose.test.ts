import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { readDashboardsConfig } from '../dashboards/config.js';
import { loadIngestConfig } from '../ingest/config.js';
import { parseLedgerSinkConfig } from '../ledger-sink/config.js';
import type { Env } from '../platform/config.js';
import { readNotifierConfig } from '../notifier/config.js';
import { readScoringConfig } from '../scoring/config.js';
import { type StageName, readServiceConfig } from './config.js';

/**
 * docker-compose.yml must provide every setting each service reads: for every Vigil service in the file, its
 * environment (with variables substituted as Compose does) is fed to the same config readers the process runs
 * at start, which fail on anything missing or out of range.
 */
interface ComposeService {
  readonly command?: readonly string[];
  readonly build?: string;
  readonly environment?: Readonly<Record<string, string | number>>;
}

const secrets: Env = {
  VIGIL_API_KEYS:
    'ingest:compose-ingest-key-0123,analyst:compose-analyst-key-012,compliance:compose-compliance-key,admin:compose-admin-key-01234',
  VIGIL_TOKENIZATION_KEY: 'compose-tokenization-key-0123456789abcdef',
  VIGIL_WEBHOOK_SECRET_KEY: 'compose-webhook-secret-key-0123456789abcdef',
  CLICKHOUSE_PASSWORD: 'compose-password',
  GRAFANA_ADMIN_PASSWORD: 'compose-password',
};

/** Compose variable substitution: ${VAR}, ${VAR:-default}, ${VAR:?error}. */
function interpolate(text: string, env: Env): string {
  return text.replace(
    /\$\{(\w+)(?::([-?])([^}]*))?\}/g,
    (_match, name: string, kind: string | undefined, arg: string) => {
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (kind === '-') return arg;
      throw new Error(`compose needs ${name}${kind === '?' ? `: ${arg}` : ''}`);
    },
  );
}

function services(env: Env): Record<string, ComposeService> {
  const text = readFileSync(fileURLToPath(new URL('../docker-compose.yml', import.meta.url)), 'utf8');
  return (parse(interpolate(text, env), { merge: true }) as { services: Record<string, ComposeService> }).services;
}

const readers: Record<StageName, (env: Env) => unknown> = {
  ingest: loadIngestConfig,
  scoring: readScoringConfig,
  'ledger-sink': parseLedgerSinkConfig,
  dashboards: readDashboardsConfig,
  notifier: readNotifierConfig,
};

function readEverything(service: ComposeService): void {
  const env: Env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]));
  const config = readServiceConfig(service.command ?? [], env);
  for (const stage of config.stages) readers[stage](env);
}

describe('docker-compose.yml', () => {
  const all = services(secrets);
  const vigil = Object.entries(all).filter(([, s]) => s.build !== undefined);

  it('runs every stage as its own service', () => {
    expect(vigil.flatMap(([, s]) => s.command ?? []).sort()).toEqual([
      'dashboards',
      'ingest',
      'ledger-sink',
      'notifier',
      'scoring',
    ]);
    expect(Object.keys(all)).toEqual(expect.arrayContaining(['kafka', 'clickhouse', 'elasticsearch', 'grafana']));
  });

  it.each(vigil.map(([name, service]) => [name, service] as const))(
    'provides every setting %s reads',
    (_name, service) => {
      expect(() => readEverything(service)).not.toThrow();
    },
  );

  it('the check fails when a setting a service needs is missing', () => {
    const [, ledger] = vigil.find(([name]) => name === 'ledger-sink')!;
    const { VIGIL_CLICKHOUSE_URL: _removed, ...without } = ledger.environment ?? {};
    expect(() => readEverything({ ...ledger, environment: without })).toThrow(/VIGIL_CLICKHOUSE_URL/);
    expect(() => services({ ...secrets, VIGIL_API_KEYS: undefined })).toThrow(/VIGIL_API_KEYS/);
  });

  it('holds no secrets: every credential comes from the environment', () => {
    const text = readFileSync(fileURLToPath(new URL('../docker-compose.yml', import.meta.url)), 'utf8');
    for (const key of [
      'VIGIL_API_KEYS',
      'VIGIL_TOKENIZATION_KEY',
      'VIGIL_WEBHOOK_SECRET_KEY',
      'CLICKHOUSE_PASSWORD',
      'GRAFANA_ADMIN_PASSWORD',
    ]) {
      expect(text).toMatch(new RegExp(`\\$\\{${key}:\\?`));
    }
  });
});
