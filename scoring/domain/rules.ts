import { type FieldProblem, ValidationError } from '../../platform/errors.js';
import type { Transaction } from '../../schemas/generated/types.js';
import { formatMinorUnits, isCurrencyCode } from '../../schemas/currencies.js';
import { type AmountCurrencies, FEATURES, featureIndex, formatFeature } from './feature-names.js';
import { amountCurrencies } from './features.js';
import type { ReportingCurrency } from './fx-rates.js';

/**
 * Declarative rules (scoring/rules.json). A rule names features and transaction fields, never code:
 *
 *   { "code": "R_CARD_TESTING_1H",
 *     "description": "{card_cnp_small_count_1h} small card-not-present payments on this card within an hour",
 *     "when": { "all": [ { "feature": "card_cnp_small_count_1h", "op": ">=", "value": 5 } ] },
 *     "unless": { "field": "merchantId", "in": "allowedMerchants" },
 *     "action": "REVIEW", "risk": 0.5 }
 *
 * Conditions: `{feature, op, value}` (op one of > >= < <= == !=), `{field, in | notIn}` with a list name from
 * `lists` or an inline array, `{amount, minor, unlisted}` (below), and `{all: [...]}`, `{any: [...]}`, `{not: ...}`.
 * Actions: DECLINE and REVIEW force at least that decision; ADD_RISK adds `risk` to the model's score. `{name}` in a
 * description is replaced by the feature's or field's value, an amount feature's with the currency it is in
 * ("812.50 EUR": the reporting currency; see formatFeature), `{transactionAmount}` by the transaction's own
 * instructed amount with its own currency ("1500.00 USD"), the amount per-currency thresholds compare. The file is
 * validated as a whole at load; every problem is reported with its JSON-pointer path.
 *
 * Per-currency thresholds: money compared in the transaction's own currency, exactly, in its minor units (the
 * instructed `amountMinor` and `currency`, the same currency the `currency` field names):
 *
 *   { "amount": ">=", "minor": { "EUR": "100000", "USD": "100000", "JPY": "15000000" },
 *     "unlisted": { "feature": "amount", "op": ">=", "value": 1000 } }
 *
 * `minor` maps ISO 4217 codes to whole minor units as decimal strings (EUR 1,000.00 is "100000", JPY 150,000 is
 * "15000000"). `unlisted` says what a transaction in a currency not in the map does, and is required, so no currency
 * is ever compared against another's threshold by accident: `false` (the condition does not hold), `true`, or any
 * condition — typically the `amount` feature, which is in the reporting currency.
 */
export const RuleAction = { review: 'REVIEW', decline: 'DECLINE', addRisk: 'ADD_RISK' } as const;
export type RuleAction = (typeof RuleAction)[keyof typeof RuleAction];

export const RULE_FIELDS = [
  'country',
  'mcc',
  'cardBin',
  'channel',
  'kind',
  'currency',
  'merchantId',
  'terminalId',
  'customerId',
  'deviceId',
  'payeeAccountId',
] as const;
export type RuleField = (typeof RULE_FIELDS)[number];

const OPS = ['>', '>=', '<', '<=', '==', '!='] as const;
type Op = (typeof OPS)[number];

/** A rule that fired on a transaction, with its explanation filled in. */
export interface FiredRule {
  readonly code: string;
  readonly action: RuleAction;
  /** ADD_RISK: what it adds to the score; REVIEW / DECLINE: its weight among the reasons. */
  readonly risk: number;
  readonly description: string;
}

export interface RuleSet {
  readonly version: string;
  readonly codes: readonly string[];
  /**
   * Every rule that fires on the transaction whose features are `features[offset … offset + FEATURE_COUNT)`, the
   * amount features measured in `reporting` (the engine's, FeatureEngine.reporting), which the descriptions name.
   */
  evaluate(features: Float32Array, offset: number, tx: Transaction, reporting: ReportingCurrency): FiredRule[];
}

type Predicate = (features: Float32Array, offset: number, tx: Transaction) => boolean;
type Render = (features: Float32Array, offset: number, tx: Transaction, currencies: AmountCurrencies) => string;

interface CompiledRule {
  readonly code: string;
  readonly action: RuleAction;
  readonly risk: number;
  readonly when: Predicate;
  readonly unless: Predicate | undefined;
  readonly render: Render;
}

/** The value of a rule field on a transaction (null when the transaction has none). */
export function fieldValue(tx: Transaction, field: RuleField): string | null {
  switch (field) {
    case 'cardBin':
      return tx.card?.bin ?? null;
    case 'customerId':
      return tx.customerId ?? tx.payerAccountId;
    default:
      return tx[field];
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates and compiles a parsed rules file; throws ValidationError (code RULES_INVALID) listing every problem.
 * `contentVersion` is the version decisions record: the loader passes the document's content hash
 * (adapters/rules-file.ts); without it the document's own `version` label stands in (tests, backtests).
 */
export function compileRules(document: unknown, contentVersion?: string): RuleSet {
  const problems: FieldProblem[] = [];
  const problem = (path: string, message: string): void => void problems.push({ path, message });

  if (!isRecord(document))
    throw new ValidationError(
      'rules file must be a JSON object',
      [{ path: '', message: 'must be an object' }],
      'RULES_INVALID',
    );
  const version = document.version;
  if (typeof version !== 'string' || version.trim() === '') problem('/version', 'must be a non-empty string');

  const lists = new Map<string, ReadonlySet<string>>();
  if (document.lists !== undefined) {
    if (!isRecord(document.lists)) problem('/lists', 'must be an object of string arrays');
    else
      for (const [name, entries] of Object.entries(document.lists)) {
        if (!Array.isArray(entries) || !entries.every((e) => typeof e === 'string'))
          problem(`/lists/${name}`, 'must be an array of strings');
        else lists.set(name, new Set(entries));
      }
  }

  const compileCondition = (node: unknown, path: string): Predicate => {
    const never: Predicate = () => false;
    if (!isRecord(node)) {
      problem(path, 'must be a condition object');
      return never;
    }
    if ('all' in node || 'any' in node) {
      const key = 'all' in node ? 'all' : 'any';
      const children = node[key];
      if (!Array.isArray(children) || children.length === 0) {
        problem(`${path}/${key}`, 'must be a non-empty array of conditions');
        return never;
      }
      const compiled = children.map((child, i) => compileCondition(child, `${path}/${key}/${i}`));
      return key === 'all'
        ? (f, o, tx) => compiled.every((p) => p(f, o, tx))
        : (f, o, tx) => compiled.some((p) => p(f, o, tx));
    }
    if ('not' in node) {
      const inner = compileCondition(node.not, `${path}/not`);
      return (f, o, tx) => !inner(f, o, tx);
    }
    if ('feature' in node) {
      const index = typeof node.feature === 'string' ? featureIndex(node.feature) : undefined;
      if (index === undefined) problem(`${path}/feature`, `unknown feature ${JSON.stringify(node.feature)}`);
      const op = node.op as Op;
      if (!OPS.includes(op)) problem(`${path}/op`, `must be one of ${OPS.join(' ')}`);
      const value = node.value;
      if (typeof value !== 'number' || !Number.isFinite(value)) problem(`${path}/value`, 'must be a finite number');
      if (index === undefined || typeof value !== 'number') return never;
      return comparison(index, op, value);
    }
    if ('amount' in node) return compileAmountCondition(node, path, problem, compileCondition);
    if ('field' in node) {
      const field = node.field as RuleField;
      if (!RULE_FIELDS.includes(field)) problem(`${path}/field`, `must be one of ${RULE_FIELDS.join(', ')}`);
      const key = 'in' in node ? 'in' : 'notIn' in node ? 'notIn' : undefined;
      if (key === undefined) {
        problem(path, 'a field condition needs "in" or "notIn"');
        return never;
      }
      const ref = node[key];
      let members: ReadonlySet<string> | undefined;
      if (typeof ref === 'string') {
        members = lists.get(ref);
        if (!members) problem(`${path}/${key}`, `no list named ${JSON.stringify(ref)} in /lists`);
      } else if (Array.isArray(ref) && ref.every((e) => typeof e === 'string')) {
        members = new Set(ref);
      } else problem(`${path}/${key}`, 'must be a list name or an array of strings');
      if (!members || !RULE_FIELDS.includes(field)) return never;
      const set = members;
      return key === 'in'
        ? (_f, _o, tx) => {
            const v = fieldValue(tx, field);
            return v !== null && set.has(v);
          }
        : (_f, _o, tx) => {
            const v = fieldValue(tx, field);
            return v === null || !set.has(v);
          };
    }
    problem(path, 'must have one of: feature, field, amount, all, any, not');
    return never;
  };

  const compiled: CompiledRule[] = [];
  const seenCodes = new Set<string>();
  if (!Array.isArray(document.rules)) problem('/rules', 'must be an array of rules');
  else
    document.rules.forEach((rule: unknown, i: number) => {
      const path = `/rules/${i}`;
      if (!isRecord(rule)) return problem(path, 'must be an object');
      if (rule.enabled === false) return undefined;
      const code = rule.code;
      if (typeof code !== 'string' || !/^R_[A-Z0-9_]+$/.test(code)) problem(`${path}/code`, 'must match R_[A-Z0-9_]+');
      else if (seenCodes.has(code)) problem(`${path}/code`, `duplicate code ${code}`);
      else seenCodes.add(code);
      const action = rule.action as RuleAction;
      if (!Object.values(RuleAction).includes(action))
        problem(`${path}/action`, `must be one of ${Object.values(RuleAction).join(', ')}`);
      const risk = rule.risk ?? (action === 'DECLINE' ? 1 : action === 'REVIEW' ? 0.5 : undefined);
      if (typeof risk !== 'number' || !Number.isFinite(risk) || risk < 0 || risk > 1)
        problem(`${path}/risk`, 'must be a number in [0, 1] (required for ADD_RISK)');
      const render = compileTemplate(rule.description, `${path}/description`, problem);
      const when = compileCondition(rule.when, `${path}/when`);
      const unless = rule.unless === undefined ? undefined : compileCondition(rule.unless, `${path}/unless`);
      if (typeof code === 'string' && typeof risk === 'number')
        compiled.push({ code, action, risk, when, unless, render });
      return undefined;
    });

  if (problems.length > 0)
    throw new ValidationError(
      `rules file is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'})`,
      problems,
      'RULES_INVALID',
    );
  return {
    version: contentVersion ?? (version as string),
    codes: compiled.map((r) => r.code),
    evaluate(features, offset, tx, reporting) {
      const fired: FiredRule[] = [];
      // Only for a transaction a rule fires on: most fire none, and they allocate nothing here.
      let currencies: AmountCurrencies | undefined;
      for (const rule of compiled) {
        if (!rule.when(features, offset, tx)) continue;
        if (rule.unless?.(features, offset, tx)) continue;
        currencies ??= amountCurrencies(tx, reporting);
        fired.push({
          code: rule.code,
          action: rule.action,
          risk: rule.risk,
          description: rule.render(features, offset, tx, currencies),
        });
      }
      return fired;
    },
  };
}

function comparison(index: number, op: Op, value: number): Predicate {
  switch (op) {
    case '>':
      return (f, o) => f[o + index]! > value;
    case '>=':
      return (f, o) => f[o + index]! >= value;
    case '<':
      return (f, o) => f[o + index]! < value;
    case '<=':
      return (f, o) => f[o + index]! <= value;
    case '==':
      return (f, o) => f[o + index] === value;
    case '!=':
      return (f, o) => f[o + index] !== value;
  }
}

/** Whole minor units as a decimal string: no sign, no fraction, no leading zeros, at most 30 digits. */
const MINOR_UNITS = /^(0|[1-9][0-9]{0,29})$/;

/** Compiles `{amount, minor, unlisted}` (see the module comment): thresholds per currency in its own minor units. */
function compileAmountCondition(
  node: Record<string, unknown>,
  path: string,
  problem: (path: string, message: string) => void,
  compileCondition: (node: unknown, path: string) => Predicate,
): Predicate {
  const never: Predicate = () => false;
  const op = node.amount as Op;
  const opValid = OPS.includes(op);
  if (!opValid) problem(`${path}/amount`, `must be one of ${OPS.join(' ')}`);
  const thresholds = new Map<string, bigint>();
  const minor = node.minor;
  if (!isRecord(minor) || Object.keys(minor).length === 0)
    problem(`${path}/minor`, 'must map at least one ISO 4217 code to minor units, e.g. { "EUR": "100000" }');
  else
    for (const [currency, threshold] of Object.entries(minor)) {
      const at = `${path}/minor/${currency}`;
      if (!isCurrencyCode(currency)) problem(at, `${JSON.stringify(currency)} is not an active ISO 4217 code`);
      else if (typeof threshold !== 'string' || !MINOR_UNITS.test(threshold))
        problem(at, 'must be whole minor units as a decimal string, e.g. "100000" for 1,000.00');
      else thresholds.set(currency, BigInt(threshold));
    }
  let unlisted: Predicate = never;
  if (!('unlisted' in node))
    problem(`${path}/unlisted`, 'required: false, true or a condition, for a currency not in "minor"');
  else if (typeof node.unlisted === 'boolean') {
    const holds = node.unlisted;
    unlisted = () => holds;
  } else unlisted = compileCondition(node.unlisted, `${path}/unlisted`);
  const extra = Object.keys(node).filter((key) => !['amount', 'minor', 'unlisted'].includes(key));
  for (const key of extra) problem(`${path}/${key}`, 'not part of an amount condition (amount, minor, unlisted)');
  if (!opValid) return never;
  const compare = moneyComparison(op);
  return (f, o, tx) => {
    const threshold = thresholds.get(tx.currency);
    return threshold === undefined ? unlisted(f, o, tx) : compare(tx.amountMinor, threshold);
  };
}

function moneyComparison(op: Op): (amount: bigint, threshold: bigint) => boolean {
  switch (op) {
    case '>':
      return (a, t) => a > t;
    case '>=':
      return (a, t) => a >= t;
    case '<':
      return (a, t) => a < t;
    case '<=':
      return (a, t) => a <= t;
    case '==':
      return (a, t) => a === t;
    case '!=':
      return (a, t) => a !== t;
  }
}

/** The placeholder for the transaction's own amount and currency, e.g. "1500.00 USD". */
const TRANSACTION_AMOUNT = 'transactionAmount';

/** Compiles "text {feature_or_field} text" into a renderer; unknown placeholders are problems. */
function compileTemplate(template: unknown, path: string, problem: (path: string, message: string) => void): Render {
  if (typeof template !== 'string' || template.trim() === '') {
    problem(path, 'must be a non-empty string');
    return () => '';
  }
  const parts: Render[] = [];
  let last = 0;
  for (const match of template.matchAll(/\{([A-Za-z0-9_]+)\}/g)) {
    const literal = template.slice(last, match.index);
    parts.push(() => literal);
    last = match.index + match[0].length;
    const name = match[1]!;
    const index = featureIndex(name);
    if (index !== undefined) {
      const def = FEATURES[index]!;
      parts.push((f, o, _tx, currencies) => formatFeature(def, f[o + index]!, currencies));
    } else if (name === TRANSACTION_AMOUNT) {
      parts.push((_f, _o, tx) => `${formatMinorUnits(tx.amountMinor, tx.currency)} ${tx.currency}`);
    } else if ((RULE_FIELDS as readonly string[]).includes(name)) {
      parts.push((_f, _o, tx) => fieldValue(tx, name as RuleField) ?? 'none');
    } else problem(path, `placeholder {${name}} is neither a feature nor a field`);
  }
  const tail = template.slice(last);
  parts.push(() => tail);
  return (f, o, tx, currencies) => parts.map((part) => part(f, o, tx, currencies)).join('');
}
