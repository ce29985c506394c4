import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { buildConsole } from '../dashboards/console/build.js';
import { keyDigestHex, principalIdOf } from '../platform/auth.js';
import { silentLogger } from '../platform/logger.js';
import type {
  AccessLogPage,
  AccountStatement,
  AuditSearchResponse,
  AuditTrail,
  LargeCashReport,
  LedgerIntegrity,
  TrialBalance,
  TransactionRequest,
} from '../schemas/api.js';
import { type EmbeddedPipeline, startEmbeddedPipeline } from './pipeline.js';
import { apiClient, chromiumExecutable, screenshotDirectory, waitFor } from './testing.js';

/**
 * The console's compliance views in real headless Chromium against the whole embedded pipeline, at a 1366×768 laptop
 * size: the demo compliance officer signs in through the built-in OpenID provider and sees only the compliance
 * views; finds a transaction by audit search and opens its trail; opens an account's statement and the trial balance;
 * finds the analyst's reads in the access log; sees the structuring customer named by the cash report; and downloads
 * CSV exports whose content is checked cell by cell against the API (the statement's byte for byte against the API's
 * own CSV). Every console error and page error on the way fails the test; a planted one of each shows the check sees
 * them. Screenshots of the main views go to docs/screenshots/compliance-*.png when VIGIL_UPDATE_SCREENSHOTS=1.
 */
const WAIT_MS = 60_000;
const DAY_MS = 86_400_000;
const keys = {
  ingest: 'compliance-console-ingest-key-0123456789',
  analyst: 'compliance-console-analyst-key-0123456789',
  compliance: 'compliance-console-compliance-key-0123456789',
};
/** A description a spreadsheet would run as a formula: the audit CSV must carry it quoted with a leading `'`. */
const FORMULA_DESCRIPTION = '=HYPERLINK("http://example.invalid","pelican")';

const cardPayment = (id: string, merchant: string, value: string, description?: string): TransactionRequest => ({
  transactionId: id,
  channel: 'card',
  amount: { value, currency: 'EUR' },
  payer: { accountId: 'acct-reader-1' },
  payee: { accountId: `acct-${merchant}` },
  card: { number: '4111111111111111', present: true },
  merchant: { id: merchant, terminalId: `term-${merchant}`, mcc: '5942' },
  location: { country: 'FR', latitude: 48.85, longitude: 2.35 },
  ...(description === undefined ? {} : { description }),
});

/** A cash deposit at a branch: the branch's cash account pays, the customer's account receives. */
const cashDeposit = (id: string, value: string, eventTimeMs: number): TransactionRequest => ({
  transactionId: id,
  channel: 'cash',
  kind: 'deposit',
  amount: { value, currency: 'USD' },
  payer: { accountId: 'branch-cash-07', customerId: 'cust-structurer' },
  payee: { accountId: 'acct-structurer' },
  eventTime: new Date(eventTimeMs).toISOString(),
});

describe('the compliance console in Chromium (embedded)', () => {
  let dataDir: string;
  let pipeline: EmbeddedPipeline;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const errors: string[] = [];
  const compliance = () => apiClient(pipeline.url, keys.compliance);
  const analystPrincipal = principalIdOf('analyst', keyDigestHex(keys.analyst));
  const startMs = Date.now();
  const transactions: TransactionRequest[] = [
    cardPayment('cc-pelican-1', 'pelican-books', '12.34', FORMULA_DESCRIPTION),
    cardPayment('cc-pelican-2', 'pelican-books', '56.78'),
    cardPayment('cc-other-1', 'harbour-cafe', '4.50'),
    cashDeposit('cash-structurer-1', '9400.00', startMs - 3 * DAY_MS),
    cashDeposit('cash-structurer-2', '9600.00', startMs - 2 * DAY_MS),
    cashDeposit('cash-structurer-3', '9700.00', startMs - 1 * DAY_MS),
    cashDeposit('cash-structurer-4', '9800.00', startMs - DAY_MS / 2),
  ];
  const trails = new Map<string, AuditTrail>();

  const shot = (name: string) =>
    page.screenshot({ path: join(screenshotDirectory(dataDir), `compliance-${name}.png`) });
  const openView = async (name: string, heading: string) => {
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name, exact: true }).click();
    await page.getByRole('heading', { name: heading, level: 2 }).waitFor({ timeout: WAIT_MS });
  };
  const download = async (button: string): Promise<string> => {
    const [file] = await Promise.all([
      page.waitForEvent('download', { timeout: WAIT_MS }),
      page.locator(button).click(),
    ]);
    return readFileSync(await file.path(), 'utf8');
  };
  /** The text of the given cells of every row of a table, in the page's order. */
  const cellsOf = async (table: string, columns: readonly number[]): Promise<string[][]> => {
    const rows = await page.locator(`${table} tbody tr`).all();
    return Promise.all(
      rows.map((row) => Promise.all(columns.map(async (i) => (await row.locator('td').nth(i).textContent()) ?? ''))),
    );
  };

  beforeAll(async () => {
    await buildConsole();
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-console-compliance-'));
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
    const ingest = apiClient(pipeline.url, keys.ingest);
    for (const request of transactions) expect((await ingest.post('/v1/transactions', request)).status).toBe(202);
    await waitFor(
      'every decision stored once',
      async () =>
        (await compliance().get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body.decisionRows ===
        transactions.length
          ? true
          : undefined,
      WAIT_MS,
    );
    // Settled: every approved transaction booked, every reviewed one held, so the views and the API read one ledger.
    for (const { transactionId } of transactions) {
      const trail = await waitFor(
        `${transactionId} settled in the ledger`,
        async () => {
          const { status, body } = await compliance().get<AuditTrail>(`/v1/transactions/${transactionId}`);
          if (status !== 200) return undefined;
          const outcome = body.decision.outcome;
          if (outcome === 'APPROVE' && body.ledgerEntries.length === 0) return undefined;
          if (outcome === 'REVIEW' && body.hold === null) return undefined;
          return body;
        },
        WAIT_MS,
      );
      trails.set(transactionId, trail);
    }
    // The analyst's reads the access log must show: exactly these two.
    const analyst = apiClient(pipeline.url, keys.analyst);
    expect((await analyst.get('/v1/transactions/cc-pelican-1')).status).toBe(200);
    expect((await analyst.get('/v1/accounts/acct-pelican-books/balance')).status).toBe(200);

    browser = await chromium.launch({ executablePath: chromiumExecutable() });
    context = await browser.newContext({ viewport: { width: 1366, height: 768 }, acceptDownloads: true });
    page = await context.newPage();
    // The console's own errors; the OpenID provider's sign-in pages are not the console (Chromium asks them for a
    // favicon they do not serve), so their messages are left out by origin.
    const providerOrigin = new URL(pipeline.identityProvider!.issuer).origin;
    page.on('console', (message) => {
      const { url } = message.location();
      if (message.type() === 'error' && !url.startsWith(providerOrigin))
        errors.push(`console: ${message.text()} (${url})`);
    });
    page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await pipeline?.close();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('signs the demo compliance officer in and shows the compliance views only', async () => {
    const user = pipeline.identityProvider!.users.find((u) => u.username === 'compliance')!;
    await page.goto(`${pipeline.url}/`);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByLabel('User name').fill(user.username);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Audit search', level: 2 }).waitFor({ timeout: WAIT_MS });
    const nav = await page.getByRole('navigation', { name: 'Views' }).getByRole('link').allTextContents();
    expect(nav).toEqual(['Audit search', 'Accounts', 'Trial balance', 'Access log', 'Cash report']);
    expect(await page.locator('#kpi-connection').count()).toBe(0);
    // The sign-in asks `GET /v1/me` who this is: no probing, so no refused request and no error.
    expect(errors).toEqual([]);
  }, 120_000);

  it('finds transactions by audit search, exports them as CSV, and opens one’s audit trail', async () => {
    await page.getByLabel('Text').fill('pelican');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('#audit-status', { hasText: 'shown of' }).waitFor({ timeout: WAIT_MS });
    const api = (await compliance().get<AuditSearchResponse>('/v1/audit/search?q=pelican')).body;
    const shown = await Promise.all(
      (await page.locator('#audit-hits tbody tr').all()).map((row) => row.getAttribute('data-transaction-id')),
    );
    expect(shown).toEqual(api.hits.map((h) => h.transactionId));
    expect([...shown].sort()).toEqual(['cc-pelican-1', 'cc-pelican-2']);
    await shot('audit-search');

    const csv = parse(await download('#audit-csv'));
    expect(csv).toEqual([
      [
        'transaction_id',
        'event_time',
        'decision',
        'score',
        'channel',
        'kind',
        'amount',
        'currency',
        'payer_account_id',
        'payee_account_id',
        'merchant_id',
        'description',
        'reason_codes',
      ],
      ...api.hits.map((h) => [
        h.transactionId,
        h.eventTime,
        h.decision,
        String(h.score),
        h.channel,
        h.kind,
        h.amount.amount,
        h.amount.currency,
        h.payerAccountId,
        h.payeeAccountId,
        h.merchantId,
        h.transactionId === 'cc-pelican-1' ? `'${FORMULA_DESCRIPTION}` : '',
        h.reasons.map((r) => r.code).join(' '),
      ]),
    ]);
    expect(api.hits.find((h) => h.transactionId === 'cc-pelican-1')?.description).toBe(FORMULA_DESCRIPTION);

    await page.locator('#audit-hits').getByRole('link', { name: 'cc-pelican-1', exact: true }).click();
    await page.locator('#trail-decision').waitFor({ timeout: WAIT_MS });
    const trail = trails.get('cc-pelican-1')!;
    expect(await page.locator('#trail-decision').textContent()).toBe(trail.decision.outcome);
    expect(await page.locator('#trail-amount').textContent()).toBe('12.34 EUR');
    expect(await page.locator('#trail-entries tbody tr').count()).toBe(trail.ledgerEntries.length);
    await shot('audit-trail');
  }, 120_000);

  it('opens an account’s balance and statement, and its CSV is the API’s own', async () => {
    await openView('Accounts', 'Account balance and statement');
    await page.getByLabel('Account', { exact: true }).fill('acct-pelican-books');
    await page.getByRole('button', { name: 'Open' }).click();
    await page.locator('#statement-currencies li').first().waitFor({ timeout: WAIT_MS });
    // The instants the page asked for: its datetime-local inputs read in the page's own time zone.
    const [from, to] = await Promise.all(
      ['#statement-from', '#statement-to'].map(async (id) =>
        page.evaluate((local) => new Date(local).toISOString(), await page.locator(id).inputValue()),
      ),
    );
    const period = `from=${encodeURIComponent(from!)}&to=${encodeURIComponent(to!)}`;
    const statement = (await compliance().get<AccountStatement>(`/v1/accounts/acct-pelican-books/statement?${period}`))
      .body;
    const booked = ['cc-pelican-1', 'cc-pelican-2'].filter((id) => trails.get(id)!.decision.outcome === 'APPROVE');
    expect(statement.lines.map((l) => l.transactionId).sort()).toEqual(booked);
    expect(await cellsOf('#statement-lines', [1])).toEqual(statement.lines.map((l) => [l.transactionId]));
    expect(await page.locator('#statement-currencies li').allTextContents()).toEqual(
      statement.currencies.map(
        (c) =>
          `${c.currency}: opening ${c.opening.amount} ${c.currency}, ${c.entriesInPeriod} entries, closing ` +
          `${c.closing.amount} ${c.currency}`,
      ),
    );
    await shot('account-statement');

    const exported = await download('#statement-csv');
    const fromApi = await fetch(`${pipeline.url}/v1/accounts/acct-pelican-books/statement?${period}`, {
      headers: { authorization: `Bearer ${keys.compliance}`, accept: 'text/csv' },
    });
    expect(fromApi.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(exported).toBe(await fromApi.text());
  }, 120_000);

  it('shows the trial balance as the API reports it', async () => {
    await openView('Trial balance', 'Trial balance');
    await page.locator('#trial-balance-verdict').waitFor({ timeout: WAIT_MS });
    const report = (await compliance().get<TrialBalance>('/v1/reports/trial-balance')).body;
    expect(report.balanced).toBe(true);
    expect(await page.locator('#trial-balance-verdict').textContent()).toMatch(
      /^Balanced: every currency sums to zero\./,
    );
    expect(await cellsOf('#trial-balance-lines', [1, 3])).toEqual(
      report.lines.map((l) => [l.currency, String(l.entries)]),
    );
    await shot('trial-balance');
  }, 120_000);

  it('finds exactly the analyst’s reads in the access log', async () => {
    await openView('Access log', 'Access log');
    await page.getByLabel('Principal').fill(analystPrincipal);
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator('#access-status', { hasText: 'entries shown' }).waitFor({ timeout: WAIT_MS });
    expect(await cellsOf('#access-entries', [3, 4])).toEqual([
      ['account.balance', 'account/acct-pelican-books'],
      ['transaction.audit-trail', 'transaction/cc-pelican-1'],
    ]);
    const api = (
      await compliance().get<AccessLogPage>(`/v1/audit/access?principal=${encodeURIComponent(analystPrincipal)}`)
    ).body;
    expect(api.entries.map((e) => [e.action, e.resource])).toEqual(await cellsOf('#access-entries', [3, 4]));
    await shot('access-log');
  }, 120_000);

  it('names the structuring customer in the cash report, and its CSV matches the API', async () => {
    await openView('Cash report', 'Large cash and structuring');
    await page.locator('#cash-structuring-USD tbody tr').first().waitFor({ timeout: WAIT_MS });
    expect(await cellsOf('#cash-structuring-USD', [0, 1, 3])).toEqual([['cust-structurer', 'acct-structurer', '4']]);
    await shot('cash-report');

    const report = (await compliance().get<LargeCashReport>('/v1/reports/large-cash')).body;
    const usd = report.currencies.find((c) => c.currency === 'USD')!;
    expect(usd.structuring.map((p) => p.customerId)).toEqual(['cust-structurer']);
    expect([...usd.structuring[0]!.transactionIds].sort()).toEqual([
      'cash-structurer-1',
      'cash-structurer-2',
      'cash-structurer-3',
      'cash-structurer-4',
    ]);
    const csv = parse(await download('#cash-csv'));
    expect(csv).toEqual([
      [
        'record',
        'currency',
        'threshold',
        'customer_id',
        'customer_accounts',
        'kind',
        'transactions',
        'time',
        'amount',
        'transaction_ids',
      ],
      [
        'STRUCTURING',
        'USD',
        '10000.00',
        'cust-structurer',
        'acct-structurer',
        'DEPOSIT',
        '4',
        usd.structuring[0]!.windowStart,
        '38500.00',
        usd.structuring[0]!.transactionIds.join(' '),
      ],
    ]);
  }, 120_000);

  it('shows an analyst none of the compliance views, not even by their address', async () => {
    const analystContext = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    try {
      const analystPage = await analystContext.newPage();
      await analystPage.goto(`${pipeline.url}/#/access`);
      await analystPage.locator('#api-key').fill(keys.analyst);
      await analystPage.getByRole('button', { name: 'Connect' }).click();
      await analystPage.getByRole('heading', { name: 'Case queue', level: 2 }).waitFor({ timeout: WAIT_MS });
      const nav = await analystPage.getByRole('navigation', { name: 'Views' }).getByRole('link').allTextContents();
      expect(nav).toEqual(['Case queue', 'Live alerts', 'Charts']);
      expect(await analystPage.getByRole('heading', { name: 'Access log' }).count()).toBe(0);
    } finally {
      await analystContext.close();
    }
  }, 120_000);

  it('raised no console or page error on any view; a planted one of each is seen', async () => {
    expect(errors).toEqual([]);
    // Negative control: the collector sees a console error and an uncaught exception in the page.
    await page.evaluate(() => {
      console.error('planted console error');
      setTimeout(() => {
        throw new Error('planted page error');
      }, 0);
    });
    await waitFor('the planted errors', () => (errors.length === 2 ? true : undefined), WAIT_MS);
    expect([...errors].sort()).toEqual([
      // page.evaluate runs as an anonymous script: Chromium reports no url for it.
      'console: planted console error ()',
      'pageerror: planted page error',
    ]);
  }, 120_000);
});
