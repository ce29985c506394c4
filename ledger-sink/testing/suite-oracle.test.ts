import { postingsForDecision } from '../domain/postings.js';
import { maxAttemptsWithin } from './backoff-bound.js';
import { scoredTransaction } from './fixtures.js';
import { type StoredView, suiteExpectation, suiteViolations } from './suite-oracle.js';

/** The fault suite's oracle and backoff bound on plain data: exact when nothing is wrong, each fault reported. */

const inputs = Array.from({ length: 30 }, (_, i) => scoredTransaction(i));
const expected = suiteExpectation(inputs);

/** What a correct run stores for `inputs`. */
function exactView(): StoredView {
  return {
    decisionIds: inputs.map((s) => s.transaction.transactionId),
    legs: inputs.flatMap((s) =>
      postingsForDecision(s, 0).map((e) => ({
        entryId: e.entryId,
        transactionId: e.transactionId,
        currency: e.currency,
        amountMinor: e.amountMinor,
      })),
    ),
    auditIds: inputs.map((s) => s.transaction.transactionId),
  };
}

describe('suiteViolations', () => {
  it('given what a correct run stores, then it reports nothing', () => {
    const view = exactView();
    expect(view.legs.length).toBeGreaterThan(0);
    expect(expected.entryIds.size).toBeLessThan(inputs.length); // declines and holds post nothing
    expect(suiteViolations(view, expected)).toEqual([]);
  });

  it('given each fault planted once, then each is reported with its count and ids', () => {
    const view = exactView();
    const posted = [...expected.entryIds.keys()][0]!;
    const twiceLegs = view.legs.filter((l) => l.transactionId === posted);
    const [first, ...rest] = view.legs;
    const planted: StoredView = {
      decisionIds: [...view.decisionIds.filter((id) => id !== 'tx-000002'), 'tx-000005', 'tx-999999'],
      legs: [{ ...first!, amountMinor: first!.amountMinor + 1n }, ...rest, ...twiceLegs],
      auditIds: view.auditIds!.filter((id) => id !== 'tx-000004'),
    };
    expect(suiteViolations(planted, expected)).toEqual([
      'acknowledged without a decision: 1 (tx-000002)',
      'decisions stored more than once: 1 (tx-000005)',
      'decisions never acknowledged: 1 (tx-999999)',
      'acknowledged without an audit document: 1 (tx-000004)',
      `entries posted more than once: ${twiceLegs.length} (${twiceLegs.map((l) => l.entryId).join(', ')})`,
      `transactions whose legs do not sum to zero in a currency: 1 (${first!.transactionId} ${first!.currency} 1)`,
    ]);
  });

  it('given the same stored rows read in another order, then it names the same examples', () => {
    const view = exactView();
    const twice: StoredView = { ...view, decisionIds: [...view.decisionIds, ...view.decisionIds.slice(0, 12)] };
    const reversed: StoredView = {
      ...twice,
      decisionIds: [...twice.decisionIds].reverse(),
      legs: [...view.legs].reverse(),
    };
    expect(suiteViolations(reversed, expected)).toEqual(suiteViolations(twice, expected));
    expect(suiteViolations(twice, expected)[0]).toMatch(
      /^decisions stored more than once: 12 \(tx-000000, tx-000001, /,
    );
  });

  it('given a postable decision with no entries, then the missing entries are reported', () => {
    const view = exactView();
    const posted = [...expected.entryIds.keys()][1]!;
    const missing = expected.entryIds.get(posted)!;
    expect(suiteViolations({ ...view, legs: view.legs.filter((l) => l.transactionId !== posted) }, expected)).toEqual([
      `entries missing (a postable decision not posted): ${missing.length} (${missing.join(', ')})`,
    ]);
  });
});

describe('maxAttemptsWithin', () => {
  const doubling = (retry: number) => Math.min(5000, 100 * 2 ** (retry - 1));

  it('given the bus schedule (100 ms doubling to 5 s), then the bound is exact at the edges', () => {
    // Attempts start at 0, 100, 300, 700, 1500, 3100, 6300, 11300, …
    expect(maxAttemptsWithin(0, doubling)).toBe(1);
    expect(maxAttemptsWithin(99, doubling)).toBe(1);
    expect(maxAttemptsWithin(100, doubling)).toBe(2);
    expect(maxAttemptsWithin(6299, doubling)).toBe(6);
    expect(maxAttemptsWithin(6300, doubling)).toBe(7);
    expect(maxAttemptsWithin(60_000, doubling)).toBe(17);
  });

  it('refuses a schedule without waits (a tight loop has no bound)', () => {
    expect(() => maxAttemptsWithin(1000, () => 0)).toThrow(RangeError);
  });
});
