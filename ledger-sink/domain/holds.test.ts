import { sampleTransaction } from '../../schemas/fixtures.js';
import {
  type BookedEntry,
  EMPTY_LEDGER,
  type TransactionLedger,
  type Verdict,
  applyVerdict,
  expireHold,
  fullyCaptured,
  isOpen,
  ledgersOf,
  overCapturedMinor,
  placeHold,
  remainingLegs,
  reversalEntryId,
  settleCaptures,
} from './holds.js';
import fc from 'fast-check';
import type { Transaction } from '../../schemas/generated/types.js';
import { assertBalanced, linksOf, postingsFor } from './postings.js';

const PLACED_AT = 1_764_000_000_000;
const TIMEOUT = 60_000;
const tx = sampleTransaction({ transactionId: 'tx-1', amountMinor: 10_000n });
const legs = postingsFor(tx, PLACED_AT);
const held: TransactionLedger = {
  ...EMPTY_LEDGER,
  hold: placeHold(tx.transactionId, tx.fingerprint, legs, PLACED_AT, TIMEOUT),
};
const verdict = (label: Verdict['label'], labelledBy = 'ana'): Verdict => ({
  transactionId: tx.transactionId,
  label,
  labelledBy,
  labelledAtMs: PLACED_AT + 1,
});
const amounts = (entries: readonly BookedEntry[]) => entries.map((e) => [e.entryId, e.amountMinor, e.reversesEntryId]);

describe('two-phase postings', () => {
  it('given an open hold, when a GENUINE verdict arrives, then its legs are booked at the booking time', () => {
    const step = applyVerdict(held, verdict('GENUINE'), PLACED_AT + 5_000);
    expect(step.outcome).toBe('hold_posted');
    expect(step.writes.resolutions).toEqual([
      {
        transactionId: 'tx-1',
        resolution: 'POSTED',
        cause: 'GENUINE',
        resolvedBy: 'ana',
        resolvedAtMs: PLACED_AT + 5_000,
      },
    ]);
    expect(amounts(step.writes.entries)).toEqual([
      ['tx-1/0', -10_000n, ''],
      ['tx-1/1', 10_000n, ''],
    ]);
    // Value date stays the event's; booking time is when the hold was posted.
    expect(step.writes.entries.map((e) => [e.eventTimeMs, e.postedAtMs])).toEqual([
      [tx.eventTimeMs, PLACED_AT + 5_000],
      [tx.eventTimeMs, PLACED_AT + 5_000],
    ]);
    expect(isOpen(step.ledger)).toBe(false);
  });

  it('given an open hold, when a FRAUD verdict arrives, then it is voided and nothing is booked', () => {
    const step = applyVerdict(held, verdict('FRAUD'), PLACED_AT + 5_000);
    expect(step.outcome).toBe('hold_voided');
    expect(step.writes.resolutions.map((r) => [r.resolution, r.cause])).toEqual([['VOIDED', 'FRAUD']]);
    expect(step.writes.entries).toEqual([]);
    // A later GENUINE verdict cannot revive a voided hold.
    expect(applyVerdict(step.ledger, verdict('GENUINE', 'bo'), PLACED_AT + 6_000).outcome).toBe('no_effect');
  });

  it('given booked legs, when FRAUD arrives twice, then they are reversed exactly once, linked to the originals', () => {
    const posted = applyVerdict(held, verdict('GENUINE'), PLACED_AT + 5_000).ledger;
    const first = applyVerdict(posted, verdict('FRAUD', 'bo'), PLACED_AT + 9_000);
    expect(first.outcome).toBe('reversed');
    expect(amounts(first.writes.entries)).toEqual([
      ['tx-1/r0', 10_000n, 'tx-1/0'],
      ['tx-1/r1', -10_000n, 'tx-1/1'],
    ]);
    expect(first.writes.entries.map((e) => e.leg)).toEqual([2, 3]);
    expect(applyVerdict(first.ledger, verdict('FRAUD', 'cy'), PLACED_AT + 9_500)).toMatchObject({
      outcome: 'no_effect',
      writes: { resolutions: [], entries: [] },
    });
  });

  it('given nothing booked or held (a DECLINE, or a verdict before its decision), then a verdict does nothing', () => {
    for (const label of ['FRAUD', 'GENUINE'] as const)
      expect(applyVerdict(EMPTY_LEDGER, verdict(label), PLACED_AT).outcome).toBe('no_effect');
  });

  it.each([
    ['void', 'VOIDED', 0],
    ['post', 'POSTED', 2],
  ] as const)('given the %s policy, a hold expires at its timeout and not before', (policy, resolution, entries) => {
    expect(expireHold(held, policy, PLACED_AT + TIMEOUT - 1).outcome).toBe('no_effect');
    const step = expireHold(held, policy, PLACED_AT + TIMEOUT);
    expect(step.writes.resolutions.map((r) => [r.resolution, r.cause, r.resolvedBy])).toEqual([
      [resolution, 'EXPIRED', 'expiry'],
    ]);
    expect(step.writes.entries).toHaveLength(entries);
    expect(expireHold(step.ledger, policy, PLACED_AT + 2 * TIMEOUT).outcome).toBe('no_effect');
  });

  it('given a POSTED resolution whose entries never landed (a crash between the inserts), then the next step books them', () => {
    const resolvedOnly = {
      ...held,
      resolution: applyVerdict(held, verdict('GENUINE'), PLACED_AT + 5_000).ledger.resolution,
    };
    const step = applyVerdict(resolvedOnly, verdict('GENUINE'), PLACED_AT + 7_000);
    expect(step.outcome).toBe('repaired');
    expect(step.writes.resolutions).toEqual([]);
    expect(amounts(step.writes.entries)).toEqual([
      ['tx-1/0', -10_000n, ''],
      ['tx-1/1', 10_000n, ''],
    ]);
    // A FRAUD verdict in the same state repairs first, then reverses.
    const fraud = applyVerdict(resolvedOnly, verdict('FRAUD'), PLACED_AT + 7_000);
    expect(fraud.outcome).toBe('reversed');
    expect(fraud.writes.entries.map((e) => e.entryId)).toEqual(['tx-1/0', 'tx-1/1', 'tx-1/r0', 'tx-1/r1']);
  });
});

describe('card authorisations and their captures', () => {
  const AUTH_TIMEOUT = 7 * 86_400_000;
  const auth = sampleTransaction({ transactionId: 'auth-1', kind: 'AUTHORIZATION', amountMinor: 10_000n });
  const authorized: TransactionLedger = {
    ...EMPTY_LEDGER,
    hold: placeHold(
      auth.transactionId,
      auth.fingerprint,
      postingsFor(auth, PLACED_AT),
      PLACED_AT,
      AUTH_TIMEOUT,
      'AUTHORIZATION',
    ),
  };
  /** A capture of `auth-1` numbered `n`, booked as the batch handler books it (its legs carry the link). */
  const capture = (n: number, amountMinor: bigint): BookedEntry[] => {
    const tx = sampleTransaction({
      transactionId: `cap-${n}`,
      kind: 'CAPTURE',
      amountMinor,
      originalTransactionId: auth.transactionId,
    });
    return postingsFor(tx, PLACED_AT + n).map((leg) => ({
      ...leg,
      ...linksOf(tx),
      fingerprint: tx.fingerprint,
      reversesEntryId: '',
    }));
  };
  const captured = (...captures: ReadonlyArray<readonly BookedEntry[]>): TransactionLedger => ({
    ...authorized,
    captures: captures.flat(),
  });
  const remaining = (ledger: TransactionLedger) => remainingLegs(ledger).map((l) => [l.accountId, l.amountMinor]);

  it('given an authorisation of 100.00, when 30.00 then 70.00 are captured, then each capture reduces what it reserves and only the second ends it CAPTURED, once', () => {
    expect(remaining(authorized)).toEqual([
      ['acct-payer-1', -10_000n],
      ['acct-merchant-1', 10_000n],
    ]);

    const afterFirst = captured(capture(1, 3_000n));
    expect(remaining(afterFirst)).toEqual([
      ['acct-payer-1', -7_000n],
      ['acct-merchant-1', 7_000n],
    ]);
    expect(fullyCaptured(afterFirst)).toBe(false);
    expect(settleCaptures(afterFirst, 'capture', PLACED_AT + 10)).toMatchObject({
      outcome: 'no_effect',
      writes: { resolutions: [], entries: [] },
    });

    const afterSecond = captured(capture(1, 3_000n), capture(2, 7_000n));
    expect(remaining(afterSecond)).toEqual([
      ['acct-payer-1', 0n],
      ['acct-merchant-1', 0n],
    ]);
    expect(overCapturedMinor(afterSecond)).toBe(0n);
    const settled = settleCaptures(afterSecond, 'capture', PLACED_AT + 20);
    expect(settled.outcome).toBe('hold_captured');
    expect(settled.writes).toEqual({
      resolutions: [
        {
          transactionId: 'auth-1',
          resolution: 'CAPTURED',
          cause: 'CAPTURED',
          resolvedBy: 'capture',
          resolvedAtMs: PLACED_AT + 20,
        },
      ],
      // The captures booked the money; settling books nothing of its own.
      entries: [],
    });
    expect(isOpen(settled.ledger)).toBe(false);
    expect(settleCaptures(settled.ledger, 'capture', PLACED_AT + 30)).toMatchObject({
      outcome: 'no_effect',
      writes: { resolutions: [], entries: [] },
    });
  });

  it('given an authorisation of 100.00, when 120.00 is captured, then the hold is consumed to zero and 20.00 is reported over-captured', () => {
    const over = captured(capture(1, 12_000n));
    expect(remaining(over)).toEqual([
      ['acct-payer-1', 0n],
      ['acct-merchant-1', 0n],
    ]);
    expect(overCapturedMinor(over)).toBe(2_000n);
    expect(overCapturedMinor(captured(capture(1, 10_000n)))).toBe(0n);
    expect(settleCaptures(over, 'capture', PLACED_AT + 10).outcome).toBe('hold_captured');
  });

  it('given an open authorisation, when FRAUD arrives it is voided and nothing booked; when GENUINE arrives it stays open', () => {
    const fraud = applyVerdict(authorized, { ...verdict('FRAUD'), transactionId: 'auth-1' }, PLACED_AT + 5_000);
    expect(fraud.outcome).toBe('hold_voided');
    expect(fraud.writes.resolutions.map((r) => [r.resolution, r.cause])).toEqual([['VOIDED', 'FRAUD']]);
    expect(fraud.writes.entries).toEqual([]);

    const genuine = applyVerdict(authorized, { ...verdict('GENUINE'), transactionId: 'auth-1' }, PLACED_AT + 5_000);
    expect(genuine).toMatchObject({ outcome: 'no_effect', writes: { resolutions: [], entries: [] } });
    expect(isOpen(genuine.ledger)).toBe(true);
  });

  it('given an authorisation captured in part, when it expires, then what is left is voided as EXPIRED, and not before', () => {
    const partial = captured(capture(1, 3_000n));
    expect(expireHold(partial, 'post', PLACED_AT + AUTH_TIMEOUT - 1).outcome).toBe('no_effect');
    // The REVIEW expiry policy does not apply: an authorisation nobody captured moves no money.
    const step = expireHold(partial, 'post', PLACED_AT + AUTH_TIMEOUT);
    expect(step.outcome).toBe('hold_voided');
    expect(step.writes.resolutions.map((r) => [r.resolution, r.cause, r.resolvedBy])).toEqual([
      ['VOIDED', 'EXPIRED', 'expiry'],
    ]);
    expect(step.writes.entries).toEqual([]);
  });

  it('given an authorisation captured in full but left open (a crash before settling), when it expires, then it ends CAPTURED', () => {
    const step = expireHold(captured(capture(1, 10_000n)), 'void', PLACED_AT + AUTH_TIMEOUT);
    expect(step.outcome).toBe('hold_captured');
    expect(step.writes.resolutions.map((r) => [r.resolution, r.cause, r.resolvedBy])).toEqual([
      ['CAPTURED', 'CAPTURED', 'expiry'],
    ]);
  });

  it('given a capture reversed (a FRAUD verdict on it), then its reversal legs do not give the consumption back', () => {
    const legs = capture(1, 3_000n);
    const reversal = legs.map((leg, i) => ({
      ...leg,
      entryId: reversalEntryId(leg),
      leg: legs.length + i,
      amountMinor: -leg.amountMinor,
      reversesEntryId: leg.entryId,
    }));
    expect(remaining(captured(legs, reversal))).toEqual([
      ['acct-payer-1', -7_000n],
      ['acct-merchant-1', 7_000n],
    ]);
    // Negative control: netting the signed legs per account (ignoring side and the reversal link) would give the
    // 30.00 back and reserve 100.00 again; the check above sees the difference.
    const netted = [...legs, ...reversal]
      .filter((e) => e.accountId === 'acct-payer-1')
      .reduce((sum, e) => sum + e.amountMinor, 0n);
    expect(-10_000n - netted).toBe(-10_000n);
  });

  it('given a capture held for REVIEW, when GENUINE posts its hold, then the legs it books carry the capture link', () => {
    const tx = sampleTransaction({
      transactionId: 'cap-9',
      kind: 'CAPTURE',
      amountMinor: 3_000n,
      originalTransactionId: 'auth-1',
    });
    const review: TransactionLedger = {
      ...EMPTY_LEDGER,
      hold: placeHold(
        tx.transactionId,
        tx.fingerprint,
        postingsFor(tx, PLACED_AT),
        PLACED_AT,
        TIMEOUT,
        'REVIEW',
        linksOf(tx),
      ),
    };
    const step = applyVerdict(review, { ...verdict('GENUINE'), transactionId: 'cap-9' }, PLACED_AT + 5_000);
    expect(step.outcome).toBe('hold_posted');
    expect(step.writes.entries.map((e) => [e.entryId, e.capturesTransactionId, e.refundsTransactionId])).toEqual([
      ['cap-9/0', 'auth-1', ''],
      ['cap-9/1', 'auth-1', ''],
    ]);
    // Booked, they consume the authorisation's hold as a capture approved outright does.
    expect(remaining(captured(step.writes.entries))).toEqual([
      ['acct-payer-1', -7_000n],
      ['acct-merchant-1', 7_000n],
    ]);
  });
});

describe('a FRAUD verdict on a payment already refunded in part', () => {
  const payment = sampleTransaction({ transactionId: 'pay-1', amountMinor: 1_999n });
  const book = (t: Transaction, at: number): BookedEntry[] =>
    postingsFor(t, at).map((leg) => ({ ...leg, ...linksOf(t), fingerprint: t.fingerprint, reversesEntryId: '' }));
  const refundOf = (n: number, amountMinor: bigint, of: Transaction = payment): Transaction =>
    sampleTransaction({
      transactionId: `ref-${n}`,
      kind: 'REFUND',
      amountMinor,
      settlement: of.settlement === null ? null : { ...of.settlement, amountMinor: amountMinor * 2n },
      currency: of.currency,
      originalTransactionId: of.transactionId,
    });
  /** The refund's legs reversed, as a FRAUD verdict on the refund itself books them. */
  const reversedRefund = (refund: readonly BookedEntry[]): BookedEntry[] => [
    ...applyVerdict(
      { ...EMPTY_LEDGER, entries: refund },
      { ...verdict('FRAUD'), transactionId: refund[0]!.transactionId },
      PLACED_AT + 8,
    ).writes.entries,
  ];
  const booked = (refunds: readonly BookedEntry[], of: Transaction = payment): TransactionLedger => ({
    ...EMPTY_LEDGER,
    entries: book(of, PLACED_AT),
    refunds,
  });
  const fraud = (ledger: TransactionLedger, at = PLACED_AT + 9) =>
    applyVerdict(ledger, { ...verdict('FRAUD'), transactionId: ledger.entries[0]!.transactionId }, at);
  const netOf = (accountId: string, ...entries: ReadonlyArray<readonly BookedEntry[]>) =>
    entries.flat().reduce((sum, e) => (e.accountId === accountId ? sum + e.amountMinor : sum), 0n);

  it('given 1,999 paid and 500 refunded, when FRAUD arrives twice, then 1,499 is reversed once and the payer nets 0', () => {
    const refund = book(refundOf(1, 500n), PLACED_AT + 5);
    const first = fraud(booked(refund));
    expect(first.outcome).toBe('reversed');
    expect(amounts(first.writes.entries)).toEqual([
      ['pay-1/r0', 1_499n, 'pay-1/0'],
      ['pay-1/r1', -1_499n, 'pay-1/1'],
    ]);
    expect(netOf('acct-payer-1', first.ledger.entries, refund)).toBe(0n);
    expect(netOf('acct-merchant-1', first.ledger.entries, refund)).toBe(0n);
    expect(fraud(first.ledger, PLACED_AT + 10)).toMatchObject({ outcome: 'no_effect', writes: { entries: [] } });
    // Negative control: the reversal in full, as it was booked before refunds counted, leaves the payer 500 up.
    const inFull = fraud({ ...booked(refund), refunds: [] });
    expect(netOf('acct-payer-1', inFull.ledger.entries, refund)).toBe(500n);
  });

  it('given a payment refunded in full or beyond, when FRAUD arrives, then nothing is reversed (never past zero)', () => {
    for (const refunds of [[500n, 1_499n], [1_999n], [1_500n, 1_000n]]) {
      const legs = refunds.flatMap((amount, i) => book(refundOf(i, amount), PLACED_AT + 5 + i));
      expect(fraud(booked(legs))).toMatchObject({ outcome: 'no_effect', writes: { resolutions: [], entries: [] } });
    }
  });

  it('given a refund itself reversed (found fraudulent), then it still counts, so a redelivered verdict finds nothing more', () => {
    const refund = book(refundOf(1, 1_999n), PLACED_AT + 5);
    const first = fraud(booked(refund));
    expect(first).toMatchObject({ outcome: 'no_effect', writes: { entries: [] } });
    // The refund is reversed after the payment's verdict found nothing left; the verdict is then redelivered.
    const again = fraud({ ...first.ledger, refunds: [...refund, ...reversedRefund(refund)] }, PLACED_AT + 20);
    expect(again).toMatchObject({ outcome: 'no_effect', writes: { entries: [] } });
    // A part refunded then reversed before the verdict: the reversal still leaves it out (short, never over).
    const partial = book(refundOf(2, 500n), PLACED_AT + 5);
    expect(amounts(fraud(booked([...partial, ...reversedRefund(partial)])).writes.entries)).toEqual([
      ['pay-1/r0', 1_499n, 'pay-1/0'],
      ['pay-1/r1', -1_499n, 'pay-1/1'],
    ]);
  });

  it('given a cross-currency payment refunded in part, then the reversal of the rest is balanced per currency', () => {
    const fx = sampleTransaction({
      transactionId: 'pay-fx',
      amountMinor: 1_000n,
      currency: 'EUR',
      settlement: { amountMinor: 2_000n, currency: 'USD' },
    });
    const refund = book(refundOf(1, 400n, fx), PLACED_AT + 5);
    const step = fraud(booked(refund, fx));
    expect(step.writes.entries.map((e) => [e.accountId, e.amountMinor, e.currency])).toEqual([
      ['acct-payer-1', 1_200n, 'USD'],
      ['fx:USD', -1_200n, 'USD'],
      ['fx:EUR', 600n, 'EUR'],
      ['acct-merchant-1', -600n, 'EUR'],
    ]);
    expect(() => assertBalanced(step.writes.entries)).not.toThrow();
    expect(netOf('acct-payer-1', step.ledger.entries, refund)).toBe(0n);
  });

  it('given refunds naming the authorisation a capture settled, then ledgersOf counts them against the capture', () => {
    const auth = sampleTransaction({ transactionId: 'auth-9', kind: 'AUTHORIZATION', amountMinor: 1_999n });
    const capture = sampleTransaction({
      transactionId: 'cap-9',
      kind: 'CAPTURE',
      amountMinor: 1_999n,
      originalTransactionId: auth.transactionId,
    });
    const refund = book(refundOf(1, 500n, auth), PLACED_AT + 5);
    const other = book(refundOf(2, 700n, sampleTransaction({ transactionId: 'auth-other' })), PLACED_AT + 6);
    const ledger = ledgersOf(book(capture, PLACED_AT), [], [], [], [...refund, ...other]).get('cap-9')!;
    expect(ledger.refunds.map((e) => e.entryId)).toEqual(['ref-1/0', 'ref-1/1']);
    expect(amounts(fraud(ledger).writes.entries)).toEqual([
      ['cap-9/r0', 1_499n, 'cap-9/0'],
      ['cap-9/r1', -1_499n, 'cap-9/1'],
    ]);
  });

  it('property: over any refunds (some reversed) and FRAUD verdicts in any order, redelivered, the payer never ends above zero by the reversal', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 1_000_000n }),
        fc.array(fc.record({ amountMinor: fc.bigInt({ min: 1n, max: 600_000n }), reversed: fc.boolean() }), {
          maxLength: 5,
        }),
        fc.array(fc.nat({ max: 10 }), { minLength: 1, maxLength: 3 }),
        (paid, refundSpecs, verdictsAfter) => {
          const pay = sampleTransaction({ transactionId: 'pay-p', amountMinor: paid });
          // Each refund is booked, then maybe reversed; a FRAUD verdict on the payment arrives after the number of
          // these events its entry of `verdictsAfter` says (the same verdict, redelivered).
          const events = refundSpecs.flatMap(({ amountMinor, reversed }, i) => {
            const legs = book(refundOf(i, amountMinor, pay), PLACED_AT + 1 + i);
            return reversed ? [legs, reversedRefund(legs)] : [legs];
          });
          let ledger = booked([], pay);
          const verdictAt = (n: number) => {
            for (const _ of verdictsAfter.filter((after) => Math.min(after, events.length) === n)) {
              const step = fraud(ledger, PLACED_AT + 10 + n);
              if (step.writes.entries.length > 0) assertBalanced(step.writes.entries);
              ledger = step.ledger;
            }
          };
          events.forEach((legs, n) => {
            verdictAt(n);
            ledger = { ...ledger, refunds: [...ledger.refunds, ...legs] };
          });
          verdictAt(events.length);
          const refunds = events.flat();
          const reversal = ledger.entries.filter((e) => e.reversesEntryId !== '');
          // Exactly what the refunds booked before the first verdict left of the payment, from the payer's side.
          const first = Math.min(...verdictsAfter, events.length);
          const refundedBefore = events
            .slice(0, first)
            .flat()
            .filter((e) => e.reversesEntryId === '' && e.accountId === 'acct-payer-1')
            .reduce((sum, e) => sum + e.amountMinor, 0n);
          expect(netOf('acct-payer-1', reversal)).toBe(paid > refundedBefore ? paid - refundedBefore : 0n);
          expect(reversal.length === 0 || reversal.length === 2).toBe(true);
          // With every refund booked before the verdict, the reversal takes the payer to 0 at most (refunds booked
          // beyond the payment stay as the network moved them). A refund booked after the reversal is the ledger
          // writer's to refuse, not this step's.
          const refundedNet = netOf('acct-payer-1', refunds);
          if (first === events.length)
            expect(netOf('acct-payer-1', ledger.entries, refunds)).toBeLessThanOrEqual(
              refundedNet > paid ? refundedNet - paid : 0n,
            );
          // Redelivered once more after everything: the ledger does not change.
          expect(fraud(ledger, PLACED_AT + 99).writes.entries).toEqual([]);
        },
      ),
    );
  });
});
