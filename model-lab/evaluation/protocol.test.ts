import { DAY_MS, HANDBOOK_TRAIN_START_DAY, defaultAnchorTrainDay, foldTestSet, protocolFolds } from './protocol.js';

const day = (iso: string): number => Date.parse(`${iso}T00:00:00Z`) / DAY_MS;
const iso = (d: number): string => new Date(d * DAY_MS).toISOString().slice(0, 10);
const weekly = { trainDays: 7, delayDays: 7, testDays: 7, folds: 4 };

describe('evaluation protocol (ML-EVAL.md)', () => {
  test('single split: train 2018-07-25 … 07-31, 7-day gap, test 2018-08-08 … 08-14', () => {
    const [fold, ...rest] = protocolFolds({
      protocol: 'single-split',
      anchorTrainDay: HANDBOOK_TRAIN_START_DAY,
      ...weekly,
    });
    expect(rest).toHaveLength(0);
    expect([
      iso(fold!.trainFromDay),
      iso(fold!.trainToDay - 1),
      iso(fold!.testFromDay),
      iso(fold!.testToDay - 1),
    ]).toEqual(['2018-07-25', '2018-07-31', '2018-08-08', '2018-08-14']);
  });

  test('prequential folds slide back one week at a time', () => {
    const folds = protocolFolds({ protocol: 'prequential', anchorTrainDay: HANDBOOK_TRAIN_START_DAY, ...weekly });
    expect(folds.map((f) => `${iso(f.trainFromDay)}/${iso(f.testFromDay)}`)).toEqual([
      '2018-07-25/2018-08-08',
      '2018-07-18/2018-08-01',
      '2018-07-11/2018-07-25',
      '2018-07-04/2018-07-18',
    ]);
  });

  test('anchored on the calendar when the file reaches back far enough, else at the same offset from its start', () => {
    expect(iso(defaultAnchorTrainDay(day('2018-04-01'), 21))).toBe('2018-07-25');
    expect(iso(defaultAnchorTrainDay(day('2018-06-20'), 21))).toBe('2018-10-13');
    expect(iso(defaultAnchorTrainDay(day('2024-01-01'), 0))).toBe('2024-04-25');
  });

  test('given a card with a fraud, when its label is known by a test day, then the card is removed from that day on', () => {
    const [fold] = protocolFolds({ protocol: 'single-split', anchorTrainDay: 100, ...weekly }); // train 100–106, test 114–120
    // card 1: fraud on day 106 (training) → known for every test day. card 2: fraud on day 108 → known from day 116.
    // card 3: fraud on day 99, before training → not counted (the handbook only looks from the training start).
    const days = [99, 106, 108, 114, 114, 114, 115, 116, 116];
    const cards = [3, 1, 2, 1, 2, 3, 2, 2, 3];
    const labels = [1, 1, 1, 0, 0, 0, 0, 0, 0];
    expect(foldTestSet(fold!, 7, days, cards, labels)).toEqual([4, 5, 6, 8]);
  });
});
