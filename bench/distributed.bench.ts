/**
 * `npm run bench:distributed`: the pipeline in distributed mode on this machine — real Kafka and Elasticsearch
 * from `npm run services:up`, each stage its own process (ingest; scoring ×2 in one consumer group;
 * ledger-sink with dashboards, sharing chDB) — measured the same way as the embedded benchmark.
 * It deletes Vigil's topics on the broker first: run it against a test broker only.
 *
 * Options (env): BENCH_TRANSACTIONS (default 50000), BENCH_RATE_TPS (2000), BENCH_RATE_SECONDS (15),
 * BENCH_BATCH (500), BENCH_CONCURRENCY (4), VIGIL_KAFKA_BROKERS (127.0.0.1:9092).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { type ServiceProcess, resetTestBroker, startService, stopService } from '../distributed/processes.js';
import { apiClient, waitFor } from '../embedded/testing.js';
import { readInt } from '../platform/config.js';
import { KafkaBus } from '../platform/kafka/kafka-bus.js';
import { createLogger } from '../platform/logger.js';
import { createCodec } from '../schemas/codec.js';
import type { ScoredTransaction } from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import { runLoad, summarize } from './load.js';

const env = process.env;
const total = readInt(env, 'BENCH_TRANSACTIONS', 50_000, { min: 1000 });
const rateTps = readInt(env, 'BENCH_RATE_TPS', 2000, { min: 1 });
const rateSeconds = readInt(env, 'BENCH_RATE_SECONDS', 15, { min: 1 });
const batchSize = readInt(env, 'BENCH_BATCH', 500, { min: 1, max: 5000 });
const concurrency = readInt(env, 'BENCH_CONCURRENCY', 4, { min: 1, max: 64 });
const brokers = (env['VIGIL_KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const elasticsearchUrl = env['VIGIL_TEST_ELASTICSEARCH_URL'] ?? 'http://127.0.0.1:9200';

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-dist-bench-'));
  const auditPrefix = `vigil-bench-${Date.now()}`;
  const keys = { ingest: 'bench-ingest-key-0123456789', analyst: 'bench-analyst-key-0123456789', admin: 'bench-admin-key-0123456789' };
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
  process.stdout.write(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}; Kafka ${brokers.join(',')}\n`);
  await resetTestBroker(brokers);
  const services: ServiceProcess[] = [];
  const start = async (stages: string[], extra: Record<string, string>): Promise<ServiceProcess> => {
    const service = await startService(stages, { ...serviceEnv, ...extra });
    services.push(service);
    return service;
  };
  const bus = await KafkaBus.connect({ brokers, clientId: 'vigil-bench', logger: createLogger({ level: 'warn' }) });
  try {
    const sink = await start(['ledger-sink', 'dashboards'], { VIGIL_CLICKHOUSE_URL: `embedded:${join(dataDir, 'chdb')}`, VIGIL_DATA_DIR: join(dataDir, 'sink') });
    await start(['scoring'], { VIGIL_DATA_DIR: join(dataDir, 'scoring-a') });
    await start(['scoring'], { VIGIL_DATA_DIR: join(dataDir, 'scoring-b') });
    const ingest = await start(['ingest'], { VIGIL_DATA_DIR: join(dataDir, 'ingest') });
    process.stdout.write(`services up: ${services.map((s) => s.url).join(' ')}\n`);
    const admin = apiClient(sink.url, keys.admin);
    const decided = async (): Promise<number> => (await admin.get<{ decisionRows: number }>('/v1/reports/ledger-integrity')).body.decisionRows;
    const streamStartMs = Date.now() - Math.ceil((total + rateTps * rateSeconds) / 200_000 + 2) * 86_400_000;
    const job = { url: ingest.url, alertsUrl: sink.url, ingestKey: keys.ingest, analystKey: keys.analyst, seed: 1, streamStartMs, batchSize, concurrency, rateTps, seconds: rateSeconds };

    const burst = await runLoad({ ...job, mode: 'burst', skip: 0, count: total });
    await waitFor('every decision stored', async () => ((await decided()) >= total ? true : undefined), 900_000, 100);
    const storedMs = Date.now() - burst.startedAtMs;
    process.stdout.write(
      `throughput: ${total} transactions, batches of ${batchSize}, ${concurrency} requests in flight\n` +
        `  accepted by ingest (202, acknowledged by Kafka): ${Math.round(total / (burst.elapsedMs / 1000))} tx/s\n` +
        `  end to end (HTTP in → decision and ledger in ClickHouse, audit document sent to Elasticsearch): ${Math.round(total / (storedMs / 1000))} tx/s\n`,
    );

    const scoredCodec = await createCodec<ScoredTransaction>(new EmbeddedSchemaRegistry(), Topics.transactionsScored);
    const decisionLatency: number[] = [];
    const scored = await bus.subscribe({ groupId: `bench-latency-${Date.now()}`, topics: [Topics.transactionsScored], startFrom: 'latest' }, async (batch) => {
      const seenAt = Date.now();
      for (const r of batch.records) decisionLatency.push(seenAt - (await scoredCodec.decode(r.value)).transaction.receivedAtMs);
    });
    const paced = await runLoad({ ...job, mode: 'paced', skip: total, count: 0 });
    await waitFor('every paced decision seen', () => (decisionLatency.length >= paced.sent ? true : undefined), 300_000, 50);
    await scored.close();
    process.stdout.write(
      `latency: target ${rateTps} tx/s for ${rateSeconds} s, achieved ${Math.round(paced.sent / (paced.elapsedMs / 1000))} tx/s\n` +
        `  ingest → decision on tx.scored:  ${summarize(decisionLatency)}\n` +
        `  ingest → alert on the WebSocket: ${summarize(paced.alertLatenciesMs)}\n`,
    );
  } finally {
    await Promise.all(services.map(stopService));
    await bus.close();
    await fetch(`${elasticsearchUrl}/${auditPrefix}-*`, { method: 'DELETE' }).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
