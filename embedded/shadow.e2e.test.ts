import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson } from '../platform/canonical-json.js';
import { luhnCheckDigit } from '../platform/pan.js';
import type {
  AccessLogPage,
  ShadowReport,
  ShadowSettingView,
  SyncDecision,
  TransactionRequest,
} from '../schemas/api.js';
import {
  type PipelineProcess,
  apiClient,
  killPipelineProcess,
  startPipelineProcess,
  stopPipelineProcess,
  waitFor,
} from './testing.js';

/**
 * Champion-challenger on the embedded default, end to end. An admin sets a challenger — rules B (card testing from
 * the first small card-not-present payment) and a candidate model from the candidates directory — while the pipeline
 * runs; the same seeded payments get exactly the decisions a run without a challenger gives them; every decided
 * payment has its shadow decision stored, and the report's counts are exact (labels included); only admins may set
 * or promote; promotion is in the access log, switches the decisions that follow to B and the candidate, and
 * survives a restart.
 */
const keys = {
  admin: 'shadow-e2e-admin-key-0123456789abc',
  compliance: 'shadow-e2e-compliance-key-0123456',
  analyst: 'shadow-e2e-analyst-key-0123456789',
  ingest: 'shadow-e2e-ingest-key-0123456789a',
};
const env = {
  VIGIL_DECISION_DEADLINE_MS: '20000',
  VIGIL_API_KEYS: Object.entries(keys)
    .map(([role, key]) => `${role}:${key}`)
    .join(','),
};

const rulesA = JSON.parse(readFileSync(new URL('../scoring/rules.json', import.meta.url), 'utf8')) as {
  version: string;
  rules: Array<{ code: string; when: { all?: Array<{ value: unknown }> }; action: string }>;
};
const versionOf = (document: unknown): string =>
  createHash('sha256').update(canonicalJson(document), 'utf8').digest('hex');

/** Rules B: A with the card-testing threshold lowered from 4 small card-not-present payments in an hour to 0. */
function rulesB(): typeof rulesA {
  const b = structuredClone(rulesA);
  b.version = '2026.12.1-shadow-card-testing-0';
  b.rules.find((r) => r.code === 'R_CARD_TESTING_1H')!.when.all![1]!.value = 0;
  return b;
}

const CANDIDATE = 'shadow-e2e-candidate-1';
/** The champion's artefact under another version, in the candidates directory: a candidate train would write. */
function writeCandidate(dataDir: string): void {
  const dir = join(dataDir, 'model-candidates', 'shadow-e2e');
  mkdirSync(dir, { recursive: true });
  cpSync(new URL('../scoring/model/artifact', import.meta.url), dir, { recursive: true });
  const metadata = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')) as { version: string };
  writeFileSync(join(dir, 'metadata.json'), JSON.stringify({ ...metadata, version: CANDIDATE }));
}

const T0 = Date.UTC(2026, 11, 7, 9);
/**
 * A 5.00 EUR card payment on card `n` (never used before) from its own payer, at T0 + n minutes; card-not-present
 * unless `present`. The same `n` gives the same request in every run.
 */
function payment(id: string, n: number, terminal: string, present = false): TransactionRequest {
  const partial = `41000000${String(n).padStart(7, '0')}`;
  return {
    transactionId: id,
    channel: 'card',
    amount: { value: '5.00', currency: 'EUR' },
    payer: { accountId: `acct-shadow-${n}` },
    payee: { accountId: 'acct-shadow-merchant' },
    card: { number: `${partial}${luhnCheckDigit(partial)}`, present },
    merchant: { id: 'merchant-shadow', terminalId: terminal, mcc: '5411' },
    location: { country: 'FR', latitude: 48.85, longitude: 2.35 },
    eventTime: new Date(T0 + n * 60_000).toISOString(),
  };
}

/** The seeded payments both runs send: five card-not-present, one card-present. */
const seeded = [1, 2, 3, 4, 5, 6].map((n) => payment(`shadow-tx-${n}`, n, 'term-shadow', n === 6));
/** Probes while waiting for a setting to take effect: their own cards, payers and terminal, so no seeded feature moves. */
let probeSerial = 1000;
const probe = (): TransactionRequest => {
  const { eventTime: _received, ...request } = payment(`shadow-probe-${probeSerial}`, probeSerial++, 'term-probe');
  return request; // at the time ingest receives it: a probe's minute offset would run into the future
};

/** What a decision says, without its time. */
const outcome = (d: SyncDecision) => ({
  decision: d.decision,
  score: d.score,
  reasons: d.reasons.map((r) => r.code),
  modelVersion: d.modelVersion,
  rulesVersion: d.rulesVersion,
});

describe('champion-challenger (embedded)', () => {
  let baselineDir: string;
  let dataDir: string;
  let running: PipelineProcess | undefined;

  beforeAll(() => {
    baselineDir = mkdtempSync(join(tmpdir(), 'vigil-shadow-e2e-baseline-'));
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-shadow-e2e-'));
    writeCandidate(dataDir);
  });
  afterAll(async () => {
    if (running) await killPipelineProcess(running);
    rmSync(baselineDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  const decide = async (request: TransactionRequest): Promise<SyncDecision> => {
    const r = await apiClient(running!.url, keys.ingest).post<SyncDecision>('/v1/decisions', request);
    expect(r.status).toBe(200);
    return r.body;
  };

  it('records a challenger beside the champion without changing a decision, reports it exactly, and promotes it', async () => {
    const versionA = versionOf(rulesA);
    const b = rulesB();
    const versionB = versionOf(b);

    // The run without a challenger: what the champion decides for the seeded payments.
    running = await startPipelineProcess(baselineDir, env);
    const baseline = [];
    for (const request of seeded) baseline.push(outcome(await decide(request)));
    expect(await stopPipelineProcess(running)).toBe(0);
    expect(baseline.map((d) => [d.decision, d.rulesVersion])).toEqual(seeded.map(() => ['APPROVE', versionA]));
    const championModel = baseline[0]!.modelVersion;

    running = await startPipelineProcess(dataDir, env);
    const admin = apiClient(running.url, keys.admin);
    const compliance = apiClient(running.url, keys.compliance);
    expect((await compliance.get<{ code: string }>('/v1/shadow')).body.code).toBe('SHADOW_NOT_SET');

    // Only admins set a challenger.
    for (const key of [keys.analyst, keys.compliance, keys.ingest])
      expect((await apiClient(running.url, key).put('/v1/shadow', { rules: b })).status).toBe(403);

    // An invalid challenger is refused whole, every problem with its path, the candidates directory named.
    const invalid = structuredClone(b);
    invalid.rules[0]!.action = 'BLOCK';
    const refused = await admin.put<{ code: string; problems: Array<{ path: string; message: string }> }>(
      '/v1/shadow',
      { rules: invalid, modelVersion: 'no-such-model' },
    );
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('SHADOW_INVALID');
    expect(refused.body.problems.map((p) => p.path)).toEqual([
      '/rules/rules/0/action',
      '/rules/rules/0/risk',
      '/modelVersion',
    ]);
    expect(refused.body.problems[2]!.message).toContain(join(dataDir, 'model-candidates'));

    // The challenger: rules B and the candidate model.
    const put = await admin.put<ShadowSettingView>('/v1/shadow', { rules: b, modelVersion: CANDIDATE });
    expect(put.status).toBe(202);
    expect(put.body.challenger).toEqual({ rulesVersion: versionB, rulesLabel: b.version, modelVersion: CANDIDATE });
    expect(put.body.changedBy).toMatch(/^admin:[0-9a-f]{8}$/);
    const report = async (fromMs: number): Promise<ShadowReport> => {
      const r = await compliance.get<ShadowReport>(`/v1/shadow/report?from=${new Date(fromMs).toISOString()}`);
      expect(r.status).toBe(200);
      return r.body;
    };
    const probesFrom = Date.now() - 1_000;
    await waitFor('a probe scored by the challenger', async () => {
      await decide(probe());
      return (await report(probesFrom)).pairs.length > 0 ? true : undefined;
    });

    // The seeded payments, with the challenger in force: the champion decides exactly as without it.
    const from = Date.now();
    const decided = [];
    for (const request of seeded) decided.push(outcome(await decide(request)));
    expect(decided).toEqual(baseline);

    // Every decided payment has its shadow decision stored; the report's counts are exact.
    await waitFor('every seeded payment in the report', async () =>
      (await report(from)).pairs[0]?.transactions === seeded.length ? true : undefined,
    );
    // The five card-not-present payments are card testing under B; the card-present one is not.
    const matrix = {
      APPROVE: { APPROVE: 1, REVIEW: 5, DECLINE: 0 },
      REVIEW: { APPROVE: 0, REVIEW: 0, DECLINE: 0 },
      DECLINE: { APPROVE: 0, REVIEW: 0, DECLINE: 0 },
    };
    expect((await report(from)).pairs).toEqual([
      expect.objectContaining({
        champion: { modelVersion: championModel, rulesVersion: versionA },
        challenger: { modelVersion: CANDIDATE, rulesVersion: versionB },
        transactions: 6,
        labelled: 0,
        agreeing: 1,
        matrix,
      }),
    ]);

    // Verdicts: one card-not-present payment fraud, another genuine.
    const analyst = apiClient(running.url, keys.analyst);
    expect((await analyst.post('/v1/labels', { transactionId: 'shadow-tx-1', label: 'fraud' })).status).toBe(202);
    expect((await analyst.post('/v1/labels', { transactionId: 'shadow-tx-2', label: 'genuine' })).status).toBe(202);
    await waitFor('both verdicts in the report', async () =>
      (await report(from)).pairs[0]?.labelled === 2 ? true : undefined,
    );
    const labelled = (await report(from)).pairs[0]!;
    expect([labelled.labelledFraud, labelled.championSide, labelled.challengerSide]).toEqual([
      1,
      { alerts: 0, alertRate: 0, truePositives: 0, falsePositives: 0, falseNegatives: 1, precision: null, recall: 0 },
      {
        alerts: 5,
        alertRate: 5 / 6,
        truePositives: 1,
        falsePositives: 1,
        falseNegatives: 0,
        precision: 0.5,
        recall: 1,
      },
    ]);

    // Promotion: admins only, in the access log, and the decisions that follow are B's and the candidate's.
    for (const key of [keys.analyst, keys.compliance, keys.ingest])
      expect((await apiClient(running.url, key).post('/v1/shadow/promote', {})).status).toBe(403);
    const promoted = await admin.post<{ promoted: unknown; setting: ShadowSettingView }>('/v1/shadow/promote', {});
    expect(promoted.status).toBe(202);
    expect(promoted.body.promoted).toEqual({ rulesVersion: versionB, rulesLabel: b.version, modelVersion: CANDIDATE });
    expect(promoted.body.setting).toMatchObject({
      change: 'PROMOTE',
      challenger: null,
      championModelVersion: CANDIDATE,
    });
    await waitFor('a decision by the promoted rules and model', async () => {
      const d = await decide(probe());
      return d.rulesVersion === versionB && d.modelVersion === CANDIDATE ? true : undefined;
    });
    const after = await decide(payment('shadow-after', 7, 'term-shadow'));
    expect([after.rulesVersion, after.modelVersion, after.decision]).toEqual([versionB, CANDIDATE, 'REVIEW']);
    expect(after.reasons.map((r) => r.code)).toContain('R_CARD_TESTING_1H');
    const access = await compliance.get<AccessLogPage>('/v1/audit/access?action=shadow.promote');
    expect(access.body.entries.map((e) => [e.resource, e.role])).toEqual([['shadow/promote', 'admin']]);
    expect((await compliance.get<ShadowSettingView>('/v1/shadow')).body).toMatchObject({
      change: 'PROMOTE',
      challenger: null,
      championModelVersion: CANDIDATE,
    });

    // After a restart the promoted rules and model still decide (read back from the topics).
    expect(await stopPipelineProcess(running)).toBe(0);
    running = await startPipelineProcess(dataDir, env);
    const restarted = await decide(payment('shadow-restarted', 8, 'term-shadow'));
    expect([restarted.rulesVersion, restarted.modelVersion]).toEqual([versionB, CANDIDATE]);
    expect(await stopPipelineProcess(running)).toBe(0);
    running = undefined;
  }, 600_000);
});
