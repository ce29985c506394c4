import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, type Socket, connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page, type Route, chromium } from 'playwright-core';
import WebSocket from 'ws';
import { buildConsole } from '../dashboards/console/build.js';
import { QUEUE_PAGE } from '../dashboards/console/src/views/queue-page.js';
import { silentLogger } from '../platform/logger.js';
import type { AlertPage, CasePage, LiveMessage, TransactionRequest } from '../schemas/api.js';
import { type EmbeddedPipeline, startEmbeddedPipeline } from './pipeline.js';
import { apiClient, chromiumExecutable, metricSum, waitFor } from './testing.js';

/**
 * The analyst console (dashboards/console) in real headless Chromium against the whole embedded pipeline: sign-in with
 * the analyst key, live alerts, resume after the link drops (exactly the alerts raised meanwhile, once each, then
 * "caught up"), a gap (notice + history reload, keeping live alerts the history does not list yet) and verdicts
 * that reach the API. The browser reaches the pipeline only through a TCP relay the test can cut, as a network
 * outage would; the test itself talks to the pipeline directly. A second page, identical but for an injected script
 * that strips `lastEventId` from the WebSocket URL, is the negative control: the same oracle must find exactly the
 * alerts raised during each outage missing there.
 *
 * An e2e test, not an int test: the alerts come from transactions posted to ingest and scored by scoring, the
 * history and the labels go through ledger-sink's store. It lives here rather than beside the page because
 * dashboards serves every file in dashboards/web/ and the bundle's dist/ under /assets.
 */
const WAIT_MS = 45_000;
/** Small, so a second outage can overrun it and force a gap; the first outage stays under it. */
const MAX_CATCH_UP = 4;
const keys = {
  ingest: 'console-ingest-key-0123456789',
  analyst: 'console-analyst-key-0123456789',
  admin: 'console-admin-key-0123456789',
};

/**
 * A TCP relay in front of the pipeline, the browser's only way in: `cut()` drops every connection (the page's
 * WebSocket included) and refuses new ones until `restore()`, as a network outage would.
 */
interface Link {
  readonly url: string;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

async function startLink(target: URL): Promise<Link> {
  const sockets = new Set<Socket>();
  let up = true;
  const server: Server = createServer((client) => {
    if (!up) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    for (const [socket, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(socket);
      socket.on('error', () => other.destroy());
      socket.on('close', () => {
        sockets.delete(socket);
        other.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut: () => {
      up = false;
      for (const socket of sockets) socket.destroy();
    },
    restore: () => {
      up = true;
    },
    close: async () => {
      up = false;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Makes the page's WebSocket drop `lastEventId` from its URL: the console as it was before it resumed. */
const stripLastEventId = `{
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(url, protocols) {
      const bare = new URL(url, location.href);
      bare.searchParams.delete('lastEventId');
      super(bare, protocols);
    }
  };
}`;

/**
 * The oracle: what is wrong with the list a page shows, given the alerts it should show (transaction ids). Names
 * every alert missing, shown more than once, or not expected; empty when the list is exact.
 */
function listProblems(shown: readonly string[], expected: readonly string[]): string[] {
  const problems: string[] = [];
  const counts = new Map<string, number>();
  for (const id of shown) counts.set(id, (counts.get(id) ?? 0) + 1);
  const wanted = new Set(expected);
  for (const [id, count] of counts) {
    if (!wanted.has(id)) problems.push(`${id} not expected`);
    if (count > 1) problems.push(`${id} shown ${count} times`);
  }
  for (const id of expected) if (!counts.has(id)) problems.push(`${id} missing`);
  return problems;
}

/** The transaction ids of the alerts a page lists, top to bottom. */
async function shownAlerts(page: Page): Promise<string[]> {
  // A string, not a function: this project compiles without the DOM library.
  const ids: unknown = await page.evaluate(
    "[...document.querySelectorAll('#alerts > li')].map((item) => item.dataset.transactionId)",
  );
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) throw new Error('unreadable alert list');
  return ids;
}

/** Waits until the page lists the alert of `transactionId`. */
async function waitForShown(page: Page, transactionId: string): Promise<void> {
  await page
    .locator(`#alerts > li[data-transaction-id="${transactionId}"]`)
    .waitFor({ state: 'attached', timeout: WAIT_MS });
}

/** A card payment; with VIGIL_REVIEW_THRESHOLD=0 every one is an alert (REVIEW, or DECLINE on a high score). */
function payment(id: string): TransactionRequest {
  return {
    transactionId: id,
    channel: 'card',
    amount: { value: '12.34', currency: 'EUR' },
    payer: { accountId: `acct-${id}` },
    payee: { accountId: 'merchant-console' },
    card: { number: '4111111111111111', present: true },
    merchant: { id: 'merchant-console', terminalId: 'term-console', mcc: '5411' },
    location: { country: 'FR', latitude: 48.85, longitude: 2.35 },
  };
}

describe('the analyst console in Chromium (dashboards/console)', () => {
  let dataDir: string;
  let pipeline: EmbeddedPipeline;
  let link: Link;
  let browser: Browser;
  let contexts: BrowserContext[];
  /** The console as served. */
  let consolePage: Page;
  /** The negative control: the same console with `lastEventId` stripped from its WebSocket URL. */
  let controlPage: Page;
  /** A WebSocket client straight to the pipeline: once it has an alert, dashboards has pushed it. */
  let observer: WebSocket;
  const observed: string[] = [];
  let raised = 0;
  /** Every alert raised so far, oldest first. */
  const all: string[] = [];
  /** The alerts raised while the link was down. */
  const outageAlerts: string[] = [];

  const ingest = () => apiClient(pipeline.url, keys.ingest);
  const analyst = () => apiClient(pipeline.url, keys.analyst);

  /** Raises `count` alerts and waits until dashboards pushed each one to its live clients. */
  async function raiseAlerts(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = `console-${++raised}`;
      const answer = await ingest().post('/v1/transactions', payment(id));
      expect(answer.status).toBe(202);
      ids.push(id);
    }
    await waitFor(
      `dashboards to push ${ids.join(', ')}`,
      () => (ids.every((id) => observed.includes(id)) ? true : undefined),
      WAIT_MS,
    );
    all.push(...ids);
    return ids;
  }

  /** Waits until GET /v1/alerts (what a history reload reads) lists every id in `ids`. */
  async function waitForHistory(ids: readonly string[]): Promise<AlertPage> {
    return waitFor(
      `the alert history to list ${ids.join(', ')}`,
      async () => {
        const page = await analyst().get<AlertPage>('/v1/alerts?limit=100');
        const listed = new Set(page.body.alerts.map((a) => a.transactionId));
        return ids.every((id) => listed.has(id)) ? page.body : undefined;
      },
      WAIT_MS,
    );
  }

  /** Waits until dashboards counts exactly `count` live WebSocket clients. */
  async function waitForLiveClients(count: number): Promise<void> {
    await waitFor(
      `${count} live clients`,
      async () => {
        const response = await fetch(pipeline.url + '/metrics', { headers: { authorization: `Bearer ${keys.admin}` } });
        return metricSum(await response.text(), 'vigil_dashboards_ws_clients') === count ? true : undefined;
      },
      WAIT_MS,
    );
  }

  async function openConsole(initScript?: string): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    if (initScript !== undefined) await context.addInitScript(initScript);
    const page = await context.newPage();
    // The live alerts view; the console opens on the case queue otherwise.
    await page.goto(link.url + '/#/alerts');
    return page;
  }

  /** Signs in the way an analyst does: the page asks for the key. */
  async function signIn(page: Page, key: string): Promise<void> {
    await page.locator('#api-key').fill(key);
    await page.getByRole('button', { name: 'Connect' }).click();
  }

  beforeAll(async () => {
    const executablePath = chromiumExecutable();
    await buildConsole();
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-console-'));
    pipeline = await startEmbeddedPipeline({
      env: {
        VIGIL_DATA_DIR: dataDir,
        VIGIL_HTTP_PORT: '0',
        VIGIL_SIMULATOR_TPS: '0',
        VIGIL_REVIEW_THRESHOLD: '0',
        VIGIL_DASHBOARDS_WS_MAX_CATCH_UP: String(MAX_CATCH_UP),
        VIGIL_API_KEYS: Object.entries(keys)
          .map(([role, key]) => `${role}:${key}`)
          .join(','),
      },
      logger: silentLogger,
    });
    link = await startLink(new URL(pipeline.url));
    observer = new WebSocket(pipeline.url.replace('http', 'ws') + '/v1/alerts/live', [
      'vigil.v1',
      `bearer.${keys.analyst}`,
    ]);
    observer.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as LiveMessage;
      if (message.type === 'alert') observed.push(message.alert.transactionId);
    });
    await new Promise<void>((resolve, reject) => {
      observer.once('open', () => resolve());
      observer.once('error', reject);
    });
    browser = await chromium.launch({ executablePath });
    contexts = [];
  }, 120_000);

  afterAll(async () => {
    for (const context of contexts ?? []) await context.close();
    await browser?.close();
    observer?.close();
    await link?.close();
    await pipeline?.close();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('asks for the key, refuses a non-analyst key, and shows live alerts once signed in', async () => {
    consolePage = await openConsole();
    controlPage = await openConsole(stripLastEventId);
    for (const page of [consolePage, controlPage]) {
      await signIn(page, keys.ingest);
      await page.locator('#login-error', { hasText: 'This key is not an analyst key.' }).waitFor({ timeout: WAIT_MS });
      await signIn(page, keys.analyst);
      await page.locator('#console').waitFor({ timeout: WAIT_MS });
    }
    await waitForLiveClients(3);

    const live = await raiseAlerts(3);
    for (const page of [consolePage, controlPage]) {
      for (const id of live) await waitForShown(page, id);
      expect(listProblems(await shownAlerts(page), all)).toEqual([]);
      expect(await page.locator('#kpi-connection').textContent()).toBe('live');
    }
  });

  it('after the link drops, shows exactly the alerts raised meanwhile, once each, and says it caught up; without lastEventId they are missing', async () => {
    link.cut();
    for (const page of [consolePage, controlPage])
      await page.locator('#kpi-connection', { hasText: 'reconnecting' }).waitFor({ timeout: WAIT_MS });
    await waitForLiveClients(1);
    const missed = await raiseAlerts(MAX_CATCH_UP - 1);
    outageAlerts.push(...missed);
    link.restore();

    await consolePage
      .locator('#stream-note', { hasText: `Caught up: ${missed.length} alerts raised while disconnected` })
      .waitFor({ timeout: WAIT_MS });
    await waitForLiveClients(3);
    // One live alert after both reconnected: a page has everything it will ever get of the outage once it shows it.
    const after = await raiseAlerts(1);
    for (const page of [consolePage, controlPage]) await waitForShown(page, after[0]!);

    const shown = await shownAlerts(consolePage);
    expect(listProblems(shown, all)).toEqual([]);
    expect(await consolePage.locator('#kpi-connection').textContent()).toBe('live');
    // Negative controls: the console that does not present lastEventId misses exactly the outage's alerts, and
    // the oracle also names an alert shown twice.
    expect(listProblems(await shownAlerts(controlPage), all)).toEqual(outageAlerts.map((id) => `${id} missing`));
    expect(listProblems([...shown, missed[0]!], all)).toEqual([`${missed[0]} shown 2 times`]);
  });

  it('after missing more than one catch-up replays, says so and reloads the history, keeping live alerts it does not list yet', async () => {
    link.cut();
    await waitForLiveClients(1);
    const missed = await raiseAlerts(MAX_CATCH_UP + 2);
    await waitForHistory(all);

    // Hold the console's history reload until an alert raised after it was read has arrived live.
    let historyRead!: () => void;
    const historyWasRead = new Promise<void>((resolve) => (historyRead = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await consolePage.route('**/v1/alerts?limit=100', async (route: Route) => {
      const response = await route.fetch();
      historyRead();
      await released;
      await route.fulfill({ response });
    });
    link.restore();
    await consolePage.locator('#notice', { hasText: 'were not replayed' }).waitFor({ timeout: WAIT_MS });
    await historyWasRead;
    await waitForLiveClients(3);
    const after = await raiseAlerts(1);
    for (const page of [consolePage, controlPage]) await waitForShown(page, after[0]!);
    release();
    await consolePage.locator('#notice', { hasText: 'reloaded from the alert history' }).waitFor({ timeout: WAIT_MS });
    await consolePage.unroute('**/v1/alerts?limit=100');

    expect(listProblems(await shownAlerts(consolePage), all)).toEqual([]);
    expect(await consolePage.locator('#notice').isVisible()).toBe(true);
    // Negative control: the console without lastEventId missed both outages, and nothing told it so.
    outageAlerts.push(...missed);
    expect(listProblems(await shownAlerts(controlPage), all)).toEqual(outageAlerts.map((id) => `${id} missing`));
    expect(await controlPage.locator('#notice').isVisible()).toBe(false);
  });

  it('stores the verdicts given on the page: Fraud with its note, Genuine, and nothing else', async () => {
    const [fraud, genuine] = [all[0]!, all[1]!];
    const fraudItem = consolePage.locator(`#alerts > li[data-transaction-id="${fraud}"]`);
    await fraudItem.getByPlaceholder('Note (optional)').fill('cardholder says the card was stolen');
    await fraudItem.getByRole('button', { name: 'Fraud' }).click();
    const genuineItem = consolePage.locator(`#alerts > li[data-transaction-id="${genuine}"]`);
    await genuineItem.getByRole('button', { name: 'Genuine' }).click();
    await fraudItem.locator('.labelled', { hasText: 'fraud · analyst:' }).waitFor({ timeout: WAIT_MS });
    await genuineItem.locator('.labelled', { hasText: 'genuine · analyst:' }).waitFor({ timeout: WAIT_MS });

    const history = await waitFor(
      'both verdicts in the alert history',
      async () => {
        const page = await analyst().get<AlertPage>('/v1/alerts?limit=100');
        const labelled = new Set(page.body.alerts.filter((a) => a.label !== null).map((a) => a.transactionId));
        return labelled.has(fraud) && labelled.has(genuine) ? page.body : undefined;
      },
      WAIT_MS,
    );
    const labels = Object.fromEntries(
      history.alerts.filter((a) => a.label !== null).map((a) => [a.transactionId, a.label]),
    );
    expect(Object.keys(labels).sort()).toEqual([fraud, genuine].sort());
    expect(labels[fraud]).toMatchObject({ label: 'FRAUD', note: 'cardholder says the card was stolen' });
    expect(labels[genuine]).toMatchObject({ label: 'GENUINE', note: null });
    expect(labels[fraud]!.labelledBy).toMatch(/^analyst:/);
  });

  it('lists the open cases by priority, as GET /v1/cases does, and follows a case resolved through the API', async () => {
    await consolePage.getByRole('link', { name: 'Case queue' }).click();
    const caseIdsShown = async (page: Page) =>
      Promise.all((await page.locator('#cases tbody tr').all()).map((item) => item.getAttribute('data-case-id')));
    const queue = async (): Promise<string[]> => {
      const answer = await analyst().get<CasePage>(`/v1/cases?state=unresolved&sort=priority&limit=${QUEUE_PAGE}`);
      return answer.body.cases.map((c) => c.caseId);
    };
    const expected = await queue();
    // One case per payer: every alert raised here has its own payer account.
    expect(expected).toHaveLength(all.length);
    await waitFor(
      'the console to list the open cases',
      async () => (JSON.stringify(await caseIdsShown(consolePage)) === JSON.stringify(expected) ? true : undefined),
      WAIT_MS,
    );
    // A case taken off the queue through the API leaves the page's list with the next one's step.
    const top = expected[0]!;
    await analyst().post(`/v1/cases/${top}/actions`, { action: 'assign' });
    await analyst().post(`/v1/cases/${top}/actions`, { action: 'resolve', resolution: 'escalated' });
    const after = await queue();
    expect(after).not.toContain(top);
    await waitFor(
      'the console to drop the resolved case',
      async () => (JSON.stringify(await caseIdsShown(consolePage)) === JSON.stringify(after) ? true : undefined),
      WAIT_MS,
    );
  });
});
