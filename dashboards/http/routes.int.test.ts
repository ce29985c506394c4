import { createHash } from 'node:crypto';
/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument --
   Response bodies are untyped JSON from the wire; the assertions below are what check their shape. */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import express from 'express';
import WebSocket from 'ws';
import { ApiKeyAuthenticator, type Role, keyDigestHex, principalIdOf } from '../../platform/auth.js';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import type { Clock } from '../../platform/clock.js';
import { EmbeddedLog } from '../../platform/embedded-log/embedded-log.js';
import { silentLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { ClickHouseTables, clickhouseTableStatements } from '../../schemas/clickhouse.js';
import { canonicalJson } from '../../platform/canonical-json.js';
import { createCodec } from '../../schemas/codec.js';
import type {
  Account,
  AnalystLabel,
  Channel,
  FraudAlert,
  ScoredTransaction,
  Transaction,
  TransactionKind,
} from '../../schemas/generated/types.js';
import { topicSpecs } from '../../schemas/partitions.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import { buildConsole } from '../console/build.js';
import { type DashboardsStage, startDashboards } from '../main.js';
import { customerTransactions } from '../queries/customers.js';
import { sampleTransaction } from '../../schemas/fixtures.js';
// Dashboards reads what ledger-sink writes: every fixture row goes in through ledger-sink's real writer (never a
// re-typed copy of its rows), so this test crosses the stage boundary on purpose.
// eslint-disable-next-line no-restricted-imports
import { NO_LINKS } from '../../ledger-sink/domain/holds.js';
// eslint-disable-next-line no-restricted-imports
import { ClickHouseLedgerStore } from '../../ledger-sink/adapters/clickhouse-store.js';
// eslint-disable-next-line no-restricted-imports
import type { DecisionRecord, PostedEntry } from '../../ledger-sink/ports.js';
// eslint-disable-next-line no-restricted-imports
import { scoredTransaction } from '../../ledger-sink/testing/fixtures.js';

/** Dashboards against real chDB and the real embedded log (one temp dir), express on 127.0.0.1:0, a real ws client. */
const keys = {
  analyst: 'analyst-key-0123456789abcdef',
  compliance: 'compliance-key-0123456789abcdef',
  ingest: 'ingest-key-0123456789abcdef',
  admin: 'admin-key-0123456789abcdef',
};
const BIG = 9_007_199_254_740_993n; // 2^53 + 1: a float cannot hold it
const HOUR = 3_600_000;
const now = Date.now();

let dataDir: string;
let clickhouse: ClickHouseClient;
let bus: EmbeddedLog;
let stage: DashboardsStage;
let server: Server;
let baseUrl: string;
let metrics: MetricsRegistry;
let store: ClickHouseLedgerStore;
/** Inserts straight into the tables, so a planted duplicate is really stored twice (ledger-sink's store skips it). */
let plantingStore: ClickHouseLedgerStore;
const registry = new EmbeddedSchemaRegistry();
const authenticator = new ApiKeyAuthenticator([
  { role: 'analyst', key: keys.analyst },
  { role: 'compliance', key: keys.compliance },
  { role: 'ingest', key: keys.ingest },
  { role: 'admin', key: keys.admin },
]);
/** The principal id a key's requests are recorded under (its role plus its digest's prefix). */
const principalId = (key: string): string =>
  principalIdOf(Object.entries(keys).find(([, k]) => k === key)![0] as Role, keyDigestHex(key));

/**
 * The stage's clock: the system clock, but always at least 1 ms past its previous reading. The access-log tests list
 * calls newest first in the order they were made; two calls inside one millisecond (a fast machine) would tie, and
 * ties are listed by principal and action (dashboards/queries/access-log.ts), not by when they came.
 */
let lastReadingMs = 0;
const advancingClock: Clock = { nowMs: () => (lastReadingMs = Math.max(Date.now(), lastReadingMs + 1)) };

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function call(
  method: string,
  path: string,
  key?: string,
  body?: unknown,
  accept?: string,
): Promise<{ status: number; type: string; body: any }> {
  const response = await fetch(baseUrl + path, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(accept === undefined ? {} : { accept }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  return { status: response.status, type, body: type.includes('json') ? JSON.parse(text) : text };
}

interface DecisionFixture {
  id: string;
  decision: 'APPROVE' | 'REVIEW' | 'DECLINE';
  amountMinor: bigint;
  currency: string;
  channel?: Channel;
  kind?: TransactionKind;
  payer: string;
  payee: string;
  /** The customer the transaction names; `cust-<payer>` when not given. */
  customer?: string;
  score: number;
  atMs: number;
  /** The currency scoring measured its amount features in; null for a decision from before v6; EUR when not given. */
  reportingCurrency?: string | null;
  /** The debit currency when scoring had no rate for it (its amount went in unconverted); null when not given. */
  unconvertedCurrency?: string | null;
}

/** The fixture as the scored transaction ledger-sink would store (through its real writer, see beforeAll). */
function scoredOf(d: DecisionFixture): ScoredTransaction {
  const reasons: ScoredTransaction['reasons'] =
    d.decision === 'APPROVE'
      ? []
      : [
          {
            code: 'R_VELOCITY_1H',
            source: 'RULE',
            description: 'Many transactions on this card in the last hour',
            weight: 0.4,
          },
        ];
  const transaction = sampleTransaction({
    transactionId: d.id,
    fingerprint: `fp-${d.id}`,
    channel: d.channel ?? 'CARD',
    kind: d.kind ?? 'PURCHASE',
    amountMinor: d.amountMinor,
    currency: d.currency,
    payerAccountId: d.payer,
    payeeAccountId: d.payee,
    customerId: d.customer ?? `cust-${d.payer}`,
    card: d.channel === 'CASH' ? null : { token: 'tok_abc', bin: '424242', last4: '4242', present: true },
    merchantId: 'm-1',
    terminalId: 'term-7',
    mcc: '5411',
    deviceId: null,
    country: 'DE',
    description: null,
    eventTimeMs: d.atMs - 50,
    receivedAtMs: d.atMs - 40,
  });
  return {
    transaction,
    decision: d.decision,
    score: d.score,
    risk: d.score,
    reasons,
    rulesFired: reasons.map((r) => r.code),
    features: { card_count_1h: 7, amount_vs_history: 3.5 },
    featureValues: null,
    reportingCurrency: d.reportingCurrency === undefined ? 'EUR' : d.reportingCurrency,
    unconvertedCurrency: d.unconvertedCurrency ?? null,
    modelVersion: 'model-v3',
    rulesVersion: 'rules-v12',
    scoredAtMs: d.atMs,
  };
}

/** The two legs of a posting from `payer` to `payee`, as ledger-sink posts them. */
function entries(
  id: string,
  payer: string,
  payee: string,
  amountMinor: bigint,
  currency: string,
  atMs: number,
): PostedEntry[] {
  return [
    { leg: 0, accountId: payer, amountMinor: -amountMinor },
    { leg: 1, accountId: payee, amountMinor },
  ].map(({ leg, accountId, amountMinor: amount }) => ({
    entryId: `${id}/${leg}`,
    transactionId: id,
    leg,
    accountId,
    amountMinor: amount,
    currency,
    entryType: 'PRINCIPAL',
    fingerprint: `fp-${id}`,
    eventTimeMs: atMs - 50,
    postedAtMs: atMs + 15,
    reversesEntryId: '',
    capturesTransactionId: '',
    refundsTransactionId: '',
  }));
}

const decisions: DecisionFixture[] = [
  {
    id: 'tx-big',
    decision: 'DECLINE',
    amountMinor: BIG,
    currency: 'EUR',
    payer: 'acc-payer',
    payee: 'acc-shop',
    score: 0.97,
    atMs: now - 2 * HOUR,
    reportingCurrency: 'CHF',
  },
  {
    id: 'tx-rev',
    decision: 'REVIEW',
    amountMinor: 12_345n,
    currency: 'EUR',
    payer: 'acc-payer',
    payee: 'acc-shop',
    score: 0.61,
    atMs: now - HOUR,
    reportingCurrency: null,
  },
  {
    id: 'tx-ok',
    decision: 'APPROVE',
    amountMinor: 10n,
    currency: 'EUR',
    payer: 'acc-other',
    payee: 'acc-shop',
    score: 0.02,
    atMs: now - 3 * HOUR,
  },
  {
    id: 'cash-big',
    decision: 'APPROVE',
    amountMinor: 1_500_000n,
    currency: 'USD',
    channel: 'CASH',
    kind: 'DEPOSIT',
    // Money flows from payer to payee: a deposit moves it from the branch's cash account to the customer's.
    payer: 'bank-vault',
    payee: 'acc-cash',
    score: 0.2,
    atMs: now - 5 * HOUR,
    // Scored by a EUR engine whose rate table had no USD rate: its amount feature is in USD, unconverted.
    unconvertedCurrency: 'USD',
  },
  ...[1, 2, 3].map((day): DecisionFixture => ({
    id: `cash-s${day}`,
    decision: 'APPROVE',
    amountMinor: 950_000n,
    currency: 'USD',
    channel: 'CASH',
    kind: 'DEPOSIT',
    payer: 'bank-vault',
    payee: 'acc-smurf',
    customer: 'cust-smurf',
    score: 0.3,
    atMs: now - day * 24 * HOUR,
  })),
];

beforeAll(async () => {
  // The page's bundle, as `npm install` builds it: the test does not depend on an earlier install step.
  await buildConsole();
  dataDir = mkdtempSync(join(tmpdir(), 'vigil-dashboards-'));
  clickhouse = createClickHouseClient(`embedded:${join(dataDir, 'chdb')}`);
  for (const statement of clickhouseTableStatements()) await clickhouse.command({ query: statement });
  store = new ClickHouseLedgerStore(clickhouse);
  plantingStore = new ClickHouseLedgerStore(clickhouse, { lookupChunkIds: 1000, insertOnce: false });
  await store.insertDecisions(decisions.map((d) => ({ scored: scoredOf(d), storedAtMs: d.atMs + 15 })));
  // tx-big is declined in this fixture but posted anyway, so the payee's balance proves exact big sums.
  await store.insertEntries([
    ...entries('tx-big', 'acc-payer', 'acc-shop', BIG, 'EUR', now - 2 * HOUR),
    ...entries('tx-ok', 'acc-other', 'acc-shop', 10n, 'EUR', now - 3 * HOUR),
    // Backdated: the client's event time is 40 days old, Vigil booked it 90 minutes ago.
    ...entries('tx-late', 'acc-late', 'acc-late-payee', 700n, 'EUR', now - 90 * 60_000).map((e) => ({
      ...e,
      eventTimeMs: now - 40 * 24 * HOUR,
    })),
  ]);
  // tx-rev (REVIEW) holds its legs, as ledger-sink places them, until a verdict; nothing booked.
  await store.insertHolds([
    {
      transactionId: 'tx-rev',
      fingerprint: 'fp-tx-rev',
      legs: entries('tx-rev', 'acc-payer', 'acc-shop', 12_345n, 'EUR', now - HOUR),
      kind: 'REVIEW',
      links: NO_LINKS,
      placedAtMs: now - HOUR + 15,
      expiresAtMs: now + 71 * HOUR,
    },
  ]);
  await store.insertLabels([
    {
      transactionId: 'tx-rev',
      label: 'FRAUD',
      labelledBy: 'analyst:earlier',
      labelledAtMs: now - 30 * 60_000,
      transactionEventTimeMs: now - HOUR - 50,
      payerAccountId: 'acc-payer',
      cardToken: 'tok_abc',
      terminalId: 'term-7',
      note: 'card reported stolen',
    },
  ]);

  bus = await EmbeddedLog.open({ dir: join(dataDir, 'log'), topics: topicSpecs(4) });
  metrics = new MetricsRegistry();
  stage = await startDashboards({
    bus,
    registry,
    logger: silentLogger,
    metrics,
    clock: advancingClock,
    clickhouse,
    authenticator,
    env: {
      VIGIL_DASHBOARDS_STATS_INTERVAL_MS: '200',
      VIGIL_DASHBOARDS_WS_QUEUE_CAPACITY: '8',
      VIGIL_DASHBOARDS_WS_HIGH_WATER_BYTES: '16384',
      VIGIL_DASHBOARDS_WS_STALL_LIMIT_MS: '600000',
    },
  });
  const app = express();
  app.use(stage.router);
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  stage.attach(server);
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await stage?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await bus?.close();
  await clickhouse?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('REST routes', () => {
  it('serves the page without a key', async () => {
    const page = await call('GET', '/');
    expect(page.status).toBe(200);
    expect(page.type).toContain('text/html');
    expect(page.body).toContain('Vigil');
    expect((await call('GET', '/assets/app.js')).status).toBe(200);
  });

  it.each([
    ['GET', '/v1/transactions/tx-big', ['analyst', 'compliance']],
    ['GET', '/v1/accounts/acc-shop/balance', ['analyst', 'compliance']],
    ['GET', '/v1/accounts/acc-shop/statement', ['compliance']],
    ['GET', '/v1/alerts', ['analyst']],
    ['GET', '/v1/reports/summary', ['analyst', 'compliance']],
    ['GET', '/v1/reports/trial-balance', ['compliance']],
    ['GET', '/v1/reports/large-cash', ['compliance']],
    ['GET', '/v1/reports/ledger-integrity', ['compliance']],
    ['POST', '/v1/labels', ['analyst']],
    ['GET', '/v1/audit/search', ['compliance']],
    ['GET', '/v1/accounts', ['compliance']],
    ['GET', '/v1/accounts/acc-shop', ['analyst', 'compliance']],
    ['PUT', '/v1/accounts/acc-rbac', []],
  ] as const)('%s %s: 401 without a key, 403 for other roles, allowed for %p', async (method, path, allowed) => {
    const anonymous = await call(method, path);
    expect(anonymous.status).toBe(401);
    expect(anonymous.type).toContain('application/problem+json');
    expect((await call(method, path, 'not-a-key-at-all-000000')).status).toBe(401);
    for (const role of ['analyst', 'compliance', 'ingest'] as const) {
      const response = await call(method, path, keys[role], method === 'GET' ? undefined : {});
      if ((allowed as readonly string[]).includes(role)) expect([200, 400]).toContain(response.status);
      else
        expect({ role, status: response.status, code: response.body.code }).toEqual({
          role,
          status: 403,
          code: 'FORBIDDEN',
        });
    }
  });

  it('GET /v1/rules/:version returns the archived rules a decision names; an old label or unknown hash is 404, an edited archive 500', async () => {
    const rulesJson = canonicalJson({ version: '2026.01.1', lists: {}, rules: [] });
    const version = createHash('sha256').update(rulesJson).digest('hex');
    const tampered = canonicalJson({ version: '2026.01.2', lists: {}, rules: [] });
    const tamperedVersion = createHash('sha256').update(tampered).digest('hex');
    await clickhouse.insert({
      table: ClickHouseTables.rulesVersions,
      values: [
        { version, label: '2026.01.1', rules_json: rulesJson, first_loaded_at: '2026-01-01 00:00:00.000' },
        // Stored under its hash, then edited in place: must not be served as the rules of that version.
        {
          version: tamperedVersion,
          label: '2026.01.2',
          rules_json: tampered.replace('"rules":[]', '"rules":[{"code":"R_X"}]'),
          first_loaded_at: '2026-01-01 00:00:00.000',
        },
      ],
      format: 'JSONEachRow',
    });
    const found = await call('GET', `/v1/rules/${version}`, keys.compliance);
    expect({ status: found.status, body: found.body }).toEqual({
      status: 200,
      body: {
        version,
        label: '2026.01.1',
        firstLoadedAt: '2026-01-01T00:00:00.000Z',
        rules: { version: '2026.01.1', lists: {}, rules: [] },
      },
    });
    expect((await call('GET', `/v1/rules/${version}`, keys.analyst)).status).toBe(403);
    const label = await call('GET', '/v1/rules/2024.11.1', keys.compliance);
    expect({ status: label.status, code: label.body.code }).toEqual({ status: 404, code: 'RULES_VERSION_NOT_FOUND' });
    // Negative control: the hash check on read refuses the edited document.
    const edited = await call('GET', `/v1/rules/${tamperedVersion}`, keys.compliance);
    expect({ status: edited.status, code: edited.body.code }).toEqual({ status: 500, code: 'RULES_ARCHIVE_CORRUPT' });
  });

  it('GET /v1/transactions/:id returns the full audit trail with exact money', async () => {
    const { status, body } = await call('GET', '/v1/transactions/tx-big', keys.compliance);
    expect(status).toBe(200);
    expect(body.transaction.amount).toEqual({
      amount: '90071992547409.93',
      amountMinor: '9007199254740993',
      currency: 'EUR',
    });
    expect(body.decision).toMatchObject({
      outcome: 'DECLINE',
      score: 0.97,
      reasonCodes: ['R_VELOCITY_1H'],
      rulesFired: ['R_VELOCITY_1H'],
      modelVersion: 'model-v3',
      rulesVersion: 'rules-v12',
      combinedRisk: 0.97,
      unpostedReason: null,
    });
    expect(body.transaction.submittedBy).toBeNull();
    expect(body.transaction.sourceDocument).toBeNull();
    expect(body.decision.reasons[0]).toMatchObject({
      code: 'R_VELOCITY_1H',
      description: expect.stringContaining('last hour'),
    });
    expect(body.features).toEqual({ card_count_1h: 7, amount_vs_history: 3.5 });
    // The canonical record as scored; its amount exact (canonical JSON writes bigint as a decimal string).
    expect(body.input).toMatchObject({ transactionId: 'tx-big', amountMinor: '9007199254740993', currency: 'EUR' });
    expect(body.timeline).toMatchObject({
      receivedToScoredMs: 40,
      scoredToStoredMs: 15,
      scoredAt: new Date(now - 2 * HOUR).toISOString(),
    });
    expect(body.ledgerEntries.map((e: any) => [e.accountId, e.amount.amountMinor])).toEqual([
      ['acc-payer', '-9007199254740993'],
      ['acc-shop', '9007199254740993'],
    ]);
    expect(body.transaction.card).toEqual({ token: 'tok_abc', last4: '4242' });
    expect(typeof body.fingerprint === 'string' && body.fingerprint.length > 0).toBe(true);
  });

  it('GET /v1/transactions/:id and the customer export’s query name the currency of the amount features as the decision recorded it, null where it did not', async () => {
    const recorded = await call('GET', '/v1/transactions/tx-big', keys.compliance);
    const beforeV6 = await call('GET', '/v1/transactions/tx-rev', keys.analyst);
    expect([recorded.status, recorded.body.reportingCurrency]).toEqual([200, 'CHF']);
    // Not filled in from a setting: a decision that did not record it says so.
    expect([beforeV6.status, beforeV6.body.reportingCurrency]).toEqual([200, null]);
    // The customer export's query (its route needs a per-customer key store, which this server has none of).
    const exported = await customerTransactions(clickhouse, 'cust-acc-payer', { limit: 10, after: undefined });
    expect(
      Object.fromEntries(exported.transactions.map((t) => [t.transactionId, t.decision.reportingCurrency] as const)),
    ).toEqual({ 'tx-big': 'CHF', 'tx-rev': null });
  });

  it('GET /v1/transactions/:id and the customer export’s query name the currency of an amount that had no rate, null where it converted or was not recorded', async () => {
    const unconverted = await call('GET', '/v1/transactions/cash-big', keys.compliance);
    expect([unconverted.status, unconverted.body.reportingCurrency, unconverted.body.unconvertedCurrency]).toEqual([
      200,
      'EUR',
      'USD',
    ]);
    const converted = await call('GET', '/v1/transactions/tx-big', keys.compliance);
    const beforeV6 = await call('GET', '/v1/transactions/tx-rev', keys.analyst);
    expect([converted.body.unconvertedCurrency, beforeV6.body.unconvertedCurrency]).toEqual([null, null]);
    const vault = await customerTransactions(clickhouse, 'cust-bank-vault', { limit: 10, after: undefined });
    const payer = await customerTransactions(clickhouse, 'cust-acc-payer', { limit: 10, after: undefined });
    expect(
      Object.fromEntries(
        [...vault.transactions, ...payer.transactions].map(
          (t) => [t.transactionId, t.decision.unconvertedCurrency] as const,
        ),
      ),
    ).toEqual({ 'cash-big': 'USD', 'tx-big': null, 'tx-rev': null });
  });

  it('GET /v1/transactions/:id shows an analyst no card token or fingerprint, anywhere in the body (API3)', async () => {
    const full = await call('GET', '/v1/transactions/tx-big', keys.compliance);
    const analyst = await call('GET', '/v1/transactions/tx-big', keys.analyst);
    expect(analyst.status).toBe(200);
    expect(analyst.body.transaction.card).toEqual({ token: null, last4: '4242' });
    expect(analyst.body.fingerprint).toBeNull();
    const text = JSON.stringify(analyst.body);
    // Negative control: the compliance view of the same trail does carry both, in more than one place.
    expect(JSON.stringify(full.body).split('tok_abc').length - 1).toBeGreaterThan(1);
    expect(JSON.stringify(full.body)).toContain(full.body.fingerprint);
    expect(text).not.toContain('tok_abc');
    expect(text).not.toContain(full.body.fingerprint);
    // Everything else is the same trail.
    expect(analyst.body.ledgerEntries).toEqual(full.body.ledgerEntries);
    expect(analyst.body.decision).toEqual(full.body.decision);
  });

  it('GET /v1/transactions/:id is a 404 problem for an unknown id', async () => {
    const { status, type, body } = await call('GET', '/v1/transactions/nope', keys.analyst);
    expect(status).toBe(404);
    expect(type).toContain('application/problem+json');
    expect(body.code).toBe('TRANSACTION_NOT_FOUND');
  });

  it('GET /v1/accounts/:id/balance sums exactly above 2^53 and shows open holds as pending', async () => {
    const { status, body } = await call('GET', '/v1/accounts/acc-shop/balance', keys.analyst);
    expect(status).toBe(200);
    // 9007199254740993 + 10: as floats this would come out as ...1002. The held 123.45 is pending, not posted.
    expect(body).toEqual({
      accountId: 'acc-shop',
      entryCount: 2,
      balances: [
        {
          currency: 'EUR',
          posted: { amount: '90071992547410.03', amountMinor: '9007199254741003', currency: 'EUR' },
          pendingDebits: { amount: '0.00', amountMinor: '0', currency: 'EUR' },
          pendingCredits: { amount: '123.45', amountMinor: '12345', currency: 'EUR' },
          available: { amount: '90071992547410.03', amountMinor: '9007199254741003', currency: 'EUR' },
          overdraftLimit: null,
          entries: 2,
          openHolds: 1,
          lastBookedAt: new Date(now - 2 * HOUR + 15).toISOString(),
        },
      ],
    });
    // The payer: debited by the declined-but-posted fixture, and 123.45 of it reserved by the hold.
    const payer = (await call('GET', '/v1/accounts/acc-payer/balance', keys.analyst)).body;
    expect(
      payer.balances.map((b: any) => [b.posted.amountMinor, b.pendingDebits.amountMinor, b.available.amountMinor]),
    ).toEqual([['-9007199254740993', '12345', '-9007199254753338']]);
    expect((await call('GET', '/v1/accounts/acc-unknown/balance', keys.analyst)).status).toBe(404);
  });

  it('GET /v1/accounts/:id/statement gives opening, running and closing balances', async () => {
    const { status, body } = await call(
      'GET',
      `/v1/accounts/acc-shop/statement?from=${now - 2.5 * HOUR}&to=${now}`,
      keys.compliance,
    );
    expect(status).toBe(200);
    expect(body.currencies).toEqual([
      {
        currency: 'EUR',
        opening: expect.objectContaining({ amountMinor: '10' }),
        closing: expect.objectContaining({ amountMinor: '9007199254741003' }),
        entriesInPeriod: 1,
      },
    ]);
    expect(body.lines.map((l: any) => [l.transactionId, l.balanceAfter.amountMinor])).toEqual([
      ['tx-big', '9007199254741003'],
    ]);
    expect(body.truncated).toBe(false);
    expect(body.openHoldsAtEnd).toEqual([
      {
        transactionId: 'tx-rev',
        amount: { amount: '123.45', amountMinor: '12345', currency: 'EUR' },
        placedAt: new Date(now - HOUR + 15).toISOString(),
        expiresAt: new Date(now + 71 * HOUR).toISOString(),
      },
    ]);
  });

  it('GET /v1/accounts/:id/statement is cut by booking time: a backdated event books into the open period', async () => {
    const statement = async (fromMs: number, toMs: number) =>
      (await call('GET', `/v1/accounts/acc-late/statement?from=${fromMs}&to=${toMs}`, keys.compliance)).body;
    const open = await statement(now - 2 * HOUR, now);
    expect(open.lines.map((l: any) => [l.transactionId, l.eventTime, l.amount.amountMinor])).toEqual([
      ['tx-late', new Date(now - 40 * 24 * HOUR).toISOString(), '-700'],
    ]);
    // The closed period of its event time never changes: nothing was booked then.
    const closed = await statement(now - 41 * 24 * HOUR, now - 39 * 24 * HOUR);
    expect(closed).toMatchObject({ currencies: [], lines: [] });
    // Opening + the period's lines = closing.
    const [eur] = open.currencies;
    expect(BigInt(eur.opening.amountMinor) - 700n).toBe(BigInt(eur.closing.amountMinor));
  });

  it('GET /v1/accounts/:id/statement with Accept: text/csv is the same statement as one CSV table', async () => {
    const path = `/v1/accounts/acc-shop/statement?from=${now - 2.5 * HOUR}&to=${now}`;
    const { status, type, body } = await call('GET', path, keys.compliance, undefined, 'text/csv');
    expect(status).toBe(200);
    expect(type).toContain('text/csv');
    const rows = (body as string).trimEnd().split('\r\n');
    expect(rows).toEqual([
      'record,currency,posted_at,value_date,transaction_id,entry_id,entry_type,reverses_entry_id,amount,balance',
      `OPENING,EUR,${new Date(now - 2.5 * HOUR).toISOString()},,,,,,,0.10`,
      `ENTRY,EUR,${new Date(now - 2 * HOUR + 15).toISOString()},${new Date(now - 2 * HOUR - 50).toISOString()},tx-big,tx-big/1,PRINCIPAL,,90071992547409.93,90071992547410.03`,
      `CLOSING,EUR,${new Date(now).toISOString()},,,,,,,90071992547410.03`,
      `OPEN_HOLD,EUR,${new Date(now - HOUR + 15).toISOString()},,tx-rev,,,,123.45,`,
    ]);
    // Without an Accept header (or with */*) the answer stays JSON.
    expect((await call('GET', path, keys.compliance)).type).toContain('application/json');
  });

  it('GET /v1/alerts lists REVIEW/DECLINE newest first with labels, paginated', async () => {
    const all = await call('GET', '/v1/alerts', keys.analyst);
    expect(all.status).toBe(200);
    expect(all.body.alerts.map((a: any) => a.transactionId)).toEqual(['tx-rev', 'tx-big']);
    expect(all.body.alerts[0].label).toMatchObject({
      label: 'FRAUD',
      labelledBy: 'analyst:earlier',
      note: 'card reported stolen',
    });
    expect(all.body.alerts[1].label).toBeNull();
    expect(all.body.nextCursor).toBeNull();

    const first = await call('GET', '/v1/alerts?limit=1', keys.analyst);
    expect(first.body.alerts.map((a: any) => a.transactionId)).toEqual(['tx-rev']);
    const second = await call('GET', `/v1/alerts?limit=1&cursor=${first.body.nextCursor}`, keys.analyst);
    expect(second.body.alerts.map((a: any) => a.transactionId)).toEqual(['tx-big']);
    expect(second.body.nextCursor).toBeNull();

    const declines = await call('GET', '/v1/alerts?decision=DECLINE', keys.analyst);
    expect(declines.body.alerts.map((a: any) => a.transactionId)).toEqual(['tx-big']);
    const recent = await call('GET', `/v1/alerts?since=${new Date(now - 90 * 60_000).toISOString()}`, keys.analyst);
    expect(recent.body.alerts.map((a: any) => a.transactionId)).toEqual(['tx-rev']);
  });

  it('rejects bad query parameters with 400 problems naming each one', async () => {
    const { status, type, body } = await call('GET', '/v1/alerts?limit=0&since=yesterday&decision=MAYBE', keys.analyst);
    expect(status).toBe(400);
    expect(type).toContain('application/problem+json');
    expect(body.problems.map((p: any) => p.path)).toEqual(['/query/decision', '/query/since', '/query/limit']);
    const summary = await call('GET', '/v1/reports/summary?from=2026-02-01&to=2026-01-01', keys.analyst);
    expect(summary.body.problems).toEqual([{ path: '/query/from', message: 'must be before to' }]);
  });

  it('POST /v1/labels puts an AnalystLabel on analyst.labels and answers 202', async () => {
    const { status, body } = await call('POST', '/v1/labels', keys.analyst, {
      transactionId: 'tx-big',
      label: 'genuine',
      note: 'customer confirmed',
    });
    expect(status).toBe(202);
    const [record] = await bus.read(Topics.analystLabels, body.partition, body.offset, 1);
    // Keyed by the payer account, like the decision it judges: one member of a co-partitioned group handles both.
    expect(record?.key).toBe('acc-payer');
    const codec = await createCodec<AnalystLabel>(registry, Topics.analystLabels);
    const label = await codec.decode(record!.value);
    expect(label).toMatchObject({
      transactionId: 'tx-big',
      label: 'GENUINE',
      labelledBy: principalId(keys.analyst),
      payerAccountId: 'acc-payer',
      cardToken: 'tok_abc',
      terminalId: 'term-7',
      transactionEventTimeMs: now - 2 * HOUR - 50,
      note: 'customer confirmed',
    });
    // The answer echoes the label without the card token (API3): the topic needs it, the analyst does not.
    expect(body.label).toMatchObject({ transactionId: 'tx-big', cardToken: null, terminalId: 'term-7' });
  });

  it('POST /v1/labels: 404 for an unknown transaction, 400 with paths for a bad body', async () => {
    expect(
      (await call('POST', '/v1/labels', keys.analyst, { transactionId: 'tx-unknown', label: 'fraud' })).status,
    ).toBe(404);
    const bad = await call('POST', '/v1/labels', keys.analyst, { transactionId: 'tx-big', label: 'maybe' });
    expect(bad.status).toBe(400);
    expect(bad.body.problems.map((p: any) => p.path)).toEqual(['/label']);
  });

  it('GET /v1/reports/summary: volumes by channel and currency, rates and histogram', async () => {
    const { status, body } = await call('GET', `/v1/reports/summary?from=${now - 6 * HOUR}&to=${now}`, keys.analyst);
    expect(status).toBe(200);
    expect(body.totals).toEqual({ transactions: 4, alerts: 2, alertRate: 0.5 });
    const card = body.volumes.find((v: any) => v.channel === 'CARD' && v.currency === 'EUR');
    expect(card.count).toBe(3);
    expect(card.amount).toEqual({
      amount: '90071992547533.48',
      amountMinor: String(BIG + 12_345n + 10n),
      currency: 'EUR',
    });
    expect(card.byDecision.DECLINE).toEqual({
      count: 1,
      amount: { amount: '90071992547409.93', amountMinor: BIG.toString(), currency: 'EUR' },
    });
    expect(body.labels).toEqual({ labelled: 1, fraud: 1, genuine: 0, fraudRate: 1 });
    expect(body.scoreHistogram.counts).toEqual([1, 0, 1, 0, 0, 0, 1, 0, 0, 1]);
  });

  it('GET /v1/reports/trial-balance: debits and credits per account type and currency, nothing found', async () => {
    const { status, body } = await call('GET', '/v1/reports/trial-balance?top=2', keys.compliance);
    expect(status).toBe(200);
    expect(body).toMatchObject({ balanced: true, reconciled: true, findings: [], clearing: [] });
    // No account is set yet: every one is a customer (credit-normal), the ledger's default.
    expect(body.lines).toEqual([
      {
        type: 'customer',
        normalSide: 'credit',
        currency: 'EUR',
        accounts: 5,
        entries: 6,
        debits: eur(BIG + 10n + 700n),
        credits: eur(BIG + 10n + 700n),
        net: eur(0n),
        normalBalance: eur(0n),
      },
    ]);
    expect(body.currencies).toEqual([
      { currency: 'EUR', entries: 6, total: eur(0n), debits: eur(BIG + 10n + 700n), credits: eur(BIG + 10n + 700n) },
    ]);
    expect(body.accounts.map((a: any) => [a.accountId, a.type, a.balance.amountMinor])).toEqual([
      ['acc-shop', 'customer', '9007199254741003'],
      ['acc-payer', 'customer', '-9007199254740993'],
    ]);
  });

  it('GET /v1/reports/large-cash: large cash and structuring within 7 days, per currency', async () => {
    const { status, body } = await call('GET', '/v1/reports/large-cash?threshold=10000&currency=USD', keys.compliance);
    expect(status).toBe(200);
    expect(body.currencies.map((c: any) => [c.currency, c.threshold])).toEqual([
      ['USD', { amount: '10000.00', amountMinor: '1000000', currency: 'USD' }],
    ]);
    const [usd] = body.currencies;
    expect(usd.largeTransactions.map((t: any) => [t.transactionId, t.amount.amount, t.customerAccountId])).toEqual([
      ['cash-big', '15000.00', 'acc-cash'],
    ]);
    expect(usd.structuring).toEqual([
      {
        customerId: 'cust-smurf',
        customerAccountIds: ['acc-smurf'],
        kind: 'DEPOSIT',
        transactionsIn7Days: 3,
        windowStart: expect.any(String),
        windowTotal: { amount: '28500.00', amountMinor: '2850000', currency: 'USD' },
        transactionIds: expect.arrayContaining(['cash-s1', 'cash-s2', 'cash-s3']),
      },
    ]);
    // Without `currency`: every configured currency (EUR, GBP, USD by default), each with its own threshold.
    const all = await call('GET', '/v1/reports/large-cash', keys.compliance);
    expect(all.body.currencies.map((c: any) => c.currency)).toEqual(['EUR', 'GBP', 'USD']);
    expect(all.body.currenciesWithoutThreshold).toEqual([]);
    const stricter = await call(
      'GET',
      '/v1/reports/large-cash?threshold=10000&currency=USD&minTransactions=4',
      keys.compliance,
    );
    expect(stricter.body.currencies[0].structuring).toEqual([]);
    const bad = await call('GET', '/v1/reports/large-cash?threshold=12.345&currency=usd', keys.compliance);
    expect(bad.body.problems.map((p: any) => p.path)).toEqual(['/query/currency', '/query/threshold']);
    const unconfigured = await call('GET', '/v1/reports/large-cash?currency=JPY', keys.compliance);
    expect(unconfigured.body.problems.map((p: any) => p.path)).toEqual(['/query/threshold']);
  });

  it('GET /v1/reports/ledger-integrity counts what a fault would break', async () => {
    const { body } = await call('GET', '/v1/reports/ledger-integrity', keys.compliance);
    expect(body).toMatchObject({
      decisionRows: 7,
      distinctDecisions: 7,
      postedTransactions: 3,
      entries: 6,
      duplicateEntries: 0,
      unbalancedTransactions: 0,
      declinedWithEntries: 1,
      // cash-big and cash-s1..3 are approved but have no entries in this fixture; tx-late has entries without a
      // decision; tx-rev is held.
      postableDecisions: 5,
      decisionsWithoutEntries: 4,
      entriesWithoutDecisions: 1,
      conflicts: 0,
      heldDecisions: 1,
      reviewsWithoutHolds: 0,
      openHolds: 1,
      postedHolds: 0,
      voidedHolds: 0,
      holdsResolvedTwice: 0,
      entriesOfUnpostedHolds: 0,
      reversedTransactions: 0,
      entriesReversedTwice: 0,
      reversalsWithoutOriginal: 0,
    });
  });

  it('GET /v1/reports/ledger-integrity catches a planted double posting and an unbalanced one', async () => {
    const [first, second] = entries('tx-ok', 'acc-other', 'acc-shop', 10n, 'EUR', now - 3 * HOUR);
    await plantingStore.insertEntries([
      first!,
      second!,
      { ...second!, entryId: 'tx-lopsided/1', transactionId: 'tx-lopsided', amountMinor: 5n },
    ]);
    const { body } = await call('GET', '/v1/reports/ledger-integrity', keys.compliance);
    // tx-lopsided has entries but no decision (as tx-late has): the reverse counter sees it.
    expect(body).toMatchObject({ duplicateEntries: 2, unbalancedTransactions: 1, entriesWithoutDecisions: 2 });
    expect(body.totalsByCurrency).toEqual([{ currency: 'EUR', sumMinor: '5' }]);
  });

  it('GET /v1/reports/ledger-integrity counts a planted decision stored without its ledger entries', async () => {
    const before = (await call('GET', '/v1/reports/ledger-integrity', keys.compliance)).body;
    // Negative control: the real ledger-sink writer stores an APPROVE decision and no entries (a lost posting).
    // No reasons and an account of its own, so the search and report tests that follow do not see it.
    const scored = scoredTransaction(
      1,
      { transactionId: 'tx-unposted', payerAccountId: 'acc-unposted', payeeAccountId: 'acc-unposted-payee' },
      { decision: 'APPROVE', reasons: [], rulesFired: [] },
    );
    await store.insertDecisions([{ scored, storedAtMs: scored.scoredAtMs + 5 }]);
    const { body } = await call('GET', '/v1/reports/ledger-integrity', keys.compliance);
    expect(body.decisionsWithoutEntries - before.decisionsWithoutEntries).toBe(1);
    expect(body).toMatchObject({
      postableDecisions: before.postableDecisions + 1,
      decisionsWithoutEntries: 5,
      entriesWithoutDecisions: 2,
      declinedWithEntries: 1,
    });
  });

  it('GET /v1/reports/ledger-integrity counts a decision the ledger could not post apart from lost postings', async () => {
    const before = (await call('GET', '/v1/reports/ledger-integrity', keys.compliance)).body;
    const scored = scoredTransaction(
      1,
      { transactionId: 'tx-unpostable', payerAccountId: 'acc-unpostable', payeeAccountId: 'fx:EUR' },
      { decision: 'APPROVE', reasons: [], rulesFired: [] },
    );
    await store.insertDecisions([
      { scored, storedAtMs: scored.scoredAtMs + 5, unpostedReason: 'RESERVED_ACCOUNT_ID: reserved fx: namespace' },
    ]);
    const { body } = await call('GET', '/v1/reports/ledger-integrity', keys.compliance);
    // Unlike the planted lost posting above, it books nothing by design: not postable, not a decision without entries.
    expect({
      unpostable: body.unpostableDecisions - before.unpostableDecisions,
      postable: body.postableDecisions - before.postableDecisions,
      withoutEntries: body.decisionsWithoutEntries - before.decisionsWithoutEntries,
      rows: body.decisionRows - before.decisionRows,
    }).toEqual({ unpostable: 1, postable: 0, withoutEntries: 0, rows: 1 });
    const trail = (await call('GET', '/v1/transactions/tx-unpostable', keys.compliance)).body;
    expect(trail.decision.unpostedReason).toBe('RESERVED_ACCOUNT_ID: reserved fx: namespace');
  });

  it('GET /v1/reports/ledger-integrity counts planted card flows: authorisations by state and the business exceptions', async () => {
    const before = (await call('GET', '/v1/reports/ledger-integrity', keys.compliance)).body;
    expect(before).toMatchObject({
      authorizationHolds: { open: 0, captured: 0, voided: 0 },
      overCapturedAuthorizations: 0,
      capturesWithoutAuthorization: 0,
      refundsWithoutOriginal: 0,
      refundsBeyondOriginal: 0,
    });
    const at = now - 2 * HOUR;
    const authorization = (id: string, amountMinor: bigint) => ({
      transactionId: id,
      fingerprint: `fp-${id}`,
      legs: entries(id, 'acc-card-payer', 'acc-card-shop', amountMinor, 'EUR', at),
      kind: 'AUTHORIZATION' as const,
      links: NO_LINKS,
      placedAtMs: at + 15,
      expiresAtMs: at + 7 * 24 * HOUR,
    });
    const linked = (id: string, amountMinor: bigint, link: Partial<PostedEntry>, payer = 'acc-card-payer') =>
      entries(id, payer, 'acc-card-shop', amountMinor, 'EUR', at).map((e) => ({ ...e, ...link }));
    /** A refund's legs: its payment's, signs flipped (money flows back to the payer). */
    const refund = (id: string, amountMinor: bigint, original: string) =>
      entries(id, 'acc-card-shop', 'acc-card-payer', amountMinor, 'EUR', at).map((e) => ({
        ...e,
        leg: 1 - e.leg,
        entryId: `${id}/${1 - e.leg}`,
        refundsTransactionId: original,
      }));
    await store.insertHolds([
      authorization('card-auth-open', 10_000n),
      authorization('card-auth-over', 10_000n),
      authorization('card-auth-void', 10_000n),
      authorization('card-auth-exact', 10_000n),
    ]);
    await store.insertHoldResolutions([
      {
        transactionId: 'card-auth-over',
        resolution: 'CAPTURED',
        cause: 'CAPTURED',
        resolvedBy: 'capture',
        resolvedAtMs: at,
      },
      {
        transactionId: 'card-auth-exact',
        resolution: 'CAPTURED',
        cause: 'CAPTURED',
        resolvedBy: 'capture',
        resolvedAtMs: at,
      },
      {
        transactionId: 'card-auth-void',
        resolution: 'VOIDED',
        cause: 'EXPIRED',
        resolvedBy: 'expiry',
        resolvedAtMs: at,
      },
    ]);
    await store.insertEntries([
      // 70.00 + 50.00 on 100.00: over-captured; its 50.00 capture reversed later does not undo that.
      ...linked('card-cap-over-1', 7_000n, { capturesTransactionId: 'card-auth-over' }),
      ...linked('card-cap-over-2', 5_000n, { capturesTransactionId: 'card-auth-over' }),
      // Exactly 100.00, and 30.00 of a voided one: not over.
      ...linked('card-cap-exact', 10_000n, { capturesTransactionId: 'card-auth-exact' }),
      ...linked('card-cap-void', 3_000n, { capturesTransactionId: 'card-auth-void' }),
      // 200.00 on another payer's account: not the authorised payer leg, so no over-capture of it.
      ...linked('card-cap-other', 20_000n, { capturesTransactionId: 'card-auth-open' }, 'acc-card-other'),
      // Naming no hold, and naming a REVIEW hold (tx-rev): captures without an authorisation.
      ...linked('card-cap-orphan', 1_000n, { capturesTransactionId: 'card-auth-missing' }),
      ...linked('card-cap-review', 1_000n, { capturesTransactionId: 'tx-rev' }),
      // Payments of 50.00: one refunded 30.00 + 30.00 (beyond), one refunded exactly 50.00; one refund of nothing.
      ...entries('card-pay-1', 'acc-card-payer', 'acc-card-shop', 5_000n, 'EUR', at),
      ...entries('card-pay-2', 'acc-card-payer', 'acc-card-shop', 5_000n, 'EUR', at),
      ...refund('card-ref-1a', 3_000n, 'card-pay-1'),
      ...refund('card-ref-1b', 3_000n, 'card-pay-1'),
      ...refund('card-ref-2', 5_000n, 'card-pay-2'),
      ...refund('card-ref-orphan', 1_000n, 'card-pay-missing'),
    ]);
    try {
      const { body } = await call('GET', '/v1/reports/ledger-integrity', keys.compliance);
      expect(body).toMatchObject({
        authorizationHolds: { open: 1, captured: 2, voided: 1 },
        overCapturedAuthorizations: 1,
        capturesWithoutAuthorization: 2,
        refundsWithoutOriginal: 1,
        refundsBeyondOriginal: 1,
        // REVIEW holds are counted apart: the authorisations change none of them.
        openHolds: before.openHolds,
        postedHolds: before.postedHolds,
        voidedHolds: before.voidedHolds,
        expiredHolds: before.expiredHolds,
        unbalancedTransactions: before.unbalancedTransactions,
      });
      // Negative control: a 1.00 more refund on the exactly-refunded payment, and the same entry of an over-capture
      // stored twice (a duplicate, which must not count as more capture): one more beyond, still one over-captured.
      await plantingStore.insertEntries([
        ...refund('card-ref-2b', 100n, 'card-pay-2'),
        ...linked('card-cap-exact', 10_000n, { capturesTransactionId: 'card-auth-exact' }),
      ]);
      const after = (await call('GET', '/v1/reports/ledger-integrity', keys.compliance)).body;
      expect(after).toMatchObject({ refundsBeyondOriginal: 2, overCapturedAuthorizations: 1 });
    } finally {
      // The rows of this test only, so the tests after it read the fixture they expect.
      for (const table of ['ledger_entries', 'ledger_holds', 'ledger_hold_resolutions'])
        await clickhouse.command({
          query: `ALTER TABLE ${table} DELETE WHERE startsWith(transaction_id, 'card-')`,
          clickhouse_settings: { mutations_sync: '2' },
        });
    }
    expect((await call('GET', '/v1/reports/ledger-integrity', keys.compliance)).body).toEqual(before);
  });

  it('GET balance and statement show what a partly captured authorisation still reserves, as of each cut', async () => {
    const placedAt = now - 3 * HOUR;
    const capturedAt = now - HOUR;
    await store.insertHolds([
      {
        transactionId: 'card-stmt-auth',
        fingerprint: 'fp-card-stmt-auth',
        legs: entries('card-stmt-auth', 'acc-card-stmt', 'acc-card-shop', 10_000n, 'EUR', placedAt),
        kind: 'AUTHORIZATION',
        links: NO_LINKS,
        placedAtMs: placedAt,
        expiresAtMs: now + 7 * 24 * HOUR,
      },
    ]);
    await store.insertEntries(
      entries('card-stmt-cap', 'acc-card-stmt', 'acc-card-shop', 3_000n, 'EUR', capturedAt).map((e) => ({
        ...e,
        capturesTransactionId: 'card-stmt-auth',
      })),
    );
    try {
      const balance = (await call('GET', '/v1/accounts/acc-card-stmt/balance', keys.analyst)).body;
      expect(
        balance.balances.map((b: any) => [b.posted.amountMinor, b.pendingDebits.amountMinor, b.available.amountMinor]),
      ).toEqual([['-3000', '7000', '-10000']]);
      const heldAt = async (toMs: number) =>
        (
          await call('GET', `/v1/accounts/acc-card-stmt/statement?from=${now - 4 * HOUR}&to=${toMs}`, keys.compliance)
        ).body.openHoldsAtEnd.map((h: any) => [h.transactionId, h.amount.amountMinor]);
      // Before the capture was booked the hold reserved all of it; after, what the capture left.
      expect(await heldAt(capturedAt - 1)).toEqual([['card-stmt-auth', '-10000']]);
      expect(await heldAt(now)).toEqual([['card-stmt-auth', '-7000']]);
    } finally {
      for (const table of ['ledger_entries', 'ledger_holds'])
        await clickhouse.command({
          query: `ALTER TABLE ${table} DELETE WHERE startsWith(transaction_id, 'card-stmt-')`,
          clickhouse_settings: { mutations_sync: '2' },
        });
    }
  });

  it('GET /v1/audit/search finds decisions (ClickHouse backend) and pages with a cursor', async () => {
    const { status, body } = await call('GET', '/v1/audit/search?q=last+hour&limit=1', keys.compliance);
    expect(status).toBe(200);
    expect(body.total).toBe(2);
    expect(body.hits.map((h: any) => h.transactionId)).toEqual(['tx-rev']);
    expect(body.hits[0]).toMatchObject({
      decision: 'REVIEW',
      amount: { amount: '123.45', amountMinor: '12345', currency: 'EUR' },
      reasons: [{ code: 'R_VELOCITY_1H', description: expect.stringContaining('last hour') }],
    });
    const next = await call('GET', `/v1/audit/search?q=last+hour&limit=1&cursor=${body.nextCursor}`, keys.compliance);
    expect(next.body.hits.map((h: any) => h.transactionId)).toEqual(['tx-big']);
    expect(next.body.hits[0].amount.amountMinor).toBe('9007199254740993');
    expect(next.body.nextCursor).toBeNull();
    const filtered = await call(
      'GET',
      '/v1/audit/search?account=acc-smurf&channel=cash&decision=APPROVE&minScore=0.3&maxScore=0.3',
      keys.compliance,
    );
    expect(filtered.body.hits.map((h: any) => h.transactionId)).toEqual(['cash-s1', 'cash-s2', 'cash-s3']);
    expect((await call('GET', '/v1/audit/search?q=nothing-like-this', keys.compliance)).body).toEqual({
      hits: [],
      total: 0,
      nextCursor: null,
    });
  });

  it('GET /v1/audit/search reports every bad parameter with its path', async () => {
    const { status, type, body } = await call(
      'GET',
      '/v1/audit/search?channel=FAX&decision=maybe&minScore=2&maxScore=x&from=yesterday&limit=0&cursor=bogus&account=a%20b',
      keys.compliance,
    );
    expect(status).toBe(400);
    expect(type).toContain('application/problem+json');
    expect(body.problems.map((p: any) => p.path).sort()).toEqual(
      [
        '/query/account',
        '/query/channel',
        '/query/cursor',
        '/query/decision',
        '/query/from',
        '/query/limit',
        '/query/maxScore',
        '/query/minScore',
      ].sort(),
    );
    const crossed = await call(
      'GET',
      '/v1/audit/search?minScore=0.9&maxScore=0.1&from=2026-02-01&to=2026-01-01',
      keys.compliance,
    );
    expect(crossed.body.problems.map((p: any) => p.path)).toEqual(['/query/minScore', '/query/from']);
    const long = await call('GET', `/v1/audit/search?q=${'a '.repeat(9)}`, keys.compliance);
    expect(long.body.problems).toEqual([{ path: '/query/q', message: expect.stringContaining('at most 8 terms') }]);
  });

  it('audits every read in access_log before answering: the rows are there as soon as the responses are', async () => {
    await call('GET', '/v1/reports/trial-balance', keys.compliance);
    await call('GET', '/v1/audit/search?q=velocity&decision=DECLINE', keys.compliance);
    await call('GET', '/v1/transactions/tx-rev', keys.compliance);
    const compliance = principalId(keys.compliance);
    // No waiting: the access log is written (and acknowledged) before a response leaves.
    const result = await clickhouse.query({
      query: `SELECT action, resource, role, query_json FROM access_log WHERE principal = {p:String} ORDER BY at`,
      query_params: { p: compliance },
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ action: string; resource: string; role: string; query_json: string }>();
    expect(rows[rows.length - 1]).toMatchObject({ action: 'transaction.audit-trail', resource: 'transaction/tx-rev' });
    expect(rows.map((r) => r.action)).toEqual(
      expect.arrayContaining([
        'report.trial-balance',
        'transaction.audit-trail',
        'report.summary',
        'account.statement',
        'report.large-cash',
      ]),
    );
    expect(rows.every((r) => r.role === 'compliance')).toBe(true);
    const searches = rows.filter((r) => r.action === 'audit.search').map((r) => JSON.parse(r.query_json));
    expect(searches).toContainEqual({ q: 'velocity', decision: 'DECLINE', limit: 50, cursor: null });
    expect(JSON.parse(rows.find((r) => r.action === 'report.large-cash')!.query_json)).toMatchObject({
      thresholds: { USD: '1000000' },
    });
  });
  it('GET /v1/audit/access answers who looked at this transaction: every role, misses and labels, newest first, paged', async () => {
    const tx = 'transaction/tx-who-looked';
    // Unknown id on purpose: a miss is an access too, logged before the lookup.
    expect((await call('GET', '/v1/transactions/tx-who-looked', keys.analyst)).status).toBe(404);
    expect((await call('GET', '/v1/transactions/tx-who-looked', keys.compliance)).status).toBe(404);
    expect((await call('GET', '/v1/decisions/tx-who-looked', keys.ingest)).status).toBe(404);
    const label = { transactionId: 'tx-who-looked', label: 'fraud', note: 'card 4111 1111 1111 1111' };
    expect((await call('POST', '/v1/labels', keys.analyst, label)).status).toBe(404);
    expect((await call('GET', '/v1/transactions/tx-who-looked', keys.admin)).status).toBe(404);
    // A different transaction is not in the answer.
    expect((await call('GET', '/v1/transactions/tx-who-looked-2', keys.analyst)).status).toBe(404);

    const all = await call('GET', `/v1/audit/access?resource=${encodeURIComponent(tx)}`, keys.compliance);
    expect(all.status).toBe(200);
    const who = (entries: any[]) => entries.map((e) => [e.principal, e.role, e.action, e.resource, e.query]);
    const expected = [
      [principalId(keys.admin), 'admin', 'transaction.audit-trail', tx, {}],
      [principalId(keys.analyst), 'analyst', 'label.create', tx, { label: 'fraud' }],
      [principalId(keys.ingest), 'ingest', 'decision.read', tx, {}],
      [principalId(keys.compliance), 'compliance', 'transaction.audit-trail', tx, {}],
      [principalId(keys.analyst), 'analyst', 'transaction.audit-trail', tx, {}],
    ];
    expect(who(all.body.entries)).toEqual(expected);
    expect(all.body.nextCursor).toBeNull();
    expect(all.body.entries.every((e: any) => !Number.isNaN(Date.parse(e.at)))).toBe(true);
    // The label's free-text note (a pasted card number) never reaches the access log.
    expect(JSON.stringify(all.body)).not.toContain('4111');

    const pages: any[] = [];
    let cursor: string | null = '';
    let requests = 0;
    do {
      const page = await call(
        'GET',
        `/v1/audit/access?resource=${encodeURIComponent(tx)}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        keys.compliance,
      );
      pages.push(page.body.entries.length);
      cursor = page.body.nextCursor;
      requests += 1;
      expect(requests).toBeLessThanOrEqual(3);
      pages.push(...who(page.body.entries).map((e) => JSON.stringify(e)));
    } while (cursor);
    expect(pages).toEqual([
      2,
      ...expected.slice(0, 2).map((e) => JSON.stringify(e)),
      2,
      ...expected.slice(2, 4).map((e) => JSON.stringify(e)),
      1,
      JSON.stringify(expected[4]),
    ]);

    const byAnalyst = await call(
      'GET',
      `/v1/audit/access?resource=${encodeURIComponent(tx)}&principal=${principalId(keys.analyst)}&action=label.create`,
      keys.compliance,
    );
    expect(who(byAnalyst.body.entries)).toEqual([expected[1]]);

    // Reading the log is itself logged, before the query runs: its own row is the newest answer.
    const own = await call('GET', `/v1/audit/access?action=audit.access-log&limit=1`, keys.compliance);
    expect(own.body.entries).toEqual([
      expect.objectContaining({
        principal: principalId(keys.compliance),
        action: 'audit.access-log',
        resource: 'audit/access',
        query: expect.objectContaining({ action: 'audit.access-log', limit: 1 }),
      }),
    ]);

    expect((await call('GET', '/v1/audit/access', keys.analyst)).status).toBe(403);
    expect((await call('GET', '/v1/audit/access', keys.ingest)).status).toBe(403);
    const bad = await call(
      'GET',
      '/v1/audit/access?principal=nobody&cursor=zz&from=2030-01-01T00:00:00Z&to=2029-01-01T00:00:00Z',
      keys.compliance,
    );
    expect(bad.status).toBe(400);
    expect(bad.body.problems.map((p: any) => p.path).sort()).toEqual([
      '/query/cursor',
      '/query/from',
      '/query/principal',
    ]);
  });

  it('fails closed: when the access log cannot be written a read and a live session are refused with 503', async () => {
    await clickhouse.command({ query: 'RENAME TABLE access_log TO access_log_away' });
    try {
      const refused = await call('GET', '/v1/transactions/tx-rev', keys.compliance);
      expect(refused.status).toBe(503);
      expect(refused.body).toMatchObject({ code: 'ACCESS_LOG_UNAVAILABLE', status: 503 });
      expect(JSON.stringify(refused.body)).not.toContain('tx-rev"');
      expect(refused.body.transactionId).toBeUndefined();
      // A live session that cannot be logged gets no socket.
      const live = `${baseUrl.replace('http', 'ws')}/v1/alerts/live`;
      expect(await refusedStatus(live, ['vigil.v1', `bearer.${keys.analyst}`])).toBe(503);
    } finally {
      await clickhouse.command({ query: 'RENAME TABLE access_log_away TO access_log' });
    }
    // Negative control: with the table back the same read answers.
    expect((await call('GET', '/v1/transactions/tx-rev', keys.compliance)).status).toBe(200);
  });

  // Last in this block: the simulated decisions it plants would change the counts the tests above assert.
  it('GET /v1/reports/summary tells simulated traffic from real: by source, and filtered with ?source=', async () => {
    const simulated = (id: string, decision: DecisionFixture['decision'], score: number): DecisionRecord => {
      const scored = scoredOf({
        id,
        decision,
        amountMinor: 700n,
        currency: 'EUR',
        payer: 'acc-sim',
        payee: 'acc-shop',
        score,
        atMs: now - 4 * HOUR,
      });
      return { scored: { ...scored, transaction: { ...scored.transaction, source: 'SIMULATOR' } }, storedAtMs: now };
    };
    await store.insertDecisions([simulated('sim-ok', 'APPROVE', 0.1), simulated('sim-no', 'DECLINE', 0.9)]);
    const period = `from=${now - 6 * HOUR}&to=${now}`;

    const all = (await call('GET', `/v1/reports/summary?${period}`, keys.analyst)).body;
    expect(all.source).toBeNull();
    expect(all.totals).toEqual({ transactions: 6, alerts: 3, alertRate: 0.5 });
    expect(all.bySource).toEqual([
      { source: 'API', transactions: 4, alerts: 2 },
      { source: 'SIMULATOR', transactions: 2, alerts: 1 },
    ]);
    // Per channel and decision, the sources add up: tx-big's DECLINE and sim-no's.
    expect(all.volumes.find((v: any) => v.channel === 'CARD').byDecision.DECLINE).toEqual({
      count: 2,
      amount: { amount: '90071992547416.93', amountMinor: String(BIG + 700n), currency: 'EUR' },
    });

    const sim = (await call('GET', `/v1/reports/summary?${period}&source=simulator`, keys.analyst)).body;
    expect(sim.source).toBe('SIMULATOR');
    expect(sim.totals).toEqual({ transactions: 2, alerts: 1, alertRate: 0.5 });
    expect(sim.bySource).toEqual([{ source: 'SIMULATOR', transactions: 2, alerts: 1 }]);
    expect(sim.volumes.map((v: any) => [v.channel, v.count, v.amount.amountMinor])).toEqual([['CARD', 2, '1400']]);
    expect(sim.scoreHistogram.counts).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);

    const real = (await call('GET', `/v1/reports/summary?${period}&source=API`, keys.analyst)).body;
    expect(real.totals).toEqual({ transactions: 4, alerts: 2, alertRate: 0.5 });

    // Real traffic only, whatever its source: everything but the simulator's.
    const withoutSim = (await call('GET', `/v1/reports/summary?${period}&excludeSource=SIMULATOR`, keys.analyst)).body;
    expect(withoutSim.excludeSource).toBe('SIMULATOR');
    expect(withoutSim.totals).toEqual({ transactions: 4, alerts: 2, alertRate: 0.5 });
    expect(withoutSim.bySource).toEqual([{ source: 'API', transactions: 4, alerts: 2 }]);
    expect(withoutSim.scoreHistogram.counts).not.toEqual(all.scoreHistogram.counts);
    // Negative control: leaving out a source with no traffic in the period changes nothing.
    const withoutWebhooks = (await call('GET', `/v1/reports/summary?${period}&excludeSource=WEBHOOK`, keys.analyst))
      .body;
    expect({ ...withoutWebhooks, excludeSource: null }).toEqual(all);

    const bad = await call('GET', `/v1/reports/summary?${period}&source=ROBOT`, keys.analyst);
    expect(bad.status).toBe(400);
    expect(bad.body.problems).toEqual([{ path: '/query/source', message: expect.stringContaining('SIMULATOR') }]);

    const trail = (await call('GET', '/v1/transactions/sim-no', keys.analyst)).body;
    expect(trail.transaction.source).toBe('SIMULATOR');
    expect((await call('GET', '/v1/transactions/tx-big', keys.analyst)).body.transaction.source).toBe('API');
  });
});

/** Every record on the accounts topic, decoded, in partition and offset order. */
async function accountRecords(): Promise<Array<{ key: string | null; account: Account }>> {
  const codec = await createCodec<Account>(registry, Topics.accounts);
  const found: Array<{ key: string | null; account: Account }> = [];
  const partitions = await bus.partitionCount(Topics.accounts);
  for (let partition = 0; partition < partitions; partition++)
    for (const record of await bus.read(Topics.accounts, partition, 0, 10_000))
      found.push({ key: record.key, account: await codec.decode(record.value) });
  return found;
}

/** The accounts feed's lag as `/metrics` shows it (its group is `dashboards.accounts.<uuid>`). */
function accountFeedLag(): number | undefined {
  const line = metrics
    .render()
    .split('\n')
    .find((l) => l.startsWith('vigil_consumer_lag{group="dashboards.accounts.'));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

const eur = (minor: bigint) => ({
  amount: `${minor < 0n ? '-' : ''}${(minor < 0n ? -minor : minor) / 100n}.${String((minor < 0n ? -minor : minor) % 100n).padStart(2, '0')}`,
  amountMinor: String(minor),
  currency: 'EUR',
});

describe('chart of accounts', () => {
  const policy = (value: string, currency = 'EUR') => ({
    type: 'customer',
    currency,
    policy: { overdraftLimit: { value, currency } },
  });

  it('is ready once the accounts topic is read', async () => {
    await waitFor('dashboards ready', () => (stage.isReady() ? true : undefined));
  });

  it('PUT /v1/accounts/:id as admin answers 200 with the view and puts the Account on the accounts topic', async () => {
    const before = Date.now();
    const { status, body } = await call('PUT', '/v1/accounts/acc-limited', keys.admin, policy('100.00'));
    expect(status).toBe(200);
    expect(body).toEqual({
      accountId: 'acc-limited',
      type: 'customer',
      normalSide: 'credit',
      currency: 'EUR',
      scheme: null,
      policy: { overdraftLimit: { amount: '100.00', amountMinor: '10000', currency: 'EUR' } },
      updatedBy: principalId(keys.admin),
      updatedAt: expect.any(String),
      configured: true,
    });
    const updatedAtMs = Date.parse(body.updatedAt);
    expect(updatedAtMs).toBeGreaterThanOrEqual(before);
    const produced = (await accountRecords()).filter((r) => r.key === 'acc-limited');
    expect(produced).toEqual([
      {
        key: 'acc-limited',
        account: {
          accountId: 'acc-limited',
          type: 'CUSTOMER',
          currency: 'EUR',
          overdraftLimitMinor: 10_000n,
          scheme: null,
          updatedBy: principalId(keys.admin),
          updatedAtMs,
        },
      },
    ]);
  });

  it('PUT /v1/accounts/:id without a policy sets the account with no limit', async () => {
    const { status, body } = await call('PUT', '/v1/accounts/acc-merchant', keys.admin, {
      type: 'merchant',
      currency: 'USD',
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ accountId: 'acc-merchant', type: 'merchant', currency: 'USD', policy: null });
    const [record] = (await accountRecords()).filter((r) => r.key === 'acc-merchant');
    expect(record?.account).toMatchObject({ type: 'MERCHANT', currency: 'USD', overdraftLimitMinor: null });
  });

  it('PUT /v1/accounts/:id is for admins only: 403 for every other role, and nothing is produced', async () => {
    const count = (await accountRecords()).length;
    for (const role of ['analyst', 'compliance', 'ingest'] as const) {
      const { status, body } = await call('PUT', '/v1/accounts/acc-forbidden', keys[role], policy('1.00'));
      expect({ role, status, code: body.code }).toEqual({ role, status: 403, code: 'FORBIDDEN' });
    }
    expect((await call('PUT', '/v1/accounts/acc-forbidden', undefined, policy('1.00'))).status).toBe(401);
    expect((await accountRecords()).length).toBe(count);
    expect((await call('GET', '/v1/accounts/acc-forbidden', keys.analyst)).body.configured).toBe(false);
  });

  it('PUT /v1/accounts/:id refuses a bad body with 400 naming every field, and produces nothing', async () => {
    const count = (await accountRecords()).length;
    const bad = await call('PUT', '/v1/accounts/acc-bad', keys.admin, {
      type: 'wallet',
      currency: 'EUR',
      policy: { overdraftLimit: { value: '1.001', currency: 'USD' } },
      limit: '5',
    });
    expect(bad.status).toBe(400);
    expect(bad.type).toContain('application/problem+json');
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    expect(bad.body.problems).toEqual([
      { path: '/type', message: expect.stringContaining('customer, merchant') },
      { path: '/policy/overdraftLimit/currency', message: "must equal /currency, the account's currency" },
      { path: '/policy/overdraftLimit/value', message: 'at most 2 fraction digits for EUR' },
      { path: '/limit', message: 'is not a known field' },
    ]);
    const negative = await call('PUT', '/v1/accounts/acc-bad', keys.admin, policy('-5.00'));
    expect(negative.body.problems).toEqual([
      { path: '/policy/overdraftLimit/value', message: 'must not be negative (0 allows no overdraft)' },
    ]);
    const currency = await call('PUT', '/v1/accounts/acc-bad', keys.admin, policy('5.00', 'EURO'));
    // An unknown account currency is one problem; the limit's exponent and currency are then not checked against it.
    expect(currency.body.problems.map((p: any) => p.path)).toEqual(['/currency']);
    // The ledger's FX positions are not for admins to configure.
    const fx = await call('PUT', '/v1/accounts/fx:EUR', keys.admin, policy('0.00'));
    expect(fx.status).toBe(400);
    expect(fx.body.problems).toEqual([{ path: '/params/id', message: expect.stringContaining('"fx:"') }]);
    const spaced = await call('PUT', '/v1/accounts/a%20b', keys.admin, policy('0.00'));
    expect(spaced.body.problems.map((p: any) => p.path)).toEqual(['/params/id']);
    expect((await accountRecords()).length).toBe(count);
  });

  it('PUT /v1/accounts/:id sets the scheme of a clearing account (Account v2); the trial balance reconciles by it', async () => {
    const { status, body } = await call('PUT', '/v1/accounts/clr-sepa', keys.admin, {
      type: 'clearing',
      currency: 'EUR',
      scheme: 'SEPA_CT',
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ type: 'clearing', normalSide: 'debit', scheme: 'SEPA_CT', configured: true });
    const [record] = (await accountRecords()).filter((r) => r.key === 'clr-sepa');
    expect(record?.account).toMatchObject({ type: 'CLEARING', scheme: 'SEPA_CT' });
    const bad = await call('PUT', '/v1/accounts/acc-bad', keys.admin, {
      type: 'customer',
      currency: 'EUR',
      scheme: 'X',
    });
    expect(bad.body.problems.map((p: any) => p.path)).toEqual(['/scheme']);
    // A clearing account without a scheme: the trial balance, which reads the chart, says it cannot reconcile it.
    await call('PUT', '/v1/accounts/clr-noscheme', keys.admin, { type: 'clearing', currency: 'EUR' });
    const report = await call('GET', '/v1/reports/trial-balance', keys.compliance);
    expect(report.body.findings.filter((f: any) => f.accountId?.startsWith('clr-'))).toEqual([
      expect.objectContaining({ code: 'CLEARING_WITHOUT_SCHEME', accountId: 'clr-noscheme', severity: 'warning' }),
    ]);
  });

  it('GET /v1/accounts/:id right after a PUT shows the new policy; a second PUT replaces it', async () => {
    await call('PUT', '/v1/accounts/acc-changing', keys.admin, policy('10.00'));
    expect((await call('GET', '/v1/accounts/acc-changing', keys.analyst)).body.policy).toEqual({
      overdraftLimit: { amount: '10.00', amountMinor: '1000', currency: 'EUR' },
    });
    await call('PUT', '/v1/accounts/acc-changing', keys.admin, { type: 'suspense', currency: 'EUR' });
    const { status, body } = await call('GET', '/v1/accounts/acc-changing', keys.compliance);
    expect(status).toBe(200);
    expect(body).toMatchObject({ type: 'suspense', policy: null, configured: true });
    // The feed brings both records round again, the first after the second PUT applied its own: the newer stays.
    await waitFor('the accounts feed to catch up', () => (accountFeedLag() === 0 ? true : undefined));
    expect((await call('GET', '/v1/accounts/acc-changing', keys.analyst)).body.type).toBe('suspense');
  });

  it('GET /v1/accounts/:id answers the documented default for an account never set', async () => {
    const { status, body } = await call('GET', '/v1/accounts/acc-never-set', keys.analyst);
    expect(status).toBe(200);
    expect(body).toEqual({
      accountId: 'acc-never-set',
      type: 'customer',
      normalSide: 'credit',
      currency: null,
      scheme: null,
      policy: null,
      configured: false,
    });
  });

  it('reads records from the accounts topic, whoever wrote them (another dashboards process)', async () => {
    const codec = await createCodec<Account>(registry, Topics.accounts);
    const account: Account = {
      accountId: 'acc-from-the-log',
      type: 'SETTLEMENT',
      currency: 'GBP',
      overdraftLimitMinor: 123n,
      scheme: null,
      updatedBy: 'admin:elsewhere',
      updatedAtMs: Date.now(),
    };
    await bus.producer().send(Topics.accounts, [{ key: account.accountId, value: codec.encode(account) }]);
    const view = await waitFor('the feed to apply it', async () => {
      const { body } = await call('GET', '/v1/accounts/acc-from-the-log', keys.analyst);
      return body.configured ? body : undefined;
    });
    expect(view).toMatchObject({
      type: 'settlement',
      currency: 'GBP',
      policy: { overdraftLimit: { amount: '1.23', amountMinor: '123', currency: 'GBP' } },
      updatedBy: 'admin:elsewhere',
    });
  });

  it('GET /v1/accounts/:id/balance counts the overdraft limit into available, in the account currency only', async () => {
    await store.insertEntries([
      ...entries('tx-limit-eur', 'acc-overdrawn', 'acc-limit-payee', 2_500n, 'EUR', now - HOUR),
      ...entries('tx-limit-usd', 'acc-limit-payer', 'acc-overdrawn', 300n, 'USD', now - HOUR),
    ]);
    await store.insertHolds([
      {
        transactionId: 'tx-limit-hold',
        fingerprint: 'fp-tx-limit-hold',
        legs: entries('tx-limit-hold', 'acc-overdrawn', 'acc-limit-payee', 1_000n, 'EUR', now - HOUR),
        kind: 'REVIEW',
        links: NO_LINKS,
        placedAtMs: now - HOUR + 15,
        expiresAtMs: now + 71 * HOUR,
      },
    ]);
    const lines = async () =>
      (await call('GET', '/v1/accounts/acc-overdrawn/balance', keys.analyst)).body.balances.map((b: any) => ({
        currency: b.currency,
        available: b.available,
        overdraftLimit: b.overdraftLimit,
      }));
    // Without a policy: posted − pending debits, no limit.
    expect(await lines()).toEqual([
      { currency: 'EUR', available: eur(-3_500n), overdraftLimit: null },
      { currency: 'USD', available: { amount: '3.00', amountMinor: '300', currency: 'USD' }, overdraftLimit: null },
    ]);
    expect((await call('PUT', '/v1/accounts/acc-overdrawn', keys.admin, policy('100.00'))).status).toBe(200);
    // −25.00 posted − 10.00 held + 100.00 limit = 65.00; the USD line has no limit.
    expect(await lines()).toEqual([
      { currency: 'EUR', available: eur(6_500n), overdraftLimit: eur(10_000n) },
      { currency: 'USD', available: { amount: '3.00', amountMinor: '300', currency: 'USD' }, overdraftLimit: null },
    ]);
    const { body } = await call('GET', '/v1/accounts/acc-overdrawn/balance', keys.compliance);
    expect(body.balances[0]).toMatchObject({
      posted: eur(-2_500n),
      pendingDebits: eur(1_000n),
      entries: 1,
      openHolds: 1,
    });
  });

  it('GET /v1/accounts/:id/balance of an account with a policy and no entries yet: its limit is what is available', async () => {
    expect((await call('GET', '/v1/accounts/acc-fresh/balance', keys.analyst)).status).toBe(404);
    await call('PUT', '/v1/accounts/acc-fresh', keys.admin, policy('0.50'));
    const { status, body } = await call('GET', '/v1/accounts/acc-fresh/balance', keys.analyst);
    expect(status).toBe(200);
    expect(body).toEqual({
      accountId: 'acc-fresh',
      entryCount: 0,
      balances: [
        {
          currency: 'EUR',
          posted: eur(0n),
          pendingDebits: eur(0n),
          pendingCredits: eur(0n),
          available: eur(50n),
          overdraftLimit: eur(50n),
          entries: 0,
          openHolds: 0,
          lastBookedAt: null,
        },
      ],
    });
  });

  it('GET /v1/accounts lists the chart of accounts by id, with a limit', async () => {
    const { status, body } = await call('GET', '/v1/accounts', keys.compliance);
    expect(status).toBe(200);
    const ids = body.accounts.map((a: any) => a.accountId);
    expect(ids).toEqual([...ids].sort());
    expect(ids).toEqual(expect.arrayContaining(['acc-limited', 'acc-merchant', 'acc-from-the-log', 'acc-overdrawn']));
    expect(ids).not.toContain('acc-never-set');
    expect(body).toMatchObject({ total: ids.length, truncated: false });
    expect(body.accounts.every((a: any) => a.configured === true)).toBe(true);
    const first = await call('GET', '/v1/accounts?limit=1', keys.admin);
    expect(first.body).toEqual({ accounts: [body.accounts[0]], total: ids.length, truncated: true });
    const bad = await call('GET', '/v1/accounts?limit=10001', keys.compliance);
    expect(bad.body.problems.map((p: any) => p.path)).toEqual(['/query/limit']);
  });

  it('audits every update and read of an account in access_log', async () => {
    const admin = principalId(keys.admin);
    const rows = await waitFor("the admin's access_log rows", async () => {
      const result = await clickhouse.query({
        query: `SELECT action, resource, query_json FROM access_log WHERE principal = {p:String} ORDER BY at`,
        query_params: { p: admin },
        format: 'JSONEachRow',
      });
      const found = await result.json<{ action: string; resource: string; query_json: string }>();
      return found.some((r) => r.action === 'accounts.list') ? found : undefined;
    });
    const update = rows.find((r) => r.action === 'account.update' && r.resource === 'account/acc-limited');
    expect(JSON.parse(update!.query_json)).toEqual({
      type: 'CUSTOMER',
      currency: 'EUR',
      overdraftLimitMinor: '10000',
      scheme: null,
    });
  });
});

function alertFor(id: string, extraDescription = ''): FraudAlert {
  return {
    alertId: `alert-${id}`,
    transactionId: id,
    decision: 'DECLINE',
    score: 0.93,
    reasons: [
      {
        code: 'R_GEO_VELOCITY',
        source: 'RULE',
        description: 'Impossible travel since the last card use' + extraDescription,
        weight: 0.5,
      },
    ],
    channel: 'CARD',
    amountMinor: BIG,
    currency: 'EUR',
    payerAccountId: 'acc-live',
    payeeAccountId: 'acc-shop',
    cardToken: 'tok_live',
    cardLast4: '0005',
    merchantId: 'm-9',
    country: 'FR',
    modelVersion: 'model-v3',
    eventTimeMs: Date.now() - 30,
    receivedAtMs: Date.now() - 25,
    raisedAtMs: Date.now() - 5,
  };
}

function scoredFor(id: string): ScoredTransaction {
  const transaction: Transaction = {
    transactionId: id,
    fingerprint: 'f',
    channel: 'CARD',
    kind: 'PURCHASE',
    amountMinor: 100n,
    currency: 'EUR',
    settlement: null,
    payerAccountId: 'acc-live',
    payeeAccountId: 'acc-shop',
    customerId: null,
    card: null,
    merchantId: null,
    terminalId: null,
    mcc: null,
    deviceId: null,
    ipAddress: null,
    country: null,
    latitude: null,
    longitude: null,
    description: null,
    bankTransfer: null,
    channelReference: null,
    originalTransactionId: null,
    source: 'API',
    submittedBy: null,
    sourceDocument: null,
    eventTimeMs: Date.now(),
    receivedAtMs: Date.now(),
  };
  return {
    transaction,
    decision: 'APPROVE',
    score: 0.12,
    risk: 0.12,
    reasons: [],
    rulesFired: [],
    features: {},
    featureValues: null,
    reportingCurrency: 'EUR',
    unconvertedCurrency: null,
    modelVersion: 'model-v3',
    rulesVersion: 'rules-v12',
    scoredAtMs: Date.now(),
  };
}

/** Opens a live client and collects its messages. */
async function connect(url: string, protocols?: string[]): Promise<{ ws: WebSocket; messages: any[] }> {
  const ws = new WebSocket(url, protocols);
  const messages: any[] = [];
  ws.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString('utf8'))));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, messages };
}

/** The HTTP status an upgrade attempt was refused with. */
function refusedStatus(url: string, protocols?: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => reject(new Error('upgrade was accepted')));
    ws.once('error', () => undefined);
  });
}

describe('WebSocket /v1/alerts/live', () => {
  const wsUrl = (): string => baseUrl.replace('http', 'ws') + '/v1/alerts/live';

  it('refuses upgrades without a valid analyst key before upgrading', async () => {
    expect(await refusedStatus(wsUrl())).toBe(401);
    expect(await refusedStatus(wsUrl(), ['vigil.v1', 'bearer.wrong-key-0000000000000'])).toBe(401);
    expect(await refusedStatus(wsUrl(), ['vigil.v1', `bearer.${keys.compliance}`])).toBe(403);
    expect(await refusedStatus(`${wsUrl()}?access_token=${keys.ingest}`)).toBe(403);
    expect(
      await refusedStatus(baseUrl.replace('http', 'ws') + '/v1/nowhere', ['vigil.v1', `bearer.${keys.analyst}`]),
    ).toBe(404);
  });

  it('pushes each alert once (deduplicated by alertId) and stats', async () => {
    const { ws, messages } = await connect(wsUrl(), ['vigil.v1', `bearer.${keys.analyst}`]);
    expect(ws.protocol).toBe('vigil.v1');
    const producer = bus.producer();
    const alertCodec = await createCodec<FraudAlert>(registry, Topics.fraudAlerts);
    const scoredCodec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    const alert = alertFor('tx-live-1');
    await producer.send(Topics.fraudAlerts, [{ key: alert.payerAccountId, value: alertCodec.encode(alert) }]);
    await producer.send(Topics.fraudAlerts, [{ key: alert.payerAccountId, value: alertCodec.encode(alert) }]); // redelivery
    await producer.send(Topics.fraudAlerts, [{ key: 'acc-live', value: alertCodec.encode(alertFor('tx-live-2')) }]);
    await producer.send(Topics.transactionsScored, [
      { key: 'acc-live', value: scoredCodec.encode(scoredFor('tx-live-0')) },
    ]);

    await waitFor('two alerts', () => (messages.filter((m) => m.type === 'alert').length >= 2 ? true : undefined));
    const stats = await waitFor('stats with the scored transaction', () =>
      messages.find((m) => m.type === 'stats' && m.scoredInWindow >= 1),
    );
    const alerts = messages.filter((m) => m.type === 'alert').map((m) => m.alert);
    expect(alerts.map((a) => a.transactionId)).toEqual(['tx-live-1', 'tx-live-2']);
    expect(alerts[0]).toMatchObject({
      amountMinor: '9007199254740993',
      reasons: [expect.objectContaining({ code: 'R_GEO_VELOCITY' })],
    });
    expect(messages[0]).toMatchObject({ type: 'hello', principal: principalId(keys.analyst) });
    expect(stats).toMatchObject({ decisionMix: { APPROVE: 1 }, clients: 1, alertLatencyMs: { samples: 2 } });
    expect(metrics.counter('vigil_dashboards_alerts_duplicate_total', '').get()).toBe(1);
    ws.close();
    await waitFor('client gone', () => (stage.liveClients().length === 0 ? true : undefined));
    // The session is on the access log: opened before the socket was (so already there), closed once it went.
    const session = await waitFor('the live session close row', async () => {
      const page = await call(
        'GET',
        `/v1/audit/access?resource=alerts/live&principal=${principalId(keys.analyst)}`,
        keys.compliance,
      );
      return page.body.entries.length === 2 ? page.body.entries : undefined;
    });
    expect(session.map((e: any) => [e.action, e.query])).toEqual([
      ['live.close', { code: 1005, alertsSent: 2, dropped: 0 }],
      ['live.open', { lastEventId: null }],
    ]);
  });

  it('keeps a slow client bounded: the queue never exceeds its capacity and drops are counted and announced', async () => {
    const { ws, messages } = await connect(`${wsUrl()}?access_token=${keys.analyst}`, ['vigil.v1']);
    // Stop reading: the kernel buffers fill, then the server's socket buffer passes the high-water mark.
    (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const producer = bus.producer();
    const codec = await createCodec<FraudAlert>(registry, Topics.fraudAlerts);
    const padding = ' '.repeat(4000);
    let n = 0;
    const counters = (): { queued: number; maxQueued: number; dropped: number; sent: number } =>
      stage.liveClients()[0]!;
    while (counters().dropped === 0 && n < 20_000) {
      const batch = Array.from({ length: 200 }, () => alertFor(`tx-slow-${n++}`, padding));
      await producer.send(
        Topics.fraudAlerts,
        batch.map((a) => ({ key: a.payerAccountId, value: codec.encode(a) })),
      );
      await waitFor('batch delivered', () =>
        metrics.counter('vigil_dashboards_alerts_received_total', '').get() >= n + 2 ? true : undefined,
      );
    }
    const slow = counters();
    expect(slow.dropped).toBeGreaterThan(0);
    expect(slow.maxQueued).toBeLessThanOrEqual(8);
    expect(slow.queued).toBeLessThanOrEqual(8);
    expect(slow.sent + slow.dropped + slow.queued).toBeGreaterThanOrEqual(n); // every alert accounted for
    expect(slow.sent).toBeLessThan(n);

    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const notice = await waitFor('dropped notice', () => messages.find((m) => m.type === 'dropped'));
    expect(notice.count).toBe(slow.dropped);
    expect(metrics.counter('vigil_dashboards_alerts_dropped_total', '').get()).toBe(slow.dropped);
    ws.close();
  }, 60_000);
});
