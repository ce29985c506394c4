import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { apiClient, waitFor } from '../embedded/testing.js';
import type {
  AlertPage,
  AuditSearchResponse,
  IngestBatchResponse,
  LedgerIntegrity,
  LiveMessage,
  SyncDecision,
} from '../schemas/api.js';
import { TrafficSimulator } from '../simulator/generator.js';
import { type ServiceProcess, resetTestBroker, startService, stopService } from './processes.js';

/**
 * Distributed mode on this machine: real Kafka and real Elasticsearch (`npm run services:up`), each stage its
 * own process — ingest, two scoring consumers in one group, and ledger-sink with dashboards (one process,
 * because chDB, the in-process ClickHouse engine, binds its data directory to one process; with a ClickHouse
 * server they run apart, as in docker-compose.yml). The same invariants as the embedded end-to-end test.
 */
const brokers = (process.env.VIGIL_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const elasticsearchUrl = process.env.VIGIL_TEST_ELASTICSEARCH_URL ?? 'http://127.0.0.1:9200';
const keys = {
  ingest: 'dist-ingest-key-0123456789',
  analyst: 'dist-analyst-key-0123456789',
  compliance: 'dist-compliance-key-0123456789',
  admin: 'dist-admin-key-0123456789',
};
const N = 1500;

describe('distributed mode on Kafka and Elasticsearch', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-dist-'));
  const auditPrefix = `vigil-e2e-${Date.now()}`;
  const services: ServiceProcess[] = [];
  const env = {
    ...process.env,
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

  async function start(stages: string[], extra: Record<string, string>): Promise<ServiceProcess> {
    const service = await startService(stages, { ...env, ...extra });
    services.push(service);
    return service;
  }

  beforeAll(async () => {
    const reachable = await fetch(elasticsearchUrl).then(
      () => true,
      () => false,
    );
    if (!reachable)
      throw new Error(`Elasticsearch is not reachable at ${elasticsearchUrl}: run \`npm run services:up\``);
    // A clean slate on the shared test broker: this test uses the product's real topic and group names.
    await resetTestBroker(brokers);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => stopService(s)));
    await fetch(`${elasticsearchUrl}/${auditPrefix}-*`, { method: 'DELETE' }).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('scores every transaction once across two scoring consumers (one killed mid-stream), posts once, balanced, alerts live, audit searchable in Elasticsearch', async () => {
    // Topics are created by the first service; the rest join.
    const sink = await start(['ledger-sink', 'dashboards'], {
      VIGIL_CLICKHOUSE_URL: `embedded:${join(dataDir, 'chdb')}`,
      VIGIL_DATA_DIR: join(dataDir, 'sink'),
    });
    const scoringA = await start(['scoring'], { VIGIL_DATA_DIR: join(dataDir, 'scoring-a') });
    const scoringB = await start(['scoring'], { VIGIL_DATA_DIR: join(dataDir, 'scoring-b') });
    // A deadline long enough for a loaded CI machine: the synchronous check below expects a 200.
    const ingestService = await start(['ingest'], {
      VIGIL_DATA_DIR: join(dataDir, 'ingest'),
      VIGIL_DECISION_DEADLINE_MS: '20000',
    });

    const alerts = new Set<string>();
    const socket = new WebSocket(`${sink.url.replace('http', 'ws')}/v1/alerts/live`, [
      'vigil.v1',
      `bearer.${keys.analyst}`,
    ]);
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as LiveMessage;
      if (message.type === 'alert') alerts.add(message.alert.transactionId);
    });
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });

    const simulator = new TrafficSimulator({
      seed: 11,
      startTimeMs: Date.now() - 3 * 86_400_000,
      customers: 300,
      terminals: 300,
      meanTxPerCustomerPerDay: 12,
      fraudScale: 3,
    });
    const requests = simulator.take(N).map((s) => s.request);
    const ingest = apiClient(ingestService.url, keys.ingest);
    const compliance = apiClient(sink.url, keys.compliance);
    const post = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i += 250) {
        const response = await ingest.post<IngestBatchResponse>(
          '/v1/transactions/batch',
          requests.slice(i, Math.min(to, i + 250)),
        );
        expect(response.status).toBe(200);
        expect(response.body.results.every((r) => r.status === 'accepted')).toBe(true);
      }
    };
    const scored = async (service: ServiceProcess): Promise<number> => {
      const text = await (
        await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${keys.admin}` } })
      ).text();
      return Number(/^vigil_scoring_scored_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
    };

    // First half: both scoring consumers take a share of the partitions.
    await post(0, N / 2);
    await waitFor(
      'the first half decided',
      async () =>
        (await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body.decisionRows >= N / 2
          ? true
          : undefined,
      120_000,
    );
    expect(await scored(scoringA)).toBeGreaterThan(0);
    expect(await scored(scoringB)).toBeGreaterThan(0);

    // One scoring consumer is killed (no leave, no commit); the other takes its partitions over and the second
    // half still ends up scored, posted once and balanced.
    await new Promise<void>((resolve) => {
      scoringB.child.once('exit', () => resolve());
      scoringB.child.kill('SIGKILL');
    });
    await post(N / 2, N);

    const integrity = await waitFor(
      `${N} decisions stored and every postable one posted`,
      async () => {
        const report = (await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body;
        // A batch's decisions and entries are inserted concurrently, its holds right after: wait for all three,
        // then check them exactly.
        const holds = report.openHolds + report.postedHolds + report.voidedHolds;
        return report.decisionRows >= N &&
          report.postedTransactions >= report.postableDecisions &&
          holds >= report.heldDecisions
          ? report
          : undefined;
      },
      180_000,
    );
    expect(integrity).toMatchObject({
      decisionRows: N,
      distinctDecisions: N,
      duplicateEntries: 0,
      unbalancedTransactions: 0,
      declinedWithEntries: 0,
      decisionsWithoutEntries: 0,
      entriesWithoutDecisions: 0,
      conflicts: 0,
      reviewsWithoutHolds: 0,
      holdsResolvedTwice: 0,
      entriesOfUnpostedHolds: 0,
    });
    // Approvals are booked and reviews held, once each, whichever scoring consumer decided them (and however
    // often the killed one's batches were decided again).
    expect(integrity.postedTransactions).toBe(integrity.postableDecisions + integrity.postedHolds);
    expect(integrity.openHolds + integrity.postedHolds + integrity.voidedHolds).toBe(integrity.heldDecisions);
    for (const total of integrity.totalsByCurrency) expect(total.sumMinor).toBe('0');

    expect(await scored(scoringA)).toBeGreaterThan(0);

    // Alerts arrived live.
    const analyst = apiClient(sink.url, keys.analyst);
    const listed = (await analyst.get<AlertPage>('/v1/alerts?limit=500')).body.alerts;
    expect(listed.length).toBeGreaterThan(0);
    await waitFor(
      'alerts pushed live',
      () => (listed.every((alert) => alerts.has(alert.transactionId)) ? true : undefined),
      30_000,
    );
    socket.close();

    // The audit trail is searchable in Elasticsearch (dashboards reads ES since VIGIL_ELASTICSEARCH_URL is set).
    const sample = requests[7]!;
    const hits = await waitFor(
      'audit documents searchable',
      async () => {
        const page = (
          await compliance.get<AuditSearchResponse>(`/v1/audit/search?account=${sample.payer.accountId}&limit=500`)
        ).body;
        return page.hits.some((h) => h.transactionId === sample.transactionId) ? page.hits : undefined;
      },
      60_000,
      500,
    );
    expect(hits.length).toBeGreaterThan(0);
    // One audit document per decision, once refreshed (Elasticsearch makes writes searchable within ~1 s).
    const count = async (): Promise<number> =>
      ((await (await fetch(`${elasticsearchUrl}/${auditPrefix}-*/_count`)).json()) as { count: number }).count;
    expect(
      await waitFor(
        'every audit document indexed',
        async () => ((await count()) >= N ? count() : undefined),
        30_000,
        250,
      ),
    ).toBe(N);

    // A synchronous decision through the ingest process, decided by the surviving scoring member on Kafka.
    const extra = { ...requests[0]!, transactionId: 'distributed-sync-1' };
    const sync = await ingest.post<SyncDecision>('/v1/decisions', extra);
    expect({ status: sync.status, body: sync.body }).toMatchObject({ status: 200 });
    expect(sync.body.transactionId).toBe('distributed-sync-1');
    const recorded = await waitFor(
      'the synchronous decision recorded',
      async () => {
        const r = await apiClient(sink.url, keys.ingest).get<SyncDecision>('/v1/decisions/distributed-sync-1');
        return r.status === 200 ? r.body : undefined;
      },
      60_000,
    );
    expect(recorded).toMatchObject({
      decision: sync.body.decision,
      score: sync.body.score,
      decidedAt: sync.body.decidedAt,
    });
  }, 400_000);
});
