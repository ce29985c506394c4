import { TEST_PAN } from '../testing/fixtures.js';
import { redactForDeadLetter } from './redaction.js';

describe('redactForDeadLetter', () => {
  it('removes the card number and every security code, keeping the rest for the audit', () => {
    const body = {
      transactionId: 'tx-1',
      card: { number: TEST_PAN, cvv: '123', present: true },
      CVC2: '999',
      payer: { accountId: 'p', securityCode: '1' },
      amount: { value: '1.234', currency: 'EUR' },
    };
    expect(redactForDeadLetter(body)).toEqual({
      transactionId: 'tx-1',
      card: { number: '[REDACTED]', present: true },
      payer: { accountId: 'p' },
      amount: { value: '1.234', currency: 'EUR' },
    });
  });

  it('masks card numbers pasted anywhere else: strings, keys, JSON numbers, arrays', () => {
    const body = {
      description: `my card ${TEST_PAN}`,
      pan: '4111 1111 1111 1111',
      [TEST_PAN]: 'x',
      cardNumber: 4111111111111111,
      list: [TEST_PAN],
      eventTime: '2026-11-24T09:00:00Z',
    };
    const redacted = JSON.stringify(redactForDeadLetter(body));
    expect(redacted).not.toMatch(/4111/);
    expect(redacted).toContain('2026-11-24T09:00:00Z');
  });

  it('removes the values of the personal fields, and only those (a description elsewhere is kept)', () => {
    const body = {
      transactionId: 'tx-1',
      description: 'gift for Anna',
      device: { id: 'device-anna', ip: '203.0.113.7' },
      location: { country: 'FR', latitude: 48.856613, longitude: 2.352222 },
      bankTransfer: { scheme: 'SEPA_CT', endToEndId: 'e2e-1', remittanceInfo: 'rent Anna' },
      merchant: { id: 'm-1', description: 'kept: not a request field of a person' },
    };
    expect(redactForDeadLetter(body)).toEqual({
      transactionId: 'tx-1',
      description: '[personal data removed]',
      device: { id: '[personal data removed]', ip: '[personal data removed]' },
      location: { country: 'FR', latitude: '[personal data removed]', longitude: '[personal data removed]' },
      bankTransfer: { scheme: 'SEPA_CT', endToEndId: 'e2e-1', remittanceInfo: '[personal data removed]' },
      merchant: { id: 'm-1', description: 'kept: not a request field of a person' },
    });
    // A nested object named like the top level is not the top level.
    expect(redactForDeadLetter({ a: { description: 'x' } })).toEqual({ a: { description: 'x' } });
  });

  it('leaves small numbers and non-objects alone', () => {
    expect(redactForDeadLetter({ lat: 48.85, n: 42 })).toEqual({ lat: 48.85, n: 42 });
    expect(redactForDeadLetter('text')).toBe('text');
    expect(redactForDeadLetter(null)).toBeNull();
  });

  it('truncates absurd nesting', () => {
    let deep: unknown = { cvv: '1' };
    for (let i = 0; i < 1000; i++) deep = { a: deep };
    expect(JSON.stringify(redactForDeadLetter(deep))).toContain('[TRUNCATED]');
  });
});
