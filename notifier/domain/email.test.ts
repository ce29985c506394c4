import { containsPan } from '../../platform/pan.js';
import type { FraudAlert } from '../../schemas/generated/types.js';
import {
  type EmailSubscriptionRecord,
  type SubscriptionLimits,
  addToDigest,
  digestMail,
  emptyDigest,
  immediateMail,
  isImmediate,
  mailCarriesPan,
  parseEmailSubscriptionRequest,
  smtpOutcome,
  toEmailAlert,
} from './email.js';

const limits: SubscriptionLimits = {
  minDigestEveryMs: 60_000,
  maxDigestEveryMs: 604_800_000,
  defaultDigestEveryMs: 3_600_000,
  allowedDomains: [],
};
const links = {
  consoleUrl: 'https://vigil.bank.example/',
  unsubscribeUrl: 'https://vigil.bank.example/v1/notifications/unsubscribe?token=es_1.abc',
};
const PAN = '4111111111111111';

function alert(overrides: Partial<FraudAlert> = {}): FraudAlert {
  return {
    alertId: 'alert-1',
    transactionId: 'tx-1',
    decision: 'DECLINE',
    score: 0.91,
    reasons: [{ code: 'R_VELOCITY_1H', source: 'RULE', description: 'seven payments in an hour', weight: 1 }],
    channel: 'CARD',
    amountMinor: 50_001n,
    currency: 'EUR',
    payerAccountId: 'DE89370400440532013000',
    payeeAccountId: 'merchant-acct-7',
    cardToken: 'tok_secret_token',
    cardLast4: '1111',
    merchantId: 'm-42',
    country: 'DE',
    modelVersion: 'model-1',
    eventTimeMs: 1_700_000_000_000,
    receivedAtMs: 1_700_000_000_010,
    raisedAtMs: 1_700_000_000_020,
    ...overrides,
  };
}

function subscription(threshold: EmailSubscriptionRecord['immediateDeclineAbove']): EmailSubscriptionRecord {
  return {
    id: 'es_1',
    email: 'a@bank.example',
    immediateDeclineAbove: threshold,
    digestEveryMs: 60_000,
    status: 'active',
    createdAtMs: 0,
    endedAtMs: null,
  };
}

describe('e-mail subscription requests', () => {
  it('takes an address, a threshold in minor units and a digest period', () => {
    expect(
      parseEmailSubscriptionRequest(
        {
          email: 'Ana.Lyst@Bank.Example',
          immediateDeclineAbove: { value: '500.00', currency: 'EUR' },
          digestEveryMs: 60_000,
        },
        limits,
      ),
    ).toEqual({
      request: {
        email: 'Ana.Lyst@bank.example',
        immediateDeclineAbove: { minor: '50000', currency: 'EUR' },
        digestEveryMs: 60_000,
      },
      problems: [],
    });
    expect(parseEmailSubscriptionRequest({ email: 'a@bank.example' }, limits).request).toEqual({
      email: 'a@bank.example',
      immediateDeclineAbove: null,
      digestEveryMs: 3_600_000,
    });
  });

  it('reports every problem by field path', () => {
    const paths = (body: unknown, l = limits) => parseEmailSubscriptionRequest(body, l).problems.map((p) => p.path);
    expect(
      paths({
        email: 'not-an-address',
        immediateDeclineAbove: { value: 500, currency: 'EUR' },
        digestEveryMs: 10,
        cc: 'x',
      }),
    ).toEqual(['/cc', '/email', '/immediateDeclineAbove/value', '/digestEveryMs']);
    expect(paths({ email: 'a@b@c.example', immediateDeclineAbove: { value: '1.001', currency: 'EUR' } })).toEqual([
      '/email',
      '/immediateDeclineAbove/value',
    ]);
    expect(paths({ email: '"quoted"@bank.example', immediateDeclineAbove: { value: '1', currency: 'XXZ' } })).toEqual([
      '/email',
      '/immediateDeclineAbove/currency',
    ]);
    expect(paths({ email: 'a@evil.example' }, { ...limits, allowedDomains: ['bank.example'] })).toEqual(['/email']);
    expect(paths({ email: 'a@bank.example' }, { ...limits, allowedDomains: ['bank.example'] })).toEqual([]);
    expect(paths([])).toEqual(['']);
  });
});

describe('immediate or digest', () => {
  const threshold = { minor: '50000', currency: 'EUR' };
  const mailable = (overrides: Partial<FraudAlert>) => toEmailAlert(alert(overrides));
  it('mails a DECLINE strictly above the threshold, in its currency, at once', () => {
    expect(isImmediate(subscription(threshold), mailable({ amountMinor: 50_001n }))).toBe(true);
  });
  it.each([
    ['at the threshold', { amountMinor: 50_000n }],
    ['a REVIEW above it', { decision: 'REVIEW' as const }],
    ['a DECLINE above it in another currency', { currency: 'USD' }],
  ])('puts %s into the digest', (_name, overrides) => {
    expect(isImmediate(subscription(threshold), mailable(overrides))).toBe(false);
  });
  it('puts everything into the digest without a threshold', () => {
    expect(isImmediate(subscription(null), mailable({ amountMinor: 10n ** 12n }))).toBe(false);
  });
});

describe('digests', () => {
  it('lists the first N alerts and counts the rest', () => {
    let digest = emptyDigest;
    for (let i = 0; i < 5; i++) digest = addToDigest(digest, toEmailAlert(alert({ alertId: `alert-${i}` })), 10 + i, 3);
    expect(digest.alerts.map((a) => a.alertId)).toEqual(['alert-0', 'alert-1', 'alert-2']);
    expect([digest.notListed, digest.throughOffset]).toEqual([2, 14]);
    const mail = digestMail(digest, links);
    expect(mail.subject).toBe('[Vigil] 5 alerts since the last digest');
    expect(mail.text).toContain('… and 2 more alerts not listed here: see the console.');
    expect(mail.text.match(/^DECLINE /gm)).toHaveLength(3);
  });
});

describe('mail content', () => {
  it('shows what an analyst sees and nothing more: no token, no account ids', () => {
    const mail = immediateMail(toEmailAlert(alert()), links);
    expect(mail.subject).toBe('[Vigil] DECLINE 500.01 EUR — transaction tx-1');
    for (const part of [mail.text, mail.html]) {
      expect(part).toContain('tx-1');
      expect(part).toContain('1111');
      expect(part).toContain('R_VELOCITY_1H');
      expect(part).toContain(links.unsubscribeUrl);
      expect(part).not.toContain('tok_secret_token');
      expect(part).not.toContain('DE89370400440532013000');
      expect(part).not.toContain('merchant-acct-7');
    }
  });

  it('escapes HTML', () => {
    const mail = immediateMail(toEmailAlert(alert({ merchantId: '<script>x</script>' })), links);
    expect(mail.html).toContain('&#60;script&#62;x&#60;/script&#62;');
    expect(mail.html).not.toContain('<script>');
    expect(mail.text).toContain('<script>x</script>');
  });

  it('masks a card number planted in the alert; the detector catches the unmasked mail', () => {
    const planted = alert({
      transactionId: `tx-${PAN}`,
      merchantId: `m ${PAN.replace(/(\d{4})/g, '$1 ').trim()}`,
      cardLast4: PAN,
      reasons: [{ code: 'R_X', source: 'RULE', description: `card ${PAN} seen twice`, weight: 1 }],
    });
    const mail = immediateMail(toEmailAlert(planted), links);
    expect(mailCarriesPan(mail)).toBe(false);
    expect(mail.text).toContain('411111******1111');
    // Negative control: the same alert rendered without the masking step is caught by the detector.
    const unmasked = immediateMail(
      { ...toEmailAlert(planted), reasons: [{ code: 'R_X', description: `card ${PAN} seen twice` }] },
      links,
    );
    expect(containsPan(unmasked.text)).toBe(true);
    expect(mailCarriesPan(unmasked)).toBe(true);
  });
});

describe('SMTP outcomes', () => {
  it.each([
    [{ kind: 'accepted' as const }, 'sent'],
    [{ kind: 'reply' as const, code: 550, message: 'no such user' }, 'refused'],
    [{ kind: 'reply' as const, code: 552, message: 'mailbox full' }, 'refused'],
    [{ kind: 'reply' as const, code: 451, message: 'try later' }, 'deferred'],
    [{ kind: 'reply' as const, code: 421, message: 'closing' }, 'deferred'],
    [{ kind: 'error' as const, message: 'ECONNREFUSED' }, 'deferred'],
  ])('%j is %s', (result, outcome) => {
    expect(smtpOutcome(result)).toBe(outcome);
  });
});
