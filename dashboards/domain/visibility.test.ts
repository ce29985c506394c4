import { caseGroupKeyFor, withoutCardIdentifiers } from './visibility.js';

describe('withoutCardIdentifiers', () => {
  it('nulls card tokens and fingerprints at any depth and leaves everything else as it was', () => {
    const stored = {
      transactionId: 'tx-1',
      fingerprint: 'f'.repeat(64),
      card: { token: 'tok_1', last4: '4242', bin: '411111' },
      merchant: { token: 'not-a-card-token' },
      history: [{ cardToken: 'tok_1', amountMinor: '100' }, { card_token: 'tok_1' }],
    };
    expect(withoutCardIdentifiers(stored)).toEqual({
      transactionId: 'tx-1',
      fingerprint: null,
      card: { token: null, last4: '4242', bin: '411111' },
      merchant: { token: 'not-a-card-token' },
      history: [{ cardToken: null, amountMinor: '100' }, { card_token: null }],
    });
    // Negative control: the input is untouched (a copy is redacted), so the check above is about the copy.
    expect(stored.card.token).toBe('tok_1');
  });
});

describe('caseGroupKeyFor', () => {
  it('withholds a card token from analysts only; a customer key is shown to everyone', () => {
    expect(caseGroupKeyFor('analyst', 'card:tok-9')).toBe('card:[withheld]');
    expect(caseGroupKeyFor('compliance', 'card:tok-9')).toBe('card:tok-9');
    expect(caseGroupKeyFor('admin', 'card:tok-9')).toBe('card:tok-9');
    expect(caseGroupKeyFor('analyst', 'customer:acct-1')).toBe('customer:acct-1');
  });
});
