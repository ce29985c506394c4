import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ApiResponse,
  apiClient,
  cardPayment,
  metricSum,
  waitFor,
  waitForScoringBalance,
} from '../embedded/testing.js';
import { KafkaBus } from '../platform/kafka/kafka-bus.js';
import { silentLogger } from '../platform/logger.js';
import type { AccountBalance, SyncDecision } from '../schemas/api.js';
import { type ServiceProcess, resetTestBroker, startService, stopService } from './processes.js';

/**
 * Balances that can say no, in distributed mode on real Kafka: ingest, scoring and ledger-sink with dashboards each
 * their own process (README "Balance policies"; embedded/funds.e2e.test.ts is the same race on the embedded
 * default). One scoring process, as the README asks while policies are in use. Thresholds are set so that the
 * model alone never reviews or declines: every decline here is the funds check's.
 *
 * - Credits count once posted: with ledger-sink stopped, the 100.00 EUR funding is approved but not posted, and a
 *   100.00 EUR debit is declined (available 0.00); once ledger-sink is back and scoring has the posted balance, the
 *   same debit amount is approvable.
 * - Two debits of 100.00 EUR sent at the same time get exactly one APPROVE; the other, and a later 0.01, are
 *   DECLINED with reason INSUFFICIENT_FUNDS; the ledger ends at 0.00.
 * - Negative control: the same run with scoring started with the guard's `reserve` planted as a no-op (a preload
 *   module on its command line; production code has no switch for it) approves both debits.
 */
const brokers = (process.env.VIGIL_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const keys = {
  ingest: 'dist-ingest-key-0123456789',
  analyst: 'dist-analyst-key-0123456789',
  admin: 'dist-admin-key-0123456789',
};
const ACCOUNT = 'acct-funds-1';
const noOpReserve = fileURLToPath(new URL('../scoring/testing/no-op-reserve.preload.ts', import.meta.url));

/** The running processes of one run; ledger-sink (with dashboards) is stopped and started again within it. */
interface Pipeline {
  readonly ingest: ServiceProcess;
  readonly scoring: ServiceProcess;
  /** The test's own Kafka client, to read what ledger-sink published on ledger.balances. */
  readonly bus: KafkaBus;
  sinkUrl(): string;
  /** SIGTERM; resolves with the exit code. */
  stopSink(): Promise<number | null>;
  startSink(): Promise<void>;
}

/**
 * Starts a pipeline on an emptied broker, with `scoringPreload` loaded into the scoring process, runs `body` and
 * stops every process, whatever happened.
 */
async function withPipeline<T>(scoringPreload: readonly string[], body: (p: Pipeline) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-dist-funds-'));
  const running = new Set<ServiceProcess>();
  let bus: KafkaBus | undefined;
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
    VIGIL_REVIEW_THRESHOLD: '1',
    VIGIL_DECLINE_THRESHOLD: '1',
  };
  const start = async (stages: string[], extra: Record<string, string>, preload: readonly string[] = []) => {
    const service = await startService(stages, { ...env, ...extra }, { preload });
    running.add(service);
    return service;
  };
  // The same chDB directory on every start of ledger-sink: the ledger it left is the ledger it finds.
  const startSink = () =>
    start(['ledger-sink', 'dashboards'], {
      VIGIL_CLICKHOUSE_URL: `embedded:${join(dataDir, 'chdb')}`,
      VIGIL_DATA_DIR: join(dataDir, 'sink'),
    });
  try {
    // A clean slate on the shared test broker: this test uses the product's real topic and group names.
    await resetTestBroker(brokers);
    // Topics are created by the first service; the rest join.
    let sink = await startSink();
    const scoring = await start(['scoring'], { VIGIL_DATA_DIR: join(dataDir, 'scoring') }, scoringPreload);
    // A deadline long enough for a loaded machine: every decision below is expected as a 200.
    const ingest = await start(['ingest'], {
      VIGIL_DATA_DIR: join(dataDir, 'ingest'),
      VIGIL_DECISION_DEADLINE_MS: '20000',
    });
    bus = await KafkaBus.connect({ brokers, clientId: 'vigil-funds-e2e', logger: silentLogger });
    return await body({
      ingest,
      scoring,
      bus,
      sinkUrl: () => sink.url,
      stopSink: async () => {
        const code = await stopService(sink);
        running.delete(sink);
        return code;
      },
      startSink: async () => {
        sink = await startSink();
      },
    });
  } finally {
    await bus?.close();
    await Promise.all([...running].map((s) => stopService(s)));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Gives ACCOUNT its policy; with ledger-sink stopped, funds it with 100.00 EUR and tries to spend it at once; starts
 * ledger-sink again, waits until scoring has the posted balance, then sends two 100.00 EUR debits at the same time.
 * Resolves with the early debit's answer and the two concurrent ones'.
 */
async function fundThenRace(p: Pipeline): Promise<{
  early: ApiResponse<SyncDecision>;
  concurrent: Array<ApiResponse<SyncDecision>>;
}> {
  const ingest = apiClient(p.ingest.url, keys.ingest);
  const scoringMetrics = async (): Promise<string> => {
    const response = await fetch(`${p.scoring.url}/metrics`, { headers: { authorization: `Bearer ${keys.admin}` } });
    return response.text();
  };

  const put = await apiClient(p.sinkUrl(), keys.admin).put(`/v1/accounts/${ACCOUNT}`, {
    type: 'customer',
    currency: 'EUR',
    policy: { overdraftLimit: { value: '0.00', currency: 'EUR' } },
  });
  expect(put.status).toBe(200);
  // Policies reach scoring through the compacted accounts topic, apart from tx.raw: the debit below must find it.
  await waitFor('scoring to apply the policy', async () =>
    metricSum(await scoringMetrics(), 'vigil_scoring_accounts_applied_total') === 1 ? true : undefined,
  );

  // Nothing can be posted while ledger-sink is down: the funding is decided, not booked.
  expect(await p.stopSink()).toBe(0);
  const funding = await ingest.post<SyncDecision>(
    '/v1/decisions',
    cardPayment('funds-in-1', 'bank-funding', ACCOUNT, '100.00'),
  );
  expect([funding.status, funding.body.decision]).toEqual([200, 'APPROVE']);
  const early = await ingest.post<SyncDecision>(
    '/v1/decisions',
    cardPayment('funds-out-early', ACCOUNT, 'merchant-funds', '100.00'),
  );

  await p.startSink();
  const analyst = apiClient(p.sinkUrl(), keys.analyst);
  await waitFor(
    'the funding to be posted',
    async () => {
      const r = await analyst.get<AccountBalance>(`/v1/accounts/${ACCOUNT}/balance`);
      return r.status === 200 && r.body.balances[0]?.posted.amount === '100.00' ? r.body : undefined;
    },
    120_000,
  );
  // The balance reaches scoring through ledger.balances: wait until scoring applied the one showing the funding.
  await waitForScoringBalance(
    p.bus,
    { accountId: ACCOUNT, currency: 'EUR', postedMinor: 10_000n },
    async () => metricSum(await scoringMetrics(), 'vigil_scoring_ledger_balances_applied_total'),
    120_000,
  );

  const concurrent = await Promise.all(
    ['funds-out-a', 'funds-out-b'].map((id) =>
      ingest.post<SyncDecision>('/v1/decisions', cardPayment(id, ACCOUNT, 'merchant-funds', '100.00')),
    ),
  );
  return { early, concurrent };
}

describe('balance policies (distributed, on Kafka)', () => {
  it('spends a credit only once posted, and approves exactly one of two concurrent debits against the last 100.00 EUR', async () => {
    await withPipeline([], async (p) => {
      const { early, concurrent } = await fundThenRace(p);

      expect([early.status, early.body.decision]).toEqual([200, 'DECLINE']);
      const unposted = early.body.reasons.find((r) => r.code === 'INSUFFICIENT_FUNDS');
      expect(unposted?.description).toContain('available balance 0.00 EUR is less than the debit of 100.00 EUR');

      expect(concurrent.map((a) => a.status)).toEqual([200, 200]);
      expect(concurrent.map((a) => a.body.decision).sort()).toEqual(['APPROVE', 'DECLINE']);
      const declined = concurrent.find((a) => a.body.decision === 'DECLINE')!.body;
      const shortfall = declined.reasons.find((r) => r.code === 'INSUFFICIENT_FUNDS');
      expect(shortfall?.description).toContain('is less than the debit of 100.00 EUR');

      const ingest = apiClient(p.ingest.url, keys.ingest);
      const later = await ingest.post<SyncDecision>(
        '/v1/decisions',
        cardPayment('funds-out-c', ACCOUNT, 'merchant-funds', '0.01'),
      );
      expect([later.status, later.body.decision]).toEqual([200, 'DECLINE']);
      expect(later.body.reasons.map((r) => r.code)).toContain('INSUFFICIENT_FUNDS');

      // Funding in, one debit out: two legs on the account; the three declines posted nothing.
      const analyst = apiClient(p.sinkUrl(), keys.analyst);
      const balance = await waitFor(
        'the approved debit to be posted',
        async () => {
          const r = await analyst.get<AccountBalance>(`/v1/accounts/${ACCOUNT}/balance`);
          return r.status === 200 && r.body.balances[0]?.entries === 2 ? r.body : undefined;
        },
        120_000,
      );
      expect(balance.balances.map((b) => [b.currency, b.posted.amount, b.available.amount, b.entries])).toEqual([
        ['EUR', '0.00', '0.00', 2],
      ]);
    });
  }, 400_000);

  it('negative control: with reserve planted as a no-op in scoring, both concurrent debits are approved', async () => {
    await withPipeline([noOpReserve], async (p) => {
      const { concurrent } = await fundThenRace(p);
      expect(concurrent.map((a) => [a.status, a.body.decision])).toEqual([
        [200, 'APPROVE'],
        [200, 'APPROVE'],
      ]);
    });
  }, 400_000);
});
