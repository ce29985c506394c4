import { createHash } from 'node:crypto';
import type { KindName, TransactionRequest } from '../schemas/api.js';
import type { Transaction } from '../schemas/generated/types.js';
import { canonicalJson } from '../platform/canonical-json.js';
import { currencyExponent, formatMinor } from './money.js';
import type { TrafficEvent } from './traffic-event.js';

/**
 * The HTTP request a bank's system would send for `event`, under the request id `transactionId`; a capture or a
 * refund names the request id of what it follows up, `originalTransactionId`.
 */
export function toRequest(
  event: TrafficEvent,
  transactionId: string,
  originalTransactionId: string | null,
): TransactionRequest {
  const exponent = currencyExponent(event.currency);
  const merchant =
    event.terminal !== null
      ? { id: event.terminal.merchantId, terminalId: event.terminal.terminalId, mcc: event.terminal.mcc }
      : event.cashPoint !== null
        ? {
            id: 'vigil-sim-bank',
            terminalId: event.cashPoint.terminalId,
            mcc: event.kind === 'deposit' ? '6010' : '6011',
          }
        : undefined;
  const location = event.location;
  return {
    transactionId,
    channel: event.channel,
    kind: event.kind,
    amount: { value: formatMinor(event.amountMinor, exponent), currency: event.currency },
    ...(event.settlementMinor !== null && event.settlementCurrency !== null
      ? {
          settlementAmount: {
            value: formatMinor(event.settlementMinor, currencyExponent(event.settlementCurrency)),
            currency: event.settlementCurrency,
          },
        }
      : {}),
    payer: { accountId: event.payerAccountId, customerId: event.customer.customerId },
    payee: { accountId: event.payeeAccountId },
    ...(event.card !== null ? { card: { number: event.card.number, present: event.cardPresent } } : {}),
    ...(merchant !== undefined ? { merchant } : {}),
    ...(event.device !== null ? { device: { id: event.device.id, ip: event.device.ip } } : {}),
    ...(location !== null
      ? {
          location: {
            country: location.country,
            ...(location.latitude !== null && location.longitude !== null
              ? { latitude: location.latitude, longitude: location.longitude }
              : {}),
          },
        }
      : {}),
    ...(event.remittance !== null ? { description: event.remittance } : {}),
    ...(originalTransactionId !== null ? { originalTransactionId } : {}),
    ...(event.scheme !== null
      ? {
          bankTransfer: {
            scheme: event.scheme,
            endToEndId: `E2E-${transactionId}`.slice(0, 35),
            ...(event.remittance !== null ? { remittanceInfo: event.remittance } : {}),
          },
        }
      : {}),
    eventTime: new Date(event.timeMs).toISOString(),
  };
}

const kindOf: Readonly<Record<KindName, Transaction['kind']>> = {
  purchase: 'PURCHASE',
  authorization: 'AUTHORIZATION',
  capture: 'CAPTURE',
  refund: 'REFUND',
  transfer: 'TRANSFER',
  withdrawal: 'WITHDRAWAL',
  deposit: 'DEPOSIT',
};

/**
 * The canonical record ingest would produce for `request`. The card token is the simulator's stand-in, so
 * the fingerprint (SHA-256 of the canonical content, as ingest computes it) differs from ingest's.
 */
export function toCanonical(request: TransactionRequest, event: TrafficEvent): Transaction {
  const content = {
    transactionId: request.transactionId,
    channel: request.channel.toUpperCase() as Transaction['channel'],
    kind: kindOf[request.kind ?? 'purchase'],
    amountMinor: BigInt(event.amountMinor),
    currency: request.amount.currency,
    settlement:
      event.settlementMinor !== null && event.settlementCurrency !== null
        ? { amountMinor: BigInt(event.settlementMinor), currency: event.settlementCurrency }
        : null,
    payerAccountId: request.payer.accountId,
    payeeAccountId: request.payee.accountId,
    customerId:
      request.payer.customerId ?? (request.kind === 'deposit' ? request.payee.accountId : request.payer.accountId),
    card:
      event.card !== null
        ? { token: event.card.token, bin: event.card.bin, last4: event.card.last4, present: event.cardPresent }
        : null,
    merchantId: request.merchant?.id ?? null,
    terminalId: request.merchant?.terminalId ?? null,
    mcc: request.merchant?.mcc ?? null,
    deviceId: request.device?.id ?? null,
    ipAddress: request.device?.ip ?? null,
    country: request.location?.country ?? null,
    latitude: request.location?.latitude ?? null,
    longitude: request.location?.longitude ?? null,
    description: request.description ?? null,
    bankTransfer:
      request.bankTransfer !== undefined
        ? {
            scheme: request.bankTransfer.scheme,
            endToEndId: request.bankTransfer.endToEndId ?? null,
            remittanceInfo: request.bankTransfer.remittanceInfo ?? null,
          }
        : null,
    channelReference: null,
    eventTimeMs: event.timeMs,
    // Ingest leaves an absent originalTransactionId out of what it fingerprints; so does this stand-in.
    ...(request.originalTransactionId !== undefined ? { originalTransactionId: request.originalTransactionId } : {}),
  };
  const fingerprint = createHash('sha256').update(canonicalJson(content)).digest('hex');
  return {
    ...content,
    originalTransactionId: request.originalTransactionId ?? null,
    fingerprint,
    source: 'SIMULATOR',
    submittedBy: null,
    sourceDocument: null,
    receivedAtMs: event.timeMs,
  };
}
