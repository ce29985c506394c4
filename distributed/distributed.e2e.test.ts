import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import WebSocket from 'ws';
import { type LedgerIntegrity, apiClient, waitFor } from '../embedded/testing.js';
import type { IngestResult } from '../schemas/api.js';
import { Topics } from '../schemas/topics.js';
import { TrafficSimulator } from '../simulator/generator.js';

/**
 * Distributed mode on this machine: real Kafka and real Elasticsearch (`npm run services:up`), each stage its
 * own process — ingest, two scoring consumers in one group, and ledger-sink with dashboards (one process,
 * because chDB, the in-process ClickHouse engine, binds its data directory to one process; with a ClickHouse
 * server they run apart, as in docker-compose.yml). The same invariants as the embedded end-to-end test.
 */
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const brokers = (process.env.VIGIL_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const elasticsearchUrl = process.env.VIGIL_TEST_ELASTICSEARCH_URL ?? 'http://127.0.0.1:9200';
const keys = {
  ingest: 'dist-ingest-key-0123456789',
  analyst: 'dist-analyst-key-0123456789',
  compliance: 'dist-compliance-key-0123456789',
  admin: 'dist-admin-key-0123456789',
};
const N = 1500;

interface Service {
  readonly child: ChildProcess;
  readonly url: string;
}

describe('distributed mode on Kafka and Elasticsearch', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-dist-'));
  const auditPrefix = `vigil-e2e-${Date.now()}`;
  const services: Service[] = [];
  const env = {
    ...process.env,
    NODE_OPTIONS: '',
    VIGIL_KAFKA_BROKERS: brokers.join(','),
    VIGIL_API_KEYS: Object.entries(keys)
      .map(([role, key]) => `${role}:${key}`)
      .join(','),
    VIGIL_TOKENIZATION_KEY: 'dist-tokenization-key-0123456789abcdef',
    VIGIL_HTTP_HOST: '127.0.0.1',
    VIGIL_HTTP_PORT: '0',
    VIGIL_PARTITIONS: '6',
    VIGIL_LOG_LEVEL: 'info',
    VIGIL_ELASTICSEARCH_URL: elasticsearchUrl,
    VIGIL_ELASTICSEARCH_AUDIT_PREFIX: auditPrefix,
  };

  function start(stages: string[], extra: Record<string, string>): Promise<Service> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'distributed/main.ts'), ...stages], {
      cwd: repoRoot,
      env: { ...env, ...extra },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    return new Promise((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        log += chunk.toString('utf8');
        const line = log.split('\n').find((l) => l.includes('"service started"'));
        if (line) {
          const service = { child, url: (JSON.parse(line) as { url: string }).url };
          services.push(service);
          resolve(service);
        }
      });
      child.once('exit', (code) => reject(new Error(`${stages.join('+')} exited with ${code}: ${log.slice(-3000)}`)));
    });
  }

  beforeAll(async () => {
    const reachable = await fetch(elasticsearchUrl).then(
      () => true,
      () => false,
    );
    if (!reachable) throw new Error(`Elasticsearch is not reachable at ${elasticsearchUrl}: run \`npm run services:up\``);
    // A clean slate on the shared test broker: this test uses the product's real topic and group names.
    const admin = new kafkajs.Kafka({ brokers, clientId: 'vigil-e2e-reset', logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect().catch((error: unknown) => {
      throw new Error(`Kafka is not reachable at ${brokers.join(',')}: run \`npm run services:up\` (${String(error)})`);
    });
    const existing = await admin.listTopics();
    const ours = Object.values(Topics).filter((t) => existing.includes(t));
    if (ours.length > 0) await admin.deleteTopics({ topics: ours, timeout: 30_000 });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => ['scoring', 'ledger-sink', 'dashboards-live', 'dashboards-stats'].includes(g));
    if (groups.length > 0) await admin.deleteGroups(groups);
    await waitFor('old topics deleted', async () => ((await admin.listTopics()).some((t) => ours.includes(t as never)) ? undefined : true), 30_000);
    await admin.disconnect();
  }, 90_000);

  afterAll(async () => {
    await Promise.all(
      services.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.child.exitCode !== null) return resolve();
            s.child.once('exit', () => resolve());
            s.child.kill('SIGTERM');
          }),
      ),
    );
    await fetch(`${elasticsearchUrl}/${auditPrefix}-*`, { method: 'DELETE' }).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('scores every transaction once across two scoring consumers, posts once, balanced, alerts live, audit searchable in Elasticsearch', async () => {
    // Topics are created by the first service; the rest join.
    const sink = await start(['ledger-sink', 'dashboards'], { VIGIL_CLICKHOUSE_URL: `embedded:${join(dataDir, 'chdb')}`, VIGIL_DATA_DIR: join(dataDir, 'sink') });
    const scoringA = await start(['scoring'], { VIGIL_DATA_DIR: join(dataDir, 'scoring-a') });
    const scoringB = await start(['scoring'], { VIGIL_DATA_DIR: join(dataDir, 'scoring-b') });
    const ingestService = await start(['ingest'], { VIGIL_DATA_DIR: join(dataDir, 'ingest') });

    const alerts = new Set<string>();
    const socket = new WebSocket(`${sink.url.replace('http', 'ws')}/v1/alerts/live`, ['vigil.v1', `bearer.${keys.analyst}`]);
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as { type: string; alert?: { transactionId: string } };
      if (message.type === 'alert') alerts.add(message.alert!.transactionId);
    });
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });

    const simulator = new TrafficSimulator({ seed: 11, startTimeMs: Date.now() - 3 * 86_400_000, customers: 300, terminals: 300, meanTxPerCustomerPerDay: 12, fraudScale: 3 });
    const requests = simulator.take(N).map((s) => s.request);
    const ingest = apiClient(ingestService.url, keys.ingest);
    for (let i = 0; i < N; i += 250) {
      const response = await ingest.post<{ results: IngestResult[] }>('/v1/transactions/batch', requests.slice(i, i + 250));
      expect(response.status).toBe(200);
      expect(response.body.results.every((r) => r.status === 'accepted')).toBe(true);
    }

    const compliance = apiClient(sink.url, keys.compliance);
    const integrity = await waitFor(
      `${N} decisions stored`,
      async () => {
        const report = (await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body;
        return report.decisionRows >= N ? report : undefined;
      },
      180_000,
    );
    expect(integrity).toMatchObject({ decisionRows: N, distinctDecisions: N, duplicateEntries: 0, unbalancedTransactions: 0, declinedWithEntries: 0, conflicts: 0 });
    for (const total of integrity.totalsByCurrency) expect(total.sumMinor).toBe('0');

    // Both scoring consumers took a share of the partitions.
    const scored = async (service: Service): Promise<number> => {
      const text = await (await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${keys.admin}` } })).text();
      return Number(/^vigil_scoring_scored_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const [a, b] = [await scored(scoringA), await scored(scoringB)];
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
    expect(a + b).toBeGreaterThanOrEqual(N);

    // Alerts arrived live.
    const analyst = apiClient(sink.url, keys.analyst);
    const listed = (await analyst.get<{ alerts: Array<{ transactionId: string }> }>('/v1/alerts?limit=500')).body.alerts;
    expect(listed.length).toBeGreaterThan(0);
    await waitFor('alerts pushed live', () => (listed.every((alert) => alerts.has(alert.transactionId)) ? true : undefined), 30_000);
    socket.close();

    // The audit trail is searchable in Elasticsearch (dashboards reads ES since VIGIL_ELASTICSEARCH_URL is set).
    const sample = requests[7]!;
    const hits = await waitFor(
      'audit documents searchable',
      async () => {
        const page = (await compliance.get<{ hits: Array<{ transactionId: string }> }>(`/v1/audit/search?account=${sample.payer.accountId}&limit=500`)).body;
        return page.hits.some((h) => h.transactionId === sample.transactionId) ? page.hits : undefined;
      },
      60_000,
      500,
    );
    expect(hits.length).toBeGreaterThan(0);
    // One audit document per decision, once refreshed (Elasticsearch makes writes searchable within ~1 s).
    const count = async (): Promise<number> => ((await (await fetch(`${elasticsearchUrl}/${auditPrefix}-*/_count`)).json()) as { count: number }).count;
    expect(await waitFor('every audit document indexed', async () => ((await count()) >= N ? count() : undefined), 30_000, 250)).toBe(N);
  }, 400_000);
});
