import { silentLogger } from '../platform/logger.js';
import type { TransactionRequest } from '../schemas/api.js';
import { type SimulatedChannel, createChannelFeed } from './channel-feed.js';

/**
 * How the feed deals a batch, on plain data with a fake HTTP client: what each channel carries, what stays JSON, a
 * gateway refund following its payment, and a refused message counted, not thrown. Controls: a share of 0 deals
 * nothing, and a channel left out gets nothing.
 */
const nowMs = Date.parse('2026-12-07T10:00:00Z');
const eventTime = new Date(nowMs).toISOString();

const transfer = (seq: number, scheme: 'SEPA_CT' | 'SWIFT' | 'ACH'): TransactionRequest => ({
  transactionId: `sim-13-${seq}`,
  channel: scheme === 'SEPA_CT' ? 'sepa' : scheme === 'ACH' ? 'ach' : 'wire',
  kind: 'transfer',
  amount: { value: '10.00', currency: scheme === 'ACH' ? 'USD' : 'EUR' },
  payer: { accountId: 'acct-000001' },
  payee: { accountId: 'ext-1' },
  bankTransfer: { scheme, endToEndId: `E2E-${seq}` },
  eventTime,
});
const purchase = (seq: number): TransactionRequest => ({
  transactionId: `sim-13-${seq}`,
  channel: 'card',
  kind: 'purchase',
  amount: { value: '25.50', currency: 'EUR' },
  payer: { accountId: 'acct-000001' },
  payee: { accountId: 'merchant-1' },
  card: { number: '4000056655665556', present: true },
  eventTime,
});
const refund = (seq: number, original: number): TransactionRequest => ({
  ...purchase(seq),
  kind: 'refund',
  amount: { value: '5.50', currency: 'EUR' },
  originalTransactionId: `sim-13-${original}`,
});

interface Sent {
  readonly path: string;
  readonly body: string;
}

function feedWith(share: number, channels: readonly SimulatedChannel[], refuse: readonly string[] = []) {
  const sent: Sent[] = [];
  const json: string[] = [];
  // The feed always posts a string body to a string URL.
  const fakeFetch = ((url: string, init: { body: string }) => {
    const path = new URL(url).pathname;
    const body = init.body;
    sent.push({ path, body });
    if (refuse.includes(path)) return Promise.resolve(new Response('{"code":"UNAUTHENTICATED"}', { status: 401 }));
    // Every item of a file or event taken: the count is what the routes answer.
    const items = path.endsWith('/csv')
      ? body.trim().split('\n').length - 1
      : path.endsWith('/iso20022')
        ? body.split('<CdtTrfTxInf>').length - 1
        : path.endsWith('/nacha')
          ? body.split('\n').filter((r) => r.startsWith('6')).length
          : 1;
    return Promise.resolve(new Response(JSON.stringify({ summary: { accepted: items } }), { status: 200 }));
  }) as unknown as typeof fetch;
  const feed = createChannelFeed({
    url: 'http://vigil.test',
    ingestKey: 'ingest-key',
    share,
    channels,
    stripeSecret: 'whsec_unit_test_secret',
    adyen: {
      hmacKey: '44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056',
      username: 'u',
      password: 'p',
    },
    clock: { nowMs: () => nowMs },
    logger: silentLogger,
    fetch: fakeFetch,
  });
  const send = feed.wrap((batch) => {
    json.push(...batch.map((r) => r.transactionId));
    return Promise.resolve();
  });
  return { feed, send, sent, json };
}

const batch = [
  transfer(1, 'SEPA_CT'),
  transfer(2, 'ACH'),
  transfer(3, 'SWIFT'),
  purchase(4),
  purchase(5),
  { ...purchase(6), kind: 'authorization' as const },
];

describe('the channel feed', () => {
  it('deals every drawn request to the next channel that carries it; the rest stays JSON', async () => {
    const { feed, send, sent, json } = feedWith(1, ['iso20022', 'nacha', 'csv', 'stripe', 'adyen']);
    await send(batch);
    expect(json).toEqual(['sim-13-6']); // an authorisation's captures would name it: JSON
    expect(sent.map((s) => s.path)).toEqual([
      '/v1/channels/iso20022',
      '/v1/channels/csv',
      '/v1/channels/nacha',
      '/v1/channels/stripe',
      '/v1/channels/adyen',
    ]);
    expect(Object.fromEntries(Object.entries(feed.counts()).map(([c, n]) => [c, n.taken]))).toEqual({
      iso20022: 1,
      nacha: 1,
      csv: 1,
      stripe: 1,
      // Adyen reports its payment as an authorisation and its capture.
      adyen: 2,
    });
  });

  it('sends a refund of a gateway payment to that gateway, naming its charge', async () => {
    const { send, sent, json } = feedWith(1, ['stripe']);
    await send([purchase(4)]);
    await send([refund(7, 4)]);
    expect(json).toEqual([]);
    const [paid, refunded] = sent.map(
      (s) => JSON.parse(s.body) as { type: string; data: { object: { id: string; amount_refunded: number } } },
    );
    expect([paid!.type, refunded!.type]).toEqual(['charge.succeeded', 'charge.refunded']);
    expect(refunded!.data.object.id).toBe(paid!.data.object.id);
    expect(refunded!.data.object.amount_refunded).toBe(550);
  });

  it('counts a refused message and goes on (no throw)', async () => {
    const { feed, send } = feedWith(1, ['stripe', 'adyen'], ['/v1/channels/adyen']);
    await send([purchase(4), purchase(5)]);
    expect([feed.counts().stripe, feed.counts().adyen]).toEqual([
      { taken: 1, refused: 0 },
      { taken: 0, refused: 1 },
    ]);
  });

  it('deals nothing at share 0, and nothing to a channel left out (controls)', async () => {
    const none = feedWith(0, ['iso20022', 'nacha', 'csv', 'stripe', 'adyen']);
    await none.send(batch);
    expect([none.sent.length, none.json.length]).toEqual([0, batch.length]);
    const noGateways = feedWith(1, ['csv']);
    await noGateways.send(batch);
    expect(noGateways.sent.map((s) => s.path)).toEqual(['/v1/channels/csv']);
    expect(noGateways.json).toEqual(['sim-13-4', 'sim-13-5', 'sim-13-6']);
  });
});
