/** The Luhn (mod 10) check digit test of ISO/IEC 7812-1, over a string of ASCII digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (d < 0 || d > 9) return false;
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
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

/** True if free text carries something shaped like a card number that passes the Luhn check. */
export function containsPan(text: string): boolean {
  for (const match of text.matchAll(cardShaped)) if (luhnValid(match[0].replace(/[ -]/g, ''))) return true;
  return false;
}

/**
 * Masks every run of 12–19 digits, Luhn-valid or not. Used on copies kept for audit (dead letters), where
 * over-masking an id costs nothing and missing a card number would be a PCI DSS 3.4 breach.
 */
export function maskDigitRuns(text: string): string {
  return text.replace(digitRun, '[REDACTED]');
}
