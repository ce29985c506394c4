import { sha256Hasher } from '../../../adapters/crypto.js';
import { charge, dispute, stripeEvent } from '../../../testing/stripe.js';
import type { ChannelDocument } from '../channel.js';
import { parseStripeEvent, stripeTransactionId } from './stripe.js';

const createdS = 1_795_510_000;
const read = (payload: string) => parseStripeEvent(JSON.parse(payload), { hasher: sha256Hasher });
function document(payload: string): ChannelDocument {
  const parsed = read(payload);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.document;
}
const base = { id: 'ch_1', amount: 1050, currency: 'jpy', captured: true, createdS };

describe('Stripe event mapping', () => {
  it('maps a captured charge to a purchase in the currency minor units, with the card as Stripe describes it', () => {
    const file = document(stripeEvent('evt_1', 'charge.succeeded', charge(base), createdS + 1));
    expect(file).toMatchObject({ format: 'stripe', messageId: 'evt_1' });
    expect(file.items[0]!.request).toEqual({
      transactionId: stripeTransactionId('ch_1', sha256Hasher),
      channel: 'card',
      kind: 'purchase',
      // JPY has no minor unit: 1050 is ¥1,050.
      amount: { value: '1050', currency: 'JPY' },
      payer: { accountId: 'stripe:pm_1' },
      payee: { accountId: 'stripe-balance:platform' },
      card: { token: 'stripe:Xt5EWLLDS7FJjR1c', bin: '424242', last4: '4242' },
      channelReference: 'ch_1',
      eventTime: new Date(createdS * 1000).toISOString(),
    });
  });

  it('takes a charge without the IIN (Stripe seldom sends it) as a wallet payment, the card brand and last 4 kept', () => {
    const plain = charge(base);
    const details = plain['payment_method_details'] as { card: Record<string, unknown> };
    const withoutIin = { ...plain, payment_method_details: { card: { ...details.card, iin: null } } };
    const item = document(stripeEvent('evt_w', 'charge.succeeded', withoutIin, createdS)).items[0]!;
    expect(item.request).toMatchObject({
      channel: 'wallet',
      kind: 'purchase',
      amount: { value: '1050', currency: 'JPY' },
    });
    expect(item.request!.card).toBeUndefined();
    expect(item.sourceDocument.references).toMatchObject({ CardBrand: 'visa', CardLast4: '4242' });
  });

  it('books a partial refund as the amount this event refunded, named by the running total', () => {
    const refunded = (total: number, before: number) =>
      document(
        stripeEvent('evt_r', 'charge.refunded', charge({ ...base, amountRefunded: total }), createdS, {
          previous: { amount_refunded: before },
        }),
      ).items[0]!.request!;
    expect(refunded(300, 0).amount.value).toBe('300');
    expect(refunded(1000, 300).amount.value).toBe('700');
    expect(refunded(1000, 300).transactionId).not.toBe(refunded(300, 0).transactionId);
    expect(refunded(1000, 300).originalTransactionId).toBe(stripeTransactionId('ch_1', sha256Hasher));
  });

  it('reports an amount that is no whole number of minor units at its pointer', () => {
    for (const amount of [10.5, -1, 2 ** 53, '1050'])
      expect(
        document(stripeEvent('evt_2', 'charge.succeeded', { ...charge(base), amount }, createdS)).items[0]!.problems,
      ).toEqual([{ path: '/data/object/amount', message: 'must be a whole number of minor units' }]);
  });

  it('answers event types it does not map, and disputes for reasons other than fraud, with nothing', () => {
    expect(document(stripeEvent('evt_3', 'customer.created', { id: 'cus_1' }, createdS))).toEqual({
      format: 'stripe',
      messageId: 'evt_3',
      items: [],
    });
    const other = document(
      stripeEvent('evt_4', 'charge.dispute.created', dispute('dp_1', 'ch_1', 5, 'duplicate', createdS), createdS),
    );
    expect([other.items, other.verdicts]).toEqual([[], []]);
    const fraud = document(
      stripeEvent('evt_5', 'charge.dispute.created', dispute('dp_1', 'ch_1', 5, 'fraudulent', createdS), createdS),
    );
    expect(fraud.verdicts?.map((v) => v.transactionId)).toEqual([stripeTransactionId('ch_1', sha256Hasher)]);
  });

  it('refuses what is no event, with the pointers at fault', () => {
    const parsed = parseStripeEvent({ id: 'evt_6', data: {} }, { hasher: sha256Hasher });
    expect(parsed).toEqual({
      ok: false,
      problems: [
        { path: '/type', message: 'is required' },
        { path: '/created', message: 'must be epoch seconds' },
        { path: '/data/object', message: 'is required' },
      ],
    });
  });

  it('refuses an event time no date can hold, and falls back to the event time for such a charge time (found by the fuzz target)', () => {
    const huge = Number.MAX_SAFE_INTEGER;
    const refused = read(stripeEvent('evt_7', 'charge.captured', charge(base), huge));
    expect(refused).toEqual({ ok: false, problems: [{ path: '/created', message: 'must be epoch seconds' }] });
    const file = document(stripeEvent('evt_8', 'charge.succeeded', charge({ ...base, createdS: huge }), createdS));
    expect(file.items[0]!.request!.eventTime).toBe(new Date(createdS * 1000).toISOString());
  });
});
