import { sha256Hasher } from '../adapters/crypto.js';
import { NOW_MS, TEST_PAN, cardRequest } from '../testing/fixtures.js';
import { fingerprintOf, toTransaction } from './canonical.js';
import { validateTransactionRequest, type ValidatedTransaction } from './validation.js';

const limits = { maxAmountMajor: 1_000_000_000n, maxFutureSkewMs: 300_000, maxEventAgeMs: 30 * 86_400_000 };
const tokenizer = { tokenize: (pan: string) => `tok_${pan.length}_${pan.slice(-2)}` };
function validated(body: unknown): ValidatedTransaction {
  const outcome = validateTransactionRequest(body, { nowMs: NOW_MS, limits, tokenizer });
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.problems));
  return outcome.value;
}
const fingerprint = (body: unknown) => fingerprintOf(validated(body), sha256Hasher);

describe('fingerprint', () => {
  it('is stable for the same content and 64 hex characters', () => {
    expect(fingerprint(cardRequest())).toBe(fingerprint(cardRequest()));
    expect(fingerprint(cardRequest())).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores presentation: key order, amount notation, offset notation, grouping of the card number', () => {
    const base = fingerprint(
      cardRequest({ amount: { value: '12.30', currency: 'EUR' }, eventTime: '2026-11-24T09:00:00Z' }),
    );
    const reordered = Object.fromEntries(Object.entries(cardRequest()).reverse());
    expect(
      fingerprint({
        ...reordered,
        amount: { currency: 'EUR', value: '12.3' },
        eventTime: '2026-11-24T10:00:00.000+01:00',
      }),
    ).toBe(base);
    expect(
      fingerprint(
        cardRequest({
          amount: { value: '12.3', currency: 'EUR' },
          eventTime: '2026-11-24T09:00:00Z',
          card: { number: '4111 1111 1111 1111', present: true },
        }),
      ),
    ).toBe(base);
  });

  it('changes with any content', () => {
    const base = fingerprint(cardRequest());
    expect(fingerprint(cardRequest({ amount: { value: '12.35', currency: 'EUR' } }))).not.toBe(base);
    expect(fingerprint(cardRequest({ payee: { accountId: 'other' } }))).not.toBe(base);
    expect(fingerprint(cardRequest({ card: { number: '5555555555554444', present: true } }))).not.toBe(base);
    expect(fingerprint(cardRequest({ eventTime: undefined }))).not.toBe(base);
  });

  it('is computed from tokenised content, never from the PAN', () => {
    const hashed: string[] = [];
    fingerprintOf(validated(cardRequest()), { sha256Hex: (text) => (hashed.push(text), 'x') });
    expect(hashed[0]).not.toContain(TEST_PAN);
    expect(hashed[0]).toContain('"token":"tok_16_11"');
  });

  it('does not depend on the time of receipt when the request has no event time', () => {
    const content = validateTransactionRequest(cardRequest({ eventTime: undefined }), {
      nowMs: NOW_MS,
      limits,
      tokenizer,
    });
    const later = validateTransactionRequest(cardRequest({ eventTime: undefined }), {
      nowMs: NOW_MS + 3_600_000,
      limits,
      tokenizer,
    });
    expect(
      content.ok && later.ok && fingerprintOf(content.value, sha256Hasher) === fingerprintOf(later.value, sha256Hasher),
    ).toBe(true);
  });
});

describe('toTransaction', () => {
  it('fills the canonical Transaction, defaulting event time to the time of receipt', () => {
    const content = validated(cardRequest({ eventTime: undefined }));
    expect(
      toTransaction(content, {
        fingerprint: 'f'.repeat(64),
        source: 'BATCH',
        submittedBy: 'ingest:0a1b2c3d',
        receivedAtMs: NOW_MS,
      }),
    ).toEqual({
      ...content,
      originalTransactionId: null,
      fingerprint: 'f'.repeat(64),
      source: 'BATCH',
      submittedBy: 'ingest:0a1b2c3d',
      eventTimeMs: NOW_MS,
      receivedAtMs: NOW_MS,
    });
  });
  it('fingerprints a transaction naming no original exactly as before Transaction v3 added the field', () => {
    // Canonical JSON drops absent members: no key, so the same text (and fingerprint) as a v2 build computed.
    expect(Object.hasOwn(validated(cardRequest()), 'originalTransactionId')).toBe(false);
    const capture = validated(cardRequest({ kind: 'capture', originalTransactionId: 'auth-1' }));
    expect(capture.originalTransactionId).toBe('auth-1');
    expect(fingerprint(cardRequest({ kind: 'capture', originalTransactionId: 'auth-1' }))).not.toBe(
      fingerprint(cardRequest({ kind: 'capture' })),
    );
  });
  it('keeps the client event time', () => {
    const transaction = toTransaction(validated(cardRequest()), {
      fingerprint: 'f',
      source: 'API',
      submittedBy: null,
      receivedAtMs: NOW_MS,
    });
    expect(transaction.eventTimeMs).toBe(NOW_MS - 60_000);
    expect(transaction.receivedAtMs).toBe(NOW_MS);
  });
});
