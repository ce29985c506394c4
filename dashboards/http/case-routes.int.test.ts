import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import express from 'express';
import WebSocket from 'ws';
import { ApiKeyAuthenticator, type Role, keyDigestHex, principalIdOf } from '../../platform/auth.js';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { systemClock } from '../../platform/clock.js';
import { EmbeddedLog } from '../../platform/embedded-log/embedded-log.js';
import { silentLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import type {
  AccessLogPage,
  CaseActionResult,
  CasePage,
  CaseSummary,
  CaseTimeline,
  CaseView,
  LiveMessage,
} from '../../schemas/api.js';
import { clickhouseTableStatements } from '../../schemas/clickhouse.js';
import { createCodec } from '../../schemas/codec.js';
import type { AnalystLabel, FraudAlert } from '../../schemas/generated/types.js';
import { topicSpecs } from '../../schemas/partitions.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import { type DashboardsStage, startDashboards } from '../main.js';

/**
 * Cases through the real HTTP server: dashboards on real chDB and the real embedded log, alerts produced to
 * fraud.alerts, actions by two analysts and a compliance officer, the labels the resolutions put on analyst.labels
 * read back from the log, a live client's `case` messages, and a second dashboards process folding the same log.
 */
const keys = {
  ann: 'analyst-ann-0123456789abcdef',
  bob: 'analyst-bob-0123456789abcdef',
  compliance: 'compliance-key-0123456789abcdef',
} as const;
const roleOf: Record<keyof typeof keys, Role> = { ann: 'analyst', bob: 'analyst', compliance: 'compliance' };
const principal = (who: keyof typeof keys): string => principalIdOf(roleOf[who], keyDigestHex(keys[who]));
const authenticator = new ApiKeyAuthenticator(
  Object.entries(keys).map(([who, key]) => ({ role: roleOf[who as keyof typeof keys], key })),
);
const registry = new EmbeddedSchemaRegistry();
const WAIT_MS = 60_000;

let dataDir: string;
let clickhouse: ClickHouseClient;
let bus: EmbeddedLog;
const stages: DashboardsStage[] = [];
const servers: Server[] = [];

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Starts a dashboards process on the shared log and chDB; returns its base URL. */
async function startReplica(): Promise<string> {
  const stage = await startDashboards({
    bus,
    registry,
    logger: silentLogger,
    metrics: new MetricsRegistry(),
    clock: systemClock,
    clickhouse,
    authenticator,
    env: {
      // Each replica pushes every alert to its own clients. The case intake group is shared between replicas in
      // production; one process of the embedded log holds one member per group, so the second replica takes its own
      // and writes every alert's step again — a duplicate its fold and the first one's ignore.
      VIGIL_DASHBOARDS_LIVE_GROUP: `live-${stages.length}`,
      VIGIL_DASHBOARDS_STATS_GROUP: `stats-${stages.length}`,
      VIGIL_DASHBOARDS_CASES_GROUP: `cases-${stages.length}`,
      VIGIL_CASES_FOUR_EYES_ABOVE: 'EUR:1000',
      VIGIL_CASES_STEP_TIMEOUT_MS: String(WAIT_MS),
    },
  });
  stages.push(stage);
  const app = express();
  app.use(stage.router);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  servers.push(server);
  stage.attach(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let baseUrl: string;

async function call<T = unknown>(
  method: string,
  path: string,
  who: keyof typeof keys,
  body?: unknown,
  base = baseUrl,
): Promise<{ status: number; body: T }> {
  const response = await fetch(base + path, {
    method,
    headers: {
      authorization: `Bearer ${keys[who]}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

const act = (caseId: string, who: keyof typeof keys, body: unknown) =>
  call<CaseActionResult & { code?: string; detail?: string }>('POST', `/v1/cases/${caseId}/actions`, who, body);

function alertOf(transactionId: string, payer: string, amountMinor: bigint, score: number): FraudAlert {
  const nowMs = Date.now();
  return {
    alertId: `alert-${transactionId}`,
    transactionId,
    decision: 'REVIEW',
    score,
    reasons: [
      { code: 'R_VELOCITY_1H', source: 'RULE', description: 'Many transactions in the last hour', weight: 0.4 },
    ],
    channel: 'CARD',
    amountMinor,
    currency: 'EUR',
    payerAccountId: payer,
    payeeAccountId: 'acc-shop',
    cardToken: `tok-${payer}`,
    cardLast4: '0005',
    merchantId: 'm-1',
    country: 'FR',
    modelVersion: 'model-v3',
    eventTimeMs: nowMs - 30,
    receivedAtMs: nowMs - 25,
    raisedAtMs: nowMs - 5,
  };
}

/** Every label on analyst.labels, in partition then offset order. */
async function labelsOnTheLog(): Promise<AnalystLabel[]> {
  const codec = await createCodec<AnalystLabel>(registry, Topics.analystLabels);
  const labels: AnalystLabel[] = [];
  const ends = await bus.endOffsets(Topics.analystLabels);
  for (const [partition, end] of ends.entries())
    for (const record of end === 0 ? [] : await bus.read(Topics.analystLabels, partition, 0, end))
      labels.push(await codec.decode(record.value));
  return labels;
}

/** What two replicas must agree on about a case (its age is measured at each one's own clock). */
const comparable = ({ ageMs: _age, slaBreached: _sla, ...rest }: CaseSummary) => rest;

/** The cases that two listings disagree on: by id, the fields that differ. */
function listingDifferences(a: readonly CaseSummary[], b: readonly CaseSummary[]): string[] {
  const other = new Map(b.map((c) => [c.caseId, JSON.stringify(comparable(c))]));
  const differences = a.filter((c) => other.get(c.caseId) !== JSON.stringify(comparable(c))).map((c) => c.caseId);
  const missing = b.filter((c) => !a.some((x) => x.caseId === c.caseId)).map((c) => c.caseId);
  return [...differences, ...missing];
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'vigil-cases-'));
  clickhouse = createClickHouseClient(`embedded:${join(dataDir, 'chdb')}`);
  for (const statement of clickhouseTableStatements()) await clickhouse.command({ query: statement });
  bus = await EmbeddedLog.open({ dir: join(dataDir, 'log'), topics: topicSpecs(4) });
  baseUrl = await startReplica();
}, 120_000);

afterAll(async () => {
  for (const stage of stages) await stage.close();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await bus?.close();
  await clickhouse?.close();
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe('cases over HTTP (/v1/cases)', () => {
  const messages: LiveMessage[] = [];
  let ws: WebSocket;

  afterAll(() => ws?.close());

  it('opens a case per customer from their alerts, lists it by priority, and pushes each step live', async () => {
    ws = new WebSocket(baseUrl.replace('http', 'ws') + '/v1/alerts/live?cases=true', [
      'vigil.v1',
      `bearer.${keys.ann}`,
    ]);
    ws.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString('utf8')) as LiveMessage));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const codec = await createCodec<FraudAlert>(registry, Topics.fraudAlerts);
    const producer = bus.producer();
    const alerts = [
      alertOf('tx-c1', 'acc-one', 5_000n, 0.9),
      alertOf('tx-c2', 'acc-one', 7_000n, 0.8),
      // Above the four-eyes limit (EUR 1,000.00).
      alertOf('tx-c3', 'acc-two', 250_000n, 0.6),
    ];
    for (const alert of alerts)
      await producer.send(Topics.fraudAlerts, [{ key: alert.payerAccountId, value: codec.encode(alert) }]);
    // A redelivered alert joins nothing twice.
    await producer.send(Topics.fraudAlerts, [{ key: 'acc-one', value: codec.encode(alerts[0]!) }]);

    const page = await waitFor('two cases with three alerts', async () => {
      const answer = await call<CasePage>('GET', '/v1/cases?sort=priority', 'ann');
      const count = answer.body.cases?.reduce((n, c) => n + c.alertCount, 0);
      return count === 3 ? answer.body : undefined;
    });
    expect(page.cases.map((c) => [c.caseId, c.groupKey, c.state, c.alertCount, c.priority])).toEqual([
      ['case-alert-tx-c3', 'customer:acc-two', 'open', 1, String(6000n * 250_000n * 100n)],
      ['case-alert-tx-c1', 'customer:acc-one', 'open', 2, String((9000n * 5_000n + 8000n * 7_000n) * 100n)],
    ]);
    expect(page.next).toBeNull();
    const byAge = await call<CasePage>('GET', '/v1/cases?sort=age&limit=1', 'compliance');
    expect([byAge.status, byAge.body.cases.map((c) => c.caseId), byAge.body.next === null]).toEqual([
      200,
      ['case-alert-tx-c1'],
      false,
    ]);
    await waitFor('three live case messages', () =>
      messages.filter((m) => m.type === 'case').length === 3 ? true : undefined,
    );
  });

  it('works a case through to fraud: assign, note, investigate, resolve; FRAUD labels for both payments', async () => {
    const caseId = 'case-alert-tx-c1';
    const before = (await labelsOnTheLog()).length;
    // Compliance reads cases but never acts on them.
    expect((await act(caseId, 'compliance', { action: 'assign' })).status).toBe(403);
    const invalid = await call<{ code: string; problems: unknown[] }>('POST', `/v1/cases/${caseId}/actions`, 'ann', {
      action: 'resolve',
      resolution: 'maybe',
      colour: 'red',
    });
    expect([invalid.status, invalid.body.problems]).toEqual([
      400,
      [
        { path: '/colour', message: 'is not a field of resolve' },
        { path: '/resolution', message: 'must be one of fraud, genuine, escalated' },
      ],
    ]);
    expect((await act(caseId, 'ann', { action: 'resolve', resolution: 'fraud' })).body.code).toBe(
      'CASE_ACTION_REFUSED',
    );

    expect((await act(caseId, 'ann', { action: 'assign' })).body.case).toMatchObject({
      state: 'assigned',
      assignee: principal('ann'),
    });
    expect((await act(caseId, 'bob', { action: 'investigate' })).status).toBe(409);
    expect((await act(caseId, 'ann', { action: 'note', note: 'card 4111111111111111 used abroad' })).status).toBe(200);
    expect((await act(caseId, 'ann', { action: 'investigate' })).body.case.state).toBe('investigating');
    const resolved = await act(caseId, 'ann', { action: 'resolve', resolution: 'fraud' });
    expect([resolved.status, resolved.body.labelsSent, resolved.body.case.resolution]).toEqual([200, 2, 'fraud']);
    // Resolved stays resolved.
    const again = await act(caseId, 'bob', { action: 'assign' });
    expect([again.status, again.body.code]).toEqual([409, 'CASE_ACTION_REFUSED']);

    const labels = (await labelsOnTheLog()).slice(before);
    expect(labels.map((l) => [l.transactionId, l.label, l.labelledBy]).sort()).toEqual([
      ['tx-c1', 'FRAUD', principal('ann')],
      ['tx-c2', 'FRAUD', principal('ann')],
    ]);

    const view = await call<CaseView>('GET', `/v1/cases/${caseId}`, 'compliance');
    expect(view.body.history.map((h) => [h.action, h.by])).toEqual([
      ['ALERT', 'system'],
      ['ALERT', 'system'],
      ['ASSIGN', principal('ann')],
      ['NOTE', principal('ann')],
      ['INVESTIGATE', principal('ann')],
      ['RESOLVE', principal('ann')],
    ]);
    // The pasted card number never reached the history (PCI DSS 3.4).
    expect(view.body.history[3]!.note).toBe('card 411111******1111 used abroad');
    expect(view.body.alerts.map((a) => [a.transactionId, a.amount.amount])).toEqual([
      ['tx-c1', '50.00'],
      ['tx-c2', '70.00'],
    ]);
    expect(view.body.holds.map((h) => [h.transactionId, h.hold, h.reversed])).toEqual([
      ['tx-c1', null, false],
      ['tx-c2', null, false],
    ]);
    const live = await waitFor('the case steps pushed live', () => {
      const steps = messages.flatMap((m) => (m.type === 'case' && m.case.caseId === caseId ? [m.action] : []));
      return steps.length === 6 ? steps : undefined;
    });
    expect(live).toEqual(['ALERT', 'ALERT', 'ASSIGN', 'NOTE', 'INVESTIGATE', 'RESOLVE']);
  });

  it('releases a held payment above the limit only with a second analyst: the requester is refused', async () => {
    const caseId = 'case-alert-tx-c3';
    const before = (await labelsOnTheLog()).length;
    await act(caseId, 'ann', { action: 'assign' });
    const asked = await act(caseId, 'ann', { action: 'resolve', resolution: 'genuine', note: 'customer called' });
    expect([asked.status, asked.body.labelsSent, asked.body.case.state]).toEqual([200, 0, 'assigned']);
    expect(asked.body.case.pendingRelease).toMatchObject({ requestedBy: principal('ann'), note: 'customer called' });

    // Nor can a plain label release it behind the case's back.
    const byLabel = await call<{ code: string }>('POST', '/v1/labels', 'ann', {
      transactionId: 'tx-c3',
      label: 'genuine',
    });
    expect([byLabel.status, byLabel.body.code]).toEqual([409, 'CASE_RELEASE_NEEDS_APPROVAL']);

    const self = await act(caseId, 'ann', { action: 'approve-release' });
    expect([self.status, self.body.code, self.body.detail]).toEqual([
      403,
      'CASE_FOUR_EYES_SAME_PERSON',
      `${principal('ann')} asked for the release of case ${caseId}; a second analyst must approve it`,
    ]);
    expect((await labelsOnTheLog()).length).toBe(before);

    const approved = await act(caseId, 'bob', { action: 'approve-release' });
    expect([approved.status, approved.body.labelsSent, approved.body.case.resolution]).toEqual([200, 1, 'genuine']);
    expect((await labelsOnTheLog()).slice(before).map((l) => [l.transactionId, l.label, l.labelledBy])).toEqual([
      ['tx-c3', 'GENUINE', principal('bob')],
    ]);

    // Once approved, a label may repeat the verdict (how a resolution whose labels failed to send is completed): the
    // case no longer stops it, and it reaches the decision lookup — 404 here, where no decision rows were stored.
    const repeated = await call<{ code?: string }>('POST', '/v1/labels', 'bob', {
      transactionId: 'tx-c3',
      label: 'genuine',
    });
    expect([repeated.status, repeated.body.code]).toEqual([404, 'TRANSACTION_NOT_FOUND']);

    const access = await call<AccessLogPage>('GET', '/v1/audit/access?action=case.approve-release', 'compliance');
    expect(access.body.entries.map((e) => e.principal).sort()).toEqual([principal('ann'), principal('bob')].sort());
  });

  it('answers a case’s timeline, validates its parameters with their paths, and logs the read before it runs', async () => {
    // No decision rows are stored in this test (alerts only): the timeline is empty, its cursor null.
    const empty = await call<CaseTimeline>('GET', '/v1/cases/case-alert-tx-c1/timeline', 'ann');
    expect([empty.status, empty.body]).toEqual([200, { items: [], nextCursor: null }]);
    const invalid = await call<{ problems: unknown[] }>(
      'GET',
      '/v1/cases/case-alert-tx-c1/timeline?limit=201&cursor=nope!',
      'compliance',
    );
    expect([invalid.status, invalid.body.problems]).toEqual([
      400,
      [
        { path: '/query/limit', message: 'must be an integer from 1 to 200, got "201"' },
        { path: '/query/cursor', message: 'must be a cursor returned as nextCursor, got "nope!"' },
      ],
    ]);
    const missing = await call<{ code: string }>('GET', '/v1/cases/case-nobody/timeline', 'ann');
    expect([missing.status, missing.body.code]).toEqual([404, 'CASE_NOT_FOUND']);
    // The miss is on the access log too; the refused request never reached it.
    const access = await call<AccessLogPage>('GET', '/v1/audit/access?action=case.timeline', 'compliance');
    expect(access.body.entries.map((e) => [e.principal, e.resource]).sort()).toEqual(
      [
        [principal('ann'), 'case/case-alert-tx-c1'],
        [principal('ann'), 'case/case-nobody'],
      ].sort(),
    );
  });

  it('a second dashboards process folds the same cases from the log (and the comparison catches a difference)', async () => {
    const second = await startReplica();
    const first = await call<CasePage>('GET', '/v1/cases?sort=age', 'compliance');
    const other = await call<CasePage>('GET', '/v1/cases?sort=age', 'compliance', undefined, second);
    expect(other.body.cases.map((c) => [c.caseId, c.state, c.resolution])).toEqual([
      ['case-alert-tx-c1', 'resolved', 'fraud'],
      ['case-alert-tx-c3', 'resolved', 'genuine'],
    ]);
    expect(listingDifferences(first.body.cases, other.body.cases)).toEqual([]);
    // Negative control: a replica that missed the approval would list the released case as still assigned.
    const missedApproval = other.body.cases.map((c) =>
      c.caseId === 'case-alert-tx-c3' ? { ...c, state: 'assigned' as const, resolution: null } : c,
    );
    expect(listingDifferences(first.body.cases, missedApproval)).toEqual(['case-alert-tx-c3']);
  });
});
