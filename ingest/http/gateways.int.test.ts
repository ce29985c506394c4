import express from 'express';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeyAuthenticator } from '../../platform/auth.js';
import { EmbeddedLog } from '../../platform/embedded-log/embedded-log.js';
import type { Env } from '../../platform/config.js';
import type { ChannelFileResponse } from '../../schemas/api.js';
import { createCodec } from '../../schemas/codec.js';
import type { AnalystLabel, Transaction } from '../../schemas/generated/types.js';
import { Topics } from '../../schemas/topics.js';
import { sha256Hasher } from '../adapters/crypto.js';
import { adyenTransactionId } from '../domain/channels/gateways/adyen.js';
import { stripeTransactionId } from '../domain/channels/gateways/stripe.js';
import { startIngest } from '../main.js';
import { NOW_MS, TEST_KEY } from '../testing/fixtures.js';
import { readAll, testContext } from '../testing/harness.js';
import {
  ADYEN_TEST_ENV,
  ADYEN_TEST_HMAC_KEY,
  adyenBasicAuth,
  adyenItem,
  adyenNotification,
  signedAdyenItem,
} from '../testing/adyen.js';
import { STRIPE_TEST_SECRET, charge, dispute, stripeEvent, stripeSignature } from '../testing/stripe.js';

/**
 * `POST /v1/channels/stripe` over HTTP on the real embedded log: events signed with Stripe's own `generateTestHeaderString` and verified
 * with its `constructEvent`; a bad, missing or expired signature is 400, logged and counted; an event redelivered is
 * a duplicate; charges, captures and partial refunds arrive in exact minor units; a fraud dispute is a FRAUD label by
 * `chargeback` on analyst.labels.
 */
const NOW_S = NOW_MS / 1000;

async function startServer(env: Env = { VIGIL_STRIPE_WEBHOOK_SECRET: STRIPE_TEST_SECRET, ...ADYEN_TEST_ENV }) {
  const logDir = await mkdtemp(join(tmpdir(), 'vigil-gateways-log-'));
  const ctx = await testContext(await EmbeddedLog.open({ dir: logDir }));
  const stage = await startIngest({
    bus: ctx.bus,
    registry: ctx.registry,
    authenticator: new ApiKeyAuthenticator([{ role: 'ingest', key: 'ingest-key-0123456789abcdef' }]),
    logger: ctx.logger,
    metrics: ctx.metrics,
    clock: ctx.clock,
    dataDir: ctx.dataDir,
    env: { VIGIL_TOKENIZATION_KEY: TEST_KEY, ...env },
  });
  const app = express();
  app.use(stage.router);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  /** Posts `payload` signed now (or with `signature`), as Stripe does: JSON body, Stripe-Signature header. */
  const deliver = async (payload: string, signature = stripeSignature(payload, NOW_S)) => {
    const response = await fetch(`${base}/v1/channels/stripe`, {
      method: 'POST',
      body: payload,
      headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  /** Posts an Adyen notification as Adyen does: JSON body, basic auth (or `authorization`, '' for none). */
  const deliverAdyen = async (body: string, authorization = adyenBasicAuth()) => {
    const response = await fetch(`${base}/v1/channels/adyen`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        ...(authorization === '' ? {} : { authorization }),
      },
    });
    return {
      status: response.status,
      text: await response.text(),
      ...(response.status === 401 ? { challenge: response.headers.get('www-authenticate') } : {}),
    };
  };
  const transactions = await createCodec<Transaction>(ctx.registry, Topics.transactionsRaw);
  const labelCodec = await createCodec<AnalystLabel>(ctx.registry, Topics.analystLabels);
  const written = async () =>
    Promise.all((await readAll(ctx.bus, Topics.transactionsRaw)).map((r) => transactions.decode(r.value)));
  const labels = async () =>
    Promise.all((await readAll(ctx.bus, Topics.analystLabels)).map((r) => labelCodec.decode(r.value)));
  const stop = async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await stage.close();
    await ctx.bus.close();
    await ctx.cleanup();
    await rm(logDir, { recursive: true, force: true });
  };
  return { ...ctx, deliver, deliverAdyen, written, labels, stop };
}

const signatureFailures = (metrics: string, gateway = 'stripe'): string | undefined =>
  new RegExp(`vigil_ingest_webhook_signature_failures_total\\{gateway="${gateway}"\\} (\\d+)`).exec(metrics)?.[1];

describe('POST /v1/channels/stripe (embedded log)', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  beforeEach(async () => {
    s = await startServer();
  });
  afterEach(async () => {
    await s.stop();
  });

  const purchase = charge({
    id: 'ch_3PurchaseA',
    amount: 1999,
    currency: 'usd',
    captured: true,
    customer: 'cus_Alice',
    createdS: NOW_S - 60,
  });

  it('takes a signed charge as a purchase in exact minor units, and its redelivery as a duplicate', async () => {
    const first = await s.deliver(stripeEvent('evt_1Purchase', 'charge.succeeded', purchase, NOW_S - 59));
    expect(first.status).toBe(200);
    const body = first.body as unknown as ChannelFileResponse;
    expect(body.file).toMatchObject({ format: 'stripe', messageId: 'evt_1Purchase', status: 'new' });
    expect(body.results.map((r) => [r.location, r.status])).toEqual([['/data/object', 'accepted']]);
    // Stripe's next delivery of the same event: another pending_webhooks count, another signature.
    const again = await s.deliver(
      stripeEvent('evt_1Purchase', 'charge.succeeded', purchase, NOW_S - 59, { pendingWebhooks: 0 }),
    );
    expect(again.status).toBe(200);
    expect((again.body as unknown as ChannelFileResponse).file.status).toBe('duplicate');
    const [tx, ...rest] = await s.written();
    expect(rest).toEqual([]);
    expect(tx).toMatchObject({
      transactionId: stripeTransactionId('ch_3PurchaseA', sha256Hasher),
      channel: 'CARD',
      kind: 'PURCHASE',
      amountMinor: 1999n,
      currency: 'USD',
      payerAccountId: 'stripe:cus_Alice',
      payeeAccountId: 'stripe-balance:platform',
      source: 'WEBHOOK',
      submittedBy: 'gateway:stripe',
      sourceDocument: { format: 'stripe', location: '/data/object' },
    });
    expect(tx!.sourceDocument!.references).toMatchObject({ EventId: 'evt_1Purchase', ChargeId: 'ch_3PurchaseA' });
  }, 30_000);

  it('accepts a charge whose card Stripe describes without its IIN as a wallet payment', async () => {
    const card = { brand: 'visa', fingerprint: 'Xt5EWLLDS7FJjR1c', last4: '4242' };
    const plain = { ...purchase, id: 'ch_3NoIin', payment_method_details: { type: 'card', card } };
    const answer = await s.deliver(stripeEvent('evt_1NoIin', 'charge.succeeded', plain, NOW_S - 59));
    expect((answer.body as unknown as ChannelFileResponse).summary).toEqual({
      accepted: 1,
      duplicate: 0,
      rejected: 0,
      conflict: 0,
    });
    expect((await s.written()).map((t) => [t.channel, t.kind, t.amountMinor, t.card])).toEqual([
      ['WALLET', 'PURCHASE', 1999n, null],
    ]);
  }, 30_000);

  it('refuses a bad, missing or expired signature with 400, logs and counts it, and writes nothing', async () => {
    const payload = stripeEvent('evt_1Purchase', 'charge.succeeded', purchase, NOW_S - 59);
    const tampered = payload.replace('1999', '9999');
    const refusals = [
      await s.deliver(tampered, stripeSignature(payload, NOW_S)),
      await s.deliver(payload, stripeSignature(payload, NOW_S, 'whsec_another_endpoint_secret_0123456789')),
      await s.deliver(payload, ''),
      // Signed 301 s ago: beyond Stripe's default tolerance of 300 s, a replay.
      await s.deliver(payload, stripeSignature(payload, NOW_S - 301)),
    ];
    expect(refusals.map((r) => [r.status, r.body['code']])).toEqual(
      Array.from({ length: 4 }, () => [400, 'WEBHOOK_SIGNATURE_INVALID']),
    );
    expect(signatureFailures(s.metrics.render())).toBe('4');
    expect(s.logger.lines.filter((l) => l.includes('stripe webhook refused: signature'))).toHaveLength(4);
    expect(await s.written()).toEqual([]);
    // Negative control: the same payload signed now with the endpoint's secret passes, so the checks above bite.
    expect((await s.deliver(payload)).status).toBe(200);
    expect(signatureFailures(s.metrics.render())).toBe('4');
    expect(await s.written()).toHaveLength(1);
  }, 30_000);

  it('books an authorization, its capture and two partial refunds of the charge, each its own part', async () => {
    const base = { id: 'ch_3AuthB', amount: 5000, currency: 'eur', customer: 'cus_Bob', createdS: NOW_S - 600 };
    const events = [
      stripeEvent('evt_B1', 'charge.succeeded', charge({ ...base, captured: false }), NOW_S - 600),
      stripeEvent('evt_B2', 'charge.captured', charge({ ...base, captured: true, amountCaptured: 4500 }), NOW_S - 500),
      stripeEvent(
        'evt_B3',
        'charge.refunded',
        charge({ ...base, captured: true, amountCaptured: 4500, amountRefunded: 1000 }),
        NOW_S - 400,
        { previous: { amount_refunded: 0 } },
      ),
      stripeEvent(
        'evt_B4',
        'charge.refunded',
        charge({ ...base, captured: true, amountCaptured: 4500, amountRefunded: 1250 }),
        NOW_S - 300,
        { previous: { amount_refunded: 1000 } },
      ),
    ];
    for (const event of events) expect((await s.deliver(event)).status).toBe(200);
    const auth = stripeTransactionId('ch_3AuthB', sha256Hasher);
    expect(
      (await s.written()).map((t) => [t.kind, t.amountMinor, t.currency, t.originalTransactionId, t.payerAccountId]),
    ).toEqual([
      ['AUTHORIZATION', 5000n, 'EUR', null, 'stripe:cus_Bob'],
      ['CAPTURE', 4500n, 'EUR', auth, 'stripe:cus_Bob'],
      ['REFUND', 1000n, 'EUR', auth, 'stripe:cus_Bob'],
      ['REFUND', 250n, 'EUR', auth, 'stripe:cus_Bob'],
    ]);
  }, 30_000);

  it('records a fraud dispute as a FRAUD verdict by chargeback, once, and no verdict for another reason', async () => {
    const fraud = stripeEvent(
      'evt_D1',
      'charge.dispute.created',
      dispute('dp_1', 'ch_3PurchaseA', 1999, 'fraudulent', NOW_S - 30),
      NOW_S - 30,
    );
    const first = (await s.deliver(fraud)).body as unknown as ChannelFileResponse;
    expect(first.results).toMatchObject([
      {
        transactionId: stripeTransactionId('ch_3PurchaseA', sha256Hasher),
        status: 'accepted',
        location: '/data/object',
      },
    ]);
    const again = (await s.deliver(fraud)).body as unknown as ChannelFileResponse;
    expect(again.results.map((r) => r.status)).toEqual(['duplicate']);
    const notFraud = stripeEvent(
      'evt_D2',
      'charge.dispute.created',
      dispute('dp_2', 'ch_3Other', 500, 'product_not_received', NOW_S - 20),
      NOW_S - 20,
    );
    expect(((await s.deliver(notFraud)).body as unknown as ChannelFileResponse).results).toEqual([]);
    expect(await s.labels()).toEqual([
      {
        transactionId: stripeTransactionId('ch_3PurchaseA', sha256Hasher),
        label: 'FRAUD',
        labelledBy: 'chargeback',
        labelledAtMs: NOW_MS,
        transactionEventTimeMs: (NOW_S - 30) * 1000,
        payerAccountId: null,
        cardToken: null,
        terminalId: null,
        note: 'stripe dispute fraudulent',
      },
    ]);
    expect(await s.written()).toEqual([]);
  }, 30_000);
});

describe('POST /v1/channels/stripe without a secret', () => {
  it('answers 503 WEBHOOK_NOT_CONFIGURED, so Stripe keeps the event until one is set', async () => {
    const s = await startServer({});
    try {
      const payload = stripeEvent(
        'evt_X',
        'charge.succeeded',
        charge({ id: 'ch_X', amount: 1, currency: 'usd', captured: true, createdS: NOW_S }),
        NOW_S,
      );
      const answer = await s.deliver(payload);
      expect([answer.status, answer.body['code']]).toEqual([503, 'WEBHOOK_NOT_CONFIGURED']);
    } finally {
      await s.stop();
    }
  }, 30_000);
});

describe('POST /v1/channels/adyen (embedded log)', () => {
  let s: Awaited<ReturnType<typeof startServer>>;
  beforeEach(async () => {
    s = await startServer();
  });
  afterEach(async () => {
    await s.stop();
  });

  const at = (secondsAgo: number) => new Date(NOW_MS - secondsAgo * 1000).toISOString();
  const authorisation = adyenItem({
    eventCode: 'AUTHORISATION',
    pspReference: 'PSP-AUTH-A',
    value: 1999,
    currency: 'USD',
    eventDate: at(60),
  });

  it('takes a signed authorisation in exact minor units, and its redelivery in another batch as a duplicate', async () => {
    const first = await s.deliverAdyen(adyenNotification([signedAdyenItem(authorisation)]));
    expect(first).toEqual({ status: 200, text: '[accepted]' });
    // Adyen's redelivery of the item, batched after another one: the item is known by its identity, not by the
    // batch or its place in it.
    const other = { ...authorisation, pspReference: 'PSP-AUTH-Z', amount: { currency: 'USD', value: 5 } };
    const again = await s.deliverAdyen(adyenNotification([signedAdyenItem(other), signedAdyenItem(authorisation)]));
    expect(again).toEqual({ status: 200, text: '[accepted]' });
    const written = await s.written();
    expect(written.map((t) => [t.transactionId, t.amountMinor])).toEqual([
      [adyenTransactionId('PSP-AUTH-A', sha256Hasher), 1999n],
      [adyenTransactionId('PSP-AUTH-Z', sha256Hasher), 5n],
    ]);
    expect(written[0]).toMatchObject({
      channel: 'WALLET',
      kind: 'AUTHORIZATION',
      currency: 'USD',
      payerAccountId: 'adyen:PSP-AUTH-A',
      payeeAccountId: 'adyen-balance:VigilTestMerchant',
      source: 'WEBHOOK',
      submittedBy: 'gateway:adyen',
      sourceDocument: { format: 'adyen', location: '/NotificationRequestItem' },
    });
    expect(written[0]!.sourceDocument!.references).toMatchObject({
      PspReference: 'PSP-AUTH-A',
      EventCode: 'AUTHORISATION',
    });
    // The redelivered item was a duplicate of the message, not an item conflict: no dead letter for it.
    const taken = s.logger.lines.filter((l) => l.includes('adyen notification taken'));
    expect(taken).toHaveLength(2);
    expect(taken[1]).toContain('["PSP-AUTH-A:AUTHORISATION:true","duplicate",{"accepted":0,"duplicate":1');
    expect(await readAll(s.bus, Topics.deadLetters)).toEqual([]);
  }, 30_000);

  it('refuses a tampered item, a wrong key, a missing signature (400) and bad basic auth (401), counted and logged', async () => {
    const signed = signedAdyenItem(authorisation);
    const good = adyenNotification([signed]);
    const tampered = adyenNotification([{ ...signed, amount: { currency: 'USD', value: 9999 } }]);
    const otherKey = adyenNotification([signedAdyenItem(authorisation, 'AB'.repeat(32))]);
    const unsigned = adyenNotification([authorisation]);
    // One bad item refuses the whole notification: its good item is not taken either.
    const mixed = adyenNotification([
      signedAdyenItem({ ...authorisation, pspReference: 'PSP-AUTH-B' }),
      { ...signed, merchantReference: 'order-tampered' },
    ]);
    const refusals = [
      await s.deliverAdyen(tampered),
      await s.deliverAdyen(otherKey),
      await s.deliverAdyen(unsigned),
      await s.deliverAdyen(mixed),
      await s.deliverAdyen(good, adyenBasicAuth(undefined, 'a-wrong-password-0123456789')),
      await s.deliverAdyen(good, adyenBasicAuth('another-user')),
      await s.deliverAdyen(good, ''),
    ];
    expect(refusals.map((r) => [r.status, (JSON.parse(r.text) as { code: string }).code])).toEqual([
      ...Array.from({ length: 4 }, () => [400, 'WEBHOOK_SIGNATURE_INVALID']),
      ...Array.from({ length: 3 }, () => [401, 'UNAUTHENTICATED']),
    ]);
    // RFC 9110 §11.6.1: a 401 names the scheme the route takes — basic here, not our bearer keys.
    expect(refusals.slice(4).map((r) => r.challenge)).toEqual(
      Array.from({ length: 3 }, () => 'Basic realm="adyen webhook", charset="UTF-8"'),
    );
    expect((JSON.parse(refusals[3]!.text) as { problems: Array<{ path: string }> }).problems).toEqual([
      expect.objectContaining({ path: '/notificationItems/1/NotificationRequestItem/additionalData/hmacSignature' }),
    ]);
    expect(signatureFailures(s.metrics.render(), 'adyen')).toBe('7');
    expect(s.logger.lines.filter((l) => l.includes('adyen webhook refused: signature'))).toHaveLength(4);
    expect(s.logger.lines.filter((l) => l.includes('adyen webhook refused: basic auth'))).toHaveLength(3);
    expect(s.logger.lines.some((l) => l.includes(ADYEN_TEST_HMAC_KEY))).toBe(false);
    expect(await s.written()).toEqual([]);
    // Negative control: the same notification, signed with the webhook's key and sent with its credentials,
    // is taken — so each refusal above came from the one thing changed.
    expect(await s.deliverAdyen(good)).toEqual({ status: 200, text: '[accepted]' });
    expect(signatureFailures(s.metrics.render(), 'adyen')).toBe('7');
    expect(await s.written()).toHaveLength(1);
  }, 30_000);

  it('books an authorisation, its capture and two partial refunds, each against the payment, in one notification', async () => {
    const followUp = (eventCode: string, pspReference: string, value: number, secondsAgo: number) =>
      signedAdyenItem(
        adyenItem({
          eventCode,
          pspReference,
          originalReference: 'PSP-AUTH-C',
          value,
          currency: 'EUR',
          eventDate: at(secondsAgo),
        }),
      );
    const body = adyenNotification([
      signedAdyenItem(
        adyenItem({
          eventCode: 'AUTHORISATION',
          pspReference: 'PSP-AUTH-C',
          value: 5000,
          currency: 'EUR',
          eventDate: at(600),
        }),
      ),
      followUp('CAPTURE', 'PSP-CAP-C', 4500, 500),
      followUp('REFUND', 'PSP-REF-C1', 1000, 400),
      followUp('REFUND', 'PSP-REF-C2', 250, 300),
      // A failed refund moves no money.
      signedAdyenItem({
        ...adyenItem({
          eventCode: 'REFUND',
          pspReference: 'PSP-REF-C3',
          originalReference: 'PSP-AUTH-C',
          value: 1,
          currency: 'EUR',
          eventDate: at(200),
        }),
        success: 'false',
      }),
    ]);
    expect(await s.deliverAdyen(body)).toEqual({ status: 200, text: '[accepted]' });
    const payment = adyenTransactionId('PSP-AUTH-C', sha256Hasher);
    expect(
      (await s.written()).map((t) => [t.kind, t.amountMinor, t.currency, t.originalTransactionId, t.payerAccountId]),
    ).toEqual([
      ['AUTHORIZATION', 5000n, 'EUR', null, 'adyen:PSP-AUTH-C'],
      ['CAPTURE', 4500n, 'EUR', payment, 'adyen:PSP-AUTH-C'],
      ['REFUND', 1000n, 'EUR', payment, 'adyen:PSP-AUTH-C'],
      ['REFUND', 250n, 'EUR', payment, 'adyen:PSP-AUTH-C'],
    ]);
  }, 30_000);

  it('refuses a signed item without its identity as a whole, at its place in the notification, writing nothing', async () => {
    const good = signedAdyenItem({ ...authorisation, pspReference: 'PSP-AUTH-E' });
    const noSuccess = signedAdyenItem({ ...authorisation, pspReference: 'PSP-AUTH-F', success: 'maybe' });
    const answer = await s.deliverAdyen(adyenNotification([good, noSuccess]));
    const problem = JSON.parse(answer.text) as { code: string; problems: Array<{ path: string }> };
    expect([answer.status, problem.code, problem.problems.map((p) => p.path)]).toEqual([
      400,
      'CHANNEL_FILE_REFUSED',
      ['/notificationItems/1/NotificationRequestItem/success'],
    ]);
    expect(await s.written()).toEqual([]);
    // Negative control: the good item alone is taken.
    expect((await s.deliverAdyen(adyenNotification([good]))).status).toBe(200);
    expect(await s.written()).toHaveLength(1);
  }, 30_000);

  // An event code the channel does not map, answered with nothing.
  const reportSpec = { eventCode: 'REPORT_AVAILABLE', pspReference: 'report-1', value: 0, currency: 'EUR' };

  it('records a chargeback as a FRAUD verdict by chargeback on the disputed payment, once', async () => {
    const chargeback = signedAdyenItem(
      adyenItem({
        eventCode: 'CHARGEBACK',
        pspReference: 'PSP-DISPUTE-D',
        originalReference: 'PSP-AUTH-A',
        value: 1999,
        currency: 'USD',
        eventDate: at(30),
        reason: 'Fraudulent Processing of Transactions',
        additionalData: { chargebackReasonCode: '10.4' },
      }),
    );
    expect(await s.deliverAdyen(adyenNotification([chargeback]))).toEqual({ status: 200, text: '[accepted]' });
    // Redelivered second in a batch: still the same item, so no second label.
    const report = signedAdyenItem(adyenItem({ ...reportSpec, eventDate: at(20) }));
    expect(await s.deliverAdyen(adyenNotification([report, chargeback]))).toEqual({ status: 200, text: '[accepted]' });
    expect(await s.labels()).toEqual([
      {
        transactionId: adyenTransactionId('PSP-AUTH-A', sha256Hasher),
        label: 'FRAUD',
        labelledBy: 'chargeback',
        labelledAtMs: NOW_MS,
        transactionEventTimeMs: NOW_MS - 30_000,
        payerAccountId: 'adyen:PSP-AUTH-A',
        cardToken: null,
        terminalId: null,
        note: 'adyen CHARGEBACK 10.4 Fraudulent Processing of Transactions',
      },
    ]);
    expect(await s.written()).toEqual([]);
  }, 30_000);
});

describe('POST /v1/channels/adyen without an HMAC key', () => {
  it('answers 503 WEBHOOK_NOT_CONFIGURED, so Adyen keeps the notification until one is set', async () => {
    const s = await startServer({});
    try {
      const answer = await s.deliverAdyen(adyenNotification([]));
      expect([answer.status, (JSON.parse(answer.text) as { code: string }).code]).toEqual([
        503,
        'WEBHOOK_NOT_CONFIGURED',
      ]);
    } finally {
      await s.stop();
    }
  }, 30_000);
});
