import { TEST_KEY, TEST_PAN, TEST_PAN_2 } from '../testing/fixtures.js';
import { HmacPanTokenizer, sha256Hasher } from './crypto.js';

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

describe('sha256Hasher', () => {
  it('hashes UTF-8 to hex', () => {
    expect(sha256Hasher.sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
