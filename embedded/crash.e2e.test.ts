import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  AlertPage,
  AuditTrail,
  IngestBatchResponse,
  LedgerIntegrity,
  TransactionRequest,
} from '../schemas/api.js';
import { TrafficSimulator } from '../simulator/generator.js';
import {
  type PipelineProcess,
  apiClient,
  killPipelineProcess,
  ledgerInvariantViolations,
  startPipelineProcess,
  stopPipelineProcess,
  waitFor,
} from './testing.js';
import { residentMemoryMiB } from '../distributed/processes.js';

/**
 * Crash test: the embedded pipeline runs as a child process and is killed with SIGKILL three times — while
 * ingest is acknowledging batches, while scoring and the ledger work through a backlog, and while analysts'
 * verdicts post, void and reverse — then restarted on the same data directory. Nothing acknowledged may be lost
 * and nothing may be posted, resolved or reversed twice.
 */
const keys = {
  ingest: 'crash-ingest-key-0123456789',
  compliance: 'crash-compliance-key-0123456789',
  analyst: 'crash-analyst-key-0123456789',
};
const N = 4000;
/** Peak resident memory of each life of the pipeline process (all stages, chDB in process), read before it ends. */
const MEMORY_BOUND_MIB = 1536;

const env: Record<string, string> = {
  VIGIL_API_KEYS: `ingest:${keys.ingest},compliance:${keys.compliance},analyst:${keys.analyst}`,
};
const startPipeline = (dataDir: string): Promise<PipelineProcess> => startPipelineProcess(dataDir, env);

/**
 * Four-eyes limits above anything `requests` holds, in each of their currencies: this test's verdicts are single
 * labels sent around crashes, and a GENUINE label may book a held payment only below the limit (above it, the case
 * and a second analyst release it — embedded/cases.e2e.test.ts).
 */
function fourEyesAboveAll(requests: readonly TransactionRequest[]): string {
  return [...new Set(requests.map((r) => r.amount.currency))].map((currency) => `${currency}:1000000000`).join(',');
}

describe('crash and restart (SIGKILL)', () => {
  let dataDir: string;
  let running: PipelineProcess | undefined;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-crash-'));
  });
  afterAll(async () => {
    if (running) await killPipelineProcess(running);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses nothing acknowledged and posts nothing twice', async () => {
    const simulator = new TrafficSimulator({
      seed: 7,
      startTimeMs: Date.now() - 5 * 86_400_000,
      customers: 800,
      terminals: 600,
      meanTxPerCustomerPerDay: 8,
    });
    const requests: TransactionRequest[] = simulator.take(N).map((s) => s.request);
    env['VIGIL_CASES_FOUR_EYES_ABOVE'] = fourEyesAboveAll(requests);
    const batches: TransactionRequest[][] = [];
    const peaks: number[] = [];
    const peakOf = (life: PipelineProcess): number => residentMemoryMiB(life.child.pid)?.peakMiB ?? NaN;
    for (let i = 0; i < N; i += 50) batches.push(requests.slice(i, i + 50));

    // Run 1: post batches two at a time; SIGKILL once a third of them is acknowledged, with requests in flight.
    running = await startPipeline(dataDir);
    const acknowledged = new Set<string>();
    let ingest = apiClient(running.url, keys.ingest);
    let next = 0;
    let killed = false;
    const sender = async (): Promise<void> => {
      while (!killed && next < batches.length) {
        const batch = batches[next++]!;
        try {
          const response = await ingest.post<IngestBatchResponse>('/v1/transactions/batch', batch);
          if (response.status === 200)
            for (const r of response.body.results)
              if (r.status === 'accepted' || r.status === 'duplicate') acknowledged.add(r.transactionId!);
        } catch {
          // The connection died with the process: this batch was never acknowledged.
        }
        if (!killed && acknowledged.size >= N / 3) {
          killed = true;
          peaks.push(peakOf(running!));
          await killPipelineProcess(running!);
        }
      }
    };
    await Promise.all([sender(), sender()]);
    expect(killed).toBe(true);
    expect(acknowledged.size).toBeGreaterThanOrEqual(N / 3);
    expect(acknowledged.size).toBeLessThan(N);

    // Restart: every acknowledged transaction is there (decided, with its audit trail) before anything is re-sent.
    running = await startPipeline(dataDir);
    let compliance = apiClient(running.url, keys.compliance);
    await waitFor(
      'every acknowledged transaction decided after the restart',
      async () =>
        (await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body.distinctDecisions >=
        acknowledged.size
          ? true
          : undefined,
      120_000,
    );
    const missing: string[] = [];
    for (const id of acknowledged)
      if ((await compliance.get(`/v1/transactions/${id}`)).status !== 200) missing.push(id);
    expect(missing).toEqual([]);

    // The client retries everything (acknowledged or not); then a second SIGKILL while the backlog is processed.
    ingest = apiClient(running.url, keys.ingest);
    for (const batch of batches) {
      const response = await ingest.post<IngestBatchResponse>('/v1/transactions/batch', batch);
      expect(response.status).toBe(200);
      expect(response.body.results.every((r) => r.status === 'accepted' || r.status === 'duplicate')).toBe(true);
    }
    peaks.push(peakOf(running));
    await killPipelineProcess(running);

    running = await startPipeline(dataDir);
    compliance = apiClient(running.url, keys.compliance);
    const integrity = await waitFor(
      `all ${N} transactions decided`,
      async () => {
        const report = (await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body;
        return report.distinctDecisions >= N ? report : undefined;
      },
      180_000,
    );
    // Approvals booked, reviews held, declines untouched: declines and reviews counted from the alerts list.
    const analyst = apiClient(running.url, keys.analyst);
    const declined = new Set<string>();
    const reviewed = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: AlertPage = (await analyst.get<AlertPage>(`/v1/alerts?limit=500${cursor ? `&cursor=${cursor}` : ''}`))
        .body;
      for (const alert of page.alerts) (alert.decision === 'DECLINE' ? declined : reviewed).add(alert.transactionId);
      cursor = page.nextCursor;
    } while (cursor);
    expect(declined.size).toBeGreaterThan(0);
    const trails: AuditTrail[] = [];
    for (const id of declined) trails.push((await compliance.get<AuditTrail>(`/v1/transactions/${id}`)).body);
    // Every ledger invariant (testing.ts, each check shown to fail on planted input): all N decided once, exactly
    // the approved ones booked and the reviewed ones held once, nothing twice, balanced, declines posting nothing.
    expect(ledgerInvariantViolations(integrity, trails, { transactions: N, declined, reviewed })).toEqual([]);
    expect(reviewed.size).toBeGreaterThan(0);
    // Negative control, planted in the checker's view: a decision stored twice and one approval's entries posted
    // twice, as a restart that forgot what it had stored would leave them.
    expect(
      ledgerInvariantViolations(
        { ...integrity, decisionRows: integrity.decisionRows + 1, duplicateEntries: 2 },
        trails,
        { transactions: N, declined, reviewed },
      ),
    ).toEqual([`integrity.decisionRows is ${N + 1}, expected ${N}`, 'integrity.duplicateEntries is 2, expected 0']);

    // Run 4: verdicts, each sent twice (a double click), with a SIGKILL halfway: every review alternately GENUINE
    // (its hold is booked) and FRAUD (voided), and FRAUD chargebacks on 40 approved transactions (reversed).
    const reviews = [...reviewed].sort();
    const approved = requests.map((r) => r.transactionId).filter((id) => !declined.has(id) && !reviewed.has(id));
    const chargebacks = approved.slice(0, 40);
    const verdicts: Array<{ transactionId: string; label: 'fraud' | 'genuine' }> = [
      ...reviews.map((id, i) => ({
        transactionId: id,
        label: i % 2 === 0 ? ('genuine' as const) : ('fraud' as const),
      })),
      ...chargebacks.map((id) => ({ transactionId: id, label: 'fraud' as const })),
    ];
    const label = async (client: ReturnType<typeof apiClient>, v: (typeof verdicts)[number]): Promise<boolean> => {
      try {
        return (await client.post('/v1/labels', v)).status === 202;
      } catch {
        return false; // the connection died with the process
      }
    };
    let labeller = apiClient(running.url, keys.analyst);
    const half = Math.ceil(verdicts.length / 2);
    for (const v of verdicts.slice(0, half)) expect(await label(labeller, v)).toBe(true);
    peaks.push(peakOf(running));
    await killPipelineProcess(running);
    running = await startPipeline(dataDir);
    labeller = apiClient(running.url, keys.analyst);
    for (const v of [...verdicts, ...verdicts]) expect(await label(labeller, v)).toBe(true);

    const genuine = reviews.filter((_, i) => i % 2 === 0).length;
    compliance = apiClient(running.url, keys.compliance);
    const settled = await waitFor(
      'every verdict applied after the restart',
      async () => {
        const report = (await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body;
        return report.postedHolds + report.voidedHolds >= reviews.length &&
          report.reversedTransactions >= chargebacks.length
          ? report
          : undefined;
      },
      180_000,
      500,
    );
    // Exactly once each: the first verdict resolved every hold; the chargebacks reversed only what was booked.
    expect(settled).toMatchObject({
      heldDecisions: reviews.length,
      openHolds: 0,
      postedHolds: genuine,
      voidedHolds: reviews.length - genuine,
      holdsResolvedTwice: 0,
      entriesOfUnpostedHolds: 0,
      reversedTransactions: chargebacks.length,
      entriesReversedTwice: 0,
      reversalsWithoutOriginal: 0,
      duplicateEntries: 0,
      unbalancedTransactions: 0,
      postedTransactions: settled.postableDecisions + genuine,
    });
    for (const total of settled.totalsByCurrency) expect(total.sumMinor).toBe('0');
    const reversedTrail = (await compliance.get<AuditTrail>(`/v1/transactions/${chargebacks[0]!}`)).body;
    const reversal = reversedTrail.ledgerEntries.filter((e) => e.reversesEntryId !== null);
    expect(reversal.map((e) => e.reversesEntryId)).toEqual(
      reversedTrail.ledgerEntries.filter((e) => e.reversesEntryId === null).map((e) => e.entryId),
    );

    peaks.push(peakOf(running));
    expect(await stopPipelineProcess(running)).toBe(0);
    for (const peak of peaks) expect(peak).toBeLessThan(MEMORY_BOUND_MIB);
    process.stdout.write(
      `fault 1 (embedded): ${N} decided; peak RSS per life ${peaks.map((p) => p.toFixed(0)).join(' / ')} MiB\n`,
    );
  }, 600_000);
});
