import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { buildConsole } from '../dashboards/console/build.js';
import { silentLogger } from '../platform/logger.js';
import { type EmbeddedPipeline, startEmbeddedPipeline } from './pipeline.js';
import { chromiumExecutable, heldInCase } from './testing.js';

/**
 * The console is accessible by a tool's measure, not only by hand: axe-core (the engine behind Lighthouse's and
 * Chrome's accessibility audits) checks every view each demo user reaches — the sign-in page, the analyst's views and
 * a case, the compliance officer's five views — against WCAG 2.1 A and AA (labels, names, roles, landmarks, and
 * colour contrast, which needs the rendered page), at a laptop size. Any violation fails with the rule, the elements
 * and axe's own explanation. Negative control: an unlabelled input and grey-on-grey text planted into a view are
 * reported as `label` and `color-contrast`, so the check sees what it is asked to see.
 */
const WAIT_MS = 45_000;
const viewport = { width: 1366, height: 768 };
const WCAG_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const keys = {
  ingest: 'console-a11y-ingest-key-0123456789',
  compliance: 'console-a11y-compliance-key-01234',
};
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface Violation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly string[];
}

/** axe-core's WCAG 2.1 A/AA violations on what the page shows now; rule id, help and the offending elements. */
async function violationsOn(page: Page): Promise<Violation[]> {
  if ((await page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe)) === 'undefined')
    await page.evaluate(axeSource);
  return page.evaluate(async (tags) => {
    const axe = (globalThis as unknown as { axe: { run: (ctx: unknown, options: unknown) => Promise<AxeResults> } })
      .axe;
    interface AxeResults {
      violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
    }
    const results = await axe.run('html', { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => n.target.map(String).join(' ')),
    }));
  }, WCAG_AA);
}

describe('the console is accessible (axe-core, WCAG 2.1 AA, Chromium)', () => {
  let dataDir: string;
  let pipeline: EmbeddedPipeline;
  let browser: Browser;
  let caseId: string;

  /** A new browser context signed in as the demo `username` through the built-in OpenID provider. */
  async function signedIn(username: 'analyst' | 'compliance'): Promise<Page> {
    const page = await (await browser.newContext({ viewport })).newPage();
    await page.goto(`${pipeline.url}/`);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByLabel('User name').fill(username);
    await page
      .getByLabel('Password')
      .fill(pipeline.identityProvider!.users.find((u) => u.username === username)!.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${pipeline.url}/`, { timeout: WAIT_MS });
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link').first().waitFor({ timeout: WAIT_MS });
    return page;
  }

  /** Every view in the page's navigation, opened in turn: its title and axe's violations there. */
  async function everyView(page: Page): Promise<Map<string, Violation[]>> {
    const nav = page.getByRole('navigation', { name: 'Views' }).getByRole('link');
    const titles = await nav.allTextContents();
    const found = new Map<string, Violation[]>();
    for (const title of titles) {
      await nav.filter({ hasText: title }).click();
      await page.getByRole('heading', { level: 2 }).first().waitFor({ timeout: WAIT_MS });
      found.set(title, await violationsOn(page));
    }
    return found;
  }

  beforeAll(async () => {
    await buildConsole();
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-console-a11y-'));
    pipeline = await startEmbeddedPipeline({
      env: {
        VIGIL_DATA_DIR: dataDir,
        VIGIL_HTTP_PORT: '0',
        VIGIL_SIMULATOR_TPS: '0',
        // Every payment is a REVIEW: a case to open, a hold to show.
        VIGIL_REVIEW_THRESHOLD: '0',
        VIGIL_DECLINE_THRESHOLD: '1',
        VIGIL_DECISION_DEADLINE_MS: '20000',
        VIGIL_API_KEYS: `ingest:${keys.ingest},compliance:${keys.compliance}`,
      },
      logger: silentLogger,
    });
    browser = await chromium.launch({ executablePath: chromiumExecutable() });
    caseId = await heldInCase(
      pipeline.url,
      { ingestKey: keys.ingest, readerKey: keys.compliance },
      { id: 'a11y-held-1', payer: 'acct-a11y-1', payee: 'shop', value: '42.00' },
      WAIT_MS,
    );
  });

  afterAll(async () => {
    await browser?.close();
    await pipeline?.close();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  it('finds no violation on the sign-in page', async () => {
    const page = await (await browser.newContext({ viewport })).newPage();
    await page.goto(`${pipeline.url}/`);
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor({ timeout: WAIT_MS });
    expect(await violationsOn(page)).toEqual([]);
  });

  it("finds no violation on the analyst's views and a case", async () => {
    const page = await signedIn('analyst');
    const views = await everyView(page);
    expect([...views.keys()].length).toBeGreaterThan(0);
    await page.goto(`${pipeline.url}/#/cases/${caseId}`);
    await page.locator('#case-title', { hasText: caseId }).waitFor({ timeout: WAIT_MS });
    await page.locator('#trail-hold', { hasText: 'OPEN' }).waitFor({ timeout: WAIT_MS });
    await page.locator('#case-timeline tbody tr').first().waitFor({ timeout: WAIT_MS });
    views.set(`case ${caseId}`, await violationsOn(page));
    expect(Object.fromEntries(views)).toEqual(Object.fromEntries([...views.keys()].map((k) => [k, []])));
  });

  it("finds no violation on the compliance officer's views", async () => {
    const page = await signedIn('compliance');
    const views = await everyView(page);
    expect([...views.keys()]).toEqual(['Audit search', 'Accounts', 'Trial balance', 'Access log', 'Cash report']);
    expect(Object.fromEntries(views)).toEqual(Object.fromEntries([...views.keys()].map((k) => [k, []])));
  });

  it('reports an unlabelled input and low-contrast text planted into a view (negative control)', async () => {
    const page = await signedIn('compliance');
    await page.getByRole('heading', { level: 2 }).first().waitFor({ timeout: WAIT_MS });
    // Written as page script text: this file is compiled without the DOM's types.
    await page.evaluate(`{
      const input = document.createElement('input');
      input.id = 'planted-unlabelled';
      const faint = document.createElement('p');
      faint.id = 'planted-faint';
      faint.textContent = 'hard to read';
      faint.style.color = '#bbbbbb';
      faint.style.background = '#ffffff';
      document.querySelector('main').append(input, faint);
    }`);
    const found = await violationsOn(page);
    const planted = found.filter((v) => v.nodes.some((n) => n.startsWith('#planted-')));
    expect(planted.map((v) => [v.id, v.nodes])).toEqual(
      expect.arrayContaining([
        ['label', ['#planted-unlabelled']],
        ['color-contrast', ['#planted-faint']],
      ]),
    );
  });
});
