import { hmacValidator } from '@adyen/api-library';
import type { NotificationRequestItem } from '@adyen/api-library/lib/src/typings/notification/models.js';
import Stripe from 'stripe';
import { sha256Hasher } from '../ingest/adapters/crypto.js';
import type { ChannelParse } from '../ingest/domain/channels/channel.js';
import { parseCsv } from '../ingest/domain/channels/csv/csv.js';
import { parseAdyenItem } from '../ingest/domain/channels/gateways/adyen.js';
import { parseStripeEvent } from '../ingest/domain/channels/gateways/stripe.js';
import { parseIso20022 } from '../ingest/domain/channels/iso20022/messages.js';
import { parseNacha } from '../ingest/domain/channels/nacha/nacha.js';
import type { TransactionRequest } from '../schemas/api.js';
import {
  adyenNotification,
  nachaDebitFile,
  pain001,
  pspReferenceOf,
  stripeChargeEvent,
  transfersCsv,
} from '../simulator/channel-formats.js';

/**
 * The simulator's format writers read back by ingest's own channel parsers (here, where both may be imported): every
 * item is taken, with the simulated amount to the minor unit — currencies of exponent 0, 2 and the largest amounts
 * the simulator makes — and the gateway bodies verify under the official libraries with the secret they were signed
 * with. Negative control: the same checks on a file with one amount altered find exactly that item.
 */
const hasher = sha256Hasher;
const nowMs = Date.parse('2026-12-07T10:00:00Z');
const eventTime = new Date(nowMs).toISOString();

const transfer = (
  id: string,
  value: string,
  currency: string,
  scheme: 'SEPA_CT' | 'SWIFT' | 'ACH',
): TransactionRequest => ({
  transactionId: id,
  channel: scheme === 'SEPA_CT' ? 'sepa' : scheme === 'ACH' ? 'ach' : 'wire',
  kind: 'transfer',
  amount: { value, currency },
  payer: { accountId: 'acct-000042', customerId: 'cust-000042' },
  payee: { accountId: 'ext-payee-7' },
  bankTransfer: { scheme, endToEndId: `E2E-${id}`, remittanceInfo: 'Rent, December & "extras"' },
  eventTime,
});
const purchase = (id: string, value: string, currency: string): TransactionRequest => ({
  transactionId: id,
  channel: 'card',
  kind: 'purchase',
  amount: { value, currency },
  payer: { accountId: 'acct-000042', customerId: 'cust-000042' },
  payee: { accountId: 'merchant-9' },
  card: { number: '4000056655665556', present: false },
  eventTime,
});

/** The accepted items' amounts, or the problems of the file or its items. */
function amounts(parsed: ChannelParse): Array<readonly [string, string]> | string {
  if (!parsed.ok) return JSON.stringify(parsed.problems);
  const bad = parsed.document.items.filter((i) => i.request === undefined);
  if (bad.length > 0) return JSON.stringify(bad.map((i) => [i.location, i.problems]));
  return parsed.document.items.map((i) => [i.request!.amount.value, i.request!.amount.currency] as const);
}

const bank = [
  transfer('sim-13-1', '0.01', 'EUR', 'SEPA_CT'),
  transfer('sim-13-2', '150000', 'JPY', 'SWIFT'),
  transfer('sim-13-3', '98765432.10', 'GBP', 'SWIFT'),
];
const ach = [transfer('sim-13-4', '1234.56', 'USD', 'ACH'), transfer('sim-13-5', '0.07', 'USD', 'ACH')];

describe('the simulator writes what the channels read', () => {
  it('pain.001: each transfer an item, its amount exact', () => {
    const xml = pain001('SIM-sim-13-1', eventTime.slice(0, 19) + 'Z', bank);
    expect(amounts(parseIso20022(Buffer.from(xml), { hasher }))).toEqual([
      ['0.01', 'EUR'],
      ['150000', 'JPY'],
      ['98765432.10', 'GBP'],
    ]);
    // Negative control: an altered amount is read as altered.
    expect(amounts(parseIso20022(Buffer.from(xml.replace('>0.01<', '>0.02<')), { hasher }))).toEqual([
      ['0.02', 'EUR'],
      ['150000', 'JPY'],
      ['98765432.10', 'GBP'],
    ]);
  });

  it('NACHA: a sound file (lengths, entry hash, totals) whose debits carry the exact cents', () => {
    const file = nachaDebitFile(new Date(nowMs), 'C', [
      { request: ach[0]!, sequence: 4 },
      { request: ach[1]!, sequence: 5 },
    ]);
    expect(amounts(parseNacha(Buffer.from(file, 'latin1'), { hasher }))).toEqual([
      ['1234.56', 'USD'],
      ['0.07', 'USD'],
    ]);
    // Negative control: one cent more in an entry breaks the batch's totals, and the parser says so.
    const altered = file.replace('0000123456', '0000123457');
    expect(amounts(parseNacha(Buffer.from(altered, 'latin1'), { hasher }))).toEqual(
      expect.stringContaining('Total Debit'),
    );
  });

  it('CSV: the documented layout, quoted remittance, ids and amounts as sent', () => {
    const parsed = parseCsv(Buffer.from(transfersCsv([...bank, ...ach])), { hasher });
    expect(amounts(parsed)).toEqual([...bank, ...ach].map((t) => [t.amount.value, t.amount.currency]));
    expect(parsed.ok && parsed.document.items.map((i) => i.request!.transactionId)).toEqual(
      [...bank, ...ach].map((t) => t.transactionId),
    );
    expect(parsed.ok && parsed.document.items[0]!.request!.bankTransfer?.remittanceInfo).toBe(
      'Rent, December & "extras"',
    );
  });

  it('Stripe: the event verifies with constructEvent under the secret, and its refund is the difference', () => {
    const secret = 'whsec_simulated_secret_0123456789';
    const payment = {
      request: purchase('sim-13-6', '1999', 'JPY'),
      chargeId: 'ch_simulated000000000000',
      createdS: nowMs / 1000,
    };
    const paid = stripeChargeEvent(payment, undefined, secret, nowMs);
    const event = Stripe.webhooks.constructEvent(paid.body, paid.signature, secret, 300, undefined, nowMs);
    expect(amounts(parseStripeEvent(event, { hasher }))).toEqual([['1999', 'JPY']]);
    const refunded = stripeChargeEvent(
      payment,
      { eventSeed: 'sim-13-7', refundedBefore: 500n, refundedNow: 1200n },
      secret,
      nowMs,
    );
    const refund = Stripe.webhooks.constructEvent(refunded.body, refunded.signature, secret, 300, undefined, nowMs);
    expect(amounts(parseStripeEvent(refund, { hasher }))).toEqual([['700', 'JPY']]);
    // Negative control: another secret does not verify.
    expect(() =>
      Stripe.webhooks.constructEvent(paid.body, paid.signature, 'whsec_other', 300, undefined, nowMs),
    ).toThrow();
  });

  it('Adyen: every item verifies with the HMAC key; a payment is its authorisation and capture', () => {
    const key = '44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056';
    const psp = pspReferenceOf('sim-13-8');
    const body = adyenNotification(
      [
        {
          eventCode: 'AUTHORISATION',
          pspReference: psp,
          minor: 123456n,
          currency: 'EUR',
          eventDate: eventTime,
          merchantReference: 'sim-13-8',
        },
        {
          eventCode: 'CAPTURE',
          pspReference: pspReferenceOf('c'),
          originalReference: psp,
          minor: 123456n,
          currency: 'EUR',
          eventDate: eventTime,
          merchantReference: 'sim-13-8',
        },
      ],
      key,
    );
    const items = (
      JSON.parse(body) as { notificationItems: Array<{ NotificationRequestItem: NotificationRequestItem }> }
    ).notificationItems.map((n) => n.NotificationRequestItem);
    const validator = new hmacValidator();
    expect(items.map((item) => validator.validateHMAC(item, key))).toEqual([true, true]);
    expect(items.map((item) => validator.validateHMAC(item, key.replace('4', '5')))).toEqual([false, false]);
    expect(
      items.map((item) => {
        const parsed = parseAdyenItem(item as unknown as Parameters<typeof parseAdyenItem>[0], { hasher });
        return parsed.ok ? [parsed.document.items[0]!.request!.kind, amounts(parsed)] : parsed.problems;
      }),
    ).toEqual([
      ['authorization', [['1234.56', 'EUR']]],
      ['capture', [['1234.56', 'EUR']]],
    ]);
  });
});
