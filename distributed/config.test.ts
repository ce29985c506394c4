import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../platform/errors.js';
import { readKafkaSecurity, readServiceConfig } from './config.js';

const required = { VIGIL_KAFKA_BROKERS: '127.0.0.1:9092', VIGIL_API_KEYS: 'ingest:0123456789abcdef' };

describe('readServiceConfig: the idempotency store', () => {
  it('defaults to the claims topic every ingest replica shares', () => {
    expect(readServiceConfig(['ingest'], required).idempotencyStore).toBe('claims');
  });

  it('takes the per-process journal when asked', () => {
    expect(readServiceConfig(['ingest'], { ...required, VIGIL_IDEMPOTENCY_STORE: 'journal' }).idempotencyStore).toBe(
      'journal',
    );
  });

  it('refuses anything else, naming the key', () => {
    expect(() => readServiceConfig(['ingest'], { ...required, VIGIL_IDEMPOTENCY_STORE: 'redis' })).toThrow(ConfigError);
    expect(() => readServiceConfig(['ingest'], { ...required, VIGIL_IDEMPOTENCY_STORE: 'redis' })).toThrow(
      /VIGIL_IDEMPOTENCY_STORE/,
    );
  });
});

describe('Kafka transport settings (readKafkaSecurity)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-kafka-config-'));
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const ca = file('ca.pem', 'CA PEM');
  const cert = file('client.pem', 'CERT PEM');
  const key = file('client.key', 'KEY PEM');
  const password = file('password', 'p4ssw0rd\n');

  it('is plaintext when nothing is set', () => {
    expect(readKafkaSecurity({})).toEqual({ tls: undefined, sasl: undefined });
  });

  it('reads TLS and SCRAM from files, turning TLS on by itself, and keeps the secrets out of serialisation', () => {
    const { tls, sasl } = readKafkaSecurity({
      VIGIL_KAFKA_CA_FILE: ca,
      VIGIL_KAFKA_CLIENT_CERT_FILE: cert,
      VIGIL_KAFKA_CLIENT_KEY_FILE: key,
      VIGIL_KAFKA_SASL_USERNAME: 'vigil',
      VIGIL_KAFKA_SASL_PASSWORD_FILE: password,
    });
    expect(tls).toMatchObject({ ca: 'CA PEM', cert: 'CERT PEM' });
    expect(tls?.key?.reveal()).toBe('KEY PEM');
    expect(sasl).toMatchObject({ mechanism: 'scram-sha-512', username: 'vigil' });
    expect(sasl?.password.reveal()).toBe('p4ssw0rd');
    expect(JSON.stringify({ tls, sasl })).not.toMatch(/KEY PEM|p4ssw0rd/);
    // TLS with Node's trusted CAs (a managed Kafka with a public certificate).
    expect(readKafkaSecurity({ VIGIL_KAFKA_TLS: 'true' })).toEqual({ tls: {}, sasl: undefined });
    expect(
      readKafkaSecurity({
        VIGIL_KAFKA_SASL_USERNAME: 'vigil',
        VIGIL_KAFKA_SASL_PASSWORD: 'x',
        VIGIL_KAFKA_SASL_MECHANISM: 'scram-sha-256',
      }).sasl?.mechanism,
    ).toBe('scram-sha-256');
  });

  it.each<[string, Record<string, string>, RegExp]>([
    [
      'SASL without TLS',
      { VIGIL_KAFKA_TLS: 'false', VIGIL_KAFKA_SASL_USERNAME: 'u', VIGIL_KAFKA_SASL_PASSWORD: 'p' },
      /VIGIL_KAFKA_TLS.*SASL/,
    ],
    ['a CA with TLS off', { VIGIL_KAFKA_TLS: 'false', VIGIL_KAFKA_CA_FILE: ca }, /VIGIL_KAFKA_TLS/],
    ['a user without a password', { VIGIL_KAFKA_SASL_USERNAME: 'u' }, /VIGIL_KAFKA_SASL_PASSWORD/],
    ['a password without a user', { VIGIL_KAFKA_SASL_PASSWORD: 'p' }, /VIGIL_KAFKA_SASL_USERNAME/],
    ['a certificate without its key', { VIGIL_KAFKA_CLIENT_CERT_FILE: cert }, /VIGIL_KAFKA_CLIENT_KEY_FILE/],
    ['a missing CA file', { VIGIL_KAFKA_CA_FILE: join(dir, 'missing.pem') }, /VIGIL_KAFKA_CA_FILE.*missing\.pem/],
    ['an unknown mechanism', { VIGIL_KAFKA_SASL_MECHANISM: 'plain' }, /VIGIL_KAFKA_SASL_MECHANISM/],
  ])('fails fast naming the key: %s', (_name, env, message) => {
    expect(() => readKafkaSecurity(env)).toThrow(message);
  });

  it('is part of the service config', () => {
    const config = readServiceConfig(['scoring'], {
      VIGIL_KAFKA_BROKERS: 'kafka:9094',
      VIGIL_API_KEYS: 'admin:0123456789abcdef',
      VIGIL_KAFKA_CA_FILE: ca,
      VIGIL_KAFKA_SASL_USERNAME: 'vigil',
      VIGIL_KAFKA_SASL_PASSWORD_FILE: password,
    });
    expect(config.kafkaTls).toEqual({ ca: 'CA PEM' });
    expect(config.kafkaSasl?.username).toBe('vigil');
  });
});

describe('readServiceConfig: personal data', () => {
  it('is off without a master key (the erasure and export routes then answer 409)', () => {
    expect(readServiceConfig(['dashboards'], { ...required, VIGIL_CLICKHOUSE_URL: 'embedded:/x' }).personalData).toBe(
      undefined,
    );
  });

  it('is on with the master key from a file, which it never prints', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-master-key-'));
    const file = join(dir, 'master-key');
    writeFileSync(file, `${Buffer.alloc(32, 1).toString('base64')}\n`);
    const config = readServiceConfig(['ingest'], { ...required, VIGIL_PERSONAL_DATA_MASTER_KEY_FILE: file });
    expect(config.personalData?.masterKey.reveal()).toBe(Buffer.alloc(32, 1).toString('base64'));
    expect(config.personalData).toMatchObject({ compactionLagMs: 3_600_000, retentionDays: 400 });
    expect(JSON.stringify(config)).not.toContain(Buffer.alloc(32, 1).toString('base64'));
  });

  it('refuses a compaction lag out of range, naming the key', () => {
    expect(() =>
      readServiceConfig(['ingest'], {
        ...required,
        VIGIL_PERSONAL_DATA_MASTER_KEY: 'k',
        VIGIL_CUSTOMER_KEYS_COMPACTION_LAG_MS: '10',
      }),
    ).toThrow(/VIGIL_CUSTOMER_KEYS_COMPACTION_LAG_MS/);
  });
});
