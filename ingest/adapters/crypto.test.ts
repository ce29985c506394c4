import { TEST_KEY, TEST_PAN, TEST_PAN_2 } from '../testing/fixtures.js';
import { Secret } from '../../platform/config.js';
import { cardTokenKeyVersion } from '../domain/card-token.js';
import { HmacPanTokenizer, sha256Hasher } from './crypto.js';
import { StaticTokenizationKeyStore } from './static-key-store.js';

describe('HmacPanTokenizer', () => {
  const tokenizer = new HmacPanTokenizer(TEST_KEY);

  it('is stable per key', () => {
    expect(tokenizer.tokenize(TEST_PAN)).toBe(new HmacPanTokenizer(TEST_KEY).tokenize(TEST_PAN));
    expect(tokenizer.tokenize(TEST_PAN)).toMatch(/^tok_[A-Za-z0-9_-]{43}$/);
  });

  it('differs per key and per card', () => {
    expect(tokenizer.tokenize(TEST_PAN)).not.toBe(new HmacPanTokenizer(TEST_KEY + 'x').tokenize(TEST_PAN));
    expect(tokenizer.tokenize(TEST_PAN)).not.toBe(tokenizer.tokenize(TEST_PAN_2));
  });

  it('never contains the PAN or a run of its digits', () => {
    for (const pan of [TEST_PAN, TEST_PAN_2, '378282246310005']) {
      const token = tokenizer.tokenize(pan);
      expect(token).not.toContain(pan);
      expect(token).not.toContain(pan.slice(0, 6));
    }
  });

  it('is the keyed HMAC-SHA-256 of the PAN (RFC 4231 test case 2)', () => {
    expect(new HmacPanTokenizer('Jefe').tokenize('what do ya want for nothing?')).toBe(
      'tok_' +
        Buffer.from('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843', 'hex').toString('base64url'),
    );
  });
});

describe('HmacPanTokenizer with key versions', () => {
  const v2Key = 'rotated-tokenization-key-0123456789abcdef';
  const keysAt = (current: string) =>
    new StaticTokenizationKeyStore(
      new Map([
        ['v1', new Secret(TEST_KEY)],
        ['v2', new Secret(v2Key)],
      ]),
      current,
      new Secret(TEST_KEY),
    );

  it('makes v1 tokens exactly as before key versions existed', () => {
    expect(new HmacPanTokenizer(keysAt('v1')).tokenize(TEST_PAN)).toBe(
      new HmacPanTokenizer(TEST_KEY).tokenize(TEST_PAN),
    );
  });

  it('makes tok_v2_ tokens with the v2 key once v2 is current', () => {
    const token = new HmacPanTokenizer(keysAt('v2')).tokenize(TEST_PAN);
    expect(token).toBe('tok_v2_' + new HmacPanTokenizer(v2Key).tokenize(TEST_PAN).slice('tok_'.length));
    expect(cardTokenKeyVersion(token)).toBe('v2');
  });

  it('keeps the fingerprint token on the fingerprint key across the rotation', () => {
    const v1Token = new HmacPanTokenizer(TEST_KEY).tokenize(TEST_PAN);
    expect(new HmacPanTokenizer(keysAt('v1')).fingerprintToken(TEST_PAN)).toBe(v1Token);
    expect(new HmacPanTokenizer(keysAt('v2')).fingerprintToken(TEST_PAN)).toBe(v1Token);
    expect(new HmacPanTokenizer(keysAt('v2')).fingerprintToken(TEST_PAN_2)).not.toBe(v1Token);
  });
});

describe('sha256Hasher', () => {
  it('hashes UTF-8 to hex', () => {
    expect(sha256Hasher.sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
