import { resolve } from 'node:path';
import { ConfigError } from '../platform/errors.js';
import { type OidcConfig, readOidcConfig } from '../platform/oidc.js';
import {
  type Env,
  readBoolean,
  readEnum,
  readInt,
  readList,
  readOptionalFile,
  readOptionalSecret,
  readOptionalString,
  readString,
  Secret,
} from '../platform/config.js';
import type { KafkaSasl, KafkaTls } from '../platform/kafka/kafka-bus.js';

/** The stages a distributed-mode process can run; one per process, each scaled as a Kafka consumer group. */
export const StageNames = ['ingest', 'scoring', 'ledger-sink', 'dashboards', 'notifier'] as const;
export type StageName = (typeof StageNames)[number];

/**
 * Configuration of one stage's service in distributed mode, parsed once at start. Each stage reads its own
 * settings (thresholds, limits) from the same environment in its `config.ts`.
 */
export interface ServiceConfig {
  /** The stages this process runs (command-line arguments; usually one). */
  readonly stages: readonly StageName[];
  /** Kafka bootstrap brokers (VIGIL_KAFKA_BROKERS, comma-separated host:port; required). */
  readonly kafkaBrokers: readonly string[];
  /** Client id reported to the brokers (VIGIL_KAFKA_CLIENT_ID, default vigil-<stages>). */
  readonly kafkaClientId: string;
  /**
   * Prefix of every topic and consumer group on the cluster (VIGIL_KAFKA_NAMESPACE, e.g. `staging` → `staging.tx.raw`,
   * group `staging.scoring`); unset = Vigil's plain names. Lets several deployments or test runs share one cluster.
   */
  readonly kafkaNamespace: string | undefined;
  /**
   * TLS to the brokers, undefined = plaintext. On with VIGIL_KAFKA_TLS=true, and by default whenever a CA, a client
   * certificate or SASL is configured: VIGIL_KAFKA_CA_FILE (PEM; unset = Node's trusted CAs),
   * VIGIL_KAFKA_CLIENT_CERT_FILE and VIGIL_KAFKA_CLIENT_KEY_FILE (PEM, both or neither, for brokers that ask for one).
   */
  readonly kafkaTls: KafkaTls | undefined;
  /**
   * SASL/SCRAM, undefined = none: VIGIL_KAFKA_SASL_USERNAME, the password in VIGIL_KAFKA_SASL_PASSWORD or (better) a
   * file named by VIGIL_KAFKA_SASL_PASSWORD_FILE, VIGIL_KAFKA_SASL_MECHANISM (scram-sha-512 (default) or
   * scram-sha-256). Only over TLS.
   */
  readonly kafkaSasl: KafkaSasl | undefined;
  /** Replication factor for topics this service creates (VIGIL_KAFKA_REPLICATION_FACTOR, default 1). */
  readonly kafkaReplicationFactor: number;
  /** Partitions per topic when creating them (VIGIL_PARTITIONS, default 8). */
  readonly partitions: number;
  /** Confluent-compatible schema registry (VIGIL_SCHEMA_REGISTRY_URL); unset = the ids shipped in schemas/avro/ids.json. */
  readonly schemaRegistryUrl: string | undefined;
  /** ClickHouse for ledger-sink and dashboards (VIGIL_CLICKHOUSE_URL: http(s)://user:password@host:8123 or embedded:<dir>). */
  readonly clickhouseUrl: string | undefined;
  readonly clickhouseDatabase: string;
  /** `role:key` pairs (VIGIL_API_KEYS; required: distributed mode never generates keys). */
  readonly apiKeys: string;
  readonly httpPort: number;
  /** VIGIL_HTTP_HOST, default 0.0.0.0: a service in a container must be reachable from its network. */
  readonly httpHost: string;
  /** Local state: ingest's idempotency journal, scoring's snapshots (VIGIL_DATA_DIR, default ./.vigil-data/<stages>). */
  readonly dataDir: string;
  /**
   * Where ingest remembers accepted transaction ids (VIGIL_IDEMPOTENCY_STORE): `claims` (default), the claims topic
   * `ingest.idempotency` every ingest replica shares, so each answers a repeated id alike; `journal`, a file in the
   * data directory, for a single ingest process only (replicas with their own journals disagree).
   */
  readonly idempotencyStore: 'claims' | 'journal';
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** The bank's OpenID provider people sign in at (VIGIL_OIDC_*); unset = API keys only. */
  readonly oidc: OidcConfig | undefined;
  /**
   * Personal data sealed per customer (SECURITY.md, Personal data), on whenever the master key is set; undefined =
   * off: ingest writes personal fields as sent and the erasure and export routes answer 409 PERSONAL_DATA_KEYS_OFF.
   */
  readonly personalData: PersonalDataConfig | undefined;
}

/** The customer key store of ingest and dashboards (`platform/log-customer-key-store.ts`). */
export interface PersonalDataConfig {
  /**
   * VIGIL_PERSONAL_DATA_MASTER_KEY or (better) a file named by VIGIL_PERSONAL_DATA_MASTER_KEY_FILE: 32 random bytes as
   * base64 or 64 hex characters (`openssl rand -base64 32`), the same in every ingest and dashboards process. Every
   * data key on the `customer.keys` topic is wrapped under it; checked when the store opens.
   */
  readonly masterKey: Secret;
  /**
   * VIGIL_CUSTOMER_KEYS_COMPACTION_LAG_MS (default 3,600,000 = 1 h, 1,000 – 604,800,000): the topic's `segment.ms`
   * and `max.compaction.lag.ms`; an erased customer's wrapped keys leave the broker's disks within about twice this
   * (SECURITY.md). Applies when the topic is created.
   */
  readonly compactionLagMs: number;
  /**
   * VIGIL_PERSONAL_DATA_RETENTION_DAYS (default 400, 0 = forever), as in the embedded default: dashboards destroys each
   * key version once the last value it sealed is this old (versions rotate every 30 days).
   */
  readonly retentionDays: number;
}

/**
 * `stageArguments` are the command line's stage names. Several stages may share a process — needed where they
 * must share an in-process resource, such as ledger-sink and dashboards on one chDB data directory.
 */
export function readServiceConfig(stageArguments: readonly string[], env: Env): ServiceConfig {
  if (stageArguments.length === 0)
    throw new ConfigError('stages (arguments)', undefined, `one or more of ${StageNames.join(', ')}`);
  stageArguments.forEach((argument, index) => {
    if (!StageNames.includes(argument as StageName))
      throw new ConfigError(`stages (argument ${index + 1})`, argument, `one of ${StageNames.join(', ')}`);
  });
  const stages = [...new Set(stageArguments as StageName[])];
  const name = stages.join('+');
  const kafkaBrokers = readList(env, 'VIGIL_KAFKA_BROKERS');
  if (kafkaBrokers.length === 0)
    throw new ConfigError('VIGIL_KAFKA_BROKERS', undefined, 'comma-separated host:port of the Kafka brokers');
  const apiKeys = readOptionalString(env, 'VIGIL_API_KEYS');
  if (apiKeys === undefined)
    throw new ConfigError('VIGIL_API_KEYS', undefined, 'role:key pairs (distributed mode never generates keys)');
  const kafkaNamespace = readOptionalString(env, 'VIGIL_KAFKA_NAMESPACE');
  if (kafkaNamespace !== undefined && !/^[a-zA-Z0-9_-][a-zA-Z0-9._-]{0,99}$/.test(kafkaNamespace))
    throw new ConfigError(
      'VIGIL_KAFKA_NAMESPACE',
      kafkaNamespace,
      '1–100 characters of [a-zA-Z0-9._-], not starting with "."',
    );
  const clickhouseUrl = readOptionalString(env, 'VIGIL_CLICKHOUSE_URL');
  if ((stages.includes('ledger-sink') || stages.includes('dashboards')) && clickhouseUrl === undefined) {
    throw new ConfigError(
      'VIGIL_CLICKHOUSE_URL',
      undefined,
      'the ClickHouse URL ledger-sink writes to and dashboards reads from',
    );
  }
  const { tls: kafkaTls, sasl: kafkaSasl } = readKafkaSecurity(env);
  return Object.freeze({
    stages,
    kafkaBrokers,
    kafkaNamespace,
    kafkaTls,
    kafkaSasl,
    kafkaClientId: readString(env, 'VIGIL_KAFKA_CLIENT_ID', `vigil-${name}`),
    kafkaReplicationFactor: readInt(env, 'VIGIL_KAFKA_REPLICATION_FACTOR', 1, { min: 1, max: 7 }),
    partitions: readInt(env, 'VIGIL_PARTITIONS', 8, { min: 1, max: 256 }),
    schemaRegistryUrl: readOptionalString(env, 'VIGIL_SCHEMA_REGISTRY_URL'),
    clickhouseUrl,
    clickhouseDatabase: readString(env, 'VIGIL_CLICKHOUSE_DATABASE', 'default'),
    apiKeys,
    httpPort: readInt(env, 'VIGIL_HTTP_PORT', 8080, { min: 0, max: 65535 }),
    httpHost: readString(env, 'VIGIL_HTTP_HOST', '0.0.0.0'),
    dataDir: resolve(readString(env, 'VIGIL_DATA_DIR', `.vigil-data/${name}`)),
    idempotencyStore: readEnum(env, 'VIGIL_IDEMPOTENCY_STORE', ['claims', 'journal'] as const, 'claims'),
    logLevel: readEnum(env, 'VIGIL_LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info'),
    oidc: readOidcConfig(env),
    personalData: readPersonalDataConfig(env),
  });
}

function readPersonalDataConfig(env: Env): PersonalDataConfig | undefined {
  const masterKey = readOptionalSecret(env, 'VIGIL_PERSONAL_DATA_MASTER_KEY');
  if (masterKey === undefined) return undefined;
  return Object.freeze({
    masterKey,
    compactionLagMs: readInt(env, 'VIGIL_CUSTOMER_KEYS_COMPACTION_LAG_MS', 3_600_000, { min: 1_000, max: 604_800_000 }),
    retentionDays: readInt(env, 'VIGIL_PERSONAL_DATA_RETENTION_DAYS', 400, { min: 0, max: 36_500 }),
  });
}

/**
 * The Kafka transport settings documented on {@link ServiceConfig.kafkaTls} and {@link ServiceConfig.kafkaSasl}.
 * Files are read here, once, so a missing certificate or password file stops the process at start naming its key.
 */
export function readKafkaSecurity(env: Env): { tls: KafkaTls | undefined; sasl: KafkaSasl | undefined } {
  const username = readOptionalString(env, 'VIGIL_KAFKA_SASL_USERNAME');
  const password = readOptionalSecret(env, 'VIGIL_KAFKA_SASL_PASSWORD');
  const mechanism = readEnum(env, 'VIGIL_KAFKA_SASL_MECHANISM', ['scram-sha-512', 'scram-sha-256'], 'scram-sha-512');
  if ((username === undefined) !== (password === undefined)) {
    throw username === undefined
      ? new ConfigError('VIGIL_KAFKA_SASL_USERNAME', undefined, 'the SASL user whose password is set')
      : new ConfigError(
          'VIGIL_KAFKA_SASL_PASSWORD',
          undefined,
          `the password of SASL user ${username} (or VIGIL_KAFKA_SASL_PASSWORD_FILE)`,
        );
  }
  const sasl = username !== undefined && password !== undefined ? { mechanism, username, password } : undefined;
  const ca = readOptionalFile(env, 'VIGIL_KAFKA_CA_FILE');
  const cert = readOptionalFile(env, 'VIGIL_KAFKA_CLIENT_CERT_FILE');
  const keyText = readOptionalFile(env, 'VIGIL_KAFKA_CLIENT_KEY_FILE');
  if ((cert === undefined) !== (keyText === undefined))
    throw new ConfigError(
      cert === undefined ? 'VIGIL_KAFKA_CLIENT_CERT_FILE' : 'VIGIL_KAFKA_CLIENT_KEY_FILE',
      undefined,
      'a client certificate and its key: both or neither',
    );
  const enabled = readBoolean(env, 'VIGIL_KAFKA_TLS', ca !== undefined || cert !== undefined || sasl !== undefined);
  if (!enabled) {
    // Sent without TLS, the records and the SCRAM exchange could be read (and replayed) on the network.
    if (sasl !== undefined)
      throw new ConfigError('VIGIL_KAFKA_TLS', env.VIGIL_KAFKA_TLS, 'true when SASL credentials are set (SASL_SSL)');
    if (ca !== undefined || cert !== undefined)
      throw new ConfigError('VIGIL_KAFKA_TLS', env.VIGIL_KAFKA_TLS, 'true when a CA or client certificate is set');
    return { tls: undefined, sasl: undefined };
  }
  const tls: KafkaTls = {
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined && keyText !== undefined ? { cert, key: new Secret(keyText) } : {}),
  };
  return { tls: Object.freeze(tls), sasl: sasl === undefined ? undefined : Object.freeze(sasl) };
}
