/**
 * Card-number (PAN) detection, once for every stage: ingest's validation and masking, the logger's last line of
 * defence, the simulator's card numbers. ISO/IEC 7812-1: 12–19 digits whose last is a Luhn (mod 10) check digit.
 */

/** The Luhn check digit (ISO/IEC 7812-1 annex B) for the digits before it. */
export function luhnCheckDigit(partial: string): number {
  let sum = 0;
  for (let i = 0; i < partial.length; i++) {
    let d = partial.charCodeAt(partial.length - 1 - i) - 48;
    // Counted from the right of the full number, the digit left of the check digit is doubled first.
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/** The Luhn (mod 10) test of ISO/IEC 7812-1 over a string of ASCII digits; false for anything else. */
export function luhnValid(digits: string): boolean {
  if (!/^[0-9]+$/.test(digits)) return false;
  return luhnCheckDigit(digits.slice(0, -1)) === digits.charCodeAt(digits.length - 1) - 48;
}

/** A primary account number: 12–19 digits (ISO/IEC 7812) with a valid Luhn check digit. */
export function isValidPan(digits: string): boolean {
  return /^[0-9]{12,19}$/.test(digits) && luhnValid(digits);
}

// 12–19 digits, optionally grouped by single spaces or dashes.
const digitRun = /\d(?:[ -]?\d){11,18}/g;
/**
 * The shortest card number looked for in text: 13 digits (PCI DSS scanning practice and the rule Vigil states).
 * card.number itself accepts 12 (ISO/IEC 7812); looking for 12-digit runs everywhere would refuse one in twenty
 * ordinary 12-digit account numbers and hex ids by chance.
 */
const MIN_FOUND_DIGITS = 13;

/** Digits in groups separated by single spaces or dashes: "4111 1111 1111 1111", "0-4111111111111111", "12". */
const groupedDigits = /[0-9]+(?:[ -][0-9]+)*/g;

interface Found {
  readonly start: number;
  readonly end: number;
  readonly digits: string;
}

/**
 * Every card number in `text`, whatever surrounds it ("card4111…", "id-0-4111…", "5555-5555-5555-4444"): a
 * sequence of whole digit groups (see `groupedDigits`) of 13–19 digits in all, starting with a major network's
 * first digit (2 Mastercard, 3 Amex/JCB/Diners, 4 Visa, 5 Mastercard/Maestro, 6 Discover/UnionPay/Maestro), that
 * passes the Luhn check. Whole groups only: a 20-digit number is not searched for windows (one in ten would pass
 * Luhn by chance), and epoch milliseconds (1…) do not qualify.
 */
function findPans(text: string): Found[] {
  const found: Found[] = [];
  // Most texts (ids, names, references) hold too few digits to carry a card number; counting them is far
  // cheaper than the regular expressions, and ingest runs this on every string of every transaction.
  if (digitCount(text) < MIN_FOUND_DIGITS) return found;
  for (const run of text.matchAll(groupedDigits)) {
    const groups: Array<{ start: number; digits: string }> = [];
    for (const group of run[0].matchAll(/[0-9]+/g)) groups.push({ start: run.index + group.index, digits: group[0] });
    for (let i = 0; i < groups.length; i++) {
      const first = groups[i]!;
      if (first.digits[0]! < '2' || first.digits[0]! > '6') continue;
      // The longest sequence of whole groups from here that is a card number ("4111 1111 1111 1111", not its
      // first three groups, which may pass Luhn too).
      let digits = '';
      let longest: { last: number; digits: string } | undefined;
      for (let j = i; j < groups.length && digits.length + groups[j]!.digits.length <= 19; j++) {
        digits += groups[j]!.digits;
        if (digits.length >= MIN_FOUND_DIGITS && luhnValid(digits)) longest = { last: j, digits };
      }
      if (longest === undefined) continue;
      const last = groups[longest.last]!;
      found.push({ start: first.start, end: last.start + last.digits.length, digits: longest.digits });
      i = longest.last; // the groups after this card number may hold another
    }
  }
  return found;
}

function digitCount(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 48 && code <= 57) count++;
  }
  return count;
}

/** True if free text carries a card number (see `findPans`). */
export function containsPan(text: string): boolean {
  return findPans(text).length > 0;
}

function replacePans(text: string, replacement: (digits: string) => string): string {
  let out = '';
  let at = 0;
  for (const { start, end, digits } of findPans(text)) {
    out += text.slice(at, start) + replacement(digits);
    at = end;
  }
  return out + text.slice(at);
}

/**
 * Replaces every card number with `[REDACTED-PAN]` (PCI DSS 3.4: PAN unreadable wherever stored or logged), for
 * log lines; a rare false positive only masks a number.
 */
export function redactPans(text: string): string {
  return replacePans(text, () => '[REDACTED-PAN]');
}

/**
 * Masks every card number to its first 6 and last 4 digits (PCI DSS 3.4 allows no more), e.g.
 * "card 4111 1111 1111 1111" → "card 411111******1111". For free text that is kept: a description, a remittance
 * line, an analyst's note.
 */
export function maskPans(text: string): string {
  return replacePans(text, (digits) => `${digits.slice(0, 6)}${'*'.repeat(digits.length - 10)}${digits.slice(-4)}`);
}

/**
 * Masks every run of 12–19 digits, Luhn-valid or not. Used on copies kept for audit (dead letters), where
 * over-masking an id costs nothing and missing a card number would be a PCI DSS 3.4 breach.
 */
export function maskDigitRuns(text: string): string {
  return text.replace(digitRun, '[REDACTED]');
}
