import { createHash } from 'node:crypto';
import type { ChannelFileResponse, TransactionRequest } from '../schemas/api.js';
import type { Clock } from '../platform/clock.js';
import { describeError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { MetricsRegistry } from '../platform/metrics.js';
import {
  type AdyenEvent,
  adyenNotification,
  gatewayId,
  type NachaDebit,
  nachaDebitFile,
  pain001,
  pspReferenceOf,
  stripeChargeEvent,
  transfersCsv,
} from './channel-formats.js';

/** The channels besides the JSON API that the simulator feeds, in the order it deals transactions to them. */
export const SIMULATED_CHANNELS = ['iso20022', 'nacha', 'csv', 'stripe', 'adyen'] as const;
export type SimulatedChannel = (typeof SIMULATED_CHANNELS)[number];

/** The share of simulated transactions sent through the other channels when none is configured. */
export const DEFAULT_CHANNEL_SHARE = 0.1;

export interface ChannelFeedOptions {
  /** Base URL of the HTTP API. */
  readonly url: string;
  /** The ingest key the file channels are sent with. */
  readonly ingestKey: string;
  /** Share (0..1) of the eligible simulated transactions sent through a channel instead of the JSON API. */
  readonly share: number;
  /** The channels to feed; a channel left out gets nothing. */
  readonly channels: readonly SimulatedChannel[];
  /** The Stripe endpoint secret the events are signed with; without it, no Stripe traffic. */
  readonly stripeSecret?: string;
  /** Adyen's HMAC key (hex) and basic-auth credentials; without them, no Adyen traffic. */
  readonly adyen?: { readonly hmacKey: string; readonly username: string; readonly password: string };
  readonly clock: Clock;
  /** Where the counts are logged (every LOG_COUNTS_EVERY_MS while traffic flows). */
  readonly logger: Logger;
  /** Where the counts are exposed: vigil_simulator_channel_transactions_total and _refusals_total, by channel. */
  readonly metrics?: MetricsRegistry;
  /** Default: the global fetch (tests pass a fake). */
  readonly fetch?: typeof fetch;
}

/** What the feed has sent through each channel: transactions the channel took, and messages it refused. */
export type ChannelCounts = Readonly<Record<SimulatedChannel, { readonly taken: number; readonly refused: number }>>;

export interface ChannelFeed {
  /**
   * Wraps the JSON sender of the live traffic: each batch's dealt share goes through its channels over HTTP (in
   * batch order per channel), the rest through `sendJson`. A channel's failure is logged and counted, never thrown:
   * like a bank's file that bounced, it does not stop the stream.
   */
  wrap(sendJson: (batch: TransactionRequest[]) => Promise<void>): (batch: TransactionRequest[]) => Promise<void>;
  counts(): ChannelCounts;
}

/** A card payment sent through a gateway: its refunds must follow it there, named by the gateway's own ids. */
interface GatewayPayment {
  readonly channel: 'stripe' | 'adyen';
  readonly request: TransactionRequest;
  readonly reference: string;
  readonly createdS: number;
  refunded: bigint;
}

/** Most gateway payments remembered for their refunds (oldest forgotten first; a forgotten one's refund goes as JSON). */
const REMEMBERED_PAYMENTS = 50_000;
/** One NACHA file per this slot: its File ID Modifier is the slot's place in the minute, so no two files share an id. */
const NACHA_SLOT_MS = 2_000;
const MODIFIERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const TRACE_SEQUENCES = 10_000_000;
const LOG_COUNTS_EVERY_MS = 60_000;

/** A uniform draw in [0, 1) from the transaction id, so the dealt share is the same for the same seeded stream. */
const drawOf = (transactionId: string): number =>
  createHash('sha256').update(transactionId).digest().readUInt32BE(0) / 2 ** 32;

const isPlainTransfer = (r: TransactionRequest): boolean =>
  (r.kind ?? 'transfer') === 'transfer' &&
  r.card === undefined &&
  r.originalTransactionId === undefined &&
  r.bankTransfer !== undefined;

const isCardPurchase = (r: TransactionRequest): boolean =>
  r.kind === 'purchase' &&
  r.card?.number !== undefined &&
  r.originalTransactionId === undefined &&
  Number.isSafeInteger(Number(r.amount.value.replace('.', '')));

/** Which channels can carry a simulated request as their senders would send it. */
const carries: Readonly<Record<SimulatedChannel, (r: TransactionRequest) => boolean>> = {
  iso20022: (r) => isPlainTransfer(r) && r.bankTransfer!.scheme !== 'ACH',
  nacha: (r) => isPlainTransfer(r) && r.bankTransfer!.scheme === 'ACH' && r.amount.currency === 'USD',
  csv: isPlainTransfer,
  stripe: isCardPurchase,
  adyen: isCardPurchase,
};

/**
 * Feeds a share of the simulated traffic through the channels banks and gateways use — ISO 20022 pain.001, NACHA,
 * CSV, Stripe and Adyen webhooks — over the real HTTP routes, so `npm start` exercises every parser, signature check
 * and mapping. Each request is drawn into the share by its id; a drawn one is dealt to the next channel in turn that
 * can carry it (transfers to the bank files, card purchases to the gateways), others stay JSON. A refund of a
 * gateway payment goes to that gateway. Channel items get the channel's own ids and accounts (a NACHA trace number,
 * a Stripe charge), as they would from a real sender; amounts are the requests' exact minor units.
 */
export function createChannelFeed(options: ChannelFeedOptions): ChannelFeed {
  const { url, ingestKey, share, clock, logger, fetch: send = fetch } = options;
  const enabled = options.channels.filter(
    (c) => (c !== 'stripe' || options.stripeSecret !== undefined) && (c !== 'adyen' || options.adyen !== undefined),
  );
  const counts = Object.fromEntries(SIMULATED_CHANNELS.map((c) => [c, { taken: 0, refused: 0 }])) as Record<
    SimulatedChannel,
    { taken: number; refused: number }
  >;
  const taken = options.metrics?.counter(
    'vigil_simulator_channel_transactions_total',
    'Simulated transactions a channel other than the JSON API took, by channel',
  );
  const refused = options.metrics?.counter(
    'vigil_simulator_channel_refusals_total',
    'Simulated channel messages (files, webhooks) refused or not delivered, by channel',
  );
  const countTaken = (channel: SimulatedChannel, n: number): void => {
    counts[channel].taken += n;
    taken?.inc({ channel }, n);
  };
  const countRefused = (channel: SimulatedChannel): void => {
    counts[channel].refused++;
    refused?.inc({ channel });
  };
  let lastLogMs = clock.nowMs();
  const payments = new Map<string, GatewayPayment>();
  let turn = 0;
  let lastNachaSlot = -1;

  const remember = (payment: GatewayPayment): void => {
    payments.set(payment.request.transactionId, payment);
    if (payments.size > REMEMBERED_PAYMENTS) payments.delete(payments.keys().next().value!);
  };

  /** The gateway payment a follow-up names, if it went through a gateway. */
  const paymentNamedBy = (request: TransactionRequest): GatewayPayment | undefined =>
    request.originalTransactionId === undefined ? undefined : payments.get(request.originalTransactionId);

  const post = async (
    channel: SimulatedChannel,
    path: string,
    body: string,
    headers: Record<string, string>,
  ): Promise<Response | undefined> => {
    try {
      const response = await send(`${url}${path}`, { method: 'POST', headers, body });
      if (response.ok) return response;
      countRefused(channel);
      logger.warn('simulated channel message refused', {
        channel,
        status: response.status,
        body: (await response.text()).slice(0, 500),
      });
    } catch (error) {
      countRefused(channel);
      logger.warn('simulated channel message not delivered', { channel, error: describeError(error) });
    }
    return undefined;
  };

  const postFile = async (channel: SimulatedChannel, path: string, body: string, type: string): Promise<void> => {
    const response = await post(channel, path, body, { authorization: `Bearer ${ingestKey}`, 'content-type': type });
    if (response !== undefined) countTaken(channel, ((await response.json()) as ChannelFileResponse).summary.accepted);
  };

  const sendStripe = async (payments: readonly TransactionRequest[], nowMs: number): Promise<void> => {
    for (const request of payments) {
      const original = request.originalTransactionId === undefined ? undefined : paymentNamedBy(request);
      let event: { body: string; signature: string };
      if (original === undefined) {
        const payment: GatewayPayment = {
          channel: 'stripe',
          request,
          reference: gatewayId('ch', request.transactionId),
          createdS: Math.floor(Date.parse(request.eventTime ?? new Date(nowMs).toISOString()) / 1000),
          refunded: 0n,
        };
        remember(payment);
        event = stripeChargeEvent(
          { request, chargeId: payment.reference, createdS: payment.createdS },
          undefined,
          options.stripeSecret!,
          nowMs,
        );
      } else {
        const before = original.refunded;
        original.refunded += BigInt(request.amount.value.replace('.', ''));
        event = stripeChargeEvent(
          { request: original.request, chargeId: original.reference, createdS: original.createdS },
          { eventSeed: request.transactionId, refundedBefore: before, refundedNow: original.refunded },
          options.stripeSecret!,
          nowMs,
        );
      }
      const response = await post('stripe', '/v1/channels/stripe', event.body, {
        'content-type': 'application/json',
        'stripe-signature': event.signature,
      });
      if (response !== undefined)
        countTaken('stripe', ((await response.json()) as ChannelFileResponse).summary.accepted);
    }
  };

  const sendAdyen = async (requests: readonly TransactionRequest[]): Promise<void> => {
    const events: AdyenEvent[] = [];
    for (const request of requests) {
      const minor = BigInt(request.amount.value.replace('.', ''));
      const eventDate = request.eventTime ?? new Date(clock.nowMs()).toISOString();
      const common = { minor, currency: request.amount.currency, eventDate, merchantReference: request.transactionId };
      const original = paymentNamedBy(request);
      if (original !== undefined) {
        events.push({
          ...common,
          eventCode: 'REFUND',
          pspReference: pspReferenceOf(`${request.transactionId}:refund`),
          originalReference: original.reference,
        });
        continue;
      }
      // Adyen reports a card payment as its authorisation and then its capture, two transactions of the ledger.
      const reference = pspReferenceOf(request.transactionId);
      remember({ channel: 'adyen', request, reference, createdS: 0, refunded: 0n });
      events.push({ ...common, eventCode: 'AUTHORISATION', pspReference: reference });
      events.push({
        ...common,
        eventCode: 'CAPTURE',
        pspReference: pspReferenceOf(`${request.transactionId}:capture`),
        originalReference: reference,
      });
    }
    const adyen = options.adyen!;
    const response = await post('adyen', '/v1/channels/adyen', adyenNotification(events, adyen.hmacKey), {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${adyen.username}:${adyen.password}`).toString('base64')}`,
    });
    if (response !== undefined) countTaken('adyen', events.length);
  };

  /** The channel a request goes to, or undefined for the JSON API. */
  const dealt = (request: TransactionRequest, nachaFree: boolean): SimulatedChannel | undefined => {
    const original = paymentNamedBy(request);
    if (original !== undefined && request.kind === 'refund') return original.channel;
    if (enabled.length === 0 || drawOf(request.transactionId) >= share) return undefined;
    for (let i = 0; i < enabled.length; i++) {
      const channel = enabled[(turn + i) % enabled.length]!;
      if (channel === 'nacha' && !nachaFree) continue;
      if (carries[channel](request)) {
        turn = (turn + i + 1) % enabled.length;
        return channel;
      }
    }
    return undefined;
  };

  const traceSequenceOf = (transactionId: string): number =>
    Number(/(\d+)$/.exec(transactionId)?.[1] ?? '0') % TRACE_SEQUENCES;

  return {
    wrap(sendJson) {
      return async (batch) => {
        const nowMs = clock.nowMs();
        const nachaSlot = Math.floor(nowMs / NACHA_SLOT_MS);
        const json: TransactionRequest[] = [];
        const byChannel = Object.fromEntries(SIMULATED_CHANNELS.map((c) => [c, [] as TransactionRequest[]])) as Record<
          SimulatedChannel,
          TransactionRequest[]
        >;
        for (const request of batch) {
          const channel = dealt(request, nachaSlot !== lastNachaSlot);
          if (channel === undefined) json.push(request);
          else byChannel[channel].push(request);
        }
        await sendJson(json);
        const createdAt = new Date(nowMs).toISOString().slice(0, 19) + 'Z';
        if (byChannel.iso20022.length > 0)
          await postFile(
            'iso20022',
            '/v1/channels/iso20022',
            pain001(`SIM-${byChannel.iso20022[0]!.transactionId}`, createdAt, byChannel.iso20022),
            'application/xml',
          );
        if (byChannel.csv.length > 0)
          await postFile('csv', '/v1/channels/csv', transfersCsv(byChannel.csv), 'text/csv');
        if (byChannel.nacha.length > 0) {
          lastNachaSlot = nachaSlot;
          const debits: NachaDebit[] = byChannel.nacha.map((request) => ({
            request,
            sequence: traceSequenceOf(request.transactionId),
          }));
          const modifier = MODIFIERS[Math.floor((nowMs % 60_000) / NACHA_SLOT_MS)]!;
          await postFile(
            'nacha',
            '/v1/channels/nacha',
            nachaDebitFile(new Date(nowMs), modifier, debits),
            'text/plain',
          );
        }
        if (byChannel.stripe.length > 0) await sendStripe(byChannel.stripe, nowMs);
        if (byChannel.adyen.length > 0) await sendAdyen(byChannel.adyen);
        if (nowMs - lastLogMs >= LOG_COUNTS_EVERY_MS) {
          lastLogMs = nowMs;
          logger.info('simulated channel traffic so far', { share, counts });
        }
      };
    },
    counts: () => counts,
  };
}
