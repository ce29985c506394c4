import fc from 'fast-check';
import { sha256Hasher } from '../ingest/adapters/crypto.js';
import { adyenNotificationItems, parseAdyenItem } from '../ingest/domain/channels/gateways/adyen.js';
import { parseStripeEvent } from '../ingest/domain/channels/gateways/stripe.js';
import type { ChannelParse } from '../ingest/domain/channels/channel.js';
import { adyenItem } from '../ingest/testing/adyen.js';
import { charge, stripeEvent } from '../ingest/testing/stripe.js';
import { formatMinorUnits } from '../schemas/currencies.js';
import { type FuzzTarget, defineTarget } from './target.js';

/**
 * Properties of the gateway webhook mappers (ingest/domain/channels/gateways/), which see a body only after its
 * signature checked out — so "any JSON" is what a gateway, or a leaked secret, could send: every body maps to a
 * message or a located refusal, never a throw; an item is a request or problems, never both; no problem message
 * quotes a card number; a sound payment arrives as exactly its minor units.
 */
export type ParseStripe = typeof parseStripeEvent;
export type ParseAdyenItem = typeof parseAdyenItem;

const createdS = 1_796_634_000;
const currencies = ['usd', 'eur', 'jpy', 'bhd', 'gbp'] as const;
const minorUnits = fc.oneof(
  fc.integer({ min: 0, max: 1_000_000 }),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, 2 ** 53, -1, 0.5, 1e21),
);

/** A value that replaces one field of a sound event: wrong types, huge numbers, card-number-like text. */
const junk = fc.oneof(
  minorUnits,
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('4111111111111111', '', null, -5, 1.5, '1e3', '0x10', []),
);

const soundStripe = fc
  .record({
    amount: fc.integer({ min: 1, max: 10_000_000 }),
    currency: fc.constantFrom(...currencies),
    type: fc.constantFrom('charge.succeeded', 'charge.captured', 'charge.refunded', 'charge.dispute.created'),
    id: fc.integer({ min: 1, max: 1e6 }),
  })
  .map(({ amount, currency, type, id }) => ({
    amount,
    currency,
    event: JSON.parse(
      stripeEvent(
        `evt_${id}`,
        type,
        charge({
          id: `ch_${id}`,
          amount,
          currency,
          captured: true,
          amountRefunded: type === 'charge.refunded' ? amount : 0,
          createdS,
        }),
        createdS,
        type === 'charge.refunded' ? { previous: { amount_refunded: 0 } } : {},
      ),
    ) as Record<string, unknown>,
  }));

/** A sound value with one field at `path` (object keys) replaced. */
function replaced(value: Record<string, unknown>, path: readonly string[], by: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  const inner = value[head];
  return {
    ...value,
    [head]:
      rest.length === 0 || typeof inner !== 'object' || inner === null || Array.isArray(inner)
        ? by
        : replaced(inner as Record<string, unknown>, rest, by),
  };
}

const stripePaths = [
  ['id'],
  ['type'],
  ['created'],
  ['data'],
  ['data', 'object'],
  ['data', 'object', 'amount'],
  ['data', 'object', 'amount_captured'],
  ['data', 'object', 'amount_refunded'],
  ['data', 'object', 'currency'],
  ['data', 'object', 'customer'],
  ['data', 'object', 'payment_method_details'],
  ['data', 'object', 'payment_method_details', 'card'],
  ['data', 'previous_attributes'],
];
const stripeBodies = fc.oneof(
  soundStripe.map((s) => s.event as unknown),
  fc.tuple(soundStripe, fc.constantFrom(...stripePaths), junk).map(([s, path, by]) => replaced(s.event, path, by)),
  fc.jsonValue({ maxDepth: 4 }),
);

const quotesDigits = (message: string): boolean => /\d{12,}/.test(message.replace(/[ -]/g, ''));

/** The shape every channel parse must have; throws with what is wrong. */
function checkShape(parsed: ChannelParse): void {
  const problems = parsed.ok ? parsed.document.items.flatMap((i) => i.problems) : parsed.problems;
  for (const p of problems) {
    if (quotesDigits(p.message)) throw new Error(`message quotes the input: ${p.message}`);
    if (p.path !== '' && !p.path.startsWith('/')) throw new Error(`problem path is no JSON pointer: ${p.path}`);
  }
  if (!parsed.ok) {
    if (parsed.problems.length === 0) throw new Error('a refusal without a problem');
    return;
  }
  for (const item of parsed.document.items)
    if ((item.request === undefined) === (item.problems.length === 0))
      throw new Error(`item at ${item.location}: a request and problems, or neither`);
}

export function stripeTotalityTarget(parse: ParseStripe = parseStripeEvent): FuzzTarget {
  return defineTarget('Stripe event mapping of any JSON', () =>
    fc.property(stripeBodies, (body) => checkShape(parse(body, { hasher: sha256Hasher }))),
  );
}

/** A sound charge, capture or refund arrives as exactly its minor units in its currency. */
export function stripeExactAmountTarget(parse: ParseStripe = parseStripeEvent): FuzzTarget {
  return defineTarget('Stripe amounts are exact minor units', () =>
    fc.property(
      soundStripe.filter((s) => s.event['type'] !== 'charge.dispute.created'),
      ({ amount, currency, event }) => {
        const parsed = parse(event, { hasher: sha256Hasher });
        if (!parsed.ok) throw new Error(`refused: ${JSON.stringify(parsed.problems)}`);
        const [item, ...more] = parsed.document.items;
        if (item?.request === undefined || more.length > 0)
          throw new Error(`one request expected: ${JSON.stringify(parsed.document.items)}`);
        const code = currency.toUpperCase();
        const { value, currency: got } = item.request.amount;
        if (got !== code || value !== formatMinorUnits(BigInt(amount), code))
          throw new Error(`${amount} ${currency} arrived as ${value} ${got}`);
      },
    ),
  );
}

const soundAdyen = fc
  .record({
    value: fc.integer({ min: 1, max: 10_000_000 }),
    currency: fc.constantFrom(...currencies).map((c) => c.toUpperCase()),
    eventCode: fc.constantFrom('AUTHORISATION', 'CAPTURE', 'REFUND', 'CHARGEBACK', 'CANCELLATION', 'REPORT_AVAILABLE'),
    success: fc.boolean(),
    id: fc.integer({ min: 1, max: 1e6 }),
  })
  .map(({ value, currency, eventCode, success, id }) => ({
    value,
    currency,
    item: adyenItem({
      eventCode,
      pspReference: `PSP${String(id).padStart(13, '0')}`,
      ...(eventCode === 'AUTHORISATION' ? {} : { originalReference: `ORIG${String(id).padStart(12, '0')}` }),
      value,
      currency,
      success,
      eventDate: '2026-12-07T09:00:00+01:00',
    }),
  }));
const adyenPaths = [
  ['pspReference'],
  ['eventCode'],
  ['success'],
  ['amount'],
  ['amount', 'value'],
  ['amount', 'currency'],
  ['originalReference'],
  ['eventDate'],
  ['merchantAccountCode'],
  ['additionalData'],
];
const adyenBodies = fc.oneof(
  fc
    .array(
      fc.oneof(
        soundAdyen.map((s) => s.item),
        fc.tuple(soundAdyen, fc.constantFrom(...adyenPaths), junk).map(([s, path, by]) => replaced(s.item, path, by)),
      ),
      { maxLength: 4 },
    )
    .map((items) => ({ live: 'false', notificationItems: items.map((i) => ({ NotificationRequestItem: i })) })),
  fc.jsonValue({ maxDepth: 4 }),
);

export function adyenTotalityTarget(parse: ParseAdyenItem = parseAdyenItem): FuzzTarget {
  return defineTarget('Adyen notification mapping of any JSON', () =>
    fc.property(adyenBodies, (body) => {
      const items = adyenNotificationItems(body);
      if (!items.ok) {
        if (items.problems.length === 0) throw new Error('a refusal without a problem');
        return;
      }
      for (const { item } of items.items) checkShape(parse(item, { hasher: sha256Hasher }));
    }),
  );
}

/** A successful authorisation, capture or refund arrives as exactly its minor units. */
export function adyenExactAmountTarget(parse: ParseAdyenItem = parseAdyenItem): FuzzTarget {
  return defineTarget('Adyen amounts are exact minor units', () =>
    fc.property(
      soundAdyen.filter((s) => ['AUTHORISATION', 'CAPTURE', 'REFUND'].includes(String(s.item['eventCode']))),
      ({ value, currency, item }) => {
        const parsed = parse({ ...item, success: 'true' }, { hasher: sha256Hasher });
        if (!parsed.ok) throw new Error(`refused: ${JSON.stringify(parsed.problems)}`);
        const request = parsed.document.items[0]?.request;
        if (request === undefined) throw new Error(`no request: ${JSON.stringify(parsed.document.items)}`);
        if (request.amount.currency !== currency || request.amount.value !== formatMinorUnits(BigInt(value), currency))
          throw new Error(`${value} ${currency} arrived as ${request.amount.value} ${request.amount.currency}`);
      },
    ),
  );
}

export const gatewayTargets: readonly FuzzTarget[] = [
  stripeTotalityTarget(),
  stripeExactAmountTarget(),
  adyenTotalityTarget(),
  adyenExactAmountTarget(),
];
