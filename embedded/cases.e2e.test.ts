import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyDigestHex, principalIdOf } from '../platform/auth.js';
import { silentLogger } from '../platform/logger.js';
import type { AccessLogPage, AuditTrail, CaseActionResult, CaseView } from '../schemas/api.js';
import { type EmbeddedPipeline, startEmbeddedPipeline } from './pipeline.js';
import { apiClient, heldInCase, holdBecomes as holdBecomesIn, waitFor } from './testing.js';

/**
 * Cases on the embedded default, from a payment to the ledger: with every payment held for review, a REVIEW raises
 * an alert, the alert opens a case, an analyst takes it, notes it and resolves it as fraud, and ledger-sink voids the
 * hold. A payment above the four-eyes limit is released (its hold booked) only once a second analyst approves; its
 * requester's own approval is refused. A payment whose hold posted itself before its case was resolved as fraud is
 * reversed. A REVIEW whose case nobody works keeps its hold open: the negative control that the holds moved because
 * of the cases.
 */
const keys = {
  admin: 'e2e-admin-key-0123456789',
  ingest: 'e2e-ingest-key-0123456789',
  ann: 'e2e-analyst-ann-0123456789',
  bob: 'e2e-analyst-bob-0123456789',
  compliance: 'e2e-compliance-key-0123456789',
};
const WAIT_MS = 120_000;
const ann = principalIdOf('analyst', keyDigestHex(keys.ann));
const bob = principalIdOf('analyst', keyDigestHex(keys.bob));

describe('cases on the embedded default: alert → case → resolution → ledger', () => {
  let dataDir: string;
  let pipeline: EmbeddedPipeline;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-cases-e2e-'));
    pipeline = await startEmbeddedPipeline({
      env: {
        VIGIL_DATA_DIR: dataDir,
        VIGIL_HTTP_PORT: '0',
        VIGIL_SIMULATOR_TPS: '0',
        // Every payment is a REVIEW (held), none a DECLINE.
        VIGIL_REVIEW_THRESHOLD: '0',
        VIGIL_DECLINE_THRESHOLD: '1',
        VIGIL_DECISION_DEADLINE_MS: '20000',
        VIGIL_CASES_FOUR_EYES_ABOVE: 'EUR:20',
        // Holds of merchant-typed payers post themselves after a second: the payment a case later finds fraudulent is
        // booked by then, and the verdict has to reverse it. Other payers keep the default (72 h, then void).
        VIGIL_LEDGER_HOLDS_MERCHANT: 'review=1000,expiry=post',
        VIGIL_LEDGER_HOLD_SWEEP_MS: '200',
        VIGIL_API_KEYS: [
          `admin:${keys.admin}`,
          `ingest:${keys.ingest}`,
          `analyst:${keys.ann}`,
          `analyst:${keys.bob}`,
          `compliance:${keys.compliance}`,
        ].join(','),
      },
      logger: silentLogger,
    });
  }, WAIT_MS);

  afterAll(async () => {
    await pipeline?.close();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  const client = (key: string) => apiClient(pipeline.url, key);
  const act = (caseId: string, key: string, body: unknown) =>
    client(key).post<CaseActionResult & { code?: string }>(`/v1/cases/${caseId}/actions`, body);

  const reviewedIntoCase = (id: string, payer: string, value: string): Promise<string> =>
    heldInCase(
      pipeline.url,
      { ingestKey: keys.ingest, readerKey: keys.ann },
      { id, payer, payee: 'merchant-cases', value },
      WAIT_MS,
    );
  const holdBecomes = (id: string, status: 'OPEN' | 'VOIDED' | 'POSTED'): Promise<AuditTrail> =>
    holdBecomesIn(pipeline.url, keys.compliance, id, status, WAIT_MS);

  it('a fraud resolution voids the held payment; an unworked case keeps its hold', async () => {
    const caseId = await reviewedIntoCase('case-e2e-1', 'acct-case-1', '12.00');
    const untouched = await reviewedIntoCase('case-e2e-3', 'acct-case-3', '15.00');
    await holdBecomes('case-e2e-1', 'OPEN');

    expect((await act(caseId, keys.ann, { action: 'assign' })).body.case.assignee).toBe(ann);
    expect((await act(caseId, keys.ann, { action: 'note', note: 'customer did not recognise it' })).status).toBe(200);
    const resolved = await act(caseId, keys.ann, { action: 'resolve', resolution: 'fraud' });
    expect([resolved.status, resolved.body.labelsSent]).toEqual([200, 1]);

    const trail = await holdBecomes('case-e2e-1', 'VOIDED');
    expect(trail.hold?.resolution).toMatchObject({ cause: 'FRAUD', resolvedBy: ann });
    expect(trail.labels.map((l) => [l.label, l.labelledBy])).toEqual([['FRAUD', ann]]);
    const view = await client(keys.compliance).get<CaseView>(`/v1/cases/${caseId}`);
    expect(view.body.history.map((h) => [h.action, h.by])).toEqual([
      ['ALERT', 'system'],
      ['ASSIGN', ann],
      ['NOTE', ann],
      ['RESOLVE', ann],
    ]);
    expect(view.body.holds.map((h) => [h.transactionId, h.hold?.status])).toEqual([['case-e2e-1', 'VOIDED']]);

    // Negative control: the case nobody worked is still open and so is its hold.
    const still = await client(keys.ann).get<CaseView>(`/v1/cases/${untouched}`);
    expect([still.body.state, still.body.holds.map((h) => h.hold?.status)]).toEqual(['open', ['OPEN']]);
  }, 300_000);

  it('a release above the limit is refused to its requester and booked once a second analyst approves', async () => {
    const caseId = await reviewedIntoCase('case-e2e-2', 'acct-case-2', '25.00');
    await act(caseId, keys.ann, { action: 'assign' });
    const asked = await act(caseId, keys.ann, { action: 'resolve', resolution: 'genuine' });
    expect([asked.status, asked.body.labelsSent, asked.body.case.pendingRelease?.requestedBy]).toEqual([200, 0, ann]);

    const self = await act(caseId, keys.ann, { action: 'approve-release' });
    expect([self.status, self.body.code]).toEqual([403, 'CASE_FOUR_EYES_SAME_PERSON']);
    // ledger-sink stores the hold on its own time (the case came from fraud.alerts, not from the ledger): wait for
    // it, then it must still be open, with no label sent.
    const meanwhile = await holdBecomes('case-e2e-2', 'OPEN');
    expect(meanwhile.labels).toEqual([]);

    const approved = await act(caseId, keys.bob, { action: 'approve-release' });
    expect([approved.status, approved.body.labelsSent, approved.body.case.resolution]).toEqual([200, 1, 'genuine']);
    const trail = await holdBecomes('case-e2e-2', 'POSTED');
    expect(trail.hold?.resolution).toMatchObject({ cause: 'GENUINE', resolvedBy: bob });

    const access = await client(keys.compliance).get<AccessLogPage>('/v1/audit/access?action=case.approve-release');
    expect(access.body.entries.map((e) => e.principal).sort()).toEqual([ann, bob].sort());
  }, 300_000);

  it('a fraud resolution reverses a payment whose hold was already booked', async () => {
    const admin = client(keys.admin);
    expect((await admin.put('/v1/accounts/acct-case-4', { type: 'merchant', currency: 'EUR' })).status).toBe(200);
    const caseId = await reviewedIntoCase('case-e2e-4', 'acct-case-4', '14.00');
    const booked = await holdBecomes('case-e2e-4', 'POSTED');
    expect([booked.hold?.resolution?.cause, booked.ledgerEntries.filter((e) => e.reversesEntryId !== null)]).toEqual([
      'EXPIRED',
      [],
    ]);

    await act(caseId, keys.ann, { action: 'assign' });
    expect((await act(caseId, keys.ann, { action: 'resolve', resolution: 'fraud' })).body.labelsSent).toBe(1);
    const trail = await waitFor(
      'the booked payment to be reversed',
      async () => {
        const answer = await client(keys.compliance).get<AuditTrail>('/v1/transactions/case-e2e-4');
        return answer.body.ledgerEntries.some((e) => e.reversesEntryId !== null) ? answer.body : undefined;
      },
      WAIT_MS,
    );
    const originals = trail.ledgerEntries.filter((e) => e.reversesEntryId === null).map((e) => e.entryId);
    const reversals = trail.ledgerEntries.filter((e) => e.reversesEntryId !== null).map((e) => e.reversesEntryId);
    expect([originals.length, reversals]).toEqual([2, originals]);
    const view = await client(keys.ann).get<CaseView>(`/v1/cases/${caseId}`);
    expect(view.body.holds.map((h) => [h.hold?.status, h.reversed])).toEqual([['POSTED', true]]);
  }, 300_000);
});
