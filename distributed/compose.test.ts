import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
  readonly volumes?: readonly string[];
  readonly secrets?: readonly string[];
}

const secrets: Env = {
  VIGIL_API_KEYS:
    'ingest:compose-ingest-key-0123,analyst:compose-analyst-key-012,compliance:compose-compliance-key,admin:compose-admin-key-01234',
  VIGIL_TOKENIZATION_KEY: 'compose-tokenization-key-0123456789abcdef',
  VIGIL_WEBHOOK_SECRET_KEY: 'compose-webhook-secret-key-0123456789abcdef',
  CLICKHOUSE_PASSWORD: 'compose-password',
  CLICKHOUSE_WRITER_PASSWORD: 'compose-writer-password',
  CLICKHOUSE_READER_PASSWORD: 'compose-reader-password',
  CLICKHOUSE_GRAFANA_PASSWORD: 'compose-grafana-password',
  GRAFANA_ADMIN_PASSWORD: 'compose-password',
  KAFKA_SCRAM_PASSWORD: 'compose-scram-password',
  ELASTIC_PASSWORD: 'compose-elastic-password',
  VIGIL_PERSONAL_DATA_MASTER_KEY: 'Y29tcG9zZS1tYXN0ZXIta2V5LTAxMjM0NTY3ODlhYmM=',
};

/** Settings whose value is a path in the container that the process reads at start. */
const isFileSetting = (key: string): boolean => /_FILE$/.test(key);

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

/** Where a service's container can read files: its volume and bind mounts, and /run/secrets/<name> per secret. */
function mountPoints(service: ComposeService): string[] {
  return [
    ...(service.volumes ?? []).map((volume) => volume.split(':')[1] ?? ''),
    ...(service.secrets ?? []).map((secret) => `/run/secrets/${secret}`),
  ];
}

/** The files a service's settings name that no mount of it provides (the process would stop at start). */
function unmountedFiles(service: ComposeService): string[] {
  const mounts = mountPoints(service);
  return Object.entries(service.environment ?? {})
    .filter(([key]) => isFileSetting(key))
    .map(([, path]) => String(path))
    .filter((path) => !mounts.some((mount) => path === mount || path.startsWith(`${mount}/`)));
}

const fixtures = mkdtempSync(join(tmpdir(), 'vigil-compose-'));

/**
 * Feeds the service's environment to the stages' config readers. Files named by *_FILE settings are read at start,
 * so each is stood in for by a fixture file under a temporary root (their mounts are checked by unmountedFiles).
 */
function readEverything(service: ComposeService): void {
  const env = withStandInFiles(service);
  const config = readServiceConfig(service.command ?? [], env);
  for (const stage of config.stages) readers[stage](env);
}

/** The service's environment with each *_FILE setting pointing at a fixture file standing in for it. */
function withStandInFiles(service: ComposeService): Env {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => {
      if (!isFileSetting(key)) return [key, String(value)];
      const stand_in = join(fixtures, String(value));
      mkdirSync(dirname(stand_in), { recursive: true });
      writeFileSync(stand_in, `fixture for ${key}\n`);
      return [key, stand_in];
    }),
  );
}

describe('docker-compose.yml', () => {
  const all = services(secrets);
  // The stages: built from this repository and given a stage to run (elasticsearch-setup is built too, a one-shot).
  const vigil = Object.entries(all).filter(([, s]) => s.build !== undefined && s.command !== undefined);

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
      'CLICKHOUSE_WRITER_PASSWORD',
      'CLICKHOUSE_READER_PASSWORD',
      'CLICKHOUSE_GRAFANA_PASSWORD',
      'GRAFANA_ADMIN_PASSWORD',
      'KAFKA_SCRAM_PASSWORD',
      'ELASTIC_PASSWORD',
      'VIGIL_PERSONAL_DATA_MASTER_KEY',
    ]) {
      expect(text).toMatch(new RegExp(`\\$\\{${key}:\\?`));
    }
    expect(() => services({ ...secrets, KAFKA_SCRAM_PASSWORD: undefined })).toThrow(/KAFKA_SCRAM_PASSWORD/);
    expect(() => services({ ...secrets, VIGIL_PERSONAL_DATA_MASTER_KEY: undefined })).toThrow(
      /VIGIL_PERSONAL_DATA_MASTER_KEY/,
    );
  });

  it('gives ingest and dashboards, and no other stage, the personal-data master key as a secret file', () => {
    const holders = vigil.filter(
      ([, service]) => readServiceConfig(service.command ?? [], withStandInFiles(service)).personalData !== undefined,
    );
    expect(holders.map(([name]) => name).sort()).toEqual(['dashboards', 'ingest']);
    for (const [, service] of holders) {
      expect(service.environment?.VIGIL_PERSONAL_DATA_MASTER_KEY_FILE).toBe('/run/secrets/personal_data_master_key');
      expect(service.secrets).toContain('personal_data_master_key');
      expect(service.environment?.VIGIL_PERSONAL_DATA_MASTER_KEY).toBeUndefined();
    }
    // Negative control: without the setting a stage runs with personal data off.
    const [, ingest] = vigil.find(([name]) => name === 'ingest')!;
    const { VIGIL_PERSONAL_DATA_MASTER_KEY_FILE: _removed, ...without } = ingest.environment ?? {};
    expect(
      readServiceConfig(['ingest'], withStandInFiles({ ...ingest, environment: without })).personalData,
    ).toBeUndefined();
  });

  it('mounts every file a stage reads at start', () => {
    expect(vigil.flatMap(([, service]) => unmountedFiles(service))).toEqual([]);
    // Negative control: a CA file outside every mount is found.
    const [, ledger] = vigil.find(([name]) => name === 'ledger-sink')!;
    const moved = {
      ...ledger,
      environment: { ...ledger.environment, VIGIL_ELASTICSEARCH_CA_FILE: '/elsewhere/ca.pem' },
    };
    expect(unmountedFiles(moved)).toEqual(['/elsewhere/ca.pem']);
  });
});

/** How a stage reaches Kafka, Elasticsearch and ClickHouse, as its config readers see it; undefined where unused. */
function transportOf(service: ComposeService) {
  const env: Env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]));
  const clickhouse = env.VIGIL_CLICKHOUSE_URL === undefined ? undefined : new URL(env.VIGIL_CLICKHOUSE_URL);
  return {
    kafka: [env.VIGIL_KAFKA_BROKERS, env.VIGIL_KAFKA_CA_FILE !== undefined, env.VIGIL_KAFKA_SASL_PASSWORD_FILE],
    elasticsearch: env.VIGIL_ELASTICSEARCH_URL && [env.VIGIL_ELASTICSEARCH_URL, env.VIGIL_ELASTICSEARCH_API_KEY_FILE],
    clickhouseUser: clickhouse?.username,
  };
}

describe('docker-compose.yml transport security', () => {
  const all = services(secrets);
  const vigil = Object.fromEntries(Object.entries(all).filter(([, s]) => s.build !== undefined && s.command));
  const kafkaOverSaslSsl = ['kafka:9094', true, '/run/secrets/kafka_scram_password'];

  it('connects every stage to Kafka over SASL_SSL, Elasticsearch over HTTPS with its own key, ClickHouse as its own user', () => {
    expect(Object.fromEntries(Object.entries(vigil).map(([name, service]) => [name, transportOf(service)]))).toEqual({
      ingest: { kafka: kafkaOverSaslSsl, elasticsearch: undefined, clickhouseUser: undefined },
      scoring: { kafka: kafkaOverSaslSsl, elasticsearch: undefined, clickhouseUser: undefined },
      'ledger-sink': {
        kafka: kafkaOverSaslSsl,
        elasticsearch: ['https://elasticsearch:9200', '/es-keys/vigil-ledger-sink.api-key'],
        clickhouseUser: 'vigil_writer',
      },
      dashboards: {
        kafka: kafkaOverSaslSsl,
        elasticsearch: ['https://elasticsearch:9200', '/es-keys/vigil-dashboards.api-key'],
        clickhouseUser: 'vigil_reader',
      },
      notifier: { kafka: kafkaOverSaslSsl, elasticsearch: undefined, clickhouseUser: undefined },
    });
    // Negative control: a stage sent to the broker's plaintext port is seen.
    expect(transportOf({ environment: { VIGIL_KAFKA_BROKERS: 'kafka:9092' } }).kafka[0]).not.toBe('kafka:9094');
  });

  it('runs the broker with clients on SASL_SSL only, and Elasticsearch with security on', () => {
    const properties = readFileSync(
      fileURLToPath(new URL('../infra/kafka/compose-server.properties', import.meta.url)),
      'utf8',
    );
    const listeners = /^listeners=(.*)$/m.exec(properties)?.[1]?.split(',');
    // Only SASL_SSL listens beyond the container's loopback.
    expect(listeners?.filter((listener) => !listener.includes('//127.0.0.1:'))).toEqual(['SASL_SSL://0.0.0.0:9094']);
    expect(properties).toMatch(/^listener\.name\.sasl_ssl\.sasl\.enabled\.mechanisms=SCRAM-SHA-512$/m);
    const es = all.elasticsearch?.environment ?? {};
    expect([es['xpack.security.enabled'], es['xpack.security.http.ssl.enabled']]).toEqual(['true', 'true']);
    expect(all.clickhouse?.volumes).toContain(
      './infra/clickhouse/users.xml:/etc/clickhouse-server/users.d/vigil.xml:ro',
    );
    expect(all.grafana?.environment?.CLICKHOUSE_USER).toBe('vigil_grafana');
  });
});
