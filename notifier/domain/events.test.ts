import type { LedgerEvent } from '../../schemas/generated/types.js';
import { eventIdFor } from '../app/fan-out.js';
import { ledgerBookingEvent, ledgerEventType } from './events.js';

const BOOKED_AT = Date.parse('2026-01-05T10:00:00.000Z');

const reversal: LedgerEvent = {
  type: 'REVERSED',
  transactionId: 'tx-7',
  kind: 'PURCHASE',
  payerAccountId: 'acct-1',
  payeeAccountId: 'merchant-1',
  legs: [
    {
      entryId: 'tx-7/r0',
      leg: 2,
      accountId: 'acct-1',
      amountMinor: 4_250n,
      currency: 'EUR',
      entryType: 'PRINCIPAL',
      reversesEntryId: 'tx-7/0',
    },
    {
      entryId: 'tx-7/r1',
      leg: 3,
      accountId: 'merchant-1',
      amountMinor: -4_250n,
      currency: 'EUR',
      entryType: 'PRINCIPAL',
      reversesEntryId: 'tx-7/1',
    },
  ],
  bookedAtMs: BOOKED_AT,
  valueDateMs: BOOKED_AT - 86_400_000,
  cause: 'FRAUD_VERDICT',
  causedBy: 'chargeback',
  capturesTransactionId: null,
  refundsTransactionId: null,
};

describe('transaction.posted and transaction.reversed from ledger.events', () => {
  it('given a reversal, then the event carries signed decimal amounts, the entries reversed and who gave the verdict', () => {
    expect(ledgerBookingEvent('evt_x', reversal)).toEqual({
      id: 'evt_x',
      type: 'transaction.reversed',
      createdAt: '2026-01-05T10:00:00.000Z',
      data: {
        transactionId: 'tx-7',
        kind: 'PURCHASE',
        payerAccountId: 'acct-1',
        payeeAccountId: 'merchant-1',
        legs: [
          {
            entryId: 'tx-7/r0',
            accountId: 'acct-1',
            amount: { value: '42.50', currency: 'EUR' },
            entryType: 'PRINCIPAL',
          },
          {
            entryId: 'tx-7/r1',
            accountId: 'merchant-1',
            amount: { value: '-42.50', currency: 'EUR' },
            entryType: 'PRINCIPAL',
          },
        ],
        bookedAt: '2026-01-05T10:00:00.000Z',
        valueDate: '2026-01-04T10:00:00.000Z',
        cause: { type: 'verdict', verdict: 'FRAUD', by: 'chargeback' },
        capturesTransactionId: null,
        refundsTransactionId: null,
        reversedEntryIds: ['tx-7/0', 'tx-7/1'],
      },
    });
  });

  it('names each cause as integrators read it', () => {
    const posted = (cause: LedgerEvent['cause'], more: Partial<LedgerEvent> = {}) =>
      ledgerBookingEvent('evt_y', { ...reversal, type: 'POSTED', cause, causedBy: null, ...more }).data.cause;
    expect(posted('APPROVED')).toEqual({ type: 'approved' });
    expect(posted('CAPTURE', { capturesTransactionId: 'auth-1' })).toEqual({
      type: 'capture',
      authorizationId: 'auth-1',
    });
    expect(posted('REFUND', { refundsTransactionId: 'tx-1' })).toEqual({
      type: 'refund',
      originalTransactionId: 'tx-1',
    });
    expect(posted('GENUINE_VERDICT', { causedBy: 'analyst:ana' })).toEqual({
      type: 'verdict',
      verdict: 'GENUINE',
      by: 'analyst:ana',
    });
    expect(posted('HOLD_EXPIRY')).toEqual({ type: 'expiry' });
    expect(ledgerBookingEvent('evt_y', { ...reversal, type: 'POSTED' }).type).toBe('transaction.posted');
  });

  it('ids are stable per type and transaction, and differ between the two types and from decision.made', () => {
    const posted = eventIdFor(ledgerEventType('POSTED'), 'tx-7');
    expect(eventIdFor('transaction.posted', 'tx-7')).toBe(posted);
    expect(posted).toMatch(/^evt_[A-Za-z0-9_-]{26}$/);
    expect(
      new Set([posted, eventIdFor('transaction.reversed', 'tx-7'), eventIdFor('decision.made', 'tx-7')]).size,
    ).toBe(3);
  });
});
