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
// A card-shaped run: 12–19 digits, optionally grouped by single spaces or dashes, starting with a major network's
// first digit (2 Mastercard, 3 Amex/JCB/Diners, 4 Visa, 5 Mastercard/Maestro, 6 Discover/UnionPay/Maestro), and
// whole: not continued by another digit on either side, whatever else surrounds it ("card4111…", "id_4111…-x").
// Epoch milliseconds (1…) do not qualify, nor do the 12–19-digit windows inside a longer number, of which one in
// ten would pass Luhn by chance.
const cardShaped = /(?<![0-9][ -]?)[2-6](?:[ -]?[0-9]){11,18}(?![ -]?[0-9])/g;

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
 * Masks every card number `containsPan` would find to its first 6 and last 4 digits (PCI DSS 3.4 allows no more),
 * e.g. "card 4111 1111 1111 1111" → "card 411111******1111". For free text that is kept: a description, a
 * remittance line, an analyst's note.
 */
export function maskPans(text: string): string {
  return text.replace(cardShaped, (match) => {
    const digits = ungrouped(match);
    return luhnValid(digits) ? `${digits.slice(0, 6)}${'*'.repeat(digits.length - 10)}${digits.slice(-4)}` : match;
  });
}

/**
 * Masks every run of 12–19 digits, Luhn-valid or not. Used on copies kept for audit (dead letters), where
 * over-masking an id costs nothing and missing a card number would be a PCI DSS 3.4 breach.
 */
export function maskDigitRuns(text: string): string {
  return text.replace(digitRun, '[REDACTED]');
}
