import { canonicalJson } from '../../platform/canonical-json.js';
import { Secret } from '../../platform/config.js';
import { HmacPanTokenizer, sha256Hasher } from '../adapters/crypto.js';
import { StaticTokenizationKeyStore } from '../adapters/static-key-store.js';
import type { PanTokenizer } from '../ports.js';
import { NOW_MS, TEST_KEY, TEST_PAN, TEST_PAN_2, cardRequest } from '../testing/fixtures.js';
import { cardTokenKeyVersion } from './card-token.js';
import { fingerprintOf, toTransaction } from './canonical.js';
import { type ValidContent, validateTransactionRequest } from './validation.js';

const limits = { maxAmountMajor: 1_000_000_000n, maxFutureSkewMs: 300_000, maxEventAgeMs: 30 * 86_400_000 };
const tokenizer = {
  tokenize: (pan: string) => `tok_${pan.length}_${pan.slice(-2)}`,
  fingerprintToken: (pan: string) => `tok_${pan.length}_${pan.slice(-2)}`,
};
function validated(body: unknown): ValidContent {
  const outcome = validateTransactionRequest(body, { nowMs: NOW_MS, limits, tokenizer });
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.problems));
  return outcome;
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
    expect(content.ok && later.ok && fingerprintOf(content, sha256Hasher) === fingerprintOf(later, sha256Hasher)).toBe(
      true,
    );
  });
});

describe('toTransaction', () => {
  it('fills the canonical Transaction, defaulting event time to the time of receipt', () => {
    const content = validated(cardRequest({ eventTime: undefined })).value;
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
      sourceDocument: null,
      fingerprint: 'f'.repeat(64),
      source: 'BATCH',
      submittedBy: 'ingest:0a1b2c3d',
      eventTimeMs: NOW_MS,
      receivedAtMs: NOW_MS,
    });
  });
  it('fingerprints a transaction naming no original exactly as before Transaction v3 added the field', () => {
    // Canonical JSON drops absent members: no key, so the same text (and fingerprint) as a v2 build computed.
    expect(Object.hasOwn(validated(cardRequest()).value, 'originalTransactionId')).toBe(false);
    // The same for Transaction v5's sourceDocument: a JSON request never has one.
    expect(Object.hasOwn(validated(cardRequest()).value, 'sourceDocument')).toBe(false);
    const capture = validated(cardRequest({ kind: 'capture', originalTransactionId: 'auth-1' })).value;
    expect(capture.originalTransactionId).toBe('auth-1');
    expect(fingerprint(cardRequest({ kind: 'capture', originalTransactionId: 'auth-1' }))).not.toBe(
      fingerprint(cardRequest({ kind: 'capture' })),
    );
  });
  it('keeps the client event time', () => {
    const transaction = toTransaction(validated(cardRequest()).value, {
      fingerprint: 'f',
      source: 'API',
      submittedBy: null,
      receivedAtMs: NOW_MS,
    });
    expect(transaction.eventTimeMs).toBe(NOW_MS - 60_000);
    expect(transaction.receivedAtMs).toBe(NOW_MS);
  });
});

describe('fingerprint across a tokenisation key rotation', () => {
  const v1Key = TEST_KEY;
  const v2Key = 'rotated-tokenization-key-0123456789abcdef';
  const keysAt = (current: 'v1' | 'v2') =>
    new StaticTokenizationKeyStore(
      new Map([
        ['v1', new Secret(v1Key)],
        ['v2', new Secret(v2Key)],
      ]),
      current,
      new Secret(v1Key),
    );
  const outcomeUnder = (tokenizer: PanTokenizer, body: unknown = cardRequest()) => {
    const outcome = validateTransactionRequest(body, { nowMs: NOW_MS, limits, tokenizer });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.problems));
    return outcome;
  };

  it('is the same under v1 and v2 while the card token changes and names its version', () => {
    const underV1 = outcomeUnder(new HmacPanTokenizer(keysAt('v1')));
    const underV2 = outcomeUnder(new HmacPanTokenizer(keysAt('v2')));
    expect(cardTokenKeyVersion(underV1.value.card!.token)).toBe('v1');
    expect(cardTokenKeyVersion(underV2.value.card!.token)).toBe('v2');
    expect(underV2.value.card!.token).not.toBe(underV1.value.card!.token);
    expect(fingerprintOf(underV2, sha256Hasher)).toBe(fingerprintOf(underV1, sha256Hasher));
  });

  it('equals the fingerprint made before key versions existed (over the v1 token), so old retries stay duplicates', () => {
    // The fingerprint as this code computed it before: SHA-256 of the canonical content holding the v1 token.
    const before = sha256Hasher.sha256Hex(canonicalJson(outcomeUnder(new HmacPanTokenizer(v1Key)).value));
    expect(fingerprintOf(outcomeUnder(new HmacPanTokenizer(keysAt('v1'))), sha256Hasher)).toBe(before);
    expect(fingerprintOf(outcomeUnder(new HmacPanTokenizer(keysAt('v2'))), sha256Hasher)).toBe(before);
  });

  it('negative control: a fingerprint over the card token (the old way) changes with the rotation', () => {
    const overToken = (content: ValidContent) =>
      fingerprintOf({ ...content, fingerprintCardToken: content.value.card!.token }, sha256Hasher);
    expect(overToken(outcomeUnder(new HmacPanTokenizer(keysAt('v2'))))).not.toBe(
      overToken(outcomeUnder(new HmacPanTokenizer(keysAt('v1')))),
    );
  });

  it('still tells different cards apart', () => {
    const tokenizer = new HmacPanTokenizer(keysAt('v2'));
    expect(
      fingerprintOf(
        outcomeUnder(tokenizer, cardRequest({ card: { number: TEST_PAN_2, present: true } })),
        sha256Hasher,
      ),
    ).not.toBe(fingerprintOf(outcomeUnder(tokenizer), sha256Hasher));
  });
});
