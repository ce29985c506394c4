import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { silentLogger } from '../platform/logger.js';
import type {
  AlertPage,
  AuditTrail,
  IngestBatchResponse,
  LedgerIntegrity,
  LiveMessage,
  TransactionRequest,
} from '../schemas/api.js';
import { createCodec } from '../schemas/codec.js';
import type { DeadLetter, Transaction } from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import { TrafficSimulator } from '../simulator/generator.js';
import { type EmbeddedPipeline, startEmbeddedPipeline } from './pipeline.js';
import { apiClient, ledgerInvariantViolations, waitFor } from './testing.js';

/**
 * The whole pipeline in one process: simulated transactions in through the HTTP API, then every invariant a
 * bank relies on, checked through the product's own API and topics.
 */
const keys = {
  ingest: 'e2e-ingest-key-0123456789',
  analyst: 'e2e-analyst-key-0123456789',
  compliance: 'e2e-compliance-key-0123456789',
};
const N = 2000;

/** Card numbers from `pans` found in raw bytes: any PAN would sit inside a run of ASCII digits. */
function pansIn(bytes: Buffer, pans: ReadonlySet<string>): string[] {
  const found: string[] = [];
  for (const run of bytes.toString('latin1').match(/\d{12,}/g) ?? []) {
    for (let length = 12; length <= 19; length++) {
      for (let start = 0; start + length <= run.length; start++)
        if (pans.has(run.slice(start, start + length))) found.push(run.slice(start, start + length));
    }
  }
  return found;
}

describe('embedded pipeline, end to end', () => {
  let dataDir: string;
  let pipeline: EmbeddedPipeline;
  let requests: TransactionRequest[];
  const liveAlerts = new Map<string, number>();
  let socket: WebSocket;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-e2e-'));
    pipeline = await startEmbeddedPipeline({
      env: {
        VIGIL_DATA_DIR: dataDir,
        VIGIL_HTTP_PORT: '0',
        VIGIL_SIMULATOR_TPS: '0',
        VIGIL_API_KEYS: Object.entries(keys)
          .map(([role, key]) => `${role}:${key}`)
          .join(','),
      },
      logger: silentLogger,
    });
    // A small, busy population a few days back, so velocity and history features are exercised.
    const simulator = new TrafficSimulator({
      seed: 42,
      startTimeMs: Date.now() - 3 * 86_400_000,
      customers: 300,
      terminals: 400,
      meanTxPerCustomerPerDay: 14,
      fraudScale: 3,
    });
    requests = simulator.take(N).map((s) => s.request);
    expect(Date.parse(requests.at(-1)!.eventTime!)).toBeLessThan(Date.now());

    socket = new WebSocket(pipeline.url.replace('http', 'ws') + '/v1/alerts/live', [
      'vigil.v1',
      `bearer.${keys.analyst}`,
    ]);
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as LiveMessage;
      if (message.type === 'alert')
        liveAlerts.set(message.alert.transactionId, (liveAlerts.get(message.alert.transactionId) ?? 0) + 1);
    });
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
  }, 60_000);

  afterAll(async () => {
    socket?.close();
    await pipeline?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('accepts every valid transaction, scores it once, posts approved and reviewed ones once, balanced, and pushes alerts live', async () => {
    const ingest = apiClient(pipeline.url, keys.ingest);
    const compliance = apiClient(pipeline.url, keys.compliance);
    const analyst = apiClient(pipeline.url, keys.analyst);

    // A few one at a time, the rest in batches, a batch sent twice (a client retry).
    for (const request of requests.slice(0, 20))
      expect((await ingest.post('/v1/transactions', request)).status).toBe(202);
    for (let i = 20; i < N; i += 250) {
      const response = await ingest.post<IngestBatchResponse>('/v1/transactions/batch', requests.slice(i, i + 250));
      expect(response.status).toBe(200);
      expect(response.body.results.every((r) => r.status === 'accepted')).toBe(true);
    }
    const retry = await ingest.post<IngestBatchResponse>('/v1/transactions/batch', requests.slice(20, 270));
    expect(retry.body.results.every((r) => r.status === 'duplicate')).toBe(true);

    const integrity = await waitFor(
      `${N} decisions stored`,
      async () => {
        const report = await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity');
        return report.body.decisionRows >= N ? report.body : undefined;
      },
      120_000,
    );
    // Every alert the API lists arrived on the WebSocket exactly once.
    const alerted = new Set<string>();
    const declined = new Set<string>();
    const reviewed = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: AlertPage = (await analyst.get<AlertPage>(`/v1/alerts?limit=500${cursor ? `&cursor=${cursor}` : ''}`))
        .body;
      for (const alert of page.alerts) {
        alerted.add(alert.transactionId);
        (alert.decision === 'DECLINE' ? declined : reviewed).add(alert.transactionId);
      }
      cursor = page.nextCursor;
    } while (cursor);
    expect(alerted.size).toBeGreaterThan(0);
    expect(declined.size).toBeGreaterThan(0);
    await waitFor(
      'every alert pushed live',
      () => ([...alerted].every((id) => liveAlerts.has(id)) ? true : undefined),
      30_000,
    );
    expect([...liveAlerts.values()].every((count) => count === 1)).toBe(true);
    expect([...liveAlerts.keys()].every((id) => alerted.has(id))).toBe(true);

    // The audit trail of every declined transaction and of a sample of the rest, then every ledger invariant
    // (testing.ts, where each check is shown to fail on planted input): every transaction decided once, exactly the
    // approved ones booked and the reviewed ones held, each entry once, balanced per currency, declines posting nothing.
    const sampled = requests.filter((_r, i) => i % 40 === 0).map((r) => r.transactionId);
    const trails: AuditTrail[] = [];
    for (const id of new Set([...declined, ...sampled])) {
      const response = await compliance.get<AuditTrail>(`/v1/transactions/${id}`);
      expect(response.status).toBe(200);
      trails.push(response.body);
    }
    expect(ledgerInvariantViolations(integrity, trails, { transactions: N, declined, reviewed })).toEqual([]);
  }, 180_000);

  it('sends bad input to the dead-letter topic with reasons, and never writes a card number to the log', async () => {
    const ingest = apiClient(pipeline.url, keys.ingest);
    const base = requests[0]!;
    const bad = [
      { ...base, transactionId: 'bad-amount', amount: { value: '12.345', currency: 'EUR' } },
      { ...base, transactionId: 'bad-currency', amount: { value: '10.00', currency: 'XYZ' } },
      { ...base, transactionId: 'bad-cvv', card: { number: '4111111111111111', cvv: '123' } },
    ];
    const response = await ingest.post<IngestBatchResponse>('/v1/transactions/batch', bad);
    expect(response.body.results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(response.body.results[0]!.problems).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: '/amount/value' })]),
    );

    const conflict = await ingest.post('/v1/transactions', { ...base, amount: { value: '999.99', currency: 'EUR' } });
    expect(conflict.status).toBe(409);

    // A poison record on tx.raw (as a broken producer would write it) must not stop scoring.
    await pipeline.bus
      .producer()
      .send(Topics.transactionsRaw, [{ key: 'acct-poison', value: Buffer.from('not avro at all') }]);

    const registry = new EmbeddedSchemaRegistry();
    const letters = await createCodec<DeadLetter>(registry, Topics.deadLetters);
    const deadLetters = await waitFor(
      'dead letters from ingest and scoring',
      async () => {
        const records = await pipeline.bus.read(Topics.deadLetters, 0, 0, 1000);
        const decoded = await Promise.all(records.map((r) => letters.decode(r.value)));
        return decoded.length >= 5 && decoded.some((d) => d.stage === 'scoring') ? decoded : undefined;
      },
      30_000,
    );
    const byCode = (code: string): DeadLetter[] => deadLetters.filter((d) => d.errorCode === code);
    expect(byCode('VALIDATION_FAILED').length).toBeGreaterThanOrEqual(3);
    expect(byCode('VALIDATION_FAILED').flatMap((d) => d.problems.map((p) => p.path))).toEqual(
      expect.arrayContaining(['/amount/value', '/amount/currency']),
    );
    expect(byCode('TRANSACTION_ID_CONFLICT')).toHaveLength(1);
    const poison = deadLetters.find((d) => d.stage === 'scoring')!;
    expect(poison).toMatchObject({ sourceTopic: Topics.transactionsRaw, errorCode: 'BAD_MAGIC_BYTE' });
    expect(poison.originalBytes.toString()).toBe('not avro at all');

    // The log holds tokens, never PANs: scan the raw bytes of every record on every topic.
    const pans = new Set(requests.flatMap((r) => (r.card?.number ? [r.card.number] : [])));
    pans.add('4111111111111111');
    expect(pans.size).toBeGreaterThan(10);
    expect(pansIn(Buffer.from('\u0002x41111111111111119'), pans)).toEqual(['4111111111111111']); // the check can fail
    const codec = await createCodec<Transaction>(registry, Topics.transactionsRaw);
    for (const topic of Object.values(Topics)) {
      for (let partition = 0; partition < (await pipeline.bus.partitionCount(topic)); partition++) {
        for (const record of await pipeline.bus.read(topic, partition, 0, 100_000))
          expect(pansIn(record.value, pans)).toEqual([]);
      }
    }
    const sample = (await pipeline.bus.read(Topics.transactionsRaw, 0, 0, 1))[0]!;
    expect((await codec.decode(sample.value)).card?.token).toMatch(/^tok_/);
  }, 60_000);
});
