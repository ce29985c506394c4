import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../platform/logger.js';
import type {
  AlertPage,
  AuditTrail,
  IngestBatchResponse,
  LedgerIntegrity,
  TransactionRequest,
} from '../schemas/api.js';
import { type EmbeddedPipeline, startEmbeddedPipeline } from './pipeline.js';
import { apiClient, cardPayment, ledgerInvariantViolations, metricSum, waitFor } from './testing.js';

/**
 * Ingest's idempotency store answers a transaction id only for VIGIL_IDEMPOTENCY_WINDOW_MS. A repeat after that is
 * accepted again at a new offset and goes all the way through scoring to ledger-sink, whose own check (transaction
 * id + fingerprint, in chDB) must answer it: the same content is a duplicate and books nothing more, other content
 * under the id is a conflict and is never posted. The control run keeps the default window (7 days), where ingest
 * itself answers both repeats and the ledger never sees them.
 */
const keys = {
  ingest: 'e2e-ingest-key-0123456789',
  analyst: 'e2e-analyst-key-0123456789',
  compliance: 'e2e-compliance-key-0123456789',
  admin: 'e2e-admin-key-0123456789',
};
const N = 30;
const requests: TransactionRequest[] = Array.from({ length: N }, (_, i) =>
  cardPayment(`window-${i}`, `acct-window-payer-${i}`, 'acct-window-shop', '12.34'),
);
const altered: TransactionRequest = { ...requests[0]!, amount: { value: '99.99', currency: 'EUR' } };

async function withPipeline<T>(windowMs: string | undefined, body: (pipeline: EmbeddedPipeline) => Promise<T>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-idempotency-window-'));
  try {
    const pipeline = await startEmbeddedPipeline({
      env: {
        VIGIL_DATA_DIR: dataDir,
        VIGIL_HTTP_PORT: '0',
        VIGIL_SIMULATOR_TPS: '0',
        ...(windowMs === undefined ? {} : { VIGIL_IDEMPOTENCY_WINDOW_MS: windowMs }),
        VIGIL_API_KEYS: Object.entries(keys)
          .map(([role, key]) => `${role}:${key}`)
          .join(','),
      },
      logger: silentLogger,
    });
    try {
      return await body(pipeline);
    } finally {
      await pipeline.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

interface Run {
  /** Ingest's answers to the repeats: the N − 1 unchanged copies, then the altered one. */
  readonly repeatStatuses: readonly string[];
  readonly alteredStatus: string;
  readonly ledgerDuplicates: number;
  readonly ledgerConflicts: number;
  readonly integrity: LedgerIntegrity;
  readonly violations: readonly string[];
}

/** Sends N payments, waits until all are decided, then repeats N − 1 of them unchanged and one with another amount. */
async function run(pipeline: EmbeddedPipeline): Promise<Run> {
  const ingest = apiClient(pipeline.url, keys.ingest);
  const compliance = apiClient(pipeline.url, keys.compliance);
  const analyst = apiClient(pipeline.url, keys.analyst);
  const ledgerCounter = async (name: string): Promise<number> => {
    const response = await fetch(pipeline.url + '/metrics', { headers: { authorization: `Bearer ${keys.admin}` } });
    return metricSum(await response.text(), name);
  };
  const first = await ingest.post<IngestBatchResponse>('/v1/transactions/batch', requests);
  expect(first.body.results.map((r) => r.status)).toEqual(requests.map(() => 'accepted'));
  await waitFor(
    `all ${N} transactions decided`,
    async () =>
      (await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body.distinctDecisions === N
        ? true
        : undefined,
    120_000,
  );

  const repeat = await ingest.post<IngestBatchResponse>('/v1/transactions/batch', requests.slice(1));
  const alteredAnswer = await ingest.post<IngestBatchResponse>('/v1/transactions/batch', [altered]);
  const reachedLedger = [...repeat.body.results, ...alteredAnswer.body.results].filter(
    (r) => r.status === 'accepted',
  ).length;
  // Whatever ingest accepted again must be answered by the ledger (as duplicate or conflict) before we look.
  await waitFor(
    `ledger-sink answered the ${reachedLedger} repeats it was sent`,
    async () =>
      (await ledgerCounter('vigil_ledger_duplicates_total')) + (await ledgerCounter('vigil_ledger_conflicts_total')) ===
      reachedLedger
        ? true
        : undefined,
    120_000,
  );
  const integrity = (await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body;

  const declined = new Set<string>();
  const reviewed = new Set<string>();
  let cursor: string | null = null;
  do {
    const page: AlertPage = (await analyst.get<AlertPage>(`/v1/alerts?limit=500${cursor ? `&cursor=${cursor}` : ''}`))
      .body;
    for (const alert of page.alerts) (alert.decision === 'DECLINE' ? declined : reviewed).add(alert.transactionId);
    cursor = page.nextCursor;
  } while (cursor);
  const trails: AuditTrail[] = [];
  for (const id of declined) trails.push((await compliance.get<AuditTrail>(`/v1/transactions/${id}`)).body);
  return {
    repeatStatuses: repeat.body.results.map((r) => r.status),
    alteredStatus: alteredAnswer.body.results[0]!.status,
    ledgerDuplicates: await ledgerCounter('vigil_ledger_duplicates_total'),
    ledgerConflicts: await ledgerCounter('vigil_ledger_conflicts_total'),
    integrity,
    // Every ledger invariant (testing.ts; each check shown to fail on planted input in testing.test.ts): N decided
    // once, the approved ones booked once, reviews held once, nothing twice, balanced.
    violations: ledgerInvariantViolations(integrity, trails, { transactions: N, declined, reviewed }),
  };
}

describe('idempotency window (embedded pipeline, chDB)', () => {
  it('given a 1 ms window, repeats reach the ledger, which posts nothing twice and refuses other content', async () => {
    const result = await withPipeline('1', run);
    expect(result.repeatStatuses).toEqual(requests.slice(1).map(() => 'accepted'));
    expect(result.alteredStatus).toBe('accepted');
    expect(result.ledgerDuplicates).toBe(N - 1);
    expect(result.ledgerConflicts).toBe(1);
    expect(result.integrity.conflicts).toBe(1);
    // The one conflict is the point of this run; every other invariant holds.
    expect(result.violations).toEqual(['integrity.conflicts is 1, expected 0']);
  }, 300_000);

  it('control: with the default window, ingest answers the repeats itself and the ledger sees none', async () => {
    const result = await withPipeline(undefined, run);
    expect(result.repeatStatuses).toEqual(requests.slice(1).map(() => 'duplicate'));
    expect(result.alteredStatus).toBe('conflict');
    expect(result.ledgerDuplicates).toBe(0);
    expect(result.ledgerConflicts).toBe(0);
    expect(result.violations).toEqual([]);
  }, 300_000);
});
