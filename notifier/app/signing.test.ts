import { createHmac } from 'node:crypto';
import Stripe from 'stripe';
import { SecretSealer, newSigningSecret, signatureHeader } from './signing.js';

const stripe = new Stripe('sk_test_unused_no_network');

describe('webhook signatures', () => {
  const secret = newSigningSecret();
  const body = Buffer.from(JSON.stringify({ id: 'evt_1', type: 'decision.made', data: { amount: '12.34' } }));
  const now = Math.floor(Date.now() / 1000);

  it("verify with Stripe's own verifier (an independent implementation of the scheme)", () => {
    const header = signatureHeader(secret, now, body);
    const event = stripe.webhooks.constructEvent(body, header, secret, 300) as unknown as { id: string };
    expect(event.id).toBe('evt_1');
  });

  it('matches the HMAC written out by hand', () => {
    const mac = createHmac('sha256', secret)
      .update(`${now}.${body.toString('utf8')}`)
      .digest('hex');
    expect(signatureHeader(secret, now, body)).toBe(`t=${now},v1=${mac}`);
  });

  it('negative controls: a changed body, another secret or an old timestamp is refused', () => {
    const header = signatureHeader(secret, now, body);
    const tampered = Buffer.from(body.toString('utf8').replace('12.34', '99.99'));
    expect(() => stripe.webhooks.constructEvent(tampered, header, secret, 300)).toThrow(/signature/i);
    expect(() => stripe.webhooks.constructEvent(body, header, newSigningSecret(), 300)).toThrow(/signature/i);
    const old = signatureHeader(secret, now - 3600, body);
    expect(() => stripe.webhooks.constructEvent(body, old, secret, 300)).toThrow(/tolerance/i);
  });
});

describe('secret sealing', () => {
  const sealer = new SecretSealer('a-test-key-of-at-least-thirty-two-characters');

  it('opens what it sealed for the same endpoint, and nothing else', () => {
    const sealed = sealer.seal('we_1', 'whsec_abc');
    expect(sealed).not.toContain('whsec_abc');
    expect(sealer.open('we_1', sealed)).toBe('whsec_abc');
    expect(() => sealer.open('we_2', sealed)).toThrow();
    expect(() => new SecretSealer('another-key-of-at-least-thirty-two-chars!').open('we_1', sealed)).toThrow();
    expect(() => sealer.open('we_1', 'garbage')).toThrow(/unknown format/);
  });
});
