import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../platform/logger.js';
import { parseMajorToMinor } from '../dashboards/domain/money.js';
import type { IngestBatchResponse, LargeCashReport, LedgerIntegrity, TransactionRequest } from '../schemas/api.js';
import { FraudScenario } from '../simulator/types.js';
import { TrafficSimulator } from '../simulator/generator.js';
import { type EmbeddedPipeline, startEmbeddedPipeline } from './pipeline.js';
import { apiClient, waitFor } from './testing.js';

/**
 * The structuring report on the simulator's own traffic, end to end on the embedded default: the simulator's
 * structuring customers deposit cash just under the reporting threshold at branches (payer: the branch's cash
 * account; payee: the customer's account). The report must name exactly those customers, per currency — not the
 * branches their deposits came through (the bug this test was written for: grouped by payer, 41 depositing customers
 * collapsed into 7 branch accounts).
 */
const keys = {
  ingest: 'cash-e2e-ingest-key-0123456789',
  compliance: 'cash-e2e-compliance-key-0123456789',
};
const DAY = 86_400_000;
const WINDOW_MS = 7 * DAY;
/** The report's defaults: threshold 10,000 in every simulated currency, band 20 %, three within 7 days. */
const THRESHOLD_MAJOR = 10_000n;
const BAND_PERCENT = 20n;
const MIN_TRANSACTIONS = 3;

/**
 * The oracle, computed from the requests alone: per currency, whom cash just under the threshold is attributed to
 * (the named customer; money flows payer → payee, so a deposit's customer side is the payee) and the most such
 * transactions of one kind by one subject within any 7 days.
 */
function expectedPatterns(requests: readonly TransactionRequest[]): Map<string, Set<string>> {
  const times = new Map<string, number[]>();
  for (const r of requests) {
    if (r.channel !== 'cash') continue;
    const { currency } = r.amount;
    const minor = parseMajorToMinor(r.amount.value, currency)!;
    const threshold = parseMajorToMinor(THRESHOLD_MAJOR.toString(), currency)!;
    if (minor >= threshold || minor < threshold - (threshold * BAND_PERCENT) / 100n) continue;
    const kind = r.kind ?? 'withdrawal';
    const customerSide = kind === 'deposit' ? r.payee.accountId : r.payer.accountId;
    const key = [currency, r.payer.customerId ?? customerSide, kind].join('|');
    times.set(key, [...(times.get(key) ?? []), Date.parse(r.eventTime!)]);
  }
  const patterns = new Map<string, Set<string>>();
  for (const [key, list] of times) {
    list.sort((a, b) => a - b);
    const most = Math.max(...list.map((t) => list.filter((u) => u >= t && u < t + WINDOW_MS).length));
    if (most < MIN_TRANSACTIONS) continue;
    const [currency, subject] = key.split('|') as [string, string];
    patterns.set(currency, (patterns.get(currency) ?? new Set()).add(subject));
  }
  return patterns;
}

describe('the structuring report on simulated traffic (embedded)', () => {
  let dataDir: string;
  let pipeline: EmbeddedPipeline;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-cash-e2e-'));
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
  }, 120_000);

  afterAll(async () => {
    await pipeline?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('names exactly the customers who structured, per currency, never a branch', async () => {
    const simulator = new TrafficSimulator({
      seed: 7,
      startTimeMs: Date.now() - 12 * DAY,
      customers: 200,
      terminals: 200,
      meanTxPerCustomerPerDay: 2,
      // Enough structuring bursts in a short stream; every other scenario comes along at the same scale.
      fraudScale: 20,
    });
    const sample = simulator.take(3000);
    const requests = sample.map((s) => s.request);
    const ingest = apiClient(pipeline.url, keys.ingest);
    for (let i = 0; i < requests.length; i += 250) {
      const response = await ingest.post<IngestBatchResponse>('/v1/transactions/batch', requests.slice(i, i + 250));
      expect(response.status).toBe(200);
      expect(response.body.results.filter((r) => r.status !== 'accepted')).toEqual([]);
    }
    const compliance = apiClient(pipeline.url, keys.compliance);
    await waitFor(
      'every decision stored',
      async () =>
        (await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body.decisionRows >= requests.length
          ? true
          : undefined,
      240_000,
    );

    const report = (await compliance.get<LargeCashReport>('/v1/reports/large-cash')).body;
    const found = new Map(
      report.currencies.map((c) => [c.currency, new Set(c.structuring.map((p) => p.customerId ?? '?'))]),
    );
    for (const [currency, subjects] of found) if (subjects.size === 0) found.delete(currency);
    const expected = expectedPatterns(requests);
    expect(found).toEqual(expected);
    expect([...expected.values()].reduce((n, s) => n + s.size, 0)).toBeGreaterThanOrEqual(2);

    // The oracle agrees with the simulator's ground truth: every subject is a customer it made structure.
    const structurers = new Set(
      sample.filter((s) => s.scenario === FraudScenario.structuring).map((s) => s.request.payer.customerId),
    );
    for (const subjects of expected.values()) for (const subject of subjects) expect(structurers).toContain(subject);
    // Negative control: attributed to the payer (the bug), the same deposits name branch accounts, not customers.
    const byPayer = new Set(
      sample.filter((s) => s.scenario === FraudScenario.structuring).map((s) => s.request.payer.accountId),
    );
    const reported = [...found.values()].flatMap((s) => [...s]);
    expect(reported.filter((subject) => byPayer.has(subject))).toEqual([]);
    expect(report.currenciesWithoutThreshold).toEqual([]);
    process.stdout.write(
      `cash report e2e: ${requests.length} transactions, ${structurers.size} structuring customers in the stream, ` +
        `reported ${[...found].map(([currency, s]) => `${currency} ${s.size}`).join(', ')}\n`,
    );
  }, 420_000);
});
