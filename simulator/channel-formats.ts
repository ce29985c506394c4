import { createHash } from 'node:crypto';
import { hmacValidator } from '@adyen/api-library';
import type { NotificationRequestItem } from '@adyen/api-library/lib/src/typings/notification/models.js';
import Stripe from 'stripe';
import type { TransactionRequest } from '../schemas/api.js';

/**
 * The simulator's writers of the formats banks and gateways send (ISO 20022 pain.001.001.09, NACHA, CSV, Stripe
 * events, Adyen standard notifications), written from the same published definitions the channel parsers read. Each
 * takes simulated requests and writes only what the channel maps; amounts go from the request's decimal string to
 * the format's own notation digit for digit (never through a float). Gateway bodies are signed with the gateways'
 * official libraries, as the gateways sign them.
 */

/** The exact minor units of a request's decimal amount ("12.34" → 1234n). */
export function minorOf(amount: TransactionRequest['amount']): bigint {
  return BigInt(amount.value.replace('.', ''));
}

/** XML 1.0 text escaping (the five predefined entities). */
const xml = (text: string): string =>
  text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

/** Max35Text ids of ISO 20022 (and the characters its restricted Latin set allows). */
const max35 = (text: string): string => text.replace(/[^A-Za-z0-9/\-?:().,'+ ]/g, '-').slice(0, 35);

/**
 * A pain.001.001.09 customer credit transfer initiation: one payment information block per payer account, each
 * transfer a CdtTrfTxInf with its InstrId (the simulated request id) and EndToEndId; accounts as `Othr/Id`, since
 * the simulated accounts are no IBANs. SEPA transfers carry service level SEPA.
 */
export function pain001(messageId: string, createdAt: string, transfers: readonly TransactionRequest[]): string {
  const byPayer = new Map<string, TransactionRequest[]>();
  for (const t of transfers) byPayer.set(t.payer.accountId, [...(byPayer.get(t.payer.accountId) ?? []), t]);
  const blocks = [...byPayer.entries()].map(([payer, items], i) => {
    const sepa = items[0]!.channel === 'sepa';
    const txs = items.map(
      (t) => `
      <CdtTrfTxInf>
        <PmtId><InstrId>${xml(max35(t.transactionId))}</InstrId><EndToEndId>${xml(max35(t.bankTransfer?.endToEndId ?? t.transactionId))}</EndToEndId></PmtId>
        <Amt><InstdAmt Ccy="${t.amount.currency}">${t.amount.value}</InstdAmt></Amt>
        <Cdtr><Nm>Simulated payee</Nm></Cdtr>
        <CdtrAcct><Id><Othr><Id>${xml(max35(t.payee.accountId))}</Id></Othr></Id></CdtrAcct>${
          t.bankTransfer?.remittanceInfo === undefined
            ? ''
            : `\n        <RmtInf><Ustrd>${xml(t.bankTransfer.remittanceInfo.slice(0, 140))}</Ustrd></RmtInf>`
        }
      </CdtTrfTxInf>`,
    );
    return `
    <PmtInf>
      <PmtInfId>${xml(max35(`${messageId}-${i + 1}`))}</PmtInfId>
      <PmtMtd>TRF</PmtMtd>${sepa ? '\n      <PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf>' : ''}
      <ReqdExctnDt><Dt>${createdAt.slice(0, 10)}</Dt></ReqdExctnDt>
      <Dbtr><Nm>Simulated payer</Nm></Dbtr>
      <DbtrAcct><Id><Othr><Id>${xml(max35(payer))}</Id></Othr></Id></DbtrAcct>
      <DbtrAgt><FinInstnId><BICFI>VIGLDEFFXXX</BICFI></FinInstnId></DbtrAgt>${txs.join('')}
    </PmtInf>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09">
  <CstmrCdtTrfInitn>
    <GrpHdr>
      <MsgId>${xml(max35(messageId))}</MsgId>
      <CreDtTm>${createdAt}</CreDtTm>
      <NbOfTxs>${transfers.length}</NbOfTxs>
      <InitgPty><Nm>Vigil simulator</Nm></InitgPty>
    </GrpHdr>${blocks.join('')}
  </CstmrCdtTrfInitn>
</Document>
`;
}

/** The CSV columns the simulator fills, in the documented layout (ingest/domain/channels/csv/csv.ts). */
const CSV_COLUMNS = [
  'transaction_id',
  'channel',
  'kind',
  'amount',
  'currency',
  'payer_account',
  'payee_account',
  'customer_id',
  'event_time',
  'scheme',
  'end_to_end_id',
  'remittance_info',
] as const;

/** RFC 4180 quoting: a field holding a comma, quote or line break is quoted, its quotes doubled. */
const csvField = (value: string): string => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

/** A CSV upload of `requests` under the documented header, one row each, amounts as their decimal strings. */
export function transfersCsv(requests: readonly TransactionRequest[]): string {
  const rows = requests.map((r) =>
    [
      r.transactionId,
      r.channel,
      r.kind ?? '',
      r.amount.value,
      r.amount.currency,
      r.payer.accountId,
      r.payee.accountId,
      r.payer.customerId ?? '',
      r.eventTime ?? '',
      r.bankTransfer?.scheme ?? '',
      r.bankTransfer?.endToEndId ?? '',
      r.bankTransfer?.remittanceInfo ?? '',
    ]
      .map(csvField)
      .join(','),
  );
  return [CSV_COLUMNS.join(','), ...rows, ''].join('\n');
}

/** Left-justified, space-filled alphanumeric NACHA field. */
const alpha = (text: string, width: number): string =>
  text
    .toUpperCase()
    .replace(/[^ -~]/g, ' ')
    .slice(0, width)
    .padEnd(width, ' ');
/** Right-justified, zero-filled numeric NACHA field. */
const num = (value: bigint | number, width: number): string => String(value).padStart(width, '0');

/** The simulated bank's routing number (ABA, check digit included) and the 8 digits that start its trace numbers. */
export const SIMULATED_RDFI = '091000019';
export const SIMULATED_ODFI = '12104288';

/** One ACH debit the simulator sends: the payer's account debited by the payee company. */
export interface NachaDebit {
  readonly request: TransactionRequest;
  /** Trace sequence (7 digits), unique for the life of the simulated world: the trace number is the entry's id. */
  readonly sequence: number;
}

/**
 * A NACHA file (Operating Rules, Appendix Three) of one CCD batch of debit entries (transaction code 27): each
 * entry debits the simulated payer's account at SIMULATED_RDFI for the company the payee's account stands for, its
 * remittance in an addenda 05; counts, entry hash, totals and block count computed, padded to blocks of ten.
 * `modifier` is the File ID Modifier (A–Z, 0–9), which tells files of the same minute apart.
 */
export function nachaDebitFile(createdAt: Date, modifier: string, debits: readonly NachaDebit[]): string {
  const iso = createdAt.toISOString();
  const yymmdd = iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10);
  const companyId = '1SIMULATOR';
  const records: string[] = [
    '101 091000019 121042882' +
      yymmdd +
      iso.slice(11, 13) +
      iso.slice(14, 16) +
      modifier +
      '094101' +
      alpha('VIGIL SIMULATED BANK', 23) +
      alpha('VIGIL SIMULATOR', 23) +
      alpha('', 8),
    '5225' +
      alpha('SIMULATED PAYEES', 16) +
      alpha('', 20) +
      companyId +
      'CCD' +
      alpha('PAYMENT', 10) +
      alpha('', 6) +
      yymmdd +
      '   1' +
      SIMULATED_ODFI +
      num(1, 7),
  ];
  let count = 0n;
  let hash = 0n;
  let total = 0n;
  for (const { request, sequence } of debits) {
    const cents = minorOf(request.amount);
    const remittance = request.bankTransfer?.remittanceInfo ?? '';
    records.push(
      '627' +
        SIMULATED_RDFI +
        alpha(request.payer.accountId, 17) +
        num(cents, 10) +
        alpha(request.payee.accountId, 15) +
        alpha(request.transactionId, 22) +
        '  ' +
        (remittance === '' ? '0' : '1') +
        SIMULATED_ODFI +
        num(sequence, 7),
    );
    if (remittance !== '') records.push('705' + alpha(remittance, 80) + num(1, 4) + num(sequence, 7));
    count += remittance === '' ? 1n : 2n;
    hash += BigInt(SIMULATED_RDFI.slice(0, 8));
    total += cents;
  }
  const hashField = num(hash % 10_000_000_000n, 10);
  records.push(
    '8225' +
      num(count, 6) +
      hashField +
      num(total, 12) +
      num(0, 12) +
      companyId +
      alpha('', 25) +
      SIMULATED_ODFI +
      num(1, 7),
  );
  const blocks = Math.ceil((records.length + 1) / 10);
  records.push(
    '9' + num(1, 6) + num(blocks, 6) + num(count, 8) + hashField + num(total, 12) + num(0, 12) + alpha('', 39),
  );
  while (records.length % 10 !== 0) records.push('9'.repeat(94));
  return records.join('\n') + '\n';
}

/** A Stripe-style id: `prefix_` and 24 characters derived from `seed`, so a seeded run writes the same ids. */
export const gatewayId = (prefix: string, seed: string): string =>
  `${prefix}_${createHash('sha256').update(seed).digest('base64url').replace(/[-_]/g, 'x').slice(0, 24)}`;

/** The card as Stripe describes it: a fingerprint instead of the number, its IIN and last four digits. */
function stripeCard(request: TransactionRequest): Record<string, unknown> {
  const number = request.card?.number ?? '';
  return {
    type: 'card',
    card: {
      brand: number.startsWith('5') ? 'mastercard' : 'visa',
      fingerprint: gatewayId('fp', number).slice(3, 19),
      iin: number.slice(0, 6),
      last4: number.slice(-4),
    },
  };
}

/**
 * A signed Stripe event for a simulated card payment (`charge.succeeded`, captured) or a refund of one
 * (`charge.refunded`, the running `amount_refunded` and its previous value): the body and its `Stripe-Signature`,
 * signed with `webhooks.generateTestHeaderString` under `secret` at `nowMs`.
 */
export function stripeChargeEvent(
  payment: { readonly request: TransactionRequest; readonly chargeId: string; readonly createdS: number },
  refund: { readonly eventSeed: string; readonly refundedBefore: bigint; readonly refundedNow: bigint } | undefined,
  secret: string,
  nowMs: number,
): { body: string; signature: string } {
  const { request, chargeId, createdS } = payment;
  const amount = Number(minorOf(request.amount));
  const nowS = Math.floor(nowMs / 1000);
  const charge = {
    id: chargeId,
    object: 'charge',
    amount,
    amount_captured: amount,
    amount_refunded: Number(refund?.refundedNow ?? 0n),
    captured: true,
    currency: request.amount.currency.toLowerCase(),
    customer: null,
    created: createdS,
    payment_intent: `pi_${chargeId.slice(3)}`,
    payment_method: `pm_${chargeId.slice(3)}`,
    payment_method_details: stripeCard(request),
    status: 'succeeded',
  };
  const body = JSON.stringify({
    id: gatewayId('evt', refund?.eventSeed ?? chargeId),
    object: 'event',
    api_version: '2025-10-29.clover',
    created: refund === undefined ? createdS : nowS,
    data: {
      object: charge,
      ...(refund === undefined ? {} : { previous_attributes: { amount_refunded: Number(refund.refundedBefore) } }),
    },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: refund === undefined ? 'charge.succeeded' : 'charge.refunded',
  });
  return { body, signature: Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: nowS }) };
}

/**
 * Adyen's 16-character PSP reference, derived from `seed`, in Adyen's current alphanumeric form (e.g.
 * `QFQTPCQ8HXSKGK82`). The older all-digit form passes the Luhn check about one time in ten, and ingest refuses a
 * reference that looks like a card number — a real gap for merchants whose Adyen account still issues digit-only
 * references (named in SECURITY.md), which the simulator should not trip over at random.
 */
export const pspReferenceOf = (seed: string): string => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const digest = createHash('sha256').update(seed).digest();
  return Array.from(digest.subarray(0, 16), (byte) => alphabet[byte % alphabet.length]).join('');
};

/** One NotificationRequestItem of a simulated payment, before it is signed. */
export interface AdyenEvent {
  readonly eventCode: 'AUTHORISATION' | 'CAPTURE' | 'REFUND';
  readonly pspReference: string;
  readonly originalReference?: string;
  readonly minor: bigint;
  readonly currency: string;
  readonly eventDate: string;
  readonly merchantReference: string;
}

/**
 * Adyen's standard notification body for `events`, each item carrying `additionalData.hmacSignature` as the
 * library's `hmacValidator().calculateHmac` computes it under `hmacKey` (hex).
 */
export function adyenNotification(events: readonly AdyenEvent[], hmacKey: string): string {
  const validator = new hmacValidator();
  const items = events.map((e) => {
    const item = {
      additionalData: {},
      amount: { currency: e.currency, value: Number(e.minor) },
      eventCode: e.eventCode,
      eventDate: e.eventDate,
      merchantAccountCode: 'VigilSimulatedMerchant',
      merchantReference: e.merchantReference,
      ...(e.originalReference === undefined ? {} : { originalReference: e.originalReference }),
      paymentMethod: 'visa',
      pspReference: e.pspReference,
      reason: '',
      success: 'true',
    };
    const hmacSignature = validator.calculateHmac(item as unknown as NotificationRequestItem, hmacKey);
    return { NotificationRequestItem: { ...item, additionalData: { hmacSignature } } };
  });
  return JSON.stringify({ live: 'false', notificationItems: items });
}
