import { catchesWithinUnitBudget, itHoldsForEach } from '../../fuzz/unit-tier.js';
import {
  type ParseJournal,
  anyJournalBytesTarget,
  journalRoundTripTarget,
  journalTargets,
  tornTailTarget,
} from '../../fuzz/journal.js';
import { parseJournal } from './file-idempotency-store.js';

// The fuzz targets of fuzz/journal.ts with the unit tier's small, seeded budget.
describe('idempotency journal parser properties', () => {
  itHoldsForEach(journalTargets);
});

// Each property must be able to fail: copies of the parser with a planted bug.
describe('negative controls', () => {
  it('a parser where the last occurrence of an id wins is caught', async () => {
    const lastWins: ParseJournal = (bytes) => {
      const lines = bytes.toString('utf8').split('\n');
      const parsed = parseJournal(Buffer.from(lines.reverse().join('\n').replace(/^\n/, '') + '\n', 'utf8'));
      return { ...parsed, intactBytes: bytes.length };
    };
    expect(await catchesWithinUnitBudget(journalRoundTripTarget(lastWins))).toBe(true);
  });

  it('a parser that keeps a torn last line is caught', async () => {
    const keepsTornLine: ParseJournal = (bytes) => {
      const parsed = parseJournal(
        bytes.length > 0 && bytes.at(-1) !== 0x0a ? Buffer.concat([bytes, Buffer.from('\n')]) : bytes,
      );
      return { ...parsed, intactBytes: Math.min(parsed.intactBytes, bytes.length) };
    };
    expect(await catchesWithinUnitBudget(tornTailTarget(keepsTornLine))).toBe(true);
  });

  it('a parser that insists on valid UTF-8 is caught throwing', async () => {
    const strictUtf8: ParseJournal = (bytes) => {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      return parseJournal(bytes);
    };
    expect(await catchesWithinUnitBudget(anyJournalBytesTarget(strictUtf8))).toBe(true);
  });
});
