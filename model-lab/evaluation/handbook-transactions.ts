import type { Transaction } from '../../schemas/generated/types.js';
import type { HandbookRow } from '../../simulator/handbook-csv.js';

/**
 * Maps a handbook CSV row (../shared/ML-EVAL.md) to the canonical Transaction the scoring stage consumes from
 * tx.raw: the customer is the payer account, the customer and — through a token derived from it — the card;
 * the terminal is the terminal and the merchant; the amount is EUR cents; TX_DATETIME is read as UTC.
 * Nothing else is invented: no device, location or country, as the handbook has none.
 */
export function handbookTransaction(row: HandbookRow, eventTimeMs = handbookEventTimeMs(row.txDatetime)): Transaction {
  const customer = `hb-cust-${row.customerId}`;
  const terminal = `hb-term-${row.terminalId}`;
  return {
    transactionId: `hb-tx-${row.transactionId}`,
    fingerprint: `hb-${row.transactionId}`,
    channel: 'CARD',
    kind: 'PURCHASE',
    amountMinor: row.txAmountCents,
    currency: 'EUR',
    settlement: null,
    payerAccountId: customer,
    payeeAccountId: `hb-merchant-${row.terminalId}`,
    customerId: customer,
    card: {
      token: `hb-card-${row.customerId}`,
      bin: '400000',
      last4: String(row.customerId % 10_000).padStart(4, '0'),
      present: true,
    },
    merchantId: terminal,
    terminalId: terminal,
    mcc: null,
    deviceId: null,
    ipAddress: null,
    country: null,
    latitude: null,
    longitude: null,
    description: null,
    bankTransfer: null,
    channelReference: null,
    originalTransactionId: null,
    source: 'FILE',
    submittedBy: null,
    sourceDocument: null,
    eventTimeMs,
    receivedAtMs: eventTimeMs,
  };
}

/** 'YYYY-MM-DD HH:MM:SS' read as UTC, in ms; throws RangeError when it is not a valid date-time. */
export function handbookEventTimeMs(txDatetime: string): number {
  const ms = Date.parse(`${txDatetime.slice(0, 10)}T${txDatetime.slice(11, 19)}Z`);
  if (!Number.isFinite(ms)) throw new RangeError(`TX_DATETIME ${JSON.stringify(txDatetime)} is not a valid date-time`);
  return ms;
}
