import type { FieldProblem } from '../../../../platform/errors.js';
import type { TransactionRequest } from '../../../../schemas/api.js';
import { currencyExponent, formatMinorUnits } from '../../../../schemas/currencies.js';
import type { ContentHasher } from '../../../ports.js';
import {
  type ChannelItem,
  type ChannelParse,
  type ChannelVerdict,
  channelTransactionId,
  checkedReferences,
} from '../channel.js';
import { text, wholeMinorUnits as minorUnits } from './gateway.js';

/**
 * Stripe webhook events (already verified by the edge with Stripe's own library) → channel items. One event is one
 * message, known by its event id. The charge events carry the whole Charge object, so every one of them names the
 * same payer, payee and transaction id for one charge:
 *  - `charge.succeeded`: a purchase when captured, else an authorization;
 *  - `charge.captured`: the capture of that authorization (`amount_captured`);
 *  - `charge.refunded`: a refund of the charge, of the amount refunded by this event (`amount_refunded` less its
 *    `previous_attributes` value), so partial refunds each book their own part;
 *  - `charge.dispute.created`: a chargeback — a FRAUD verdict on the charge's transaction when the dispute's reason
 *    is fraud (`fraudulent`, `unrecognized`); other disputes (a product not received, …) say nothing about fraud
 *    and are answered with no verdict, like event types not mapped.
 * Other event types are answered with no items. Stripe amounts are integers in the currency's smallest unit, which
 * for the currencies Stripe settles is the ISO 4217 exponent's; they stay integers (bigint) from here on.
 */

export const STRIPE_FORMAT = 'stripe';
/** Transaction ids of Stripe items: `stripe-` and 40 hex characters (channel.ts `channelTransactionId`). */
export const STRIPE_ID_PREFIX = 'stripe';
/** Dispute reasons that say the cardholder did not make the payment. */
export const fraudDisputeReasons: readonly string[] = ['fraudulent', 'unrecognized'];
/** The event types mapped; any other is answered with no items. */
export const stripeEventTypes = [
  'charge.succeeded',
  'charge.captured',
  'charge.refunded',
  'charge.dispute.created',
] as const;

export interface StripeOptions {
  readonly hasher: ContentHasher;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The transaction id a charge gets, and a capture or refund of it (`suffix`). */
export function stripeTransactionId(chargeId: string, hasher: ContentHasher, ...suffix: string[]): string {
  return channelTransactionId(STRIPE_ID_PREFIX, [STRIPE_FORMAT, chargeId, ...suffix], hasher);
}

/**
 * Maps a verified Stripe event. Refused as a whole (with the JSON pointer at fault) when it is no event: no `id`,
 * `type`, `created` or `data.object`; otherwise the event is one message of zero or one item or verdict.
 */
export function parseStripeEvent(event: unknown, options: StripeOptions): ChannelParse {
  const problems: FieldProblem[] = [];
  if (!isObject(event)) return { ok: false, problems: [{ path: '', message: 'must be a Stripe event object' }] };
  const id = text(event['id']);
  const type = text(event['type']);
  const created = event['created'];
  const object = isObject(event['data']) ? event['data']['object'] : undefined;
  if (id === undefined) problems.push({ path: '/id', message: 'is required' });
  if (type === undefined) problems.push({ path: '/type', message: 'is required' });
  const createdMs = epochMs(created);
  if (createdMs === undefined) problems.push({ path: '/created', message: 'must be epoch seconds' });
  if (!isObject(object)) problems.push({ path: '/data/object', message: 'is required' });
  const idProblems: FieldProblem[] = [];
  checkedReferences([['EventId', id, '/id']], idProblems);
  problems.push(...idProblems);
  if (problems.length > 0 || id === undefined || type === undefined || !isObject(object) || createdMs === undefined)
    return { ok: false, problems };
  const context: EventContext = {
    id,
    type,
    createdMs,
    account: text(event['account']),
    previous:
      isObject(event['data']) && isObject(event['data']['previous_attributes'])
        ? event['data']['previous_attributes']
        : {},
    hasher: options.hasher,
  };
  const document = { format: STRIPE_FORMAT, messageId: id };
  if (type === 'charge.dispute.created') {
    const verdict = disputeVerdict(object, context);
    if (!verdict.ok) return { ok: true, document: { ...document, items: [verdict.item] } };
    return { ok: true, document: { ...document, items: [], verdicts: verdict.verdicts } };
  }
  if ((stripeEventTypes as readonly string[]).includes(type))
    return { ok: true, document: { ...document, items: [chargeItem(object, context)] } };
  return { ok: true, document: { ...document, items: [] } };
}

/**
 * Stripe's epoch seconds as milliseconds, or undefined when they are no whole number of seconds a date can hold
 * (±8.64e12 s): a signed body can still carry 2^53 − 1, which no Date represents.
 */
function epochMs(value: unknown): number | undefined {
  return Number.isSafeInteger(value) && Math.abs(value as number) <= 8_640_000_000_000
    ? (value as number) * 1000
    : undefined;
}

interface EventContext {
  readonly id: string;
  readonly type: string;
  readonly createdMs: number;
  /** The connected account the event is for (Stripe Connect), if any. */
  readonly account: string | undefined;
  readonly previous: Json;
  readonly hasher: ContentHasher;
}

const LOCATION = '/data/object';

/** The payer of a charge: its Stripe customer, else its payment method, else the charge itself. */
function payerOf(charge: Json): { accountId: string; customerId?: string; path: string } | undefined {
  const customer = text(charge['customer']);
  if (customer !== undefined)
    return { accountId: `stripe:${customer}`, customerId: customer, path: `${LOCATION}/customer` };
  const method = text(charge['payment_method']);
  if (method !== undefined) return { accountId: `stripe:${method}`, path: `${LOCATION}/payment_method` };
  const id = text(charge['id']);
  return id === undefined ? undefined : { accountId: `stripe:${id}`, path: `${LOCATION}/id` };
}

/** The charge events: the payment, its capture or a refund of it. */
function chargeItem(charge: Json, context: EventContext): ChannelItem {
  const problems: FieldProblem[] = [];
  const chargeId = text(charge['id']);
  if (chargeId === undefined) problems.push({ path: `${LOCATION}/id`, message: 'is required' });
  const currency = text(charge['currency'])?.toUpperCase();
  if (currency === undefined || currencyExponent(currency) === undefined)
    problems.push({ path: `${LOCATION}/currency`, message: 'must be an active ISO 4217 currency code' });
  const captured = charge['captured'] === true;
  let kind: 'purchase' | 'authorization' | 'capture' | 'refund';
  let amount: bigint | undefined;
  let amountPath: string;
  let suffix: string[] = [];
  if (context.type === 'charge.succeeded') {
    kind = captured ? 'purchase' : 'authorization';
    amountPath = `${LOCATION}/amount`;
    amount = minorUnits(charge['amount'], amountPath, problems);
  } else if (context.type === 'charge.captured') {
    kind = 'capture';
    amountPath = `${LOCATION}/amount_captured`;
    amount = minorUnits(charge['amount_captured'], amountPath, problems);
    suffix = ['capture'];
  } else {
    kind = 'refund';
    amountPath = `${LOCATION}/amount_refunded`;
    const total = minorUnits(charge['amount_refunded'], amountPath, problems);
    const before =
      context.previous['amount_refunded'] === undefined
        ? 0n
        : minorUnits(context.previous['amount_refunded'], '/data/previous_attributes/amount_refunded', problems);
    amount = total === undefined || before === undefined ? undefined : total - before;
    // The running total names the refund: each partial refund of a charge is its own transaction.
    suffix = ['refund', String(total)];
  }
  if (amount !== undefined && amount <= 0n) problems.push({ path: amountPath, message: 'must be greater than zero' });
  const payer = payerOf(charge);
  const card = isObject(charge['payment_method_details']) ? charge['payment_method_details']['card'] : undefined;
  const cardFields = isObject(card) ? card : {};
  const paymentIntent = text(charge['payment_intent']);
  const references = checkedReferences(
    [
      ['EventId', context.id, '/id'],
      ['EventType', context.type, '/type'],
      ['ChargeId', chargeId, `${LOCATION}/id`],
      ['PaymentIntent', paymentIntent, `${LOCATION}/payment_intent`],
      ['Account', context.account, '/account'],
      ['CardBrand', text(cardFields['brand']), `${LOCATION}/payment_method_details/card/brand`],
      ['CardLast4', text(cardFields['last4']), `${LOCATION}/payment_method_details/card/last4`],
    ],
    problems,
  );
  const sourceDocument = { format: STRIPE_FORMAT, references, location: LOCATION };
  if (problems.length > 0 || chargeId === undefined || currency === undefined || amount === undefined || !payer)
    return { location: LOCATION, sourceDocument, problems, fieldLocations: {} };

  const chargeTime = epochMs(charge['created']) ?? context.createdMs;
  const described = cardOf(card);
  const request: TransactionRequest = {
    transactionId: stripeTransactionId(chargeId, context.hasher, ...suffix),
    channel: described === undefined ? 'wallet' : 'card',
    kind,
    amount: { value: formatMinorUnits(amount, currency), currency },
    payer: { accountId: payer.accountId, ...(payer.customerId === undefined ? {} : { customerId: payer.customerId }) },
    payee: { accountId: `stripe-balance:${context.account ?? 'platform'}` },
    ...(described ?? {}),
    channelReference: chargeId,
    ...(suffix.length === 0 ? {} : { originalTransactionId: stripeTransactionId(chargeId, context.hasher) }),
    // The payment happened when the charge was made; a capture or refund when its event was.
    eventTime: new Date(suffix.length === 0 ? chargeTime : context.createdMs).toISOString(),
  };
  const fieldLocations: Record<string, string> = {
    '': LOCATION,
    '/amount': amountPath,
    '/amount/value': amountPath,
    '/amount/currency': `${LOCATION}/currency`,
    '/payer/accountId': payer.path,
    '/payer/customerId': payer.path,
    '/card': `${LOCATION}/payment_method_details/card`,
    '/channelReference': `${LOCATION}/id`,
    '/eventTime': suffix.length === 0 ? `${LOCATION}/created` : '/created',
  };
  return { location: LOCATION, request, sourceDocument, problems: [], fieldLocations };
}

/**
 * The card as Stripe describes it: its fingerprint (Stripe's own token of the card number, the same for every
 * charge of one card) as the token, the IIN as the BIN and the last four digits. Stripe seldom sends the IIN
 * ("not typically available"), and a card payment without a BIN is refused by validation, so a charge without all
 * three goes as a `wallet` payment — the gateway holds the card — with what Stripe did say kept as references.
 */
function cardOf(card: unknown): { card: NonNullable<TransactionRequest['card']> } | undefined {
  if (!isObject(card)) return undefined;
  const fingerprint = text(card['fingerprint']);
  const bin = text(card['iin']);
  const last4 = text(card['last4']);
  if (fingerprint === undefined || bin === undefined || last4 === undefined) return undefined;
  return { card: { token: `stripe:${fingerprint}`, bin: bin.slice(0, 6), last4 } };
}

/** A dispute: a FRAUD verdict on its charge when the reason is fraud, none for another reason; unreadable, an item. */
function disputeVerdict(
  dispute: Json,
  context: EventContext,
): { ok: true; verdicts: ChannelVerdict[] } | { ok: false; item: ChannelItem } {
  const problems: FieldProblem[] = [];
  const chargeId = text(dispute['charge']);
  const reason = text(dispute['reason']);
  if (chargeId === undefined) problems.push({ path: `${LOCATION}/charge`, message: 'is required' });
  if (reason === undefined) problems.push({ path: `${LOCATION}/reason`, message: 'is required' });
  const references = checkedReferences(
    [
      ['EventId', context.id, '/id'],
      ['EventType', context.type, '/type'],
      ['DisputeId', text(dispute['id']), `${LOCATION}/id`],
      ['ChargeId', chargeId, `${LOCATION}/charge`],
      ['PaymentIntent', text(dispute['payment_intent']), `${LOCATION}/payment_intent`],
      ['Reason', reason, `${LOCATION}/reason`],
    ],
    problems,
  );
  if (problems.length > 0 || chargeId === undefined)
    return {
      ok: false,
      item: {
        location: LOCATION,
        sourceDocument: { format: STRIPE_FORMAT, references, location: LOCATION },
        problems,
        fieldLocations: {},
      },
    };
  if (!fraudDisputeReasons.includes(reason!)) return { ok: true, verdicts: [] };
  return {
    ok: true,
    verdicts: [
      {
        location: LOCATION,
        transactionId: stripeTransactionId(chargeId, context.hasher),
        // A dispute names its charge but not the charge's customer or payment method.
        payerAccountId: null,
        // Nor when the charge was made: the dispute's own time stands in.
        transactionEventTimeMs: epochMs(dispute['created']) ?? context.createdMs,
        note: `stripe dispute ${reason}`,
        references,
      },
    ],
  };
}
