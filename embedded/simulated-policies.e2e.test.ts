import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../platform/logger.js';
import type { IngestBatchResponse, SyncDecision, TransactionRequest } from '../schemas/api.js';
import { httpAccountDeskApi, setUpPolicyAccounts } from '../simulator/account-desk.js';
import { TrafficSimulator } from '../simulator/generator.js';
import { FundsModel } from '../simulator/testing/funds-model.js';
import { type EmbeddedPipeline, startEmbeddedPipeline } from './pipeline.js';
import { apiClient, waitFor } from './testing.js';

/**
 * The simulator's balance policies through the embedded default: a small world (12 customers, two simulated days)
 * whose policy holders are set up by the simulator's own account desk with an admin key over HTTP, and whose
 * traffic goes in through `POST /v1/transactions/batch`, as the embedded simulator sends it. The model and the
 * rules are silenced (thresholds 1, an empty rules file), so every decline is the funds check's, and each credit
 * to a holder is sent only after everything before it has settled and its balance has reached scoring: then the
 * pipeline must decline exactly the debits the README's rule declines on the simulator's own stream (FundsModel),
 * seeded, so an exact number. Negative control: the same world without policies declines nothing.
 */
const keys = {
  ingest: 'e2e-ingest-key-0123456789',
  analyst: 'e2e-analyst-key-0123456789',
  admin: 'e2e-admin-key-0123456789',
};
const TRANSACTIONS = 300;
const DAY_MS = 86_400_000;

/** Sum of a metric's samples in Prometheus text whose labels contain `labels` (all when empty). */
function metric(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (match && (match[1] ?? '').includes(labels)) sum += Number(match[2]);
  }
  return sum;
}

interface RunOutcome {
  /** Ids declined with INSUFFICIENT_FUNDS by the pipeline. */
  readonly declined: string[];
  /** Ids the funds rule declines on the same stream. */
  readonly expected: string[];
  /** Decisions other than APPROVE without INSUFFICIENT_FUNDS (none, with model and rules silenced). */
  readonly otherAlerts: number;
  readonly holders: number;
  readonly salaries: number;
}

async function runWorld(policyShare: number): Promise<RunOutcome> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-sim-policies-'));
  const rulesFile = join(dataDir, 'no-rules.json');
  writeFileSync(
    rulesFile,
    JSON.stringify({
      version: 'e2e-none',
      lists: { deniedCountries: [], deniedMccs: [], deniedBins: [], allowedMerchants: [], travelNoticeCustomers: [] },
      rules: [],
    }),
  );
  let pipeline: EmbeddedPipeline | undefined;
  try {
    pipeline = await startEmbeddedPipeline({
      env: {
        VIGIL_DATA_DIR: dataDir,
        VIGIL_HTTP_PORT: '0',
        VIGIL_SIMULATOR_TPS: '0',
        VIGIL_REVIEW_THRESHOLD: '1',
        VIGIL_DECLINE_THRESHOLD: '1',
        VIGIL_RULES_FILE: rulesFile,
        VIGIL_API_KEYS: Object.entries(keys)
          .map(([role, key]) => `${role}:${key}`)
          .join(','),
      },
      logger: silentLogger,
    });
    const url = pipeline.url;
    const ingest = apiClient(url, keys.ingest);
    const metrics = async (): Promise<string> =>
      (await fetch(url + '/metrics', { headers: { authorization: `Bearer ${keys.admin}` } })).text();

    const simulator = new TrafficSimulator({
      seed: 24,
      customers: 12,
      terminals: 300,
      meanTxPerCustomerPerDay: 12,
      fraudScale: 0,
      channelMix: { card: 0.85, sepa: 0.1, wire: 0.05 },
      currencies: { EUR: 1 },
      // Whole days back, so two days of traffic stay in the past that ingest accepts.
      startTimeMs: Math.floor(Date.now() / DAY_MS) * DAY_MS - 3 * DAY_MS,
      policyShare,
    });
    const holders = simulator.policyHolders;
    const model = new FundsModel(holders);
    const sentIds: string[] = [];

    const send = async (batch: TransactionRequest[]): Promise<void> => {
      const response = await ingest.post<IngestBatchResponse>('/v1/transactions/batch', batch);
      expect(response.status).toBe(200);
      expect(response.body.summary.accepted).toBe(batch.length);
      sentIds.push(...batch.map((r) => r.transactionId));
    };
    /**
     * Everything sent is decided and settled by the ledger, ledger-sink has handled every decision (so every
     * balance it publishes is out) and scoring has applied every balance published.
     */
    const settle = async (ids: readonly string[]): Promise<void> => {
      for (const id of ids)
        await waitFor(`the ledger to settle ${id}`, async () => {
          const r = await ingest.get<SyncDecision>(`/v1/decisions/${id}`);
          return r.status === 200 && r.body.ledger.status !== 'pending' ? true : undefined;
        });
      await waitFor('ledger-sink to handle every decision and scoring to apply every balance', async () => {
        const text = await metrics();
        return metric(text, 'vigil_consumer_lag', 'group="ledger-sink"') === 0 &&
          metric(text, 'vigil_scoring_ledger_balances_applied_total') >=
            metric(text, 'vigil_ledger_balances_published_total')
          ? true
          : undefined;
      });
    };

    await setUpPolicyAccounts({
      simulator,
      api: httpAccountDeskApi(url, { admin: keys.admin, ingest: keys.ingest }),
      send,
      save: () => {},
      logger: silentLogger,
    });
    await waitFor('scoring to apply every policy', async () =>
      metric(await metrics(), 'vigil_scoring_accounts_applied_total') === holders.length ? true : undefined,
    );
    for (const holder of holders) {
      const opening = simulator.openingDepositRequest(holder);
      if (opening !== undefined) expect(model.apply(opening)).toBe(false);
    }
    await settle(sentIds);

    // The stream in segments, each ending with a credit to a holder: the next debits see it.
    const expected: string[] = [];
    let salaries = 0;
    let segment: TransactionRequest[] = [];
    for (let i = 0; i < TRANSACTIONS; i++) {
      const { request } = simulator.nextRequest();
      if (model.apply(request)) expected.push(request.transactionId);
      segment.push(request);
      const creditsHolder = model.isGuarded(request.payee.accountId);
      if (creditsHolder) salaries += 1;
      if (creditsHolder || i === TRANSACTIONS - 1) {
        await send(segment);
        await settle(segment.map((r) => r.transactionId));
        segment = [];
      }
    }

    const declined: string[] = [];
    let otherAlerts = 0;
    for (const id of sentIds) {
      const { body } = await ingest.get<SyncDecision>(`/v1/decisions/${id}`);
      if (body.reasons.some((r) => r.code === 'INSUFFICIENT_FUNDS')) {
        expect(body.decision).toBe('DECLINE');
        declined.push(id);
      } else if (body.decision !== 'APPROVE') otherAlerts += 1;
    }
    return { declined, expected, otherAlerts, holders: holders.length, salaries };
  } finally {
    await pipeline?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('simulated balance policies (embedded)', () => {
  it('declines exactly the debits that overshoot what the simulated holders have', async () => {
    const run = await runWorld(0.5);
    // Seeded, so exact: 6 of 12 customers hold a policy (4 with an overdraft) and are paid 29 salaries over
    // two and a third simulated days; 14 of their 179 debits overshoot.
    expect(run.holders).toBe(6);
    expect(run.salaries).toBe(29);
    expect(run.expected).toHaveLength(14);
    expect(run.declined).toEqual(run.expected);
    expect(run.otherAlerts).toBe(0);
  }, 240_000);

  it('negative control: the same world without policies declines nothing', async () => {
    const run = await runWorld(0);
    expect(run.holders).toBe(0);
    expect(run.expected).toHaveLength(0);
    expect(run.declined).toHaveLength(0);
    expect(run.otherAlerts).toBe(0);
  }, 240_000);
});
