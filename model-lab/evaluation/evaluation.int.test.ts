import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HANDBOOK_CSV_HEADER, writeHandbookCsv } from '../../simulator/handbook-csv.js';
import { DAY_MS } from './protocol.js';
import { readHandbookCsv } from './handbook-file.js';
import { formatComparison } from './report.js';
import { type EvalConfig, evaluateHandbook } from './run.js';

/**
 * Acceptance (integration tier — heavy, not a unit test): a small generated handbook data set (70 days, 1,500 customers, ~200k rows) through the whole evaluation —
 * gzip CSV → FeatureEngine replay → per-fold training → metrics — under both protocols, with a small model.
 */
const START = Date.UTC(2018, 3, 1);
const config: EvalConfig = {
  seed: 7,
  hiddenUnits: [32, 16],
  l2: 0.0001,
  epochs: 8,
  batchSize: 256,
  learningRate: 0.005,
  negativeSampleRate: 1,
  positiveClassWeight: 2,
  folds: 3,
  trainDays: 7,
  delayDays: 7,
  testDays: 7,
  topK: 100,
};
// Small trees for the blend's test: the wiring is under test here, not the settings.
const TREES = { maxBins: 64, maxLeaves: 15, minSamplesLeaf: 20, l2: 1, learningRate: 0.1, maxRounds: 30, members: 2 };
// Too short for the handbook's offsets: train from day 42 (needs --train-start on the command line too).
const anchorTrainDay = START / DAY_MS + 42;

// Integration tier: generating and training on 70 days takes tens of seconds, so no outcome may depend on machine speed.
const TIMEOUT_MS = 300_000;

let dir: string;
let file: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-eval-'));
  file = join(dir, 'handbook.csv.gz');
  const summary = await writeHandbookCsv({
    days: 70,
    seed: 11,
    customers: 1_500,
    terminals: 3_000,
    startTimeMs: START,
    out: file,
  });
  expect(summary.fraud).toBeGreaterThan(1_000);
}, TIMEOUT_MS);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run eval pipeline on a generated handbook data set', () => {
  test(
    'single split: counts, metrics in range, one prediction per test transaction',
    async () => {
      const { report, predictions } = await evaluateHandbook(readHandbookCsv(file), {
        protocol: 'single-split',
        config,
        anchorTrainDay,
      });
      expect(report.folds).toHaveLength(1);
      const [fold] = report.folds;
      expect(fold).toMatchObject({ train: ['2018-05-13', '2018-05-19'], test: ['2018-05-27', '2018-06-02'] });
      expect(fold!.trainTransactions).toBeGreaterThan(15_000);
      expect(fold!.trainFraud).toBeGreaterThan(0);
      expect(fold!.testFraud).toBeGreaterThan(0);
      expect(fold!.testRemovedKnownFraudCards).toBeGreaterThan(0);
      expect(predictions.scores).toHaveLength(fold!.testTransactions);
      expect(new Set(predictions.transactionIds).size).toBe(fold!.testTransactions);
      // A trained model ranks far better than chance on the handbook's easy scenarios (amounts > 220, known terminals).
      expect(report.auc_roc).toBeGreaterThan(0.7);
      expect(report.average_precision).toBeGreaterThan(0.2);
      expect(report.card_precision_at_100).toBeGreaterThan(0);
      expect(report.card_precision_at_100).toBeLessThanOrEqual(1);
      expect(report.auc_roc_std).toBe(0);
      expect(report.data.rowsReplayed).toBeLessThan(70 * 3_200);
      expect(formatComparison(report)).toMatch(/random forest\s+0\.867\s+0\.658\s+0\.287/);
    },
    TIMEOUT_MS,
  );

  test(
    'prequential: three folds one week apart, mean ± std over folds',
    async () => {
      const { report, predictions } = await evaluateHandbook(readHandbookCsv(file), {
        protocol: 'prequential',
        config,
        anchorTrainDay,
      });
      expect(report.folds.map((f) => f.test[0])).toEqual(['2018-05-27', '2018-05-20', '2018-05-13']);
      const mean = report.folds.reduce((sum, f) => sum + f.average_precision, 0) / 3;
      expect(report.average_precision).toBeCloseTo(mean, 10);
      expect(report.average_precision_std).toBeGreaterThan(0);
      expect(predictions.scores).toHaveLength(report.folds.reduce((sum, f) => sum + f.testTransactions, 0));
      expect(formatComparison(report)).toMatch(/±/);
    },
    TIMEOUT_MS,
  );

  test(
    'with trees: the blend is reported beside the network alone (as without trees) and the trees alone',
    async () => {
      const trees = { ...TREES, blendWeight: 0.5 };
      const without = await evaluateHandbook(readHandbookCsv(file), {
        protocol: 'single-split',
        config,
        anchorTrainDay,
      });
      const { report } = await evaluateHandbook(readHandbookCsv(file), {
        protocol: 'single-split',
        config: { ...config, trees },
        anchorTrainDay,
      });
      const [fold] = report.folds;
      expect(fold!.components!.network).toEqual({
        auc_roc: without.report.auc_roc,
        average_precision: without.report.average_precision,
        card_precision_at_100: without.report.card_precision_at_100,
      });
      expect(fold!.components!.trees.rounds).toBeGreaterThan(0);
      expect(fold!.components!.trees.auc_roc).toBeGreaterThan(0.7);
      // The blend is its own ranking, not either part's.
      expect(report.average_precision).not.toBe(without.report.average_precision);
      expect(report.average_precision).not.toBe(fold!.components!.trees.average_precision);
      expect(report.components!.network.auc_roc).toBe(without.report.auc_roc);
      expect(report.model.architecture).toMatch(
        /gradient-boosted trees \(2 members, .*blended 0.5 network \+ 0.5 trees/,
      );
      expect(formatComparison(report)).toMatch(/network \+ trees blend[\s\S]*network alone[\s\S]*trees alone/);
      await expect(
        evaluateHandbook(readHandbookCsv(file), {
          protocol: 'single-split',
          config: { ...config, trees: { ...trees, blendWeight: 2 } },
        }),
      ).rejects.toThrow('trees.blendWeight must be in 0 … 1, got 2');
    },
    TIMEOUT_MS,
  );

  test(
    'a file that ends before the last test day is refused',
    async () => {
      await expect(
        evaluateHandbook(readHandbookCsv(file), {
          protocol: 'single-split',
          config,
          anchorTrainDay: anchorTrainDay + 20,
        }),
      ).rejects.toThrow(/before the last test day/);
    },
    TIMEOUT_MS,
  );

  test(
    'a file in another format is refused with its location',
    async () => {
      const bad = join(dir, 'bad.csv');
      writeFileSync(
        bad,
        `${HANDBOOK_CSV_HEADER}\n0,2018-04-01 00:00:31,1,2,57.16,31,0,0,0\n1,2018-04-01 00:01:02,1,2,oops,62,0,0,0\n`,
      );
      await expect(evaluateHandbook(readHandbookCsv(bad), { protocol: 'single-split', config })).rejects.toThrow(
        /bad\.csv:3: not a handbook CSV row/,
      );
      writeFileSync(bad, 'id,amount\n');
      await expect(evaluateHandbook(readHandbookCsv(bad), { protocol: 'single-split', config })).rejects.toThrow(
        /bad\.csv:1: expected the handbook header/,
      );
    },
    TIMEOUT_MS,
  );
});
