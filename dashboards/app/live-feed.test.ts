import { HeaderNames } from '../../schemas/topics.js';
import { scoredHint } from './live-feed.js';

const headers = (
  decision: string | undefined,
  score: string | undefined,
  transactionId: string | null = 'tx-1',
): Record<string, string> => ({
  ...(transactionId === null ? {} : { [HeaderNames.scoredTransactionId]: transactionId }),
  ...(decision === undefined ? {} : { [HeaderNames.scoredDecision]: decision }),
  ...(score === undefined ? {} : { [HeaderNames.scoredScore]: score }),
});

describe('scoredHint: the transaction id, decision and score from tx.scored headers', () => {
  test('both present and well-formed', () => {
    expect(scoredHint({ headers: headers('REVIEW', '0.8125') })).toEqual({
      transactionId: 'tx-1',
      decision: 'REVIEW',
      score: 0.8125,
    });
  });

  test('no transaction id → undefined, so the record is decoded instead (a count needs the id)', () => {
    expect(scoredHint({ headers: headers('REVIEW', '0.8125', null) })).toBeUndefined();
  });

  test.each([
    ['no headers (a record from before they existed)', undefined, undefined],
    ['no score', 'APPROVE', undefined],
    ['an unknown decision', 'MAYBE', '0.5'],
    ['a score that is not a number', 'DECLINE', 'high'],
    ['a non-finite score', 'DECLINE', 'Infinity'],
  ])('%s → undefined, so the record is decoded instead', (_name, decision, score) => {
    expect(scoredHint({ headers: headers(decision, score) })).toBeUndefined();
  });
});
