import {
  type ParseJournal,
  anyJournalBytesTarget,
  journalRoundTripTarget,
  journalTargets,
  tornTailTarget,
} from '../../fuzz/journal.js';
import { type FuzzTarget, assertTarget, unitBudget } from '../../fuzz/target.js';
import { parseJournal } from './file-idempotency-store.js';

// The fuzz targets of fuzz/journal.ts with the unit tier's small, seeded budget.
describe('idempotency journal parser properties', () => {
  // 30 s bounds a hang; it is not a timed assertion (300 inputs take about a second).
  it.each(journalTargets.map((target) => [target.name, target] as const))(
    '%s',
    async (_name, target) => {
      const details = await assertTarget(target, unitBudget);
      expect(details.numRuns).toBe(unitBudget.numRuns);
    },
    30_000,
  );
});

// Each property must be able to fail: copies of the parser with a planted bug.
describe('negative controls', () => {
  const fails = async (target: FuzzTarget): Promise<boolean> =>
    (await target.check({ ...unitBudget, endOnFailure: true })).failed;

  it('a parser where the last occurrence of an id wins is caught', async () => {
    const lastWins: ParseJournal = (bytes) => {
      const lines = bytes.toString('utf8').split('\n');
      const parsed = parseJournal(Buffer.from(lines.reverse().join('\n').replace(/^\n/, '') + '\n', 'utf8'));
      return { ...parsed, intactBytes: bytes.length };
    };
    expect(await fails(journalRoundTripTarget(lastWins))).toBe(true);
  });

  it('a parser that keeps a torn last line is caught', async () => {
    const keepsTornLine: ParseJournal = (bytes) => {
      const parsed = parseJournal(
        bytes.length > 0 && bytes.at(-1) !== 0x0a ? Buffer.concat([bytes, Buffer.from('\n')]) : bytes,
      );
      return { ...parsed, intactBytes: Math.min(parsed.intactBytes, bytes.length) };
    };
    expect(await fails(tornTailTarget(keepsTornLine))).toBe(true);
  });

  it('a parser that insists on valid UTF-8 is caught throwing', async () => {
    const strictUtf8: ParseJournal = (bytes) => {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      return parseJournal(bytes);
    };
    expect(await fails(anyJournalBytesTarget(strictUtf8))).toBe(true);
  });
});
