import { containsPan, isValidPan, luhnCheckDigit, luhnValid, maskDigitRuns, maskPans, redactPans } from './pan.js';

describe('Luhn', () => {
  it.each(['4111111111111111', '5555555555554444', '378282246310005', '6011111111111117', '79927398713'])(
    '%s is valid',
    (digits) => {
      expect(luhnValid(digits)).toBe(true);
    },
  );
  it.each(['4111111111111112', '79927398710', '', '12a4'])('%j is invalid', (digits) => {
    expect(luhnValid(digits)).toBe(false);
  });
  it('a PAN is 12–19 Luhn-valid digits', () => {
    expect(isValidPan('79927398713')).toBe(false);
    expect(isValidPan('4111111111111111')).toBe(true);
  });
  it('finds card numbers in text, grouped or not', () => {
    expect(containsPan('pay 4111 1111 1111 1111 now')).toBe(true);
    expect(containsPan('ref 4111-1111-1111-1111')).toBe(true);
    expect(containsPan('invoice 4111111111111112')).toBe(false);
    expect(containsPan('ts 1764000000000')).toBe(false);
  });
});

describe('Luhn check digit', () => {
  it('computes check digits and catches a changed digit', () => {
    expect(luhnCheckDigit('411111111111111')).toBe(1);
    expect(isValidPan('4111111111111111')).toBe(true);
    expect(isValidPan('4111111111111112')).toBe(false);
    expect(isValidPan('79927398713')).toBe(false); // too short for a PAN, though Luhn-valid
  });
});

describe('masking', () => {
  it('redacts Luhn-valid card-shaped numbers only, and masks every long digit run on audit copies', () => {
    expect(redactPans('pay 4111 1111 1111 1111, ref 4111111111111112')).toBe(
      'pay [REDACTED-PAN], ref 4111111111111112',
    );
    expect(maskDigitRuns('ref 4111111111111112 at 1764000000000')).toBe('ref [REDACTED] at [REDACTED]');
  });
});

describe('card numbers whatever surrounds them', () => {
  it.each([
    'card4111111111111111',
    'x_5555-5555-5555-4444_y',
    'id:4111 1111 1111 1111.',
    '(378282246310005)',
    'pan-0-4111111111111111',
    '4111 1111 1111 1111 2',
  ])('finds and masks %s', (text) => {
    expect(containsPan(text)).toBe(true);
    expect(maskPans(text)).not.toMatch(/\d{7}/);
    expect(redactPans(text)).toContain('[REDACTED-PAN]');
  });

  it.each([
    ['a 20-digit number, though windows of it pass Luhn', 'iban 41111111111111111111'],
    ['epoch milliseconds', 'at 1764000000000'],
    ['a Luhn failure', 'card4111111111111112'],
  ])('leaves %s alone', (_why, text) => {
    expect(containsPan(text)).toBe(false);
    expect(maskPans(text)).toBe(text);
  });

  it('masks to the first 6 and last 4 digits, separators dropped', () => {
    expect(maskPans('pay 5555-5555-5555-4444 now')).toBe('pay 555555******4444 now');
    expect(maskPans('amex 378282246310005')).toBe('amex 378282*****0005');
  });
});
