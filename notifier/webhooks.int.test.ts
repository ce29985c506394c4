import { jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeyAuthenticator } from '../platform/auth.js';
import { systemClock } from '../platform/clock.js';
import { EmbeddedLog } from '../platform/embedded-log/embedded-log.js';
import { startHttpServer, type HttpServer } from '../platform/http-server.js';
import { silentLogger } from '../platform/logger.js';
import { MetricsRegistry } from '../platform/metrics.js';
import { type Codec, createCodec } from '../schemas/codec.js';
import { sampleTransaction } from '../schemas/fixtures.js';
import type { FraudAlert, ScoredTransaction } from '../schemas/generated/types.js';
import { topicSpecs } from '../schemas/partitions.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import type {
  WebhookDeliveryView,
  WebhookEndpointCreated,
  WebhookEndpointView,
  WebhookEventType,
} from '../schemas/webhooks.js';
import { type NotifierStage, startNotifier } from './main.js';
import { WebhookReceiver } from './testing/receiver.js';
import { readRateLimitConfig } from '../platform/rate-limit.js';

/**
 * The notifier against real parts: the embedded durable log as the pipeline's bus and as the outbox, the real
 * HTTP transport, and a real HTTP receiver on 127.0.0.1 that verifies every signature with Stripe's verifier.
 * Receivers that fail every other request, hang past the timeout, answer 410 or are down; a replay; a restart
 * with deliveries pending. Every oracle is an exact count.
 */
jest.setTimeout(180_000);

const keys = { admin: 'webhooks-admin-key-0123456789', analyst: 'webhooks-analyst-key-0123456789' };
const MAX_CONSECUTIVE_FAILURES = 5;

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function scored(account: number, seq: number, scoredAtMs: number): ScoredTransaction {
  return {
    transaction: sampleTransaction({
      transactionId: `tx-a${account}-${String(seq).padStart(3, '0')}`,
      payerAccountId: `acct-${account}`,
      amountMinor: BigInt(100 * seq + account),
    }),
    decision: seq % 5 === 0 ? 'REVIEW' : 'APPROVE',
    score: seq / 1000,
    risk: seq / 1000,
    reasons: [{ code: 'R_TEST', source: 'RULE', description: 'test rule', weight: 0.5 }],
    rulesFired: [],
    features: {},
    featureValues: null,
    reportingCurrency: 'EUR',
    unconvertedCurrency: null,
    modelVersion: 'model-test',
    rulesVersion: 'rules-test',
    scoredAtMs,
  };
}

function alert(account: number, seq: number, raisedAtMs: number): FraudAlert {
  return {
    alertId: `alert-a${account}-${seq}`,
    transactionId: `tx-a${account}-${String(seq).padStart(3, '0')}`,
    decision: 'REVIEW',
    score: 0.7,
    reasons: [],
    channel: 'CARD',
    amountMinor: 1234n,
    currency: 'EUR',
    payerAccountId: `acct-${account}`,
    payeeAccountId: 'acct-merchant-1',
    cardToken: 'tok_abc',
    cardLast4: '1111',
    merchantId: null,
    country: 'FR',
    modelVersion: 'model-test',
    eventTimeMs: raisedAtMs - 100,
    receivedAtMs: raisedAtMs - 50,
    raisedAtMs,
  };
}

describe('webhooks (real log, real HTTP receiver)', () => {
  let dir: string;
  let source: EmbeddedLog;
  let receiver: WebhookReceiver;
  let notifier: NotifierStage;
  let http: HttpServer;
  let scoredCodec: Codec<ScoredTransaction>;
  let alertCodec: Codec<FraudAlert>;
  let metrics: MetricsRegistry;
  const authenticator = new ApiKeyAuthenticator([
    { role: 'admin', key: keys.admin },
    { role: 'analyst', key: keys.analyst },
  ]);
  const registry = new EmbeddedSchemaRegistry();
  let seq = 0;
  /** Whether the receiver at /revived answers 2xx (it answers 503 until the test brings it back). */
  let reviverUp = false;

  const env = () => ({
    VIGIL_WEBHOOK_SECRET_KEY: 'webhooks-int-test-secret-key-0123456789',
    VIGIL_WEBHOOK_ALLOWED_TARGETS: `127.0.0.1:${receiver.port}`,
    VIGIL_WEBHOOK_INITIAL_BACKOFF_MS: '20',
    VIGIL_WEBHOOK_MAX_BACKOFF_MS: '200',
    VIGIL_WEBHOOK_TIMEOUT_MS: '1000',
    VIGIL_WEBHOOK_MAX_CONSECUTIVE_FAILURES: String(MAX_CONSECUTIVE_FAILURES),
  });

  async function start(): Promise<void> {
    metrics = new MetricsRegistry();
    notifier = await startNotifier({
      bus: source,
      registry,
      logger: silentLogger,
      metrics,
      clock: systemClock,
      authenticator,
      env: env(),
      dataDir: join(dir, 'notifier'),
    });
    http = await startHttpServer({
      api: [],
      port: 0,
      host: '127.0.0.1',
      routers: [notifier.router],
      checks: [{ name: 'notifier', isReady: () => notifier.isReady() }],
      metrics,
      authenticator,
      logger: silentLogger,
      rateLimit: readRateLimitConfig({}),
    });
  }

  async function stop(): Promise<void> {
    await http.close();
    await notifier.close();
  }

  async function api<T>(method: string, path: string, body?: unknown, key = keys.admin) {
    const response = await fetch(http.url + path, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  }

  async function register(path: string, events: WebhookEventType[]): Promise<WebhookEndpointCreated> {
    const created = await api<WebhookEndpointCreated>('POST', '/v1/webhooks', { url: receiver.url + path, events });
    expect(created.status).toBe(201);
    receiver.trust(path, created.body.secret);
    return created.body;
  }

  /** Writes `perAccount` decisions for each of `accounts` accounts (interleaved) and one alert per account. */
  async function produce(accounts: number, perAccount: number): Promise<{ decisions: string[]; alerts: string[] }> {
    const producer = source.producer();
    const decisions: string[] = [];
    const alerts: string[] = [];
    for (let i = 0; i < perAccount; i++) {
      seq++;
      for (let a = 1; a <= accounts; a++) {
        const value = scored(a, seq, Date.now());
        decisions.push(value.transaction.transactionId);
        await producer.send(Topics.transactionsScored, [{ key: `acct-${a}`, value: scoredCodec.encode(value) }]);
      }
    }
    for (let a = 1; a <= accounts; a++) {
      const value = alert(a, seq, Date.now());
      alerts.push(value.alertId);
      await producer.send(Topics.fraudAlerts, [{ key: `acct-${a}`, value: alertCodec.encode(value) }]);
    }
    return { decisions, alerts };
  }

  /**
   * The endpoint's attempt log once `enough` holds: a receiver sees a request before the notifier has recorded
   * the attempt's outcome, so the log is read when it has caught up, never right after the receiver's count.
   */
  const attemptsOnceRecorded = (endpointId: string, enough: (attempts: WebhookDeliveryView[]) => boolean) =>
    waitFor(`the attempt log of ${endpointId}`, async () => {
      const { body } = await api<{ deliveries: WebhookDeliveryView[] }>(
        'GET',
        `/v1/webhooks/${endpointId}/deliveries?limit=500`,
      );
      return enough(body.deliveries) ? body.deliveries : undefined;
    });

  const deliveredIds = (path: string, type: WebhookEventType): string[] =>
    receiver
      .delivered(path)
      .filter((r) => r.event.type === type)
      .map((r) =>
        type === 'alert.raised'
          ? (r.event.data as { alertId: string }).alertId
          : (r.event.data as { transactionId: string }).transactionId,
      );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-webhooks-'));
    source = await EmbeddedLog.open({ dir: join(dir, 'log') });
    await source.ensureTopics(topicSpecs(4));
    scoredCodec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    alertCodec = await createCodec<FraudAlert>(registry, Topics.fraudAlerts);
    receiver = await WebhookReceiver.start(({ path, n }) => {
      if (path === '/flaky') return n === 3 ? 'hang' : n % 2 === 0 ? 500 : 200;
      if (path === '/gone') return 410;
      if (path === '/down') return 503;
      if (path === '/revived') return reviverUp ? 200 : 503;
      return 200;
    });
    await start();
  });

  afterAll(async () => {
    await stop().catch(() => undefined);
    await receiver.close();
    await source.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses non-admins and unsafe targets, naming the field', async () => {
    const asAnalyst = await api(
      'POST',
      '/v1/webhooks',
      { url: `${receiver.url}/x`, events: ['alert.raised'] },
      keys.analyst,
    );
    expect(asAnalyst.status).toBe(403);
    expect((await api('GET', '/v1/webhooks', undefined, 'not-a-key-at-all-0000')).status).toBe(401);
    const metadata = await api<{ problems: Array<{ path: string }> }>('POST', '/v1/webhooks', {
      url: 'http://169.254.169.254/latest',
      events: ['decision.made'],
    });
    expect(metadata.status).toBe(400);
    expect(metadata.body.problems.map((p) => p.path)).toEqual(['/url', '/url']);
    const otherPort = await api('POST', '/v1/webhooks', {
      url: `http://127.0.0.1:${receiver.port + 1}/x`,
      events: ['decision.made'],
    });
    expect(otherPort.status).toBe(400);
    expect((await api<{ endpoints: unknown[] }>('GET', '/v1/webhooks')).body.endpoints).toEqual([]);
  });

  it('delivers every decision and alert exactly once, signed, in order per account', async () => {
    const endpoint = await register('/ok', ['decision.made', 'alert.raised']);
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const listed = await api<{ endpoints: Array<WebhookEndpointView & { secret?: string }> }>('GET', '/v1/webhooks');
    expect(listed.body.endpoints.map((e) => [e.id, e.status, e.secret])).toEqual([[endpoint.id, 'enabled', undefined]]);

    const produced = await produce(6, 10);
    await waitFor('all 66 events at /ok', () => (receiver.delivered('/ok').length >= 66 ? true : undefined));

    expect(deliveredIds('/ok', 'decision.made').sort()).toEqual([...produced.decisions].sort());
    expect(deliveredIds('/ok', 'alert.raised').sort()).toEqual([...produced.alerts].sort());
    const requests = receiver.requests.filter((r) => r.path === '/ok');
    expect(requests).toHaveLength(66);
    expect(requests.filter((r) => r.verified === true)).toHaveLength(66);
    expect(new Set(requests.map((r) => r.event.id)).size).toBe(66);
    for (let a = 1; a <= 6; a++) {
      const order = deliveredIds('/ok', 'decision.made').filter((id) => id.startsWith(`tx-a${a}-`));
      expect(order).toEqual(produced.decisions.filter((id) => id.startsWith(`tx-a${a}-`)));
    }
    const decision = requests.find((r) => r.event.type === 'decision.made')!.event;
    expect(decision.data).toMatchObject({ amount: { currency: 'EUR' }, modelVersion: 'model-test', risk: 'low' });
    expect(JSON.stringify(receiver.requests)).not.toContain('tok_abc');

    const deliveries = await attemptsOnceRecorded(endpoint.id, (a) => a.length >= 66);
    expect(deliveries.map((d) => d.outcome)).toEqual(Array(66).fill('delivered'));
  });

  it('negative control: a receiver holding the wrong secret rejects every signature', async () => {
    const endpoint = await register('/wrong-secret', ['alert.raised']);
    receiver.trust('/wrong-secret', endpoint.secret.slice(0, -2) + 'xx');
    await produce(2, 1);
    await waitFor('2 alerts at /wrong-secret', () =>
      receiver.delivered('/wrong-secret').length >= 2 ? true : undefined,
    );
    expect(receiver.requests.filter((r) => r.path === '/wrong-secret').map((r) => r.verified)).toEqual([false, false]);
    expect((await api('DELETE', `/v1/webhooks/${endpoint.id}`)).status).toBe(204);
  });

  it('retries a receiver that fails every other request and one that hangs, until each event is answered 2xx once', async () => {
    const endpoint = await register('/flaky', ['decision.made']);
    const produced = await produce(3, 4);
    await waitFor('12 events answered 2xx at /flaky', () =>
      receiver.delivered('/flaky').length >= 12 ? true : undefined,
    );
    expect(deliveredIds('/flaky', 'decision.made').sort()).toEqual([...produced.decisions].sort());
    // Each failure is recorded before its retry, so once the 12 deliveries are recorded every failure is too.
    const attempts = await attemptsOnceRecorded(
      endpoint.id,
      (a) => a.filter((d) => d.outcome === 'delivered').length >= 12,
    );
    const failed = attempts.filter((d) => d.outcome === 'failed');
    expect(attempts.filter((d) => d.outcome === 'delivered')).toHaveLength(12);
    // Request 3 hung (timed out); every other even-numbered request was answered 500.
    expect(failed.filter((d) => d.status === null && /no answer within 1000 ms/.test(d.error ?? ''))).toHaveLength(1);
    expect(failed.filter((d) => d.status === 500)).toHaveLength(
      receiver.requests.filter((r) => r.path === '/flaky' && r.status === 500).length,
    );
    // Retries of an event carry its id again and a higher attempt number.
    const retried = receiver.requests.filter((r) => r.path === '/flaky' && r.attempt > 1);
    expect(retried.length).toBe(failed.length);
    for (const r of retried)
      expect(
        receiver.requests.some((o) => o.path === '/flaky' && o.event.id === r.event.id && o.attempt === r.attempt - 1),
      ).toBe(true);
  });

  it('disables an endpoint at 410 Gone after one attempt, and one that fails N times in a row', async () => {
    const gone = await register('/gone', ['alert.raised']);
    const down = await register('/down', ['alert.raised']);
    await produce(1, 1);
    const disabled = await waitFor('both disabled', async () => {
      const { body } = await api<{ endpoints: WebhookEndpointView[] }>('GET', '/v1/webhooks');
      const mine = body.endpoints.filter((e) => e.id === gone.id || e.id === down.id);
      return mine.every((e) => e.status === 'disabled') ? mine : undefined;
    });
    expect(disabled.map((e) => [e.url.replace(receiver.url, ''), e.disabledReason])).toEqual([
      ['/gone', 'gone'],
      ['/down', 'failing'],
    ]);
    expect(receiver.requests.filter((r) => r.path === '/gone')).toHaveLength(1);
    expect(receiver.requests.filter((r) => r.path === '/down')).toHaveLength(MAX_CONSECUTIVE_FAILURES);
    const metricsText = await (
      await fetch(`${http.url}/metrics`, { headers: { authorization: `Bearer ${keys.admin}` } })
    ).text();
    expect(metricsText).toMatch(/^vigil_webhook_endpoints_disabled 2$/m);

    // Nothing more goes to disabled endpoints; the enabled one still gets the next alert.
    const before = receiver.delivered('/ok').length;
    await produce(1, 1);
    await waitFor('the next events at /ok', () => (receiver.delivered('/ok').length >= before + 2 ? true : undefined));
    expect(receiver.requests.filter((r) => r.path === '/gone')).toHaveLength(1);
    expect(receiver.requests.filter((r) => r.path === '/down')).toHaveLength(MAX_CONSECUTIVE_FAILURES);
    expect(
      (
        await api('POST', `/v1/webhooks/${gone.id}/replay`, {
          from: '2020-01-01T00:00:00Z',
          to: '2100-01-01T00:00:00Z',
        })
      ).status,
    ).toBe(409);
  });

  it('replays a range with the same event ids, marked as replays', async () => {
    const { body } = await api<{ endpoints: WebhookEndpointView[] }>('GET', '/v1/webhooks');
    const ok = body.endpoints.find((e) => e.url.endsWith('/ok'))!;
    const firstIds = receiver.delivered('/ok').map((r) => r.event.id);
    const bad = await api<{ problems: Array<{ path: string }> }>('POST', `/v1/webhooks/${ok.id}/replay`, {
      from: 'yesterday',
      to: '2100-01-01T00:00:00Z',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.problems.map((p) => p.path)).toEqual(['/from']);
    const replay = await api<{ events: number }>('POST', `/v1/webhooks/${ok.id}/replay`, {
      from: '2020-01-01T00:00:00Z',
      to: new Date(Date.now() + 1000).toISOString(),
    });
    expect(replay.status).toBe(202);
    expect(replay.body.events).toBe(firstIds.length);
    await waitFor('the replay', () => (receiver.delivered('/ok').length >= 2 * firstIds.length ? true : undefined));
    const again = receiver
      .delivered('/ok')
      .slice(firstIds.length)
      .map((r) => r.event.id);
    expect([...again].sort()).toEqual([...firstIds].sort());
    const attempts = await attemptsOnceRecorded(ok.id, (a) => a.filter((d) => d.replay).length >= firstIds.length);
    expect(attempts.filter((d) => d.replay)).toHaveLength(firstIds.length);
  });

  it('keeps endpoints, secrets and pending events across a restart', async () => {
    const { body } = await api<{ endpoints: WebhookEndpointView[] }>('GET', '/v1/webhooks');
    const before = receiver.delivered('/ok').length;
    await stop();
    const produced = await produce(2, 3); // written while the notifier is down
    await start();
    const after = await api<{ endpoints: WebhookEndpointView[] }>('GET', '/v1/webhooks');
    expect(after.body.endpoints).toEqual(body.endpoints);
    await waitFor('the events written while down', () =>
      receiver.delivered('/ok').length >= before + 8 ? true : undefined,
    );
    const fresh = receiver.delivered('/ok').slice(before);
    expect(fresh.map((r) => r.verified)).toEqual(Array(8).fill(true));
    expect(
      deliveredIds('/ok', 'decision.made')
        .filter((id) => produced.decisions.includes(id))
        .sort(),
    ).toEqual([...produced.decisions].sort());
  });

  it('re-enables an endpoint disabled by failures: the run of failures starts again, its backlog arrives once', async () => {
    const revived = await register('/revived', ['alert.raised']);
    const requestsAt = () => receiver.requests.filter((r) => r.path === '/revived');
    const status = async () => (await api<WebhookEndpointView>('GET', `/v1/webhooks/${revived.id}`)).body;
    const disabledAgain = (n: number) =>
      waitFor(`/revived disabled after ${n} requests`, async () => {
        const endpoint = await status();
        return endpoint.status === 'disabled' && requestsAt().length === n ? endpoint : undefined;
      });
    const first = await produce(1, 1);
    expect((await disabledAgain(MAX_CONSECUTIVE_FAILURES)).disabledReason).toBe('failing');
    // Alerts raised while it is disabled stay in the outbox behind its cursor; none is sent to it meanwhile.
    // One account only, so its events go out one at a time and the failure counts below are exact.
    const okBefore = receiver.delivered('/ok').length;
    const whileDisabled = [(await produce(1, 1)).alerts, (await produce(1, 1)).alerts].flat();
    await waitFor('the alerts at /ok', () => (receiver.delivered('/ok').length >= okBefore + 4 ? true : undefined));
    expect(requestsAt()).toHaveLength(MAX_CONSECUTIVE_FAILURES);

    // Re-enabled while the receiver is still down: disabled again after a whole new run of failures, not after
    // one (the control for the cleared streak: without the reset the first failure would disable it).
    const enabledView = await api<WebhookEndpointView>('POST', `/v1/webhooks/${revived.id}/enable`);
    expect(enabledView.status).toBe(200);
    expect([enabledView.body.status, enabledView.body.disabledReason, enabledView.body.disabledAt]).toEqual([
      'enabled',
      null,
      null,
    ]);
    await disabledAgain(2 * MAX_CONSECUTIVE_FAILURES);

    reviverUp = true;
    expect((await api('POST', `/v1/webhooks/${revived.id}/enable`, undefined, keys.analyst)).status).toBe(403);
    expect((await api('POST', '/v1/webhooks/we_missing/enable')).status).toBe(404);
    expect((await api('POST', `/v1/webhooks/${revived.id}/enable`)).status).toBe(200);
    const pending = [...first.alerts, ...whileDisabled];
    await waitFor('the backlog at /revived', () =>
      receiver.delivered('/revived').length >= pending.length ? true : undefined,
    );
    expect(deliveredIds('/revived', 'alert.raised')).toEqual(pending);
    expect(receiver.delivered('/revived').map((r) => r.verified)).toEqual(Array(pending.length).fill(true));
    const attempts = await attemptsOnceRecorded(
      revived.id,
      (a) => a.filter((d) => d.outcome === 'delivered').length >= pending.length,
    );
    expect(attempts.filter((d) => d.outcome === 'delivered')).toHaveLength(pending.length);
    expect((await status()).status).toBe('enabled');
    // Enabling an enabled endpoint changes nothing.
    expect((await api<WebhookEndpointView>('POST', `/v1/webhooks/${revived.id}/enable`)).body.status).toBe('enabled');
  });
});
