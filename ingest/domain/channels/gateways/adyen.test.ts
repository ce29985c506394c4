import { sha256Hasher } from '../../../adapters/crypto.js';
import { adyenItem } from '../../../testing/adyen.js';
import type { ChannelDocument } from '../channel.js';
import { adyenItemIdentity, adyenNotificationItems, adyenTransactionId, parseAdyenItem } from './adyen.js';

const location = '/NotificationRequestItem';
const eventDate = '2026-12-07T11:15:30+01:00';
const read = (item: Record<string, unknown>) => parseAdyenItem(item, { hasher: sha256Hasher });
function document(item: Record<string, unknown>): ChannelDocument {
  const parsed = read(item);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.document;
}
const auth = { eventCode: 'AUTHORISATION', pspReference: 'PSP-AUTH-1', value: 1050, currency: 'EUR', eventDate };

describe('Adyen notification item mapping', () => {
  it('maps a successful authorisation to an authorization in minor units, payer named by its pspReference', () => {
    const file = document(adyenItem(auth));
    expect(file).toMatchObject({ format: 'adyen', messageId: 'PSP-AUTH-1:AUTHORISATION:true' });
    expect(file.items[0]!.request).toEqual({
      transactionId: adyenTransactionId('PSP-AUTH-1', sha256Hasher),
      channel: 'wallet',
      kind: 'authorization',
      amount: { value: '10.50', currency: 'EUR' },
      payer: { accountId: 'adyen:PSP-AUTH-1' },
      payee: { accountId: 'adyen-balance:VigilTestMerchant' },
      channelReference: 'PSP-AUTH-1',
      eventTime: '2026-12-07T10:15:30.000Z',
    });
    expect(file.items[0]!.sourceDocument.references).toMatchObject({
      PspReference: 'PSP-AUTH-1',
      MerchantReference: 'order-1',
      ShopperReference: 'shopper-1',
    });
  });

  it("reads the amount in the currency's own exponent: JPY 1050 is ¥1,050, BHD 1050 is 1.050", () => {
    const value = (currency: string) => document(adyenItem({ ...auth, currency })).items[0]!.request!.amount.value;
    expect([value('JPY'), value('BHD'), value('USD')]).toEqual(['1050', '1.050', '10.50']);
  });

  it('books a capture and a refund against the payment their originalReference names, each by its own reference', () => {
    const followUp = (eventCode: string, pspReference: string) =>
      document(adyenItem({ ...auth, eventCode, pspReference, originalReference: 'PSP-AUTH-1', value: 400 })).items[0]!
        .request!;
    const capture = followUp('CAPTURE', 'PSP-CAP-1');
    const refund = followUp('REFUND', 'PSP-REF-1');
    expect([capture.kind, refund.kind]).toEqual(['capture', 'refund']);
    expect([capture.originalTransactionId, refund.originalTransactionId]).toEqual([
      adyenTransactionId('PSP-AUTH-1', sha256Hasher),
      adyenTransactionId('PSP-AUTH-1', sha256Hasher),
    ]);
    expect([capture.payer.accountId, refund.payer.accountId]).toEqual(['adyen:PSP-AUTH-1', 'adyen:PSP-AUTH-1']);
    expect(capture.transactionId).not.toBe(refund.transactionId);
    expect(followUp('REFUND', 'PSP-REF-2').transactionId).not.toBe(refund.transactionId);
  });

  it('makes a chargeback, or its notice, a verdict on the disputed payment, and moves nothing on success false', () => {
    const dispute = document(
      adyenItem({
        ...auth,
        eventCode: 'CHARGEBACK',
        pspReference: 'PSP-DISPUTE-1',
        originalReference: 'PSP-AUTH-1',
        reason: 'Fraudulent Processing of Transactions',
        additionalData: { chargebackReasonCode: '10.4' },
      }),
    );
    expect(dispute.items).toEqual([]);
    expect(dispute.verdicts).toMatchObject([
      {
        transactionId: adyenTransactionId('PSP-AUTH-1', sha256Hasher),
        payerAccountId: 'adyen:PSP-AUTH-1',
        transactionEventTimeMs: Date.parse(eventDate),
        note: 'adyen CHARGEBACK 10.4 Fraudulent Processing of Transactions',
      },
    ]);
    const notice = document(
      adyenItem({ ...auth, eventCode: 'NOTIFICATION_OF_CHARGEBACK', pspReference: 'D', originalReference: 'P' }),
    );
    expect(notice.verdicts?.map((v) => v.transactionId)).toEqual([adyenTransactionId('P', sha256Hasher)]);
    for (const item of [
      adyenItem({ ...auth, success: false }),
      adyenItem({ ...auth, eventCode: 'CANCELLATION', originalReference: 'PSP-AUTH-1' }),
      adyenItem({ ...auth, eventCode: 'REPORT_AVAILABLE' }),
    ])
      expect([document(item).items, document(item).verdicts]).toEqual([[], undefined]);
  });

  it('names an item by pspReference, eventCode and success: a refusal then an approval are two messages', () => {
    expect(adyenItemIdentity(adyenItem({ ...auth, success: false }))).toBe('PSP-AUTH-1:AUTHORISATION:false');
    expect(adyenItemIdentity(adyenItem(auth))).toBe('PSP-AUTH-1:AUTHORISATION:true');
    // Fields outside the identity differ between Adyen's deliveries of one item.
    expect(adyenItemIdentity(adyenItem({ ...auth, eventDate: '2026-12-08T00:00:00Z' }))).toBe(
      adyenItemIdentity(adyenItem(auth)),
    );
  });

  it('reports each bad field of an item at its pointer: amount, currency, date, a follow-up without its payment', () => {
    const problems = (item: Record<string, unknown>) => document(item).items[0]!.problems.map((p) => p.path);
    for (const value of [10.5, -1, 2 ** 53, '1050'])
      expect(problems({ ...adyenItem(auth), amount: { value, currency: 'EUR' } })).toEqual([
        `${location}/amount/value`,
      ]);
    expect(problems(adyenItem({ ...auth, currency: 'XYZ' }))).toEqual([`${location}/amount/currency`]);
    expect(problems(adyenItem({ ...auth, eventDate: 'yesterday' }))).toEqual([`${location}/eventDate`]);
    expect(problems(adyenItem({ ...auth, eventCode: 'CAPTURE' }))).toEqual([`${location}/originalReference`]);
    expect(problems(adyenItem({ ...auth, merchantReference: '4111111111111111' }))).toEqual([
      `${location}/merchantReference`,
    ]);
  });

  it('refuses an item without its identity, and a body that is no notification, at their pointers', () => {
    const parsed = read({ ...adyenItem(auth), pspReference: '', success: 'yes' });
    expect(parsed.ok ? [] : parsed.problems.map((p) => p.path)).toEqual([
      `${location}/pspReference`,
      `${location}/success`,
    ]);
    const body = adyenNotificationItems({ notificationItems: [{ NotificationRequestItem: {} }, { Other: {} }] });
    expect(body.ok ? [] : body.problems.map((p) => p.path)).toEqual(['/notificationItems/1/NotificationRequestItem']);
    const none = adyenNotificationItems({ live: 'false' });
    expect(none.ok ? [] : none.problems.map((p) => p.path)).toEqual(['/notificationItems']);
  });
});
