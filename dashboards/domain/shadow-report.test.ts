import { type ShadowPairCounts, shadowPairReport } from './shadow-report.js';

const zero = { APPROVE: 0, REVIEW: 0, DECLINE: 0 };

/** 20 transactions: champion alerts 3, challenger 6; 10 labelled, 4 of them FRAUD. */
const counts: ShadowPairCounts = {
  championModelVersion: 'm1',
  championRulesVersion: 'r1',
  challengerModelVersion: 'm1',
  challengerRulesVersion: 'r2',
  transactions: 20,
  labelled: 10,
  labelledFraud: 4,
  cells: {
    APPROVE: { APPROVE: 14, REVIEW: 3, DECLINE: 0 },
    REVIEW: { APPROVE: 0, REVIEW: 1, DECLINE: 1 },
    DECLINE: { APPROVE: 0, REVIEW: 0, DECLINE: 1 },
  },
  champion: { truePositives: 2, falsePositives: 1, falseNegatives: 2 },
  challenger: { truePositives: 4, falsePositives: 2, falseNegatives: 0 },
};

describe('shadowPairReport', () => {
  it('reads alerts off the matrix rows (champion) and columns (challenger), agreement off its diagonal', () => {
    const report = shadowPairReport(counts);
    expect([report.championSide.alerts, report.challengerSide.alerts]).toEqual([3, 6]);
    expect([report.championSide.alertRate, report.challengerSide.alertRate]).toEqual([3 / 20, 6 / 20]);
    expect([report.agreeing, report.agreementRate]).toEqual([16, 16 / 20]);
    expect(report.matrix).toBe(counts.cells);
  });

  it('derives precision and recall from the labelled counts', () => {
    const report = shadowPairReport(counts);
    expect([report.championSide.precision, report.championSide.recall]).toEqual([2 / 3, 2 / 4]);
    expect([report.challengerSide.precision, report.challengerSide.recall]).toEqual([4 / 6, 4 / 4]);
  });

  it('says null where a rate has no denominator', () => {
    const none = shadowPairReport({
      ...counts,
      transactions: 14,
      labelled: 0,
      labelledFraud: 0,
      cells: { ...counts.cells, APPROVE: { APPROVE: 14, REVIEW: 0, DECLINE: 0 }, REVIEW: zero, DECLINE: zero },
      champion: { truePositives: 0, falsePositives: 0, falseNegatives: 0 },
      challenger: { truePositives: 0, falsePositives: 0, falseNegatives: 0 },
    });
    expect([none.championSide.precision, none.championSide.recall, none.challengerSide.precision]).toEqual([
      null,
      null,
      null,
    ]);
    expect(none.agreementRate).toBe(1);
  });

  it('refuses counts that contradict each other (what a wrong query makes)', () => {
    expect(() => shadowPairReport({ ...counts, transactions: 21 })).toThrow(/sums to 20, not to 21/);
    expect(() =>
      shadowPairReport({ ...counts, champion: { truePositives: 3, falsePositives: 1, falseNegatives: 2 } }),
    ).toThrow(/champion's labelled counts/);
  });
});
