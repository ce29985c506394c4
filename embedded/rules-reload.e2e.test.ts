import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson } from '../platform/canonical-json.js';
import { luhnCheckDigit } from '../platform/pan.js';
import type {
  AccessLogPage,
  ActiveRulesView,
  RulesVersionView,
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
 * Hot reload of the rules on the embedded default: an admin puts rules B in force with `PUT /v1/rules` while the
 * pipeline runs; decisions made before name version A, later ones name B and are decided by B; an invalid document
 * is refused with every problem's path and changes nothing; only admins may put rules in force, and the change is
 * in the access log; B is still in force after a restart (read back from the topic, not the file).
 */
const keys = {
  admin: 'rules-e2e-admin-key-0123456789abcd',
  compliance: 'rules-e2e-compliance-key-01234567',
  analyst: 'rules-e2e-analyst-key-0123456789a',
  ingest: 'rules-e2e-ingest-key-0123456789ab',
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
  b.version = '2026.12.1-card-testing-0';
  const cardTesting = b.rules.find((r) => r.code === 'R_CARD_TESTING_1H')!;
  cardTesting.when.all![1]!.value = 0;
  return b;
}

let cardSerial = 0;
/** A card-not-present payment of 5.00 EUR on a card never used before (so no other rule has history to fire on). */
function payment(id: string, present = false): TransactionRequest {
  const partial = `41000000${String(++cardSerial).padStart(7, '0')}`;
  return {
    transactionId: id,
    channel: 'card',
    amount: { value: '5.00', currency: 'EUR' },
    payer: { accountId: `acct-rules-${id}` },
    payee: { accountId: 'acct-rules-merchant' },
    card: { number: `${partial}${luhnCheckDigit(partial)}`, present },
    merchant: { id: 'merchant-rules', terminalId: 'term-rules', mcc: '5411' },
    location: { country: 'FR', latitude: 48.85, longitude: 2.35 },
  };
}

describe('rules hot reload (embedded)', () => {
  let dataDir: string;
  let running: PipelineProcess | undefined;
  const env = {
    // Generous: each decision below must come back within it on a loaded CI machine (the default, 150 ms, answers
    // 202 instead whenever scoring is slower than that — the first decisions after a start are).
    VIGIL_DECISION_DEADLINE_MS: '20000',
    VIGIL_API_KEYS: Object.entries(keys)
      .map(([role, key]) => `${role}:${key}`)
      .join(','),
  };

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-rules-reload-e2e-'));
  });
  afterAll(async () => {
    if (running) await killPipelineProcess(running);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('puts valid rules in force without a restart, refuses invalid ones with paths, and keeps them across a restart', async () => {
    const versionA = versionOf(rulesA);
    const b = rulesB();
    const versionB = versionOf(b);
    expect(versionB).not.toBe(versionA);

    running = await startPipelineProcess(dataDir, env);
    const admin = apiClient(running.url, keys.admin);
    const compliance = apiClient(running.url, keys.compliance);
    const decide = async (id: string, present = false): Promise<SyncDecision> => {
      const r = await apiClient(running!.url, keys.ingest).post<SyncDecision>('/v1/decisions', payment(id, present));
      expect(r.status).toBe(200);
      return r.body;
    };
    const codes = (d: SyncDecision): string[] => d.reasons.map((r) => r.code);

    // Before: the file's rules (A) decide; a lone small CNP payment is no card testing under A.
    const before = await decide('rules-before');
    expect(before.rulesVersion).toBe(versionA);
    expect(codes(before)).not.toContain('R_CARD_TESTING_1H');
    expect((await admin.get<{ code: string }>('/v1/rules/active')).body.code).toBe('RULES_NOT_PUBLISHED');

    // Only admins put rules in force.
    for (const key of [keys.analyst, keys.compliance, keys.ingest])
      expect((await apiClient(running.url, key).put('/v1/rules', b)).status).toBe(403);

    // An invalid document is refused whole, naming every problem, and changes nothing.
    const invalid = structuredClone(b);
    invalid.rules[0]!.action = 'BLOCK';
    invalid.rules.find((r) => r.code === 'R_CARD_TESTING_1H')!.when.all![1]!.value = 'zero';
    const refused = await admin.put<{ code: string; problems: Array<{ path: string }> }>('/v1/rules', invalid);
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('RULES_INVALID');
    expect(refused.body.problems.map((p) => p.path)).toEqual([
      '/rules/0/action',
      '/rules/0/risk',
      '/rules/2/when/all/1/value',
    ]);
    expect((await decide('rules-after-invalid')).rulesVersion).toBe(versionA);
    expect((await admin.get('/v1/rules/active')).status).toBe(404);

    // B goes in force without a restart.
    const put = await admin.put<ActiveRulesView>('/v1/rules', b);
    expect(put.status).toBe(202);
    expect([put.body.version, put.body.label]).toEqual([versionB, b.version]);
    expect(put.body.publishedBy).toMatch(/^admin:[0-9a-f]{8}$/);
    await waitFor('rules B active', async () => {
      const r = await compliance.get<ActiveRulesView>('/v1/rules/active');
      return r.status === 200 && r.body.version === versionB ? true : undefined;
    });
    let probe = 0;
    await waitFor('a decision naming rules B', async () =>
      (await decide(`rules-probe-${++probe}`)).rulesVersion === versionB ? true : undefined,
    );
    // From then on every decision names B and is decided by it: the same kind of payment as `before` now fires the
    // lowered rule and goes to review at least.
    const after = await decide('rules-after');
    expect(after.rulesVersion).toBe(versionB);
    expect(codes(after)).toContain('R_CARD_TESTING_1H');
    expect(after.decision).not.toBe('APPROVE');
    // Negative control: a card-present payment is no card testing under B either, so B changed only that rule.
    expect(codes(await decide('rules-after-present', true))).not.toContain('R_CARD_TESTING_1H');

    // B is archived under its content version, and the change is in the access log under the admin.
    const archived = await compliance.get<RulesVersionView>(`/v1/rules/${versionB}`);
    expect(archived.status).toBe(200);
    expect(archived.body.label).toBe(b.version);
    const access = await compliance.get<AccessLogPage>('/v1/audit/access?action=rules.publish');
    expect(access.body.entries.map((e) => [e.resource, e.role])).toEqual([[`rules/${versionB}`, 'admin']]);

    // After a restart scoring reads B back from the topic (the file still holds A).
    expect(await stopPipelineProcess(running)).toBe(0);
    running = await startPipelineProcess(dataDir, env);
    const restarted = await decide('rules-restarted');
    expect(restarted.rulesVersion).toBe(versionB);
    expect(codes(restarted)).toContain('R_CARD_TESTING_1H');
    expect((await apiClient(running.url, keys.analyst).get<ActiveRulesView>('/v1/rules/active')).body.version).toBe(
      versionB,
    );
    expect(await stopPipelineProcess(running)).toBe(0);
    running = undefined;
  }, 300_000);
});
