import { jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeyAuthenticator } from '../platform/auth.js';
import { systemClock } from '../platform/clock.js';
import { EmbeddedLog } from '../platform/embedded-log/embedded-log.js';
import { type HttpServer, startHttpServer } from '../platform/http-server.js';
import { silentLogger } from '../platform/logger.js';
import { MetricsRegistry } from '../platform/metrics.js';
import { containsPan } from '../platform/pan.js';
import { type Codec, createCodec } from '../schemas/codec.js';
import type { FraudAlert } from '../schemas/generated/types.js';
import type { EmailSubscriptionView } from '../schemas/notifications.js';
import { topicSpecs } from '../schemas/partitions.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import { type NotifierStage, startNotifier } from './main.js';
import { type ReceivedMail, SmtpSink } from './testing/smtp-sink.js';
import { readRateLimitConfig } from '../platform/rate-limit.js';

/**
 * E-mail notifications against real parts: the embedded log as bus and outbox, nodemailer, and a real SMTP
 * server (smtp-server) on 127.0.0.1 with authentication on. Immediate mails and their threshold, a digest of
 * exactly the alerts raised, unsubscribe, a relay deferring then accepting, one refusing, and a restart with mails
 * pending. Every oracle is an exact count; every wait is on a condition.
 */
jest.setTimeout(180_000);

const keys = { admin: 'email-admin-key-0123456789', analyst: 'email-analyst-key-0123456789' };
const smtp = { user: 'vigil', pass: 'smtp-test-password' };
const PAN = '4111111111111111';
const DIGEST_MS = 300;

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The alert ids a mail lists, in order. */
const alertIdsIn = (mail: ReceivedMail): string[] =>
  [...mail.text.matchAll(/^ {2}transaction \S+, alert (\S+), raised/gm)].map((m) => m[1]!.replace(/,$/, ''));

describe('e-mail notifications (real log, real SMTP server)', () => {
  let dir: string;
  let source: EmbeddedLog;
  let sink: SmtpSink;
  let notifier: NotifierStage;
  let http: HttpServer;
  let alertCodec: Codec<FraudAlert>;
  const authenticator = new ApiKeyAuthenticator([
    { role: 'admin', key: keys.admin },
    { role: 'analyst', key: keys.analyst },
  ]);
  const registry = new EmbeddedSchemaRegistry();
  let seq = 0;
  /** Recipients the sink defers (451) at end of DATA until taken off. */
  const deferred = new Set<string>();

  const env = (withSmtp = true) => ({
    VIGIL_WEBHOOK_SECRET_KEY: 'email-int-test-secret-key-0123456789abcdef',
    ...(withSmtp
      ? {
          VIGIL_SMTP_URL: `smtp://${smtp.user}:${smtp.pass}@127.0.0.1:${sink.port}`,
          VIGIL_SMTP_FROM: 'Vigil alerts <alerts@bank.example>',
          VIGIL_PUBLIC_URL: 'https://vigil.bank.example',
          VIGIL_SMTP_INITIAL_BACKOFF_MS: '20',
          VIGIL_SMTP_MAX_BACKOFF_MS: '200',
          VIGIL_SMTP_MAX_REFUSALS: '2',
          VIGIL_SMTP_TIMEOUT_MS: '5000',
          VIGIL_EMAIL_MIN_DIGEST_EVERY_MS: '100',
        }
      : {}),
  });

  async function start(withSmtp = true, dataDir = join(dir, 'notifier')): Promise<void> {
    const metrics = new MetricsRegistry();
    notifier = await startNotifier({
      bus: source,
      registry,
      logger: silentLogger,
      metrics,
      clock: systemClock,
      authenticator,
      env: env(withSmtp),
      dataDir,
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

  async function api<T>(method: string, path: string, body?: unknown, key: string | null = keys.admin) {
    const response = await fetch(http.url + path, {
      method,
      headers: {
        ...(key === null ? {} : { authorization: `Bearer ${key}` }),
        'content-type': typeof body === 'string' ? 'application/x-www-form-urlencoded' : 'application/json',
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    const json = response.headers.get('content-type')?.includes('json') === true && text !== '';
    return { status: response.status, body: (json ? JSON.parse(text) : text) as T };
  }

  async function subscribe(email: string, threshold: string | null, digestEveryMs: number) {
    const created = await api<EmailSubscriptionView>('POST', '/v1/notifications/email', {
      email,
      immediateDeclineAbove: threshold === null ? null : { value: threshold, currency: 'EUR' },
      digestEveryMs,
    });
    expect(created.status).toBe(201);
    return created.body;
  }

  function alert(
    decision: 'REVIEW' | 'DECLINE',
    amountMinor: bigint,
    currency = 'EUR',
    reason = 'test rule',
  ): FraudAlert {
    seq++;
    return {
      alertId: `alert-${seq}`,
      transactionId: `tx-${seq}`,
      decision,
      score: 0.8,
      reasons: [{ code: 'R_TEST', source: 'RULE', description: reason, weight: 1 }],
      channel: 'CARD',
      amountMinor,
      currency,
      payerAccountId: 'DE89370400440532013000',
      payeeAccountId: 'acct-merchant-1',
      cardToken: 'tok_must_not_leave',
      cardLast4: '1111',
      merchantId: 'm-1',
      country: 'FR',
      modelVersion: 'model-test',
      eventTimeMs: Date.now() - 100,
      receivedAtMs: Date.now() - 50,
      raisedAtMs: Date.now(),
    };
  }

  /** Raises the alerts in one append (so they land in one batch and one digest). */
  async function raise(...alerts: FraudAlert[]): Promise<string[]> {
    await source.producer().send(
      Topics.fraudAlerts,
      alerts.map((a) => ({ key: a.payerAccountId, value: alertCodec.encode(a) })),
    );
    return alerts.map((a) => a.alertId);
  }

  const kindOf = (mail: ReceivedMail) => mail.headers['x-vigil-notification'];
  const mailsOf = (to: string, kind: 'immediate' | 'digest') => sink.accepted(to).filter((m) => kindOf(m) === kind);
  const countOf = (to: string, kind: 'immediate' | 'digest', n: number) => () =>
    mailsOf(to, kind).length >= n ? mailsOf(to, kind) : undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-email-'));
    source = await EmbeddedLog.open({ dir: join(dir, 'log') });
    await source.ensureTopics(topicSpecs(4));
    alertCodec = await createCodec<FraudAlert>(registry, Topics.fraudAlerts);
    sink = await SmtpSink.start(smtp, ({ to, n }) => {
      if (to.startsWith('refused')) return 550;
      if (deferred.has(to)) return 451;
      if (to.startsWith('flaky')) return n <= 2 ? 451 : 'accept';
      return 'accept';
    });
    await start();
  });

  afterAll(async () => {
    await stop().catch(() => undefined);
    await sink.close();
    await source.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets admins only register, validates by field path, refuses a duplicate', async () => {
    const body = { email: 'x@bank.example', digestEveryMs: 60_000 };
    expect((await api('POST', '/v1/notifications/email', body, keys.analyst)).status).toBe(403);
    expect((await api('GET', '/v1/notifications/email', undefined, keys.analyst)).status).toBe(403);
    expect((await api('POST', '/v1/notifications/email', body, null)).status).toBe(401);
    const bad = await api<{ problems: Array<{ path: string }> }>('POST', '/v1/notifications/email', {
      email: 'x@@bank',
      immediateDeclineAbove: { value: '1.5', currency: 'EURO' },
      digestEveryMs: 5,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.problems.map((p) => p.path)).toEqual([
      '/email',
      '/immediateDeclineAbove/currency',
      '/digestEveryMs',
    ]);
    const created = await subscribe('dup@bank.example', null, 60_000);
    expect((await api('POST', '/v1/notifications/email', { email: 'dup@BANK.example' })).status).toBe(409);
    expect((await api('DELETE', `/v1/notifications/email/${created.id}`)).status).toBe(204);
    expect((await api('GET', `/v1/notifications/email/${created.id}`)).status).toBe(404);
    expect((await api<{ subscriptions: unknown[] }>('GET', '/v1/notifications/email')).body.subscriptions).toEqual([]);
  });

  it('mails a DECLINE above the threshold at once and every other alert in one digest, with no card data', async () => {
    const immediate = await subscribe('imm@bank.example', '500.00', 3_600_000);
    await subscribe('dig@bank.example', null, DIGEST_MS);
    const above = alert('DECLINE', 50_001n);
    // Controls for the threshold: at it, above it in another currency, a REVIEW above it — none is immediate.
    const others = [
      alert('DECLINE', 50_000n),
      alert('DECLINE', 90_000n, 'USD'),
      alert('REVIEW', 90_000n, 'EUR', `card ${PAN} seen on three devices`),
    ];
    const raised = await raise(above, ...others);

    const [mail] = await waitFor('the immediate mail', countOf('imm@bank.example', 'immediate', 1));
    const [digest] = await waitFor('the digest', countOf('dig@bank.example', 'digest', 1));
    expect(alertIdsIn(mail!)).toEqual([above.alertId]);
    expect(alertIdsIn(digest!)).toEqual(raised);
    expect(digest!.text).toContain('411111******1111');
    for (const { raw } of sink.mails) {
      expect(containsPan(raw)).toBe(false);
      expect(raw).not.toContain('tok_must_not_leave');
      expect(raw).not.toContain('DE89370400440532013000');
    }
    expect(mail!.headers['message-id']).toMatch(/^<vigil\.[A-Za-z0-9_-]{32}@bank\.example>$/);
    expect(mail!.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(mail!.headers['list-unsubscribe']).toMatch(
      /^<https:\/\/vigil\.bank\.example\/v1\/notifications\/unsubscribe\?token=es_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}>$/,
    );
    expect(mail!.headers['x-vigil-subscription-id']).toBe(immediate.id);

    // The next digest carries only what came after the first; the immediate one is not mailed again.
    const later = await raise(alert('REVIEW', 100n), alert('REVIEW', 200n));
    const digests = await waitFor('the second digest', countOf('dig@bank.example', 'digest', 2));
    expect(digests.map(alertIdsIn)).toEqual([raised, later]);
    expect(mailsOf('imm@bank.example', 'immediate')).toHaveLength(1);
    expect(mailsOf('dig@bank.example', 'immediate')).toHaveLength(0);
  });

  it('unsubscribes with the link: the page alone changes nothing, the one-click POST ends all mails', async () => {
    const [mail] = mailsOf('dig@bank.example', 'digest');
    const link = new URL(mail!.headers['list-unsubscribe']!.slice(1, -1));
    const path = link.pathname + link.search;
    await subscribe('ctl@bank.example', null, DIGEST_MS);
    const page = await api<string>('GET', path, undefined, null);
    expect(page.status).toBe(200);
    expect(page.body).toContain('method="post"');
    const list = async () =>
      (await api<{ subscriptions: EmailSubscriptionView[] }>('GET', '/v1/notifications/email')).body;
    const statusOf = async (email: string) => (await list()).subscriptions.find((s) => s.email === email)?.status;
    expect(await statusOf('dig@bank.example')).toBe('active');
    expect(
      (
        await api(
          'POST',
          path.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
          'List-Unsubscribe=One-Click',
          null,
        )
      ).status,
    ).toBe(404);
    const done = await api<string>('POST', path, 'List-Unsubscribe=One-Click', null);
    expect(done.status).toBe(200);
    expect(await statusOf('dig@bank.example')).toBe('unsubscribed');

    const before = sink.accepted('dig@bank.example').length;
    const after = await raise(alert('REVIEW', 300n));
    // Control: a subscription with the same period gets its digest of the alert; the unsubscribed one gets nothing.
    await waitFor('the control digest', () =>
      mailsOf('ctl@bank.example', 'digest').some((m) => alertIdsIn(m).includes(after[0]!)) ? true : undefined,
    );
    await waitFor('the next control digest tick', countOf('ctl@bank.example', 'digest', 1));
    expect(sink.attempts('dig@bank.example')).toHaveLength(before);
    expect((await api<string>('GET', path, undefined, null)).body).toContain('unsubscribed');
  });

  it('retries a deferring relay (451) until it accepts: one mail, three attempts, one Message-ID', async () => {
    await subscribe('flaky@bank.example', '1.00', 3_600_000);
    const [id] = await raise(alert('DECLINE', 700n));
    await waitFor('the mail accepted', countOf('flaky@bank.example', 'immediate', 1));
    const attempts = sink.attempts('flaky@bank.example');
    expect(attempts.map((m) => m.accepted)).toEqual([false, false, true]);
    expect(new Set(attempts.map((m) => m.headers['message-id'])).size).toBe(1);
    expect(alertIdsIn(attempts[2]!)).toEqual([id]);
  });

  it('drops a refused mail without retrying, and suspends the address after the refusals in a row', async () => {
    const refused = await subscribe('refused@bank.example', '1.00', 3_600_000);
    await raise(alert('DECLINE', 800n));
    await raise(alert('DECLINE', 900n));
    const view = await waitFor('the subscription suspended', async () => {
      const { body } = await api<EmailSubscriptionView>('GET', `/v1/notifications/email/${refused.id}`);
      return body.status === 'suspended' ? body : undefined;
    });
    expect(view.endedAt).not.toBeNull();
    expect(sink.attempts('refused@bank.example')).toHaveLength(2);
    // Control: a third alert reaches the other subscriptions, not the suspended one.
    const [third] = await raise(alert('DECLINE', 1000n));
    await waitFor('the third alert at flaky', () =>
      mailsOf('flaky@bank.example', 'immediate').some((m) => alertIdsIn(m).includes(third!)) ? true : undefined,
    );
    expect(sink.attempts('refused@bank.example')).toHaveLength(2);
  });

  it('delivers mails pending at a restart once, after the restart', async () => {
    deferred.add('restart@bank.example');
    await subscribe('restart@bank.example', '1.00', DIGEST_MS);
    const [immediateId, digestId] = await raise(alert('DECLINE', 1100n), alert('REVIEW', 1200n));
    await waitFor('both mails deferred', () =>
      sink.attempts('restart@bank.example').filter((m) => kindOf(m) === 'digest').length >= 1 &&
      sink.attempts('restart@bank.example').filter((m) => kindOf(m) === 'immediate').length >= 1
        ? true
        : undefined,
    );
    await stop();
    const attemptsWhileUp = sink.attempts('restart@bank.example').length;
    expect(sink.accepted('restart@bank.example')).toHaveLength(0);
    deferred.delete('restart@bank.example');
    await start();
    const [immediate] = await waitFor('the immediate mail', countOf('restart@bank.example', 'immediate', 1));
    const [digest] = await waitFor('the digest', countOf('restart@bank.example', 'digest', 1));
    expect(alertIdsIn(immediate!)).toEqual([immediateId]);
    expect(alertIdsIn(digest!)).toEqual([digestId]);
    expect(sink.attempts('restart@bank.example').length).toBeGreaterThan(attemptsWhileUp);
    // After another digest tick with a new alert, still one mail per alert.
    const [next] = await raise(alert('REVIEW', 1300n));
    const digests = await waitFor('the next digest', countOf('restart@bank.example', 'digest', 2));
    expect(digests.map(alertIdsIn)).toEqual([[digestId], [next]]);
    expect(mailsOf('restart@bank.example', 'immediate')).toHaveLength(1);
  });

  it('is off without VIGIL_SMTP_URL: the API says so', async () => {
    await stop();
    await start(false, join(dir, 'notifier-off'));
    const off = await api<{ code?: string; type: string }>('POST', '/v1/notifications/email', {
      email: 'x@bank.example',
    });
    expect(off.status).toBe(409);
    expect(off.body.type).toContain('EMAIL_NOTIFICATIONS_OFF');
  });
});
