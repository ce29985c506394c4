/**
 * `npm run bench:distributed`: the pipeline in distributed mode on this machine — real Kafka and Elasticsearch
 * from `npm run services:up`, each stage its own process (ingest; scoring ×2 in one consumer group;
 * ledger-sink with dashboards, sharing chDB) — measured the same way as the embedded benchmark.
 * It deletes Vigil's topics on the broker first: run it against a test broker only.
 *
 * Options (env): BENCH_TRANSACTIONS (default 50000), BENCH_RATES (offered tx/s of the latency runs, default
 * 2000) each for BENCH_RATE_SECONDS (15), BENCH_BATCH (500), BENCH_CONCURRENCY (4), VIGIL_KAFKA_BROKERS
 * (127.0.0.1:9092). The stages run in other processes, so the CPU per stage and the profile are the embedded
 * benchmark's alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { type ServiceProcess, resetTestBroker, startService, stopService } from '../distributed/processes.js';
import { readInt } from '../platform/config.js';
import { KafkaBus } from '../platform/kafka/kafka-bus.js';
import { createLogger } from '../platform/logger.js';
import { measureThroughputAndLatency, readRates, readSyncBenchOptions } from './load.js';

const env = process.env;
const total = readInt(env, 'BENCH_TRANSACTIONS', 50_000, { min: 1000 });
const { rates, rateSeconds } = readRates({ BENCH_RATE_SECONDS: '15', ...env }, '2000');
const batchSize = readInt(env, 'BENCH_BATCH', 500, { min: 1, max: 5000 });
const concurrency = readInt(env, 'BENCH_CONCURRENCY', 4, { min: 1, max: 64 });
const brokers = (env['VIGIL_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const elasticsearchUrl = env['VIGIL_TEST_ELASTICSEARCH_URL'] ?? 'http://127.0.0.1:9200';

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-dist-bench-'));
  const auditPrefix = `vigil-bench-${Date.now()}`;
  const keys = {
    ingest: 'bench-ingest-key-0123456789',
    analyst: 'bench-analyst-key-0123456789',
    admin: 'bench-admin-key-0123456789',
  };
  const serviceEnv = {
    ...env,
    VIGIL_KAFKA_BROKERS: brokers.join(','),
    VIGIL_API_KEYS: Object.entries(keys)
      .map(([role, key]) => `${role}:${key}`)
      .join(','),
    VIGIL_TOKENIZATION_KEY: 'bench-tokenization-key-0123456789abcdef',
    VIGIL_HTTP_HOST: '127.0.0.1',
    VIGIL_HTTP_PORT: '0',
    VIGIL_PARTITIONS: '6',
    // startService waits for the 'service started' line, which is logged at info.
    VIGIL_LOG_LEVEL: 'info',
    VIGIL_ELASTICSEARCH_URL: elasticsearchUrl,
    VIGIL_ELASTICSEARCH_AUDIT_PREFIX: auditPrefix,
  };
  process.stdout.write(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}; Kafka ${brokers.join(',')}\n`,
  );
  await resetTestBroker(brokers);
  const services: ServiceProcess[] = [];
  const start = async (stages: string[], extra: Record<string, string>): Promise<ServiceProcess> => {
    const service = await startService(stages, { ...serviceEnv, ...extra });
    services.push(service);
    return service;
  };
  const bus = await KafkaBus.connect({ brokers, clientId: 'vigil-bench', logger: createLogger({ level: 'warn' }) });
  try {
    const sink = await start(['ledger-sink', 'dashboards'], {
      VIGIL_CLICKHOUSE_URL: `embedded:${join(dataDir, 'chdb')}`,
      VIGIL_DATA_DIR: join(dataDir, 'sink'),
    });
    await start(['scoring'], { VIGIL_DATA_DIR: join(dataDir, 'scoring-a') });
    await start(['scoring'], { VIGIL_DATA_DIR: join(dataDir, 'scoring-b') });
    const ingest = await start(['ingest'], { VIGIL_DATA_DIR: join(dataDir, 'ingest') });
    process.stdout.write(`services up: ${services.map((s) => s.url).join(' ')}\n`);
    await measureThroughputAndLatency({
      ingestUrl: ingest.url,
      dashboardsUrl: sink.url,
      keys,
      bus,
      acceptedMeans: 'acknowledged by Kafka',
      endToEndMeans: 'HTTP in → decision and ledger in ClickHouse, audit document sent to Elasticsearch',
      total,
      ledgerGroupId: 'ledger-sink',
      rates,
      rateSeconds,
      batchSize,
      concurrency,
      ...readSyncBenchOptions(process.env),
    });
  } finally {
    await Promise.all(services.map((s) => stopService(s)));
    await bus.close();
    await fetch(`${elasticsearchUrl}/${auditPrefix}-*`, { method: 'DELETE' }).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
