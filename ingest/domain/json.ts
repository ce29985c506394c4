import { maskDigitRuns } from '../../platform/pan.js';

/** Helpers over parsed JSON: RFC 6901 pointers and the card-security-code field names that are never accepted. */
export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Appends a reference token to a JSON pointer (RFC 6901 §3: `~` → `~0`, `/` → `~1`). Client-chosen keys are
 * digit-masked, because a path is echoed in responses, dead letters and logs.
 */
export function childPointer(parent: string, token: string | number): string {
  const escaped = String(token).replace(/~/g, '~0').replace(/\//g, '~1');
  return `${parent}/${typeof token === 'number' ? escaped : maskDigitRuns(escaped)}`;
}

/**
 * Card verification values must never be received, stored or forwarded (PCI DSS v4 req. 3.3.1.2: no storage of
 * the card verification code after authorisation). Names are compared case- and punctuation-insensitively,
 * so `CVV2`, `card_cvc` and `security-code` are all caught.
 */
const securityCodeNames = new Set([
  'cvv',
  'cvv2',
  'cvc',
  'cvc2',
  'cid',
  'cav2',
  'cvn',
  'cvn2',
  'cvd',
  'csc',
  'securitycode',
  'cardsecuritycode',
  'cardcvv',
  'cardcvc',
  'cardverificationvalue',
  'cardverificationcode',
]);

export function isSecurityCodeField(name: string): boolean {
  const lower = name.toLowerCase();
  return securityCodeNames.has(/^[a-z0-9]*$/.test(lower) ? lower : lower.replace(/[^a-z0-9]/g, ''));
}

/** Nesting deeper than this is not a transaction; scanning stops there (and validation reports it). */
export const MAX_JSON_DEPTH = 32;

/** Pointers to every security-code field anywhere in `value`, and whether the scan hit the depth limit. */
export function findSecurityCodeFields(value: unknown): { readonly paths: string[]; readonly tooDeep: boolean } {
  const paths: string[] = [];
  // Tokens of the current location; a pointer string is only built for a hit (this runs on every item).
  const tokens: Array<string | number> = [];
  const pointer = (): string => tokens.reduce<string>((path, token) => childPointer(path, token), '');
  let tooDeep = false;
  const visit = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    if (tokens.length > MAX_JSON_DEPTH) {
      tooDeep = true;
      return;
    }
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        tokens.push(i);
        visit(node[i]);
        tokens.pop();
      }
      return;
    }
    for (const key in node) {
      if (!Object.hasOwn(node, key)) continue;
      tokens.push(key);
      if (isSecurityCodeField(key)) paths.push(pointer());
      else visit((node as JsonObject)[key]);
      tokens.pop();
    }
  };
  visit(value);
  return { paths, tooDeep };
}
