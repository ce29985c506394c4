import { sampleTransaction } from '../../schemas/fixtures.js';
import {
  type BookedEntry,
  EMPTY_LEDGER,
  type TransactionLedger,
  type Verdict,
  applyVerdict,
  expireHold,
  isOpen,
  placeHold,
} from './holds.js';
import { postingsFor } from './postings.js';

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
