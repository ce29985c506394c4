import { MAX_JSON_DEPTH, isSecurityCodeField } from './json.js';
import { maskDigitRuns } from '../../platform/pan.js';

/**
 * The copy of a refused request that goes to the dead-letter topic, so an integration engineer can see what was
 * refused and why. PCI DSS 3.3/3.4: the card number and any security code are removed outright; every other
 * string and key has its 12–19 digit runs masked (a PAN pasted into the wrong field), and integers of 12+ digits
 * (a PAN sent as a JSON number) are masked too. The personal fields' values are removed ({@link PERSONAL_FIELDS}).
 */
export const REDACTED = '[REDACTED]';
/** In place of a personal value (GDPR art. 5(1)(c)): the field was there, its value is not kept. */
export const PERSONAL_REMOVED = '[personal data removed]';

/**
 * The request's personal fields, as `parent.key` (`.key` at the top level). A refused request has no customer
 * whose key could seal them (its payer may be what was wrong), and a dead letter cannot be erased later, so their
 * values are not kept at all: the sender has the request.
 */
const PERSONAL_FIELDS: ReadonlySet<string> = new Set([
  '.description',
  'device.id',
  'device.ip',
  'location.latitude',
  'location.longitude',
  'bankTransfer.remittanceInfo',
]);

export function redactForDeadLetter(body: unknown): unknown {
  const visit = (node: unknown, depth: number, parentKey: string | undefined): unknown => {
    if (typeof node === 'string') return maskDigitRuns(node);
    if (typeof node === 'number') return Number.isInteger(node) && Math.abs(node) >= 1e11 ? REDACTED : node;
    if (typeof node !== 'object' || node === null) return node;
    if (depth >= MAX_JSON_DEPTH) return '[TRUNCATED]';
    if (Array.isArray(node)) return node.map((item) => visit(item, depth + 1, undefined));
    const copy: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      if (isSecurityCodeField(key)) continue;
      if (parentKey === 'card' && key === 'number') {
        copy[key] = REDACTED;
        continue;
      }
      if (PERSONAL_FIELDS.has(`${depth === 0 ? '' : (parentKey ?? '')}.${key}`) && value !== null) {
        copy[key] = PERSONAL_REMOVED;
        continue;
      }
      copy[maskDigitRuns(key)] = visit(value, depth + 1, key);
    }
    return copy;
  };
  return visit(body, 0, undefined);
}
