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
// The same, starting with a major network's first digit (2 Mastercard, 3 Amex/JCB/Diners, 4 Visa, 5 Mastercard,
// 6 Discover/UnionPay/Maestro) as a whole word; epoch milliseconds (1…) and most references do not qualify.
const cardShaped = /\b[2-6](?:[ -]?\d){11,18}\b/g;

const ungrouped = (match: string): string => match.replace(/[ -]/g, '');

/** True if free text carries something shaped like a card number that passes the Luhn check. */
export function containsPan(text: string): boolean {
  for (const match of text.matchAll(cardShaped)) if (luhnValid(ungrouped(match[0]))) return true;
  return false;
}

/**
 * Replaces everything `containsPan` would find with `[REDACTED-PAN]` (PCI DSS 3.4: PAN unreadable wherever
 * stored or logged). Epoch milliseconds and int64 amounts start with other digits or fail Luhn, so they survive;
 * a rare false positive only masks a number.
 */
export function redactPans(text: string): string {
  return text.replace(cardShaped, (match) => (luhnValid(ungrouped(match)) ? '[REDACTED-PAN]' : match));
}

/**
 * Masks every run of 12–19 digits, Luhn-valid or not. Used on copies kept for audit (dead letters), where
 * over-masking an id costs nothing and missing a card number would be a PCI DSS 3.4 breach.
 */
export function maskDigitRuns(text: string): string {
  return text.replace(digitRun, '[REDACTED]');
}
