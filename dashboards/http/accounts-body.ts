import { currencyExponent, formatMinorUnits, isCurrencyCode } from '../../schemas/currencies.js';
import { AccountType } from '../../schemas/generated/types.js';
import { type FieldProblem, ValidationError } from '../../platform/errors.js';
import { containsPan } from '../../platform/pan.js';
import { accountTypeNames, accountTypeOf } from '../domain/accounts.js';
import { parseMajorToMinor } from '../domain/money.js';

/** What a valid `PUT /v1/accounts/:id` body sets: the fields of the Avro `Account` an admin chooses. */
export interface AccountSetting {
  readonly type: AccountType;
  readonly currency: string;
  /** Minor units ≥ 0 of `currency`; null: no policy (unlimited). */
  readonly overdraftLimitMinor: bigint | null;
  /** The scheme of a clearing or settlement account; null: none. */
  readonly scheme: string | null;
}

/** Types that serve one payment scheme, and so may name it. */
const SCHEME_TYPES: readonly AccountType[] = [AccountType.CLEARING, AccountType.SETTLEMENT];
/** Scheme names as transactions carry them (`SEPA_CT`, `TARGET2`, `CARD`): upper case, a letter first. */
const schemeName = /^[A-Z][A-Z0-9_]{1,31}$/;

/** Avro `long` (the record's overdraftLimitMinor) holds at most 2^63 − 1. */
const MAX_LONG = 2n ** 63n - 1n;
/** No sign, exponent, spaces, separators or leading zeros; the length cap keeps BigInt parsing of hostile input cheap. */
const plainDecimal = /^(?:0|[1-9]\d*)(?:\.\d+)?$/;
const MAX_VALUE_CHARS = 40;

const pointer = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Adds an "is not a known field" problem under `at` for every key of `input` outside `known`. */
function refuseUnknown(input: Record<string, unknown>, known: readonly string[], at: string, problems: FieldProblem[]) {
  for (const key of Object.keys(input))
    if (!known.includes(key)) problems.push({ path: `${at}/${pointer(key)}`, message: 'is not a known field' });
}

/**
 * Validates a `PUT /v1/accounts/:id` body (`AccountRequest`, schemas/api.ts), reporting every problem with its
 * JSON pointer (`/type`, `/currency`, `/policy/overdraftLimit/value`, …; unknown fields too). The limit is read
 * exactly into minor units of the account's currency (parseMajorToMinor), never through a float.
 * @throws ValidationError listing every problem.
 */
export function parseAccountRequest(body: unknown): AccountSetting {
  if (!isObject(body))
    throw new ValidationError('account request must be a JSON object', [
      { path: '', message: 'must be a JSON object' },
    ]);
  const problems: FieldProblem[] = [];
  const type = accountTypeOf(body['type']);
  if (type === undefined) problems.push({ path: '/type', message: `must be one of ${accountTypeNames.join(', ')}` });
  const currency = body['currency'];
  const currencyOk = typeof currency === 'string' && isCurrencyCode(currency);
  if (!currencyOk)
    problems.push({ path: '/currency', message: 'must be an active ISO 4217 code in upper case, e.g. "EUR"' });
  const overdraftLimitMinor = readPolicy(body['policy'], currencyOk ? currency : undefined, problems);
  const scheme = readScheme(body['scheme'], type, problems);
  refuseUnknown(body, ['type', 'currency', 'policy', 'scheme'], '', problems);
  if (problems.length > 0) throw new ValidationError('invalid account request', problems);
  return { type: type!, currency: currency as string, overdraftLimitMinor: overdraftLimitMinor ?? null, scheme };
}

/** The scheme, or null for none (absent or null); records a problem for anything else. */
function readScheme(scheme: unknown, type: AccountType | undefined, problems: FieldProblem[]): string | null {
  if (scheme === undefined || scheme === null) return null;
  // A card number is refused wherever it would be stored, a scheme included (README, Card data).
  if (typeof scheme !== 'string' || !schemeName.test(scheme) || containsPan(scheme)) {
    problems.push({
      path: '/scheme',
      message: 'must be a scheme name of 2–32 upper-case letters, digits or _, starting with a letter, e.g. "SEPA_CT"',
    });
  } else if (type !== undefined && !SCHEME_TYPES.includes(type)) {
    problems.push({ path: '/scheme', message: 'only clearing and settlement accounts serve a scheme' });
  }
  return typeof scheme === 'string' ? scheme : null;
}

/** The limit in minor units; null for no policy; undefined after recording a problem. */
function readPolicy(
  policy: unknown,
  currency: string | undefined,
  problems: FieldProblem[],
): bigint | null | undefined {
  // Absent and null both mean no policy, so a client may send back the `policy: null` a GET showed it.
  if (policy === undefined || policy === null) return null;
  if (!isObject(policy)) {
    problems.push({ path: '/policy', message: 'must be an object with overdraftLimit, or null for no limit' });
    return undefined;
  }
  refuseUnknown(policy, ['overdraftLimit'], '/policy', problems);
  const limit = policy['overdraftLimit'];
  if (!isObject(limit)) {
    problems.push({
      path: '/policy/overdraftLimit',
      message: 'must be an object { value, currency }, e.g. { "value": "500.00", "currency": "EUR" }',
    });
    return undefined;
  }
  refuseUnknown(limit, ['value', 'currency'], '/policy/overdraftLimit', problems);
  const limitCurrency = limit['currency'];
  // Only a code to compare with /currency: a bad /currency is already a problem of its own.
  if (typeof limitCurrency !== 'string' || (currency !== undefined && limitCurrency !== currency)) {
    problems.push({ path: '/policy/overdraftLimit/currency', message: "must equal /currency, the account's currency" });
  }
  const minor = readLimitValue(limit['value'], currency);
  if (typeof minor === 'string') {
    problems.push({ path: '/policy/overdraftLimit/value', message: minor });
    return undefined;
  }
  return minor;
}

/** The limit in minor units of `currency`, or the problem with `value`; undefined when `currency` is unknown. */
function readLimitValue(value: unknown, currency: string | undefined): bigint | string | undefined {
  if (typeof value === 'number') return 'must be a decimal string such as "500.00", not a JSON number';
  if (typeof value !== 'string') return 'must be a decimal string such as "500.00"';
  if (value.startsWith('-')) return 'must not be negative (0 allows no overdraft)';
  if (value.length > MAX_VALUE_CHARS || !plainDecimal.test(value))
    return 'must be a plain decimal string such as "500.00" (no sign, exponent, spaces, separators or leading zeros)';
  // Without a valid account currency the exponent is unknown; /currency carries the problem.
  if (currency === undefined) return undefined;
  const minor = parseMajorToMinor(value, currency);
  const exponent = currencyExponent(currency) ?? 2;
  if (minor === undefined && (value.split('.')[1] ?? '').length > exponent)
    return exponent === 0
      ? `${currency} has no minor unit; send whole units only`
      : `at most ${exponent} fraction digits for ${currency}`;
  if (minor === undefined || minor > MAX_LONG)
    return `must be at most ${formatMinorUnits(MAX_LONG, currency)} ${currency} (an Avro long of minor units)`;
  return minor;
}
