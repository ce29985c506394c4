import { cardTokenKeyVersion, compareKeyVersions, formatCardToken } from './card-token.js';

const MAC = 'A'.repeat(21) + '_' + 'b-'.repeat(10) + 'z'; // 43 base64url characters

describe('card token format', () => {
  it('writes v1 tokens without a version, later versions with one', () => {
    expect(formatCardToken('v1', MAC)).toBe(`tok_${MAC}`);
    expect(formatCardToken('v2', MAC)).toBe(`tok_v2_${MAC}`);
    expect(formatCardToken('v12', MAC)).toBe(`tok_v12_${MAC}`);
  });

  it('reads the version back, and tokens made before key versions existed as v1', () => {
    expect(cardTokenKeyVersion(formatCardToken('v2', MAC))).toBe('v2');
    expect(cardTokenKeyVersion(formatCardToken('v12', MAC))).toBe('v12');
    // A token as every earlier build wrote it: RFC 4231 test case 2's HMAC-SHA-256 (see adapters/crypto.test.ts).
    expect(cardTokenKeyVersion('tok_W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM')).toBe('v1');
  });

  it('is not fooled by a v1 MAC that begins like a version', () => {
    const lookalike = `tok_v2_${MAC.slice(3)}`; // 47 characters: a v1 token whose MAC starts with "v2_"
    expect(cardTokenKeyVersion(lookalike)).toBe('v1');
  });

  it.each([['tok_short'], [`tok_v1_${MAC}`], [`tok_v0_${MAC}`], [`tok_v02_${MAC}`], [`card-${MAC}`], [`tok_${MAC}x`]])(
    'does not recognise %s as a Vigil token',
    (token) => expect(cardTokenKeyVersion(token)).toBeUndefined(),
  );

  it('orders versions by number', () => {
    expect(['v10', 'v2', 'v1'].sort(compareKeyVersions)).toEqual(['v1', 'v2', 'v10']);
  });
});
