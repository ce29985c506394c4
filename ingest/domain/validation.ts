import type { FieldProblem } from '../../platform/errors.js';
import type {
  BankTransferDetails,
  CardDetails,
  Channel,
  SettlementAmount,
  SourceDocument,
  Transaction,
  TransactionKind,
} from '../../schemas/generated/types.js';
import { parseMinorUnits } from './amount.js';
import { currencyExponent } from '../../schemas/currencies.js';
import { type JsonObject, childPointer, findSecurityCodeFields, isJsonObject, isSecurityCodeField } from './json.js';
import { containsPan, isValidPan, maskPans } from '../../platform/pan.js';

/** Why an identifier holding a card number is refused; names what to do instead, never the number. */
const PAN_IN_IDENTIFIER =
  'holds a card number (13–19 digits passing the Luhn check); identifiers must not carry card data — send the card only in card.number, where it is tokenised';
import type { PanTokenizer } from '../ports.js';
import { reservedAccountPrefix } from '../../schemas/account-ids.js';

/**
 * Validation of the HTTP request shape (`schemas/api.ts` TransactionRequest) into the canonical content of a
 * Transaction. Every problem is collected with its JSON pointer (STYLE 7); no message ever echoes an input value,
 * so nothing a client sends (a card number above all) can come back in a response, a log line or a dead letter.
 */
export interface ValidationLimits {
  /** Largest accepted amount, in major units of any currency. */
  readonly maxAmountMajor: bigint;
  /** How far in the future an eventTime may lie (clock skew between the client and us), ms. */
  readonly maxFutureSkewMs: number;
  /** How old an eventTime may be, ms. */
  readonly maxEventAgeMs: number;
}

export interface ValidationContext {
  readonly nowMs: number;
  readonly limits: ValidationLimits;
  readonly tokenizer: PanTokenizer;
}

/**
 * The validated, tokenised request content: a Transaction without what ingest adds (fingerprint, source,
 * submittedBy, receivedAtMs). `eventTimeMs` stays null when the client sent none, so a retry of the same request has the
 * same content (and fingerprint) whenever it arrives. `originalTransactionId` is absent, not null, when the client
 * sent none: canonical JSON drops absent members, so a transaction fingerprinted before Transaction v3 added the
 * field keeps its fingerprint (a retry across the upgrade is a duplicate, not a conflict). `sourceDocument` (v5)
 * follows the same rule.
 */
export type ValidatedTransaction = Omit<
  Transaction,
  'fingerprint' | 'source' | 'submittedBy' | 'receivedAtMs' | 'eventTimeMs' | 'originalTransactionId' | 'sourceDocument'
> & {
  readonly eventTimeMs: number | null;
  readonly originalTransactionId?: string;
  /** Set by a channel (ISO 20022, CSV), never from a JSON body; absent, not null, so JSON fingerprints stay as they were. */
  readonly sourceDocument?: SourceDocument;
};

/** The kinds that follow up an earlier transaction, and what they name as their original. */
const followUpKinds: ReadonlySet<TransactionKind> = new Set(['CAPTURE', 'REFUND']);

/** Validated content and how the duplicate fingerprint sees its card (`canonical.ts` fingerprintOf). */
export interface ValidContent {
  readonly value: ValidatedTransaction;
  /**
   * The card as the fingerprint sees it: the fingerprint token of the PAN (never-rotated key), or the token as the
   * client sent it; null without a card. Unlike `value.card.token`, it does not change when the tokenisation key
   * rotates.
   */
  readonly fingerprintCardToken: string | null;
}

export type ValidationOutcome =
  | ({ readonly ok: true } & ValidContent)
  | {
      readonly ok: false;
      readonly problems: readonly FieldProblem[];
      /** The request's id when it was a valid one. */ readonly transactionId: string | null;
    };

const channels: Readonly<Record<string, Channel>> = {
  card: 'CARD',
  ach: 'ACH',
  sepa: 'SEPA',
  wire: 'WIRE',
  wallet: 'WALLET',
  p2p: 'P2P',
  cash: 'CASH',
};
const kinds: Readonly<Record<string, TransactionKind>> = {
  purchase: 'PURCHASE',
  authorization: 'AUTHORIZATION',
  capture: 'CAPTURE',
  refund: 'REFUND',
  transfer: 'TRANSFER',
  withdrawal: 'WITHDRAWAL',
  deposit: 'DEPOSIT',
};
/** The kind a request without one gets (schemas/api.ts). */
export function defaultKind(channel: Channel): TransactionKind {
  return channel === 'CARD' ? 'PURCHASE' : channel === 'CASH' ? 'WITHDRAWAL' : 'TRANSFER';
}

const topLevelFields = [
  'transactionId',
  'channel',
  'kind',
  'amount',
  'settlementAmount',
  'payer',
  'payee',
  'card',
  'merchant',
  'device',
  'location',
  'description',
  'bankTransfer',
  'channelReference',
  'originalTransactionId',
  'eventTime',
] as const;

const idPattern = /^[A-Za-z0-9._:-]{1,128}$/;
const idRule = 'must be 1–128 characters of A–Z, a–z, 0–9 and . _ : -';
/** C0 controls and DEL; free text is shown to analysts and must not carry line breaks or terminal escapes. */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * An unpaired UTF-16 surrogate: in a `u` regex a string is read as code points, so only a lone surrogate is one in
 * U+D800–U+DFFF. (`String.prototype.isWellFormed` says the same, but is in the ES2024 lib this build does not use.)
 */
const loneSurrogate = /\p{Cs}/u;

class Problems {
  readonly list: FieldProblem[] = [];

  add(path: string, message: string): void {
    this.list.push({ path, message });
  }

  /** The object at `path`, reporting unknown fields; undefined (reported if required) when absent or not an object. */
  object(value: unknown, path: string, fields: readonly string[], required: boolean): JsonObject | undefined {
    if (value === undefined || value === null) {
      if (required) this.add(path, 'is required');
      return undefined;
    }
    if (!isJsonObject(value)) {
      this.add(path, 'must be an object');
      return undefined;
    }
    for (const key of Object.keys(value)) {
      // Security-code fields get their own, louder problem from the whole-body scan.
      if (!fields.includes(key) && !isSecurityCodeField(key)) this.add(childPointer(path, key), 'is not a known field');
    }
    return value;
  }

  /**
   * An optional (null = absent) or required well-formed string matching `pattern`. A string holding a card number
   * is refused — whatever the field, a card number belongs only in card.number — unless `mayHoldCardNumber` (free
   * text, which is masked instead, and card.token, which has its own message).
   */
  string(
    value: unknown,
    path: string,
    rule: { pattern?: RegExp; message?: string; required?: boolean; mayHoldCardNumber?: boolean } = {},
  ): string | undefined {
    if (value === undefined || value === null) {
      if (rule.required) this.add(path, 'is required');
      return undefined;
    }
    if (typeof value !== 'string') {
      this.add(path, 'must be a string');
      return undefined;
    }
    // A lone UTF-16 surrogate has no UTF-8 form: the Avro record would carry U+FFFD in its place, and the logged
    // content would no longer hash to the fingerprint computed over what the client sent.
    if (loneSurrogate.test(value)) {
      this.add(path, 'must be well-formed Unicode (no unpaired UTF-16 surrogate)');
      return undefined;
    }
    if (rule.pattern && !rule.pattern.test(value)) {
      this.add(path, rule.message ?? 'has an invalid format');
      return undefined;
    }
    if (!rule.mayHoldCardNumber && containsPan(value)) {
      this.add(path, PAN_IN_IDENTIFIER);
      return undefined;
    }
    return value;
  }

  /** Optional free text of at most `maxChars` characters without control characters, card numbers masked. */
  text(value: unknown, path: string, maxChars: number): string | undefined {
    const text = this.unmaskedText(value, path, maxChars);
    // Free text is kept, but never with a whole card number in it (PCI DSS 3.4): masked to first 6 / last 4.
    return text === undefined ? undefined : maskPans(text);
  }

  private unmaskedText(value: unknown, path: string, maxChars: number): string | undefined {
    const text = this.string(value, path, { mayHoldCardNumber: true });
    if (text === undefined) return undefined;
    if (hasControlCharacter(text)) {
      this.add(path, 'must not contain control characters');
      return undefined;
    }
    if (text.length === 0 || text.length > maxChars) {
      this.add(path, `must be 1–${maxChars} characters`);
      return undefined;
    }
    return text;
  }

  /** Free-form reference text (an end-to-end id, a channel reference): like an identifier, refused with a PAN. */
  reference(
    value: unknown,
    path: string,
    rule: { maxChars: number } | { pattern: RegExp; message: string },
  ): string | undefined {
    if (!('maxChars' in rule)) return this.string(value, path, rule);
    const text = this.unmaskedText(value, path, rule.maxChars);
    if (text !== undefined && containsPan(text)) {
      this.add(path, PAN_IN_IDENTIFIER);
      return undefined;
    }
    return text;
  }

  /** An identifier: refused when it holds a card number, since masking would change what it identifies. */
  id(value: unknown, path: string, required: boolean): string | undefined {
    return this.string(value, path, { pattern: idPattern, message: idRule, required });
  }

  number(value: unknown, path: string, min: number, max: number): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      this.add(path, `must be a number in [${min}, ${max}]`);
      return undefined;
    }
    return value;
  }

  boolean(value: unknown, path: string): boolean | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') {
      this.add(path, 'must be true or false');
      return undefined;
    }
    return value;
  }
}

interface Money {
  readonly minor: bigint;
  readonly currency: string;
}

function validateMoney(
  value: unknown,
  path: string,
  required: boolean,
  problems: Problems,
  limits: ValidationLimits,
): Money | undefined {
  const money = problems.object(value, path, ['value', 'currency'], required);
  if (!money) return undefined;
  let exponent: number | undefined;
  const currency = money['currency'];
  if (currency === undefined || currency === null) problems.add(`${path}/currency`, 'is required');
  else if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency))
    problems.add(`${path}/currency`, 'must be a three-letter upper-case ISO 4217 code');
  else if ((exponent = currencyExponent(currency)) === undefined)
    problems.add(`${path}/currency`, 'is not an active ISO 4217 currency');
  if (money['value'] === undefined || money['value'] === null) {
    problems.add(`${path}/value`, 'is required');
    return undefined;
  }
  // Without a known currency the fraction rule is unknown; check the shape with the widest exponent (4).
  const parsed = parseMinorUnits(money['value'], exponent ?? 4, limits.maxAmountMajor);
  if (!parsed.ok) problems.add(`${path}/value`, parsed.message);
  return parsed.ok && exponent !== undefined ? { minor: parsed.minor, currency: currency as string } : undefined;
}

function validateCard(
  value: unknown,
  required: boolean,
  problems: Problems,
  tokenizer: PanTokenizer,
): { readonly details: CardDetails; readonly fingerprintToken: string } | null | undefined {
  const card = problems.object(value, '/card', ['number', 'token', 'bin', 'last4', 'present'], required);
  if (!card) return value === undefined || value === null ? null : undefined;
  const present = problems.boolean(card['present'], '/card/present') ?? false;
  const bin = problems.string(card['bin'], '/card/bin', {
    pattern: /^[0-9]{6}$/,
    message: 'must be the 6 digits of the BIN',
  });
  const last4 = problems.string(card['last4'], '/card/last4', { pattern: /^[0-9]{4}$/, message: 'must be 4 digits' });
  const number = card['number'];
  const token = card['token'];
  if (number !== undefined && number !== null) {
    if (token !== undefined && token !== null) problems.add('/card/token', 'send either number or token, not both');
    // The message never repeats the value: it may be a real card number with a typo.
    const digits = typeof number === 'string' ? number.replace(/[ -]/g, '') : '';
    if (!isValidPan(digits)) {
      problems.add('/card/number', 'not a valid card number');
      return undefined;
    }
    const panBin = digits.slice(0, 6);
    const panLast4 = digits.slice(-4);
    if (bin !== undefined && bin !== panBin) problems.add('/card/bin', 'does not match the card number');
    if (last4 !== undefined && last4 !== panLast4) problems.add('/card/last4', 'does not match the card number');
    return {
      details: { token: tokenizer.tokenize(digits), bin: panBin, last4: panLast4, present },
      fingerprintToken: tokenizer.fingerprintToken(digits),
    };
  }
  if (token === undefined || token === null) {
    problems.add('/card', 'needs either number, or token with bin and last4');
    return undefined;
  }
  let validToken = problems.string(token, '/card/token', {
    pattern: /^[A-Za-z0-9._:-]{8,128}$/,
    message: 'must be 8–128 characters of A–Z, a–z, 0–9 and . _ : -',
    mayHoldCardNumber: true, // refused just below, with a message about tokens
  });
  if (validToken !== undefined && (/^[0-9]{12,19}$/.test(validToken) || containsPan(validToken))) {
    problems.add('/card/token', 'looks like a card number; send card numbers as /card/number to have them tokenised');
    validToken = undefined;
  }
  if (card['bin'] === undefined || card['bin'] === null) problems.add('/card/bin', 'is required with a token');
  if (card['last4'] === undefined || card['last4'] === null) problems.add('/card/last4', 'is required with a token');
  return validToken !== undefined && bin !== undefined && last4 !== undefined
    ? { details: { token: validToken, bin, last4, present }, fingerprintToken: validToken }
    : undefined;
}

const dottedQuad = /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$/;

/** IPv4 dotted quad or IPv6 text form (RFC 4291 §2.2, including `::` and an embedded IPv4 tail; no zone id). */
export function isIpAddress(text: string): boolean {
  if (dottedQuad.test(text)) return true;
  if (text.length > 45 || !text.includes(':')) return false;
  let hex = text;
  if (text.includes('.')) {
    const lastColon = text.lastIndexOf(':');
    if (!dottedQuad.test(text.slice(lastColon + 1))) return false;
    hex = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = hex.split('::');
  if (halves.length > 2) return false;
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  if (![...left, ...right].every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  return halves.length === 2 ? left.length + right.length <= 7 : left.length === 8;
}

const isoDateTime = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * Epoch ms of an RFC 3339 / ISO 8601 date-time with seconds and an explicit offset ("Z" or "±hh:mm"), or
 * undefined when it is not one or names an impossible date (2026-02-30, 24:00, leap second 60).
 */
export function parseEventTime(text: string): number | undefined {
  const m = isoDateTime.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59)
    return undefined;
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  let offsetMinutes = 0;
  if (m[8] !== 'Z') {
    const offsetHours = Number(m[10]);
    const offsetMins = Number(m[11]);
    if (offsetHours > 23 || offsetMins > 59) return undefined;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
}

/**
 * Validates one request body. Collects every problem (unknown fields, security codes anywhere, each field's
 * rule) and only when there are none returns the canonical content with the card number already tokenised.
 */
export function validateTransactionRequest(body: unknown, context: ValidationContext): ValidationOutcome {
  const problems = new Problems();
  const { limits } = context;
  const securityCodes = findSecurityCodeFields(body);
  for (const path of securityCodes.paths)
    problems.add(path, 'card security codes (CVV/CVC) must never be sent (PCI DSS); remove this field');
  if (securityCodes.tooDeep) problems.add('', 'is nested too deeply');

  if (!isJsonObject(body)) {
    problems.add('', 'must be an object');
    return { ok: false, problems: problems.list, transactionId: null };
  }
  const root = problems.object(body, '', topLevelFields, true) ?? body;

  const transactionId = problems.id(root['transactionId'], '/transactionId', true);

  const channelName = problems.string(root['channel'], '/channel', {
    pattern: /^[a-z0-9]+$/,
    message: `must be one of ${Object.keys(channels).join(', ')}`,
    required: true,
  });
  let channel: Channel | undefined;
  if (channelName !== undefined) {
    channel = Object.hasOwn(channels, channelName) ? channels[channelName] : undefined;
    if (channel === undefined) problems.add('/channel', `must be one of ${Object.keys(channels).join(', ')}`);
  }
  const kindName = problems.string(root['kind'], '/kind', {
    pattern: /^[a-z]+$/,
    message: `must be one of ${Object.keys(kinds).join(', ')}`,
  });
  let kind: TransactionKind | undefined;
  if (kindName !== undefined) {
    kind = Object.hasOwn(kinds, kindName) ? kinds[kindName] : undefined;
    if (kind === undefined) problems.add('/kind', `must be one of ${Object.keys(kinds).join(', ')}`);
  }

  const amount = validateMoney(root['amount'], '/amount', true, problems, limits);
  const settlementAmount = validateMoney(root['settlementAmount'], '/settlementAmount', false, problems, limits);
  if (amount && settlementAmount && amount.currency === settlementAmount.currency) {
    problems.add('/settlementAmount/currency', 'must differ from /amount/currency (a settlement amount is the FX leg)');
  }

  const payer = problems.object(root['payer'], '/payer', ['accountId', 'customerId'], true);
  const payerAccountId = payer ? problems.id(payer['accountId'], '/payer/accountId', true) : undefined;
  const customerId = payer ? problems.id(payer['customerId'], '/payer/customerId', false) : undefined;
  const payee = problems.object(root['payee'], '/payee', ['accountId'], true);
  const payeeAccountId = payee ? problems.id(payee['accountId'], '/payee/accountId', true) : undefined;
  // The ledger names its own accounts with these; such a transaction could be accepted but never posted.
  for (const [path, id] of [
    ['/payer/accountId', payerAccountId],
    ['/payee/accountId', payeeAccountId],
  ] as const) {
    const reserved = id === undefined ? undefined : reservedAccountPrefix(id);
    if (reserved !== undefined)
      problems.add(path, `must not start with ${reserved} (reserved for the ledger's own accounts)`);
  }

  const card = validateCard(root['card'], channel === 'CARD', problems, context.tokenizer);

  const merchant = problems.object(root['merchant'], '/merchant', ['id', 'terminalId', 'mcc'], false);
  const merchantId = merchant ? problems.id(merchant['id'], '/merchant/id', false) : undefined;
  const terminalId = merchant ? problems.id(merchant['terminalId'], '/merchant/terminalId', false) : undefined;
  const mcc = merchant
    ? problems.string(merchant['mcc'], '/merchant/mcc', {
        pattern: /^[0-9]{4}$/,
        message: 'must be a 4-digit ISO 18245 merchant category code',
      })
    : undefined;

  const device = problems.object(root['device'], '/device', ['id', 'ip'], false);
  const deviceId = device ? problems.id(device['id'], '/device/id', false) : undefined;
  const ipAddress = device
    ? problems.string(device['ip'], '/device/ip', {
        pattern: /^[0-9A-Fa-f:.]{2,45}$/,
        message: 'must be an IPv4 or IPv6 address',
      })
    : undefined;
  if (ipAddress !== undefined && !isIpAddress(ipAddress)) problems.add('/device/ip', 'must be an IPv4 or IPv6 address');

  const location = problems.object(root['location'], '/location', ['country', 'latitude', 'longitude'], false);
  const country = location
    ? problems.string(location['country'], '/location/country', {
        pattern: /^[A-Z]{2}$/,
        message: 'must be an ISO 3166-1 alpha-2 code (two upper-case letters)',
      })
    : undefined;
  const latitude = location ? problems.number(location['latitude'], '/location/latitude', -90, 90) : undefined;
  const longitude = location ? problems.number(location['longitude'], '/location/longitude', -180, 180) : undefined;
  if (location) {
    const hasLatitude = location['latitude'] !== undefined && location['latitude'] !== null;
    const hasLongitude = location['longitude'] !== undefined && location['longitude'] !== null;
    if (hasLatitude !== hasLongitude)
      problems.add(hasLatitude ? '/location/longitude' : '/location/latitude', 'is required with the other coordinate');
  }

  const description = problems.text(root['description'], '/description', 500);

  const transfer = problems.object(
    root['bankTransfer'],
    '/bankTransfer',
    ['scheme', 'endToEndId', 'remittanceInfo'],
    false,
  );
  let bankTransfer: BankTransferDetails | null = null;
  if (transfer) {
    const scheme = problems.string(transfer['scheme'], '/bankTransfer/scheme', {
      pattern: /^[A-Z0-9_]{2,32}$/,
      message: 'must be 2–32 characters of A–Z, 0–9 and _ (e.g. SEPA_CT, ACH, SWIFT)',
      required: true,
    });
    // ISO 20022 Max35Text / Max140Text.
    const endToEndId = problems.reference(transfer['endToEndId'], '/bankTransfer/endToEndId', { maxChars: 35 });
    const remittanceInfo = problems.text(transfer['remittanceInfo'], '/bankTransfer/remittanceInfo', 140);
    if (scheme !== undefined)
      bankTransfer = { scheme, endToEndId: endToEndId ?? null, remittanceInfo: remittanceInfo ?? null };
  }
  const channelReference = problems.reference(root['channelReference'], '/channelReference', {
    pattern: /^[\x21-\x7e]{1,128}$/,
    message: 'must be 1–128 printable ASCII characters without spaces',
  });

  // A CAPTURE names the AUTHORIZATION whose hold it settles, a REFUND the payment it pays back; the ledger links
  // them. Both travel on the payer's partition, so the capture must come from the authorisation's payer account.
  const originalTransactionId = problems.id(root['originalTransactionId'], '/originalTransactionId', false);
  if (originalTransactionId !== undefined) {
    const effectiveKind = kind ?? (channel === undefined ? undefined : defaultKind(channel));
    if (effectiveKind !== undefined && !followUpKinds.has(effectiveKind))
      problems.add('/originalTransactionId', 'only a capture (of its authorization) or a refund names an original');
    else if (originalTransactionId === transactionId)
      problems.add('/originalTransactionId', 'must name another transaction than /transactionId');
  }

  let eventTimeMs: number | null = null;
  const eventTime = root['eventTime'];
  if (eventTime !== undefined && eventTime !== null) {
    const parsed = typeof eventTime === 'string' ? parseEventTime(eventTime) : undefined;
    if (parsed === undefined)
      problems.add(
        '/eventTime',
        'must be an ISO 8601 date-time with seconds and an offset, e.g. 2026-11-24T09:00:00.000Z',
      );
    else if (parsed > context.nowMs + limits.maxFutureSkewMs)
      problems.add('/eventTime', `must not be more than ${limits.maxFutureSkewMs} ms in the future`);
    else if (parsed < context.nowMs - limits.maxEventAgeMs)
      problems.add('/eventTime', `must not be more than ${limits.maxEventAgeMs} ms in the past`);
    else eventTimeMs = parsed;
  }

  if (
    problems.list.length > 0 ||
    transactionId === undefined ||
    channel === undefined ||
    !amount ||
    payerAccountId === undefined ||
    payeeAccountId === undefined ||
    card === undefined
  ) {
    return { ok: false, problems: problems.list, transactionId: transactionId ?? null };
  }
  const settlement: SettlementAmount | null = settlementAmount
    ? { amountMinor: settlementAmount.minor, currency: settlementAmount.currency }
    : null;
  const resolvedKind = kind ?? defaultKind(channel);
  return {
    ok: true,
    fingerprintCardToken: card?.fingerprintToken ?? null,
    value: {
      transactionId,
      channel,
      kind: resolvedKind,
      amountMinor: amount.minor,
      currency: amount.currency,
      settlement,
      payerAccountId,
      payeeAccountId,
      // Unnamed, the customer is the account on the customer's side: the payer, except for a DEPOSIT, whose payer is
      // the bank's cash account and whose payee is the customer's account.
      customerId: customerId ?? (resolvedKind === 'DEPOSIT' ? payeeAccountId : payerAccountId),
      card: card?.details ?? null,
      merchantId: merchantId ?? null,
      terminalId: terminalId ?? null,
      mcc: mcc ?? null,
      deviceId: deviceId ?? null,
      ipAddress: ipAddress ?? null,
      country: country ?? null,
      latitude: latitude ?? null,
      longitude: longitude ?? null,
      description: description ?? null,
      bankTransfer,
      channelReference: channelReference ?? null,
      ...(originalTransactionId === undefined ? {} : { originalTransactionId }),
      eventTimeMs,
    },
  };
}
