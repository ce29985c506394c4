import type { FieldProblem } from '../../../../platform/errors.js';
import type { MoneyRequest, TransactionRequest } from '../../../../schemas/api.js';
import { currencyExponent, formatMinorUnits } from '../../../../schemas/currencies.js';
import type { ContentHasher } from '../../../ports.js';
import { type ChannelItem, channelTransactionId, checkedReferences } from '../channel.js';
import type { Element } from './xml.js';

/** Transaction ids of ISO 20022 items: `iso20022-` and 40 hex characters (channel.ts `channelTransactionId`). */
export const ISO20022_ID_PREFIX = 'iso20022';

/** The XSD's ActiveOrHistoricCurrencyAndAmount: up to 18 digits, at most 5 of them after the point, no sign. */
const isoDecimal = /^([0-9]*)(?:\.([0-9]*))?$/;
const MAX_TOTAL_DIGITS = 18;

/**
 * An ISO 20022 amount element (`<InstdAmt Ccy="EUR">12.5</InstdAmt>`) as exact minor units of its currency, or
 * the problems at the element or its `@Ccy`. More fraction digits than the currency's ISO 4217 exponent are refused
 * (the XSD allows 5; "10.001" EUR is no amount a ledger can book), as are zero, signs and exponents.
 */
export function isoAmount(
  element: Element | undefined,
  expectedPath: string,
  problems: FieldProblem[],
): { readonly minor: bigint; readonly currency: string } | undefined {
  if (element === undefined) {
    problems.push({ path: expectedPath, message: 'is required' });
    return undefined;
  }
  const currency = element.attribute('Ccy');
  let exponent: number | undefined;
  if (currency === undefined) problems.push({ path: `${element.path}/@Ccy`, message: 'is required' });
  else if (!/^[A-Z]{3}$/.test(currency) || (exponent = currencyExponent(currency)) === undefined)
    problems.push({ path: `${element.path}/@Ccy`, message: 'must be an active ISO 4217 currency code' });
  const text = element.text() ?? '';
  const match = text.length <= 40 ? isoDecimal.exec(text) : null;
  const whole = match?.[1] ?? '';
  const fraction = match?.[2] ?? '';
  if (!match || whole.length + fraction.length === 0) {
    problems.push({ path: element.path, message: 'must be a decimal amount such as 12.50 (no sign or exponent)' });
    return undefined;
  }
  if (whole.replace(/^0+/, '').length + fraction.length > MAX_TOTAL_DIGITS) {
    problems.push({ path: element.path, message: `must have at most ${MAX_TOTAL_DIGITS} digits` });
    return undefined;
  }
  if (exponent === undefined || currency === undefined) return undefined;
  if (fraction.length > exponent) {
    problems.push({
      path: element.path,
      message: `has ${fraction.length} decimals; ${currency} has ${exponent} (ISO 4217)`,
    });
    return undefined;
  }
  const minor = BigInt(whole || '0') * 10n ** BigInt(exponent) + BigInt(fraction.padEnd(exponent, '0') || '0');
  if (minor === 0n) {
    problems.push({ path: element.path, message: 'must be greater than zero' });
    return undefined;
  }
  return { minor, currency };
}

/** An account's id (`Id/IBAN`, else `Id/Othr/Id`) and where it is, or a problem at `expectedPath`. */
export function accountId(
  account: Element | undefined,
  expectedPath: string,
  problems: FieldProblem[],
): { readonly id: string; readonly path: string } | undefined {
  const id = account?.at('Id/IBAN') ?? account?.at('Id/Othr/Id');
  const text = id?.text();
  if (id === undefined || text === undefined || text === '') {
    problems.push({ path: `${account?.path ?? expectedPath}/Id`, message: 'is required (IBAN or Othr/Id)' });
    return undefined;
  }
  return { id: text, path: id.path };
}

/** An ISO DateTime for `eventTime`: one without an offset is read as UTC, since the request needs one. */
export function isoDateTimeAsEventTime(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  return /(Z|[+-]\d{2}:\d{2})$/.test(text) ? text : `${text}Z`;
}

/** The `Cd` of every `SvcLvl` under a `PmtTpInf` (repeated in the 2019 versions). */
export function serviceLevels(paymentType: Element | undefined): string[] {
  return (paymentType?.children('SvcLvl') ?? []).flatMap((level) => level.textAt('Cd') ?? []);
}

/** Everything one transfer-like item of a message needs; each message maps its elements into this. */
export interface TransferFields {
  readonly format: string;
  readonly location: string;
  /** The id parts of this item (message family, MsgId, the item's own id). */
  readonly key: readonly string[];
  /** A return's original, as the original's own key. */
  readonly originalKey?: readonly string[];
  readonly kind: 'transfer' | 'refund';
  readonly amount: { readonly element: Element | undefined; readonly expectedPath: string };
  readonly payerAccount: { readonly element: Element | undefined; readonly expectedPath: string };
  readonly payeeAccount: { readonly element: Element | undefined; readonly expectedPath: string };
  /** SEPA service level: channel sepa and scheme SEPA_CT; anything else is a wire under scheme ISO20022. */
  readonly sepa: boolean;
  readonly endToEndId: Element | undefined;
  readonly uetr: Element | undefined;
  readonly remittance: Element | undefined;
  readonly createdAt: Element | undefined;
  /** References kept on the transaction (name, value, location); ids holding a card number refuse the item. */
  readonly references: ReadonlyArray<readonly [string, string | undefined, string]>;
  /** Problems the message mapper already found. */
  readonly problems?: readonly FieldProblem[];
}

/** Builds the channel item (request, source document, field locations) of one transfer, or its problems. */
export function transferItem(fields: TransferFields, hasher: ContentHasher): ChannelItem {
  const problems: FieldProblem[] = [...(fields.problems ?? [])];
  const references = checkedReferences(fields.references, problems);
  const amount = isoAmount(fields.amount.element, fields.amount.expectedPath, problems);
  const payer = accountId(fields.payerAccount.element, fields.payerAccount.expectedPath, problems);
  const payee = accountId(fields.payeeAccount.element, fields.payeeAccount.expectedPath, problems);
  const remittance = fields.remittance?.children('Ustrd').flatMap((line) => line.text() ?? []);
  const sourceDocument = { format: fields.format, references, location: fields.location };
  if (problems.length > 0 || amount === undefined || payer === undefined || payee === undefined)
    return { location: fields.location, sourceDocument, problems, fieldLocations: {} };

  const money: MoneyRequest = { value: formatMinorUnits(amount.minor, amount.currency), currency: amount.currency };
  const endToEndId = fields.endToEndId?.text();
  const uetr = fields.uetr?.text();
  const eventTime = isoDateTimeAsEventTime(fields.createdAt?.text());
  const request: TransactionRequest = {
    transactionId: channelTransactionId(ISO20022_ID_PREFIX, fields.key, hasher),
    channel: fields.sepa ? 'sepa' : 'wire',
    kind: fields.kind,
    amount: money,
    payer: { accountId: payer.id },
    payee: { accountId: payee.id },
    bankTransfer: {
      scheme: fields.sepa ? 'SEPA_CT' : 'ISO20022',
      ...(endToEndId === undefined || endToEndId === '' ? {} : { endToEndId }),
      ...(remittance === undefined || remittance.length === 0 ? {} : { remittanceInfo: remittance.join(' ') }),
    },
    ...(uetr === undefined || uetr === '' ? {} : { channelReference: uetr }),
    ...(fields.originalKey === undefined
      ? {}
      : { originalTransactionId: channelTransactionId(ISO20022_ID_PREFIX, fields.originalKey, hasher) }),
    ...(eventTime === undefined ? {} : { eventTime }),
  };
  const fieldLocations: Record<string, string> = {
    '': fields.location,
    '/amount': fields.amount.element!.path,
    '/amount/value': fields.amount.element!.path,
    '/amount/currency': `${fields.amount.element!.path}/@Ccy`,
    '/payer/accountId': payer.path,
    '/payee/accountId': payee.path,
  };
  if (fields.endToEndId) fieldLocations['/bankTransfer/endToEndId'] = fields.endToEndId.path;
  if (fields.remittance) fieldLocations['/bankTransfer/remittanceInfo'] = fields.remittance.path;
  if (fields.uetr) fieldLocations['/channelReference'] = fields.uetr.path;
  if (fields.createdAt) fieldLocations['/eventTime'] = fields.createdAt.path;
  return { location: fields.location, request, sourceDocument, problems: [], fieldLocations };
}
