import { NO_LINKS } from './holds.js';
import { VigilError } from '../../platform/errors.js';
import { sampleTransaction } from '../../schemas/fixtures.js';
import {
  Channel,
  type LedgerEntry,
  type ScoredTransaction,
  type Transaction,
  TransactionKind,
} from '../../schemas/generated/types.js';
import {
  INT64_MAX,
  INT64_MIN,
  PostingErrorCode,
  assertBalanced,
  bookingOf,
  kindPosts,
  linksOf,
  fxPositionAccount,
  notPostedReason,
  postingsFor,
  postingsForDecision,
} from './postings.js';

const POSTED_AT = 1_764_000_001_000;

/** Per-currency sums of a posting, as bigint. */
function sumsByCurrency(entries: readonly LedgerEntry[]): Map<string, bigint> {
  const sums = new Map<string, bigint>();
  for (const e of entries) sums.set(e.currency, (sums.get(e.currency) ?? 0n) + e.amountMinor);
  return sums;
}

function legs(entries: readonly LedgerEntry[]): Array<[string, bigint, string, string]> {
  return entries.map((e) => [e.accountId, e.amountMinor, e.currency, e.entryType]);
}

function scored(transaction: Transaction, decision: ScoredTransaction['decision']): ScoredTransaction {
  return {
    transaction,
    decision,
    score: 0.1,
    risk: 0.1,
    reasons: [],
    rulesFired: [],
    features: {},
    featureValues: null,
    reportingCurrency: 'EUR',
    unconvertedCurrency: null,
    modelVersion: 'm1',
    rulesVersion: 'r1',
    scoredAtMs: POSTED_AT,
  };
}

function expectPostingError(run: () => unknown, code: string): VigilError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(VigilError);
    expect((error as VigilError).code).toBe(code);
    expect((error as VigilError).retriable).toBe(false);
    return error as VigilError;
  }
  throw new Error(`expected a PostingError ${code}, nothing was thrown`);
}

describe('postingsFor — same currency', () => {
  const movingKinds = Object.values(TransactionKind).filter((k) => k !== 'AUTHORIZATION' && k !== 'REFUND');

  describe.each(Object.values(Channel))('given a %s transaction', (channel) => {
    it.each(movingKinds)('when it is a %s, then the payer is debited and the payee credited the amount', (kind) => {
      const tx = sampleTransaction({
        transactionId: `tx-${channel}-${kind}`,
        channel,
        kind,
        amountMinor: 12_345n,
        currency: 'EUR',
      });
      const entries = postingsFor(tx, POSTED_AT);
      expect(legs(entries)).toEqual([
        ['acct-payer-1', -12_345n, 'EUR', 'PRINCIPAL'],
        ['acct-merchant-1', 12_345n, 'EUR', 'PRINCIPAL'],
      ]);
      expect(entries.map((e) => e.entryId)).toEqual([`tx-${channel}-${kind}/0`, `tx-${channel}-${kind}/1`]);
      expect(entries.map((e) => e.leg)).toEqual([0, 1]);
      expect(
        entries.every(
          (e) => e.transactionId === tx.transactionId && e.eventTimeMs === tx.eventTimeMs && e.postedAtMs === POSTED_AT,
        ),
      ).toBe(true);
      expect(sumsByCurrency(entries)).toEqual(new Map([['EUR', 0n]]));
    });

    it('when it is a REFUND, then the money flows back: payee debited, payer credited', () => {
      const entries = postingsFor(sampleTransaction({ channel, kind: 'REFUND', amountMinor: 500n }), POSTED_AT);
      expect(legs(entries)).toEqual([
        ['acct-payer-1', 500n, 'EUR', 'PRINCIPAL'],
        ['acct-merchant-1', -500n, 'EUR', 'PRINCIPAL'],
      ]);
    });

    it('when it is an AUTHORIZATION, then its legs are the ones its hold reserves (its CAPTUREs will book them)', () => {
      const entries = postingsFor(sampleTransaction({ channel, kind: 'AUTHORIZATION', amountMinor: 500n }), POSTED_AT);
      expect(legs(entries)).toEqual([
        ['acct-payer-1', -500n, 'EUR', 'PRINCIPAL'],
        ['acct-merchant-1', 500n, 'EUR', 'PRINCIPAL'],
      ]);
      expect(kindPosts('AUTHORIZATION')).toBe(false);
    });
  });

  it('given no postedAtMs, when posting, then entries are stamped with the received time (deterministic)', () => {
    const tx = sampleTransaction();
    expect(postingsFor(tx).map((e) => e.postedAtMs)).toEqual([tx.receivedAtMs, tx.receivedAtMs]);
    expect(postingsFor(tx)).toEqual(postingsFor(tx));
  });

  it('given a settlement in the same currency and amount, when posting, then it is a plain two-leg posting', () => {
    const entries = postingsFor(
      sampleTransaction({ amountMinor: 700n, settlement: { amountMinor: 700n, currency: 'EUR' } }),
      POSTED_AT,
    );
    expect(legs(entries)).toEqual([
      ['acct-payer-1', -700n, 'EUR', 'PRINCIPAL'],
      ['acct-merchant-1', 700n, 'EUR', 'PRINCIPAL'],
    ]);
  });

  it('given a settlement in the same currency with another amount, when posting, then it is refused as ambiguous', () => {
    const error = expectPostingError(
      () => postingsFor(sampleTransaction({ amountMinor: 700n, settlement: { amountMinor: 701n, currency: 'EUR' } })),
      PostingErrorCode.settlementMismatch,
    );
    expect(error.problems).toEqual([expect.objectContaining({ path: '/settlement/amountMinor' })]);
    // A bad transaction, not a bug: the catalogue's category, never retried.
    expect(error).toMatchObject({ category: 'invalid_input', retriable: false });
  });
});

describe('postingsFor — cross-currency (FX legs)', () => {
  // A UK card holder (account in GBP) pays a French merchant 100.00 EUR; the bank settles 86.31 GBP.
  const fx = sampleTransaction({
    transactionId: 'tx-fx',
    amountMinor: 10_000n,
    currency: 'EUR',
    settlement: { amountMinor: 8_631n, currency: 'GBP' },
  });

  it('given a settlement in another currency, when posting, then payer, two FX positions and payee each get a leg', () => {
    const entries = postingsFor(fx, POSTED_AT);
    expect(legs(entries)).toEqual([
      ['acct-payer-1', -8_631n, 'GBP', 'PRINCIPAL'],
      ['fx:GBP', 8_631n, 'GBP', 'FX'],
      ['fx:EUR', -10_000n, 'EUR', 'FX'],
      ['acct-merchant-1', 10_000n, 'EUR', 'PRINCIPAL'],
    ]);
    expect(entries.map((e) => e.entryId)).toEqual(['tx-fx/0', 'tx-fx/1', 'tx-fx/2', 'tx-fx/3']);
    expect(sumsByCurrency(entries)).toEqual(
      new Map([
        ['GBP', 0n],
        ['EUR', 0n],
      ]),
    );
  });

  it('given an FX refund, when posting, then every leg is reversed', () => {
    const entries = postingsFor({ ...fx, kind: 'REFUND' }, POSTED_AT);
    expect(legs(entries)).toEqual([
      ['acct-payer-1', 8_631n, 'GBP', 'PRINCIPAL'],
      ['fx:GBP', -8_631n, 'GBP', 'FX'],
      ['fx:EUR', 10_000n, 'EUR', 'FX'],
      ['acct-merchant-1', -10_000n, 'EUR', 'PRINCIPAL'],
    ]);
    expect(sumsByCurrency(entries)).toEqual(
      new Map([
        ['GBP', 0n],
        ['EUR', 0n],
      ]),
    );
  });

  it('names FX position accounts fx:<ISO 4217 code>', () => {
    expect(fxPositionAccount('JPY')).toBe('fx:JPY');
  });

  it('given a payer account in the reserved fx: namespace, when posting, then it is refused', () => {
    const error = expectPostingError(
      () => postingsFor(sampleTransaction({ payerAccountId: 'fx:EUR' })),
      PostingErrorCode.reservedAccount,
    );
    expect(error.problems.map((p) => p.path)).toEqual(['/payerAccountId']);
  });
});

describe('postingsForDecision', () => {
  const tx = sampleTransaction();
  it('given an APPROVE decision, when posting, then the transaction posts', () => {
    expect(postingsForDecision(scored(tx, 'APPROVE'), POSTED_AT)).toHaveLength(2);
    expect(notPostedReason(scored(tx, 'APPROVE'))).toBeNull();
    expect(bookingOf('APPROVE', tx.kind)).toBe('post');
  });

  it('given a REVIEW decision, when posting, then nothing posts yet: its legs go into a pending hold', () => {
    expect(postingsForDecision(scored(tx, 'REVIEW'), POSTED_AT)).toEqual([]);
    expect(notPostedReason(scored(tx, 'REVIEW'))).toBe('held_for_review');
    expect(bookingOf('REVIEW', tx.kind)).toBe('hold');
    expect(bookingOf('REVIEW', 'AUTHORIZATION')).toBe('authorize');
    expect(bookingOf('APPROVE', 'AUTHORIZATION')).toBe('authorize');
    expect(bookingOf('DECLINE', 'AUTHORIZATION')).toBe('none');
    expect(bookingOf('DECLINE', tx.kind)).toBe('none');
  });

  it('given a DECLINE decision, when posting, then nothing posts', () => {
    expect(postingsForDecision(scored(tx, 'DECLINE'), POSTED_AT)).toEqual([]);
    expect(notPostedReason(scored(tx, 'DECLINE'))).toBe('declined');
  });

  it('given an approved AUTHORIZATION, when posting, then nothing books (it places a hold) and the reason says why', () => {
    const auth = scored(sampleTransaction({ kind: 'AUTHORIZATION' }), 'APPROVE');
    expect(postingsForDecision(auth, POSTED_AT)).toEqual([]);
    expect(notPostedReason(auth)).toBe('authorization_hold');
  });

  it('given a DECLINE with an unpostable amount, when posting, then nothing is checked or posted (no money moves)', () => {
    expect(postingsForDecision(scored(sampleTransaction({ amountMinor: 0n }), 'DECLINE'))).toEqual([]);
  });
});

describe('amounts at the edges of Int64', () => {
  it('given an amount of 2^63−1, when posting, then the legs are exact and balanced', () => {
    const entries = postingsFor(sampleTransaction({ amountMinor: INT64_MAX }), POSTED_AT);
    expect(entries.map((e) => e.amountMinor)).toEqual([-INT64_MAX, INT64_MAX]);
    expect(sumsByCurrency(entries)).toEqual(new Map([['EUR', 0n]]));
  });

  it('given FX amounts of 2^63−1 on both sides, when posting, then every leg fits and balances', () => {
    const entries = postingsFor(
      sampleTransaction({ amountMinor: INT64_MAX, settlement: { amountMinor: INT64_MAX, currency: 'USD' } }),
      POSTED_AT,
    );
    expect(sumsByCurrency(entries)).toEqual(
      new Map([
        ['USD', 0n],
        ['EUR', 0n],
      ]),
    );
  });

  it.each([
    ['2^63 (one past Int64)', 2n ** 63n],
    ['zero', 0n],
    ['negative', -1n],
    ['Int64 minimum', INT64_MIN],
  ])('given an amount of %s, when posting, then it is refused, not wrapped', (_name, amountMinor) => {
    const error = expectPostingError(
      () => postingsFor(sampleTransaction({ amountMinor })),
      PostingErrorCode.invalidAmount,
    );
    expect(error.problems.map((p) => p.path)).toEqual(['/amountMinor']);
  });

  it('given a settlement amount past Int64, when posting, then it is refused with its path', () => {
    const error = expectPostingError(
      () => postingsFor(sampleTransaction({ settlement: { amountMinor: 2n ** 64n, currency: 'USD' } })),
      PostingErrorCode.invalidAmount,
    );
    expect(error.problems.map((p) => p.path)).toEqual(['/settlement/amountMinor']);
  });
});

describe('assertBalanced', () => {
  const entry = (leg: number, amountMinor: bigint, currency = 'EUR'): LedgerEntry => ({
    entryId: `t/${leg}`,
    transactionId: 't',
    leg,
    accountId: `a${leg}`,
    amountMinor,
    currency,
    entryType: 'PRINCIPAL',
    eventTimeMs: 0,
    postedAtMs: 0,
  });

  it('given balanced legs in two currencies, then it passes', () => {
    expect(() =>
      assertBalanced([entry(0, -5n), entry(1, 5n), entry(2, 7n, 'USD'), entry(3, -7n, 'USD')]),
    ).not.toThrow();
  });

  it('given a planted one-minor-unit fault in one currency, then it throws UNBALANCED_POSTING naming the currency', () => {
    const error = expectPostingError(
      () => assertBalanced([entry(0, -5n), entry(1, 5n), entry(2, 7n, 'USD'), entry(3, -6n, 'USD')]),
      PostingErrorCode.unbalanced,
    );
    expect(error.details).toMatchObject({ currency: 'USD', imbalanceMinor: '1', transactionIds: ['t'] });
    // A broken invariant is a bug (internal), never retried.
    expect(error).toMatchObject({ category: 'internal', retriable: false });
  });

  it('given a posting whose legs each balance across currencies but not within one, then it throws', () => {
    expectPostingError(() => assertBalanced([entry(0, -5n, 'EUR'), entry(1, 5n, 'USD')]), PostingErrorCode.unbalanced);
  });

  it('given legs whose running sum leaves Int64 (even if the total returns to 0), then it throws LEDGER_INT64_OVERFLOW', () => {
    expectPostingError(
      () => assertBalanced([entry(0, INT64_MAX), entry(1, 1n), entry(2, -INT64_MAX), entry(3, -1n)]),
      PostingErrorCode.int64Overflow,
    );
  });

  it('given a leg outside Int64, then it throws LEDGER_INT64_OVERFLOW', () => {
    expectPostingError(
      () => assertBalanced([entry(0, -(2n ** 63n) - 1n), entry(1, 2n ** 63n + 1n)]),
      PostingErrorCode.int64Overflow,
    );
  });

  it('holds for every posting of a generated mix of channels, kinds, amounts and FX', () => {
    let checked = 0;
    for (const channel of Object.values(Channel))
      for (const kind of Object.values(TransactionKind))
        for (const amountMinor of [1n, 99n, 123_456_789n, 2n ** 53n + 1n, INT64_MAX])
          for (const settlement of [
            null,
            { amountMinor: amountMinor === INT64_MAX ? 1n : amountMinor * 3n, currency: 'JPY' },
          ]) {
            const entries = postingsFor(
              sampleTransaction({ transactionId: `p-${checked}`, channel, kind, amountMinor, settlement }),
              POSTED_AT,
            );
            for (const sum of sumsByCurrency(entries).values()) expect(sum).toBe(0n);
            expect(() => assertBalanced(entries)).not.toThrow();
            checked += 1;
          }
    expect(checked).toBe(7 * 7 * 5 * 2);
  });
});

describe('links of follow-up transactions', () => {
  it('given a CAPTURE naming its authorisation, then its legs link to it as the hold they settle', () => {
    expect(linksOf(sampleTransaction({ kind: 'CAPTURE', originalTransactionId: 'auth-1' }))).toEqual({
      capturesTransactionId: 'auth-1',
      refundsTransactionId: '',
    });
  });

  it('given a REFUND naming its payment, then its legs link to it as what they pay back', () => {
    expect(linksOf(sampleTransaction({ kind: 'REFUND', originalTransactionId: 'pay-1' }))).toEqual({
      capturesTransactionId: '',
      refundsTransactionId: 'pay-1',
    });
  });

  it('given a transaction naming no original (or a kind that follows up nothing), then no links', () => {
    expect(linksOf(sampleTransaction({ kind: 'CAPTURE' }))).toEqual(NO_LINKS);
    expect(linksOf(sampleTransaction({ kind: 'PURCHASE', originalTransactionId: 'x' }))).toEqual(NO_LINKS);
  });
});
