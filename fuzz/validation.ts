import fc from 'fast-check';
import { luhnCheckDigit, maskDigitRuns } from '../platform/pan.js';
import { reservedAccountPrefix } from '../schemas/account-ids.js';
import { currencyExponents } from '../schemas/currencies.js';
import { HmacPanTokenizer, sha256Hasher } from '../ingest/adapters/crypto.js';
import {
  type ValidationContext,
  type ValidationLimits,
  type ValidationOutcome,
  validateTransactionRequest,
} from '../ingest/domain/validation.js';
import { type FuzzTarget, defineTarget } from './target.js';
import { fingerprintOf, toTransaction } from '../ingest/domain/canonical.js';
import { Topics } from '../schemas/topics.js';
import { codecFor } from './codec.js';
import { firstDifference } from './same-value.js';
import { ALNUM, DIGITS, ID_CHARS, PRINTABLE, UPPER, charsOf } from './text.js';

/**
 * Properties of ingest's request validation (ingest/domain/validation.ts) over arbitrary JSON and over valid
 * requests with one field mutated: it never throws; it accepts or lists problems; every problem's path is a JSON
 * pointer into the request (or names a missing field of an object that is there); no problem carries a card number.
 */
export type Validate = (body: unknown, context: ValidationContext) => ValidationOutcome;

export const NOW_MS = Date.UTC(2026, 10, 24, 9, 0, 0);
export const limits: ValidationLimits = Object.freeze({
  maxAmountMajor: 1_000_000_000n,
  maxFutureSkewMs: 5 * 60_000,
  maxEventAgeMs: 30 * 86_400_000,
});
export const context: ValidationContext = Object.freeze({
  nowMs: NOW_MS,
  limits,
  tokenizer: new HmacPanTokenizer('fuzz-tokenization-key-0123456789abcdef'),
});

// ---------------------------------------------------------------------------------------------------------------
// Generators

/** A Luhn-valid card number of 12–19 digits starting with a major network's digit (ISO/IEC 7812-1). */
export const pan: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 12, max: 19 }))
  .chain(([first, length]) => charsOf(DIGITS, length - 2, length - 2).map((middle) => `${first}${middle}`))
  .map((partial) => partial + String(luhnCheckDigit(partial)));

/** A card number as a client may write it: plain, or grouped by spaces or dashes in fours. */
const writtenPan: fc.Arbitrary<{ digits: string; written: string }> = fc
  .tuple(pan, fc.constantFrom('', ' ', '-'))
  .map(([digits, separator]) => ({ digits, written: digits.replace(/(\d{4})(?=\d)/g, `$1${separator}`) }));

const id = charsOf(ID_CHARS, 1, 24);
/** An account id a client may use: not one of the ledger's own (`fx:…`), which validation refuses. */
const accountId = id.filter((candidate) => reservedAccountPrefix(candidate) === undefined);
const currencyCodes = Object.keys(currencyExponents);

/** A decimal amount string valid for `currency`: > 0, within the limit, at most the exponent's fraction digits. */
function amountValue(currency: string): fc.Arbitrary<string> {
  const exponent = currencyExponents[currency]!;
  const scale = 10n ** BigInt(exponent);
  return fc
    .tuple(fc.bigInt({ min: 1n, max: limits.maxAmountMajor * scale }), fc.nat({ max: exponent }))
    .map(([minor, trailingZeros]) => {
      const whole = (minor / scale).toString();
      const fraction = (minor % scale).toString().padStart(exponent, '0').replace(/0+$/, '');
      // Some clients send "12.30" for 12.3; both are valid as long as the exponent allows the digits.
      const padded = fraction.length > 0 || trailingZeros > 0 ? fraction.padEnd(trailingZeros, '0') : '';
      return padded.length > 0 ? `${whole}.${padded}` : whole;
    });
}

const money = fc
  .constantFrom(...currencyCodes)
  .chain((currency) => amountValue(currency).map((value) => ({ value, currency })));

const eventTime = fc
  .integer({ min: NOW_MS - limits.maxEventAgeMs, max: NOW_MS + limits.maxFutureSkewMs })
  .map((ms) => new Date(ms).toISOString());

/** Text that validation accepts as free text: printable, no card number (digits kept short). */
const freeText = (maxLength: number): fc.Arbitrary<string> =>
  fc
    .string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz ABC.,:;/-0123456789éü€'), minLength: 1, maxLength })
    // Seven digits, grouped or not, are far from the 12 a card number needs.
    .filter((text) => !/\d(?:[ -]?\d){6}/.test(text));

/** Free text with any UTF-16 code units, lone surrogates included, as JSON.parse gives it for "\ud800". */
const anyUtf16Text = fc.string({
  unit: fc.integer({ min: 0x20, max: 0xffff }).map((c) => String.fromCharCode(c)),
  minLength: 1,
  maxLength: 20,
});

const card = fc.oneof(
  fc.record({ number: writtenPan.map((p) => p.written), present: fc.boolean() }, { requiredKeys: ['number'] }),
  fc.record({
    token: charsOf(ALNUM + '_-', 8, 40).map((t) => `tok_${t}`),
    bin: charsOf(DIGITS, 6, 6),
    last4: charsOf(DIGITS, 4, 4),
    present: fc.boolean(),
  }),
);

/** A request validation accepts (the `validation accepts valid requests` target checks the generator). */
export const validRequest: fc.Arbitrary<Record<string, unknown>> = requests(freeText(60));

/** Valid requests of every channel, optional fields present or not; `description` generates the free text. */
function requests(description: fc.Arbitrary<string>): fc.Arbitrary<Record<string, unknown>> {
  return fc.constantFrom('card', 'ach', 'sepa', 'wire', 'wallet', 'p2p', 'cash').chain((channel) =>
    fc
      .record(
        {
          transactionId: id,
          channel: fc.constant(channel),
          kind: fc.constantFrom('purchase', 'authorization', 'capture', 'refund', 'transfer', 'withdrawal', 'deposit'),
          amount: money,
          settlementAmount: money,
          payer: fc.record({ accountId, customerId: id }, { requiredKeys: ['accountId'] }),
          payee: fc.record({ accountId }),
          card: card,
          merchant: fc.record({ id: id, terminalId: id, mcc: charsOf(DIGITS, 4, 4) }, { requiredKeys: [] }),
          device: fc.record({ id: id, ip: fc.oneof(fc.ipV4(), fc.ipV6()) }, { requiredKeys: [] }),
          location: fc.record({
            country: charsOf(UPPER, 2, 2),
            latitude: fc.double({ min: -90, max: 90, noNaN: true }),
            longitude: fc.double({ min: -180, max: 180, noNaN: true }),
          }),
          description,
          bankTransfer: fc.record(
            {
              scheme: charsOf(UPPER + DIGITS + '_', 2, 32),
              endToEndId: freeText(35),
              remittanceInfo: freeText(140),
            },
            { requiredKeys: ['scheme'] },
          ),
          channelReference: charsOf(PRINTABLE, 1, 40),
          eventTime,
        },
        {
          requiredKeys:
            channel === 'card'
              ? ['transactionId', 'channel', 'amount', 'payer', 'payee', 'card']
              : ['transactionId', 'channel', 'amount', 'payer', 'payee'],
        },
      )
      .map(({ settlementAmount, ...request }) =>
        // A settlement amount is the FX leg: only in another currency than the amount.
        settlementAmount === undefined || settlementAmount.currency === request.amount.currency
          ? request
          : { ...request, settlementAmount },
      ),
  );
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every JSON pointer token path (as raw keys) in a value, the root excluded. */
function allPaths(value: unknown, prefix: readonly (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [];
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((item, i) => [i, item])
    : Object.entries(value);
  return entries.flatMap(([key, child]) => [[...prefix, key], ...allPaths(child, [...prefix, key])]);
}

/** Field names a client may misspell, card data among them; cvv and friends must be refused wherever they are. */
const suspiciousKey = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('cvv', 'CVV2', 'card_cvc', 'security-code', '__proto__', 'constructor', 'a/b', 'x~1', ''),
  writtenPan.map((p) => p.written),
);

/** Values a mutated field may get: any JSON, card numbers (plain and mistyped) and near-valid strings. */
const hostileValue: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue() as fc.Arbitrary<Json>,
  writtenPan.map((p) => p.written),
  pan.map((digits) => digits.slice(0, -1) + String((Number(digits.at(-1)) + 1) % 10)),
  fc.constantFrom('', ' ', '12.345', '0', '-1', '1e3', 'EUR', 'eur', 'card', 'CARD', '2026-02-30T00:00:00Z', '::1'),
);

export type Mutation =
  | { readonly kind: 'delete'; readonly at: number }
  | { readonly kind: 'replace'; readonly at: number; readonly value: Json }
  | { readonly kind: 'add key'; readonly at: number; readonly key: string; readonly value: Json };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: hostileValue }),
  fc.record({ kind: fc.constant('add key' as const), at: fc.nat(), key: suspiciousKey, value: hostileValue }),
);

/** A deep copy of `request` with one mutation applied; returns the mutated path (raw keys). */
export function mutate(request: Record<string, unknown>, m: Mutation): { body: unknown; path: (string | number)[] } {
  const body = structuredClone<Record<string, unknown>>(request);
  const paths = allPaths(body);
  const objects = [[] as (string | number)[], ...paths.filter((p) => isObjectAt(body, p))];
  const parentOf = (path: (string | number)[]): Record<string | number, unknown> =>
    path.slice(0, -1).reduce<Record<string | number, unknown>>((node, key) => node[key] as never, body);
  switch (m.kind) {
    case 'delete': {
      const path = paths[m.at % paths.length]!;
      const parent = parentOf(path);
      if (Array.isArray(parent)) parent.splice(Number(path.at(-1)), 1);
      else delete parent[path.at(-1)!];
      return { body, path };
    }
    case 'replace': {
      const path = paths[m.at % paths.length]!;
      parentOf(path)[path.at(-1)!] = m.value;
      return { body, path };
    }
    case 'add key': {
      const objectPath = objects[m.at % objects.length]!;
      const target = objectPath.reduce<Record<string, unknown>>((node, key) => node[key] as never, body);
      // defineProperty, as JSON.parse does, so "__proto__" becomes a field rather than the prototype.
      Object.defineProperty(target, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
      return { body, path: [...objectPath, m.key] };
    }
  }
}

function isObjectAt(root: unknown, path: readonly (string | number)[]): boolean {
  const node = path.reduce<unknown>((n, key) => (n as Record<string | number, unknown>)[key], root);
  return typeof node === 'object' && node !== null && !Array.isArray(node);
}

// ---------------------------------------------------------------------------------------------------------------
// Oracles

/** How validation writes one reference token: RFC 6901 escaping, then client-chosen keys digit-masked. */
const pointerToken = (key: string): string => maskDigitRuns(key.replace(/~/g, '~0').replace(/\//g, '~1'));

const pointerOf = (path: readonly (string | number)[]): string =>
  path.map((key) => `/${typeof key === 'number' ? key : pointerToken(key)}`).join('');

/**
 * Resolves a problem path against the request: 'present' when every token names a member (keys compared in the
 * form validation writes them), 'missing' when only the last token is absent or null in an object that is there.
 */
export function resolvePointer(root: unknown, pointer: string): 'present' | 'missing' | 'dangling' {
  if (pointer === '') return 'present';
  if (!pointer.startsWith('/')) return 'dangling';
  const tokens = pointer.slice(1).split('/');
  let node: unknown = root;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const last = i === tokens.length - 1;
    if (Array.isArray(node)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) >= node.length) return 'dangling';
      node = node[Number(token)];
      continue;
    }
    if (typeof node !== 'object' || node === null) return 'dangling';
    const key = Object.keys(node).find((k) => pointerToken(k) === token);
    const value = key === undefined ? undefined : (node as Record<string, unknown>)[key];
    if (value === undefined || value === null) return last ? (key === undefined ? 'missing' : 'present') : 'dangling';
    node = value;
  }
  return 'present';
}

/** 12 or more digits in a row, ignoring the spaces and dashes a card number may be grouped with. */
const digitRun = /\d{12,}/;
const carriesCardNumber = (text: string): boolean => digitRun.test(text.replace(/[ -]/g, ''));

/** Checks one outcome; returns what is wrong, or undefined. */
export function judgeOutcome(body: unknown, outcome: ValidationOutcome): string | undefined {
  if (outcome.ok) return undefined;
  if (outcome.problems.length === 0) return 'refused without a problem';
  for (const problem of outcome.problems) {
    if (typeof problem.message !== 'string' || problem.message.length === 0) return `empty message at ${problem.path}`;
    if (resolvePointer(body, problem.path) === 'dangling')
      return `problem path ${problem.path} is not in the request (${problem.message})`;
    if (carriesCardNumber(problem.path) || carriesCardNumber(problem.message))
      return `problem carries a card number: ${problem.path} ${problem.message}`;
  }
  return undefined;
}

function validateSafely(validate: Validate, body: unknown): ValidationOutcome {
  try {
    return validate(body, context);
  } catch (error) {
    throw new Error(`validation threw: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Targets

/** The generator itself is checked: every generated valid request is accepted (else mutations test nothing). */
export function validRequestsTarget(validate: Validate = validateTransactionRequest): FuzzTarget {
  return defineTarget('validation accepts valid requests', () =>
    fc.property(validRequest, (request) => {
      const outcome = validateSafely(validate, request);
      if (!outcome.ok) throw new Error(`refused: ${JSON.stringify(outcome.problems)}`);
    }),
  );
}

/** Arbitrary JSON (and objects with the request's own field names) → accepted or well-formed problems. */
export function arbitraryJsonTarget(validate: Validate = validateTransactionRequest): FuzzTarget {
  const requestShaped = fc.dictionary(
    fc.oneof(
      fc.constantFrom('transactionId', 'channel', 'amount', 'payer', 'payee', 'card', 'merchant', 'location', 'cvv'),
      fc.string({ maxLength: 8 }),
    ),
    fc.jsonValue({ maxDepth: 3 }),
    { noNullPrototype: true },
  );
  return defineTarget('validation of arbitrary JSON', () =>
    fc.property(fc.oneof(fc.jsonValue(), requestShaped), (body) => {
      const breach = judgeOutcome(body, validateSafely(validate, body));
      if (breach !== undefined) throw new Error(breach);
    }),
  );
}

/** A valid request with one field deleted, replaced or added → accepted, or problems that point at it. */
export function mutatedRequestTarget(validate: Validate = validateTransactionRequest): FuzzTarget {
  return defineTarget('validation of near-valid requests', () =>
    fc.property(validRequest, mutation, (request, m) => {
      const { body, path } = mutate(request, m);
      const outcome = validateSafely(validate, body);
      const breach = judgeOutcome(body, outcome);
      if (breach !== undefined) throw new Error(breach);
      // The request was valid before, so a refusal is about the mutated field, its object or what depends on it.
      const parent = pointerOf(path.slice(0, -1));
      if (!outcome.ok && !outcome.problems.some((p) => p.path === parent || p.path.startsWith(parent + '/')))
        throw new Error(`mutated ${pointerOf(path)}, but no problem is at or under ${parent || 'the root'}`);
    }),
  );
}

/** Card numbers (valid and mistyped) placed in every field and as field names never come back in a problem. */
export function cardNumberTarget(validate: Validate = validateTransactionRequest): FuzzTarget {
  return defineTarget('validation never echoes a card number', () =>
    fc.property(
      validRequest,
      writtenPan,
      fc.nat(),
      fc.boolean(),
      fc.boolean(),
      (request, { written }, at, asKey, mistype) => {
        const value = mistype ? written.slice(0, -1) + String((Number(written.at(-1)) + 1) % 10) : written;
        const m: Mutation = asKey ? { kind: 'add key', at, key: value, value } : { kind: 'replace', at, value };
        const { body } = mutate(request, m);
        const outcome = validateSafely(validate, body);
        const breach = judgeOutcome(body, outcome);
        if (breach !== undefined) throw new Error(breach);
      },
    ),
  );
}

/**
 * What validation accepts survives the trip to the log: validated content → Transaction → tx.raw codec → the
 * same Transaction. `description` picks the free text; the pending variant sends any UTF-16 (lone surrogates).
 */
export function acceptedRoundTripTarget(
  description: fc.Arbitrary<string> = freeText(60),
  name = 'validation: accepted requests round-trip through tx.raw',
): FuzzTarget {
  return defineTarget(name, async () => {
    const codec = await codecFor(Topics.transactionsRaw);
    return fc.asyncProperty(requests(description), async (request) => {
      const outcome = validateSafely(validateTransactionRequest, request);
      if (!outcome.ok) return; // the `accepts valid requests` target reports refusals
      const transaction = toTransaction(outcome.value, {
        fingerprint: fingerprintOf(outcome, sha256Hasher),
        source: 'API',
        submittedBy: null,
        receivedAtMs: NOW_MS,
      });
      const decoded = await codec.decode(codec.encode(transaction));
      const difference = firstDifference(decoded, transaction);
      if (difference !== undefined) throw new Error(`the logged transaction differs at ${difference}`);
    });
  });
}

/** Free text in any UTF-16, lone surrogates included: what validation accepts (no lone surrogate) must round-trip. */
export const loneSurrogateRoundTripTarget = (): FuzzTarget =>
  acceptedRoundTripTarget(anyUtf16Text, 'validation: accepted requests round-trip through tx.raw (any UTF-16 text)');

export const validationTargets: readonly FuzzTarget[] = [
  validRequestsTarget(),
  arbitraryJsonTarget(),
  mutatedRequestTarget(),
  cardNumberTarget(),
  acceptedRoundTripTarget(),
  loneSurrogateRoundTripTarget(),
];
