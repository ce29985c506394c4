import { FEATURE_COUNT } from '../../scoring/domain/feature-names.js';
import { treeLogits } from '../../scoring/domain/trees.js';
import { ensureScikitLearn, runPython } from '../testing/scikit-learn.js';
import { type TreeConfig, trainTrees } from './gbdt.js';
import { seededRandom } from './synthetic.js';

/**
 * Cross-checks the tree trainer against scikit-learn's HistGradientBoostingClassifier, whose design it follows
 * (integration tier: it spawns python3). With at most `maxBins` distinct values per feature both bin at the
 * midpoints between them, so the same data and settings must grow the same trees: the log-odds of fresh rows agree
 * to float32 precision (scikit-learn keeps gradients in float32), not just roughly.
 */
const PYTHON_REFERENCE = String.raw`
import json, sys
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

data = json.load(sys.stdin)
c = data["config"]
model = HistGradientBoostingClassifier(
    learning_rate=c["learningRate"], max_iter=c["maxRounds"], max_leaf_nodes=c["maxLeaves"], max_depth=None,
    min_samples_leaf=c["minSamplesLeaf"], l2_regularization=c["l2"], max_bins=c["maxBins"], early_stopping=False)
model.fit(np.array(data["x"], dtype=np.float64), np.array(data["y"]))
print(json.dumps(model.decision_function(np.array(data["test"], dtype=np.float64)).tolist()))
`;

const config: TreeConfig = {
  maxBins: 255,
  maxLeaves: 15,
  minSamplesLeaf: 20,
  l2: 1,
  learningRate: 0.1,
  maxRounds: 30,
};

/** Rows with 101 distinct values per feature (so binning is exact in both) and a label from an interaction plus noise. */
function rows(n: number, seed: number): { x: Float32Array; y: Float32Array } {
  const random = seededRandom(seed);
  const x = new Float32Array(n * FEATURE_COUNT);
  for (let i = 0; i < x.length; i++) x[i] = Math.round(random() * 100) / 50 - 1;
  const y = Float32Array.from({ length: n }, (_, r) => {
    const v = (f: number): number => x[r * FEATURE_COUNT + f]!;
    const z = 2 * v(0) * v(1) + (v(2) > 0.3 ? 1.5 : -0.5) + v(3) - 1;
    return random() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  });
  return { x, y };
}

const rowsOf = (x: Float32Array, n: number): number[][] =>
  Array.from({ length: n }, (_, r) => Array.from(x.subarray(r * FEATURE_COUNT, (r + 1) * FEATURE_COUNT)));

beforeAll(() => ensureScikitLearn(), 300_000);

describe('tree trainer against scikit-learn HistGradientBoostingClassifier', () => {
  test('the same settings on the same rows give the same log-odds; different settings do not', () => {
    const train = rows(3_000, 1);
    const test = rows(500, 2);
    const ours = treeLogits(trainTrees(config, train.x, train.y, 3_000, 1).ensemble, test.x, 500);
    const reference = (c: TreeConfig): number[] =>
      runPython<number[]>(PYTHON_REFERENCE, {
        config: c,
        x: rowsOf(train.x, 3_000),
        y: Array.from(train.y),
        test: rowsOf(test.x, 500),
      });
    const largestDifference = (theirs: number[]): number => Math.max(...theirs.map((z, i) => Math.abs(z - ours[i]!)));
    expect(largestDifference(reference(config))).toBeLessThan(1e-5);
    // Control: scikit-learn with smaller leaves disagrees, so the agreement above is not a loose tolerance.
    expect(largestDifference(reference({ ...config, maxLeaves: 7 }))).toBeGreaterThan(0.05);
  }, 120_000);
});
