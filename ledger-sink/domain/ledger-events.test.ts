import { sampleTransaction } from '../../schemas/fixtures.js';
import type { Transaction } from '../../schemas/generated/types.js';
import {
  type BookedEntry,
  EMPTY_LEDGER,
  type TransactionLedger,
  type Verdict,
  applyVerdict,
  expireHold,
  placeHold,
} from './holds.js';
import { postedEventOf, reversedEventOf } from './ledger-events.js';
import { linksOf, postingsFor } from './postings.js';

const DECIDED_AT = 1_764_000_000_000;
const LATER = DECIDED_AT + 5_000;

/** What the batch handler books for an APPROVE of `tx`. */
function approved(tx: Transaction): TransactionLedger {
  const entries: BookedEntry[] = postingsFor(tx, DECIDED_AT).map((leg) => ({
    ...leg,
    ...linksOf(tx),
    fingerprint: tx.fingerprint,
    reversesEntryId: '',
  }));
  return { ...EMPTY_LEDGER, entries };
}

function held(tx: Transaction): TransactionLedger {
  return {
    ...EMPTY_LEDGER,
    hold: placeHold(tx.transactionId, tx.fingerprint, postingsFor(tx, DECIDED_AT), DECIDED_AT, 60_000),
  };
}

const verdict = (tx: Transaction, label: Verdict['label'], labelledBy: string, labelledAtMs = LATER): Verdict => ({
  transactionId: tx.transactionId,
  label,
  labelledBy,
  labelledAtMs,
});

const purchase = sampleTransaction({
  transactionId: 'tx-1',
  kind: 'PURCHASE',
  amountMinor: 12_345n,
  currency: 'EUR',
  payerAccountId: 'acct-1',
  payeeAccountId: 'merchant-1',
});

describe('ledger events per cause', () => {
  it('given an APPROVE booked, then POSTED names the legs, the booking time, the value date and cause APPROVED', () => {
    expect(postedEventOf(approved(purchase), 'PURCHASE')).toEqual({
      type: 'POSTED',
      transactionId: 'tx-1',
      kind: 'PURCHASE',
      payerAccountId: 'acct-1',
      payeeAccountId: 'merchant-1',
      legs: [
        {
          entryId: 'tx-1/0',
          leg: 0,
          accountId: 'acct-1',
          amountMinor: -12_345n,
          currency: 'EUR',
          entryType: 'PRINCIPAL',
          reversesEntryId: null,
        },
        {
          entryId: 'tx-1/1',
          leg: 1,
          accountId: 'merchant-1',
          amountMinor: 12_345n,
          currency: 'EUR',
          entryType: 'PRINCIPAL',
          reversesEntryId: null,
        },
      ],
      bookedAtMs: DECIDED_AT,
      valueDateMs: purchase.eventTimeMs,
      cause: 'APPROVED',
      causedBy: null,
      capturesTransactionId: null,
      refundsTransactionId: null,
    });
    expect(reversedEventOf(approved(purchase), 'PURCHASE', [])).toBeUndefined();
  });

  it('given a REVIEW hold, then nothing is announced until a GENUINE verdict posts it, naming who', () => {
    expect(postedEventOf(held(purchase), 'PURCHASE')).toBeUndefined();
    const posted = applyVerdict(held(purchase), verdict(purchase, 'GENUINE', 'ana'), LATER).ledger;
    const event = postedEventOf(posted, 'PURCHASE')!;
    expect([event.cause, event.causedBy, event.bookedAtMs]).toEqual(['GENUINE_VERDICT', 'ana', LATER]);
    const voided = applyVerdict(held(purchase), verdict(purchase, 'FRAUD', 'ana'), LATER).ledger;
    expect(postedEventOf(voided, 'PURCHASE')).toBeUndefined();
    expect(reversedEventOf(voided, 'PURCHASE', [verdict(purchase, 'FRAUD', 'ana')])).toBeUndefined();
  });

  it('given a REVIEW hold posted by its expiry, then the cause is HOLD_EXPIRY, by nobody', () => {
    const expired = expireHold(held(purchase), 'post', DECIDED_AT + 60_000).ledger;
    const event = postedEventOf(expired, 'PURCHASE')!;
    expect([event.cause, event.causedBy, event.bookedAtMs]).toEqual(['HOLD_EXPIRY', null, DECIDED_AT + 60_000]);
  });

  it('given a CAPTURE or a REFUND approved, then the cause and the link name the authorisation or the original', () => {
    const capture = sampleTransaction({ transactionId: 'cap-1', kind: 'CAPTURE', originalTransactionId: 'auth-1' });
    const refund = sampleTransaction({
      transactionId: 'ref-1',
      kind: 'REFUND',
      originalTransactionId: 'tx-1',
      payerAccountId: 'acct-1',
      payeeAccountId: 'merchant-1',
      amountMinor: 500n,
    });
    const captured = postedEventOf(approved(capture), 'CAPTURE')!;
    expect([captured.cause, captured.capturesTransactionId, captured.refundsTransactionId]).toEqual([
      'CAPTURE',
      'auth-1',
      null,
    ]);
    const refunded = postedEventOf(approved(refund), 'REFUND')!;
    expect([refunded.cause, refunded.capturesTransactionId, refunded.refundsTransactionId]).toEqual([
      'REFUND',
      null,
      'tx-1',
    ]);
    // Money flows back: the payer's leg is a credit, the payee's a debit; the payer is still the key.
    expect(refunded.legs.map((l) => [l.accountId, l.amountMinor])).toEqual([
      ['acct-1', 500n],
      ['merchant-1', -500n],
    ]);
    expect(refunded.payerAccountId).toBe('acct-1');
  });

  it('given booked money reversed by FRAUD verdicts, then REVERSED lists the reversal legs and the first FRAUD verdict', () => {
    const first = verdict(purchase, 'FRAUD', 'ana', LATER);
    const reversed = applyVerdict(approved(purchase), first, LATER + 1).ledger;
    const later = verdict(purchase, 'FRAUD', 'chargeback', LATER + 100);
    const event = reversedEventOf(reversed, 'PURCHASE', [later, first, verdict(purchase, 'GENUINE', 'bo')])!;
    expect(event).toMatchObject({
      type: 'REVERSED',
      transactionId: 'tx-1',
      cause: 'FRAUD_VERDICT',
      causedBy: 'ana',
      bookedAtMs: LATER + 1,
      payerAccountId: 'acct-1',
      payeeAccountId: 'merchant-1',
    });
    expect(event.legs.map((l) => [l.entryId, l.accountId, l.amountMinor, l.reversesEntryId])).toEqual([
      ['tx-1/r0', 'acct-1', 12_345n, 'tx-1/0'],
      ['tx-1/r1', 'merchant-1', -12_345n, 'tx-1/1'],
    ]);
    // The posting is announced from the original legs only, unchanged by the reversal.
    expect(postedEventOf(reversed, 'PURCHASE')).toEqual(postedEventOf(approved(purchase), 'PURCHASE'));
  });

  it('given the same stored ledger twice, then the events are equal field for field (a redelivery announces the same)', () => {
    const ledger = applyVerdict(approved(purchase), verdict(purchase, 'FRAUD', 'ana'), LATER).ledger;
    expect(reversedEventOf(ledger, 'PURCHASE', [verdict(purchase, 'FRAUD', 'ana')])).toEqual(
      reversedEventOf(structuredClone(ledger), 'PURCHASE', [verdict(purchase, 'FRAUD', 'ana')]),
    );
  });

  it('never carries a card number: the transaction had one, the event has no field that could hold it', () => {
    const carded = sampleTransaction({ transactionId: 'tx-card' });
    expect(carded.card).not.toBeNull();
    const event = postedEventOf(approved(carded), 'PURCHASE')!;
    const text = JSON.stringify(event, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    expect(text).not.toContain(carded.card!.token);
    expect(text).not.toContain(carded.card!.bin);
    expect(Object.keys(event).filter((k) => /card|pan/i.test(k))).toEqual([]);
  });
});
