import type { FieldProblem } from '../../../../platform/errors.js';
import type { TransactionRequest } from '../../../../schemas/api.js';
import { currencyExponent, formatMinorUnits } from '../../../../schemas/currencies.js';
import type { ContentHasher } from '../../../ports.js';
import { type JsonObject, isJsonObject } from '../../json.js';
import {
  type ChannelDocument,
  type ChannelItem,
  type ChannelParse,
  channelTransactionId,
  checkedReferences,
} from '../channel.js';
import { text, wholeMinorUnits } from './gateway.js';

/**
 * Adyen standard notifications (already verified by the edge, item by item, with Adyen's own HMAC validator) →
 * channel documents. A notification carries `notificationItems[].NotificationRequestItem`; each item is its own
 * message, known by its identity (pspReference, eventCode, success — {@link adyenItemIdentity}), because Adyen
 * redelivers an item on its own, not necessarily in the batch it first came in. The payment is the one its
 * `pspReference` names on AUTHORISATION and its `originalReference` names on every later event, so all of them name
 * the same payer (`adyen:<payment pspReference>`) and transaction ids:
 *  - `AUTHORISATION` with success `true`: an authorization (its captures settle its hold);
 *  - `CAPTURE` / `REFUND` with success `true`: a capture or refund of that payment, named by its own pspReference;
 *  - `CHARGEBACK` / `NOTIFICATION_OF_CHARGEBACK`: a FRAUD verdict on the payment (the label and reversal path);
 *  - success `false` (a refused authorisation, a failed capture or refund) moves no money and is answered with no
 *    items, as are event codes not mapped (`CANCELLATION` among them: there is no void kind to book it as; the
 *    authorization's hold lapses at its expiry).
 * Amounts are integers in the currency's minor units; they stay integers (bigint) from here on.
 */

export const ADYEN_FORMAT = 'adyen';
/** Transaction ids of Adyen items: `adyen-` and 40 hex characters (channel.ts `channelTransactionId`). */
export const ADYEN_ID_PREFIX = 'adyen';
/** The event codes that become a chargeback verdict. */
export const adyenChargebackEvents: readonly string[] = ['CHARGEBACK', 'NOTIFICATION_OF_CHARGEBACK'];
const paymentEvents: Readonly<Record<string, 'authorization' | 'capture' | 'refund'>> = {
  AUTHORISATION: 'authorization',
  CAPTURE: 'capture',
  REFUND: 'refund',
};

export interface AdyenOptions {
  readonly hasher: ContentHasher;
}

/** One `NotificationRequestItem` and its JSON pointer in the notification. */
export interface AdyenNotificationItem {
  readonly location: string;
  readonly item: JsonObject;
}

/**
 * Where an item's fields are located on its transaction, dead letters and verdicts: in the item itself, not at its
 * place in the batch, because Adyen may redeliver it at another place in another batch and the redelivery must be
 * the same content (else the same transaction id with another source location is a conflict).
 */
export const ADYEN_ITEM_LOCATION = '/NotificationRequestItem';

/** The transaction id an Adyen payment gets (by its pspReference), and a capture or refund of it (`suffix`). */
export function adyenTransactionId(paymentPspReference: string, hasher: ContentHasher, ...suffix: string[]): string {
  return channelTransactionId(ADYEN_ID_PREFIX, [ADYEN_FORMAT, paymentPspReference, ...suffix], hasher);
}

/**
 * What makes an item the same notification again: Adyen's docs name pspReference and eventCode as a duplicate's
 * key; success is part of it too, because Adyen may follow an item with `success: false` by one of the same
 * pspReference and event code with `success: true`, which must not be taken for a redelivery. The other fields
 * (eventDate, additionalData) may differ between deliveries of one item, so they are no part of it.
 */
export function adyenItemIdentity(item: JsonObject): string {
  return `${String(item['pspReference'])}:${String(item['eventCode'])}:${String(item['success'])}`;
}

/**
 * The items of a notification body. Refused as a whole (each problem with its JSON pointer) when it is no
 * notification: no `notificationItems` array, or an entry without a `NotificationRequestItem` object.
 */
export function adyenNotificationItems(
  body: unknown,
): { ok: true; items: AdyenNotificationItem[] } | { ok: false; problems: FieldProblem[] } {
  if (!isJsonObject(body) || !Array.isArray(body['notificationItems']))
    return { ok: false, problems: [{ path: '/notificationItems', message: 'must be an array of notification items' }] };
  const problems: FieldProblem[] = [];
  const items: AdyenNotificationItem[] = [];
  body['notificationItems'].forEach((entry: unknown, i) => {
    const item = isJsonObject(entry) ? entry['NotificationRequestItem'] : undefined;
    const location = `/notificationItems/${i}/NotificationRequestItem`;
    if (isJsonObject(item)) items.push({ location, item });
    else problems.push({ path: location, message: 'is required' });
  });
  if (items.length === 0 && problems.length === 0)
    problems.push({ path: '/notificationItems', message: 'must hold at least one item' });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, items };
}

/**
 * Maps one verified item to a message of zero or one item or verdict, known by {@link adyenItemIdentity}, its
 * fields located under {@link ADYEN_ITEM_LOCATION}. Refused as a whole when it has no pspReference, eventCode or
 * success (`"true"` / `"false"`), which make its identity.
 */
export function parseAdyenItem(item: JsonObject, options: AdyenOptions): ChannelParse {
  const notification: ItemAt = { item, location: ADYEN_ITEM_LOCATION };
  const location = ADYEN_ITEM_LOCATION;
  const problems: FieldProblem[] = [];
  const pspReference = text(item['pspReference']);
  const eventCode = text(item['eventCode']);
  const success = item['success'];
  if (pspReference === undefined) problems.push({ path: `${location}/pspReference`, message: 'is required' });
  if (eventCode === undefined) problems.push({ path: `${location}/eventCode`, message: 'is required' });
  if (success !== 'true' && success !== 'false')
    problems.push({ path: `${location}/success`, message: 'must be "true" or "false"' });
  checkedReferences([['PspReference', pspReference, `${location}/pspReference`]], problems);
  if (problems.length > 0 || eventCode === undefined) return { ok: false, problems };
  const document: ChannelDocument = { format: ADYEN_FORMAT, messageId: adyenItemIdentity(item), items: [] };
  if (success !== 'true') return { ok: true, document };
  if (adyenChargebackEvents.includes(eventCode)) return { ok: true, document: chargeback(notification, options) };
  const kind = paymentEvents[eventCode];
  if (kind === undefined) return { ok: true, document };
  return { ok: true, document: { ...document, items: [paymentItem(notification, kind, options)] } };
}

type ItemAt = AdyenNotificationItem;

const additionalData = (item: JsonObject): JsonObject =>
  isJsonObject(item['additionalData']) ? item['additionalData'] : {};

/** The references every mapped item keeps, from the signed fields and a few of `additionalData`. */
function referencesOf({ item, location }: AdyenNotificationItem, problems: FieldProblem[]): Record<string, string> {
  const extra = additionalData(item);
  return checkedReferences(
    [
      ['PspReference', text(item['pspReference']), `${location}/pspReference`],
      ['EventCode', text(item['eventCode']), `${location}/eventCode`],
      ['OriginalReference', text(item['originalReference']), `${location}/originalReference`],
      ['MerchantReference', text(item['merchantReference']), `${location}/merchantReference`],
      ['MerchantAccount', text(item['merchantAccountCode']), `${location}/merchantAccountCode`],
      ['PaymentMethod', text(item['paymentMethod']), `${location}/paymentMethod`],
      ['Reason', text(item['reason']), `${location}/reason`],
      ['ShopperReference', text(extra['shopperReference']), `${location}/additionalData/shopperReference`],
      ['ChargebackReasonCode', text(extra['chargebackReasonCode']), `${location}/additionalData/chargebackReasonCode`],
    ],
    problems,
  );
}

/** Epoch ms of an ISO 8601 `eventDate` with its offset (`2026-12-07T10:15:30+01:00`), else a problem. */
function eventTimeMs({ item, location }: AdyenNotificationItem, problems: FieldProblem[]): number | undefined {
  const date = text(item['eventDate']);
  const ms = date === undefined ? NaN : Date.parse(date);
  if (Number.isFinite(ms)) return ms;
  problems.push({ path: `${location}/eventDate`, message: 'must be an ISO 8601 date-time with its offset' });
  return undefined;
}

/** An authorisation, or a capture or refund of the payment its `originalReference` names. */
function paymentItem(
  notification: AdyenNotificationItem,
  kind: 'authorization' | 'capture' | 'refund',
  options: AdyenOptions,
): ChannelItem {
  const { item, location } = notification;
  const problems: FieldProblem[] = [];
  const pspReference = text(item['pspReference'])!;
  const original = text(item['originalReference']);
  if (kind !== 'authorization' && original === undefined)
    problems.push({ path: `${location}/originalReference`, message: 'is required: the payment it follows up' });
  const payment = kind === 'authorization' ? pspReference : original;
  const amount = isJsonObject(item['amount']) ? item['amount'] : {};
  const value = wholeMinorUnits(amount['value'], `${location}/amount/value`, problems);
  if (value === 0n) problems.push({ path: `${location}/amount/value`, message: 'must be greater than zero' });
  const currency = text(amount['currency']);
  // Adyen's minor units are ISO 4217's exponent; a currency without one cannot say what the integer means.
  if (currency === undefined || currencyExponent(currency) === undefined)
    problems.push({ path: `${location}/amount/currency`, message: 'must be an active ISO 4217 currency code' });
  const merchant = text(item['merchantAccountCode']);
  if (merchant === undefined) problems.push({ path: `${location}/merchantAccountCode`, message: 'is required' });
  const timeMs = eventTimeMs(notification, problems);
  const references = referencesOf(notification, problems);
  const sourceDocument = { format: ADYEN_FORMAT, references, location };
  if (
    problems.length > 0 ||
    payment === undefined ||
    value === undefined ||
    currency === undefined ||
    merchant === undefined ||
    timeMs === undefined
  )
    return { location, sourceDocument, problems, fieldLocations: {} };
  const followUp = kind === 'authorization' ? [] : [kind, pspReference];
  const request: TransactionRequest = {
    transactionId: adyenTransactionId(payment, options.hasher, ...followUp),
    // Adyen holds the card: a standard notification carries no card token of ours, so it goes as a wallet payment.
    channel: 'wallet',
    kind,
    amount: { value: formatMinorUnits(value, currency), currency },
    // The payment's own reference is the one payer every event of it names; the shopper, when Adyen sends it,
    // is kept as a reference.
    payer: { accountId: `adyen:${payment}` },
    payee: { accountId: `adyen-balance:${merchant}` },
    channelReference: pspReference,
    ...(followUp.length === 0 ? {} : { originalTransactionId: adyenTransactionId(payment, options.hasher) }),
    eventTime: new Date(timeMs).toISOString(),
  };
  const fieldLocations: Record<string, string> = {
    '': location,
    '/amount': `${location}/amount`,
    '/amount/value': `${location}/amount/value`,
    '/amount/currency': `${location}/amount/currency`,
    '/payer/accountId': `${location}/${kind === 'authorization' ? 'pspReference' : 'originalReference'}`,
    '/payee/accountId': `${location}/merchantAccountCode`,
    '/channelReference': `${location}/pspReference`,
    '/eventTime': `${location}/eventDate`,
  };
  return { location, request, sourceDocument, problems: [], fieldLocations };
}

/**
 * A chargeback (or its advance notice): a FRAUD verdict on the payment its `originalReference` names (Adyen's
 * dispute items carry the dispute's own pspReference). An item without one is answered as a rejected item.
 */
function chargeback(notification: AdyenNotificationItem, options: AdyenOptions): ChannelDocument {
  const { item, location } = notification;
  const problems: FieldProblem[] = [];
  const payment = text(item['originalReference']);
  if (payment === undefined)
    problems.push({ path: `${location}/originalReference`, message: 'is required: the disputed payment' });
  const timeMs = eventTimeMs(notification, problems);
  const references = referencesOf(notification, problems);
  const document = { format: ADYEN_FORMAT, messageId: adyenItemIdentity(item) };
  if (problems.length > 0 || payment === undefined || timeMs === undefined)
    return {
      ...document,
      items: [
        { location, sourceDocument: { format: ADYEN_FORMAT, references, location }, problems, fieldLocations: {} },
      ],
    };
  const reason = [text(item['eventCode']), references['ChargebackReasonCode'], references['Reason']];
  return {
    ...document,
    items: [],
    verdicts: [
      {
        location,
        transactionId: adyenTransactionId(payment, options.hasher),
        payerAccountId: `adyen:${payment}`,
        // A dispute item does not say when the payment was made: the dispute's own time stands in.
        transactionEventTimeMs: timeMs,
        note: `adyen ${reason.filter((r) => r !== undefined).join(' ')}`,
        references,
      },
    ],
  };
}
