import { FEATURE_COUNT } from '../../scoring/domain/feature-names.js';
import { type TreeEnsemble, treeEnsembleProblems, treeLogits } from '../../scoring/domain/trees.js';
import { rocAuc } from '../evaluation/metrics.js';
import { TREE_MEMBER_SEED_STRIDE, type TreeConfig, trainTrees, treeConfigProblems } from './gbdt.js';
import { seededRandom } from './synthetic.js';

/**
 * `n` rows of uniform noise in [−1, 1] on every feature (on a grid of 0.01 when `grid`, 201 distinct values, so that
 * every gap between values gets a bin edge), labelled by `label` of the row's values.
 */
function rows(
  n: number,
  seed: number,
  label: (v: (f: number) => number) => boolean,
  grid = false,
): { x: Float32Array; y: Float32Array } {
  const random = seededRandom(seed);
  const x = new Float32Array(n * FEATURE_COUNT);
  for (let i = 0; i < x.length; i++) x[i] = grid ? Math.round(random() * 200) / 100 - 1 : random() * 2 - 1;
  const y = Float32Array.from({ length: n }, (_, r) => (label((f) => x[r * FEATURE_COUNT + f]!) ? 1 : 0));
  return { x, y };
}

const config: TreeConfig = {
  maxBins: 255,
  maxLeaves: 8,
  minSamplesLeaf: 20,
  l2: 0,
  learningRate: 0.3,
  maxRounds: 40,
};

/** The leaf each row ends in, per tree: what the ensemble's structure does with the rows, independent of values. */
function leafOf(ensemble: TreeEnsemble, x: Float32Array, n: number, tree: number): number[] {
  const t = ensemble.trees[tree]!;
  return Array.from({ length: n }, (_, r) => {
    let node = 0;
    while (t.feature[node]! >= 0)
      node = x[r * FEATURE_COUNT + t.feature[node]!]! <= t.threshold[node]! ? t.left[node]! : t.right[node]!;
    return node;
  });
}

describe('gradient-boosted trees', () => {
  test('learn an interaction (XOR of two features) that an additive model cannot', () => {
    const xor = (v: (f: number) => number): boolean => v(3) > 0 !== v(17) > 0;
    const train = rows(4_000, 1, xor);
    const test = rows(2_000, 2, xor);
    const trees = trainTrees(config, train.x, train.y, 4_000, 9);
    expect(rocAuc(treeLogits(trees.ensemble, test.x, 2_000), test.y)).toBeGreaterThan(0.98);
    // Control: stumps (two leaves) make an additive model, one function per feature, which XOR defeats.
    const stumps = trainTrees({ ...config, maxLeaves: 2 }, train.x, train.y, 4_000, 9);
    expect(rocAuc(treeLogits(stumps.ensemble, test.x, 2_000), test.y)).toBeLessThan(0.6);
  });

  test('put a step at the threshold that separates the classes, from one split', () => {
    const step = rows(3_000, 3, (v) => v(41) > 0.37, true);
    const trees = trainTrees({ ...config, maxLeaves: 2, maxRounds: 1 }, step.x, step.y, 3_000, 1);
    const [tree] = trees.ensemble.trees;
    expect(tree!.feature[0]).toBe(41);
    const column = Array.from({ length: 3_000 }, (_, r) => step.x[r * FEATURE_COUNT + 41]!);
    const below = Math.max(...column.filter((v) => v <= 0.37));
    const above = Math.min(...column.filter((v) => v > 0.37));
    expect(tree!.threshold[0]).toBeGreaterThanOrEqual(below);
    expect(tree!.threshold[0]).toBeLessThan(above);
    expect(rocAuc(treeLogits(trees.ensemble, step.x, 3_000), step.y)).toBe(1);
  });

  test('score a row the same whether it is binned (training) or compared with thresholds (treeLogits)', () => {
    const data = rows(3_000, 4, (v) => v(0) + v(1) * v(2) > 0.2);
    const trees = trainTrees(config, data.x, data.y, 3_000, 1);
    const evaluated = treeLogits(trees.ensemble, data.x, 3_000);
    let largest = 0;
    for (let r = 0; r < 3_000; r++) largest = Math.max(largest, Math.abs(evaluated[r]! - trees.logits[r]!));
    expect(largest).toBeLessThan(1e-5);
  });

  test('keep at least minSamplesLeaf rows in every leaf and no more than maxLeaves leaves', () => {
    const data = rows(2_000, 5, (v) => v(7) > 0);
    const trees = trainTrees({ ...config, minSamplesLeaf: 150 }, data.x, data.y, 2_000, 1);
    trees.ensemble.trees.forEach((tree, t) => {
      const counts = new Map<number, number>();
      for (const leaf of leafOf(trees.ensemble, data.x, 2_000, t)) counts.set(leaf, (counts.get(leaf) ?? 0) + 1);
      expect(Math.min(...counts.values())).toBeGreaterThanOrEqual(150);
      expect(tree.feature.filter((f) => f === -1).length).toBeLessThanOrEqual(config.maxLeaves);
    });
  });

  test('are deterministic for a seed; the seed draws the held-out slice early stopping watches', () => {
    const data = rows(3_000, 6, (v) => v(5) + v(6) > 0.5);
    const noisy = Float32Array.from(data.y, (y, i) => (i % 7 === 0 ? 1 - y : y));
    const stopping = { ...config, maxRounds: 200, earlyStopping: { validationFraction: 0.2, patience: 5 } };
    const first = trainTrees(stopping, data.x, noisy, 3_000, 42);
    const again = trainTrees(stopping, data.x, noisy, 3_000, 42);
    expect(again.ensemble).toEqual(first.ensemble);
    expect(again.validationLoss).toEqual(first.validationLoss);
    expect(trainTrees(stopping, data.x, noisy, 3_000, 43).validationLoss).not.toEqual(first.validationLoss);
    // Stratified: 20 % of each class held out.
    expect(first.rowsHeldOut).toBe(600);
    // Label noise makes the held-out loss turn up; the trees kept are those up to its lowest point.
    const [losses] = first.validationLoss;
    expect(losses!.length).toBeLessThan(200);
    const lowest = losses!.indexOf(Math.min(...losses!));
    expect(first.ensemble.trees).toHaveLength(lowest + 1);
    expect(first.rounds).toEqual([lowest + 1]);
  });

  test('merge members into one ensemble whose log-odds are the mean of theirs', () => {
    const data = rows(2_000, 9, (v) => v(5) * v(6) > 0.1);
    const stopping = { ...config, maxRounds: 60, earlyStopping: { validationFraction: 0.2, patience: 5 } };
    const merged = trainTrees({ ...stopping, members: 3 }, data.x, data.y, 2_000, 11);
    const alone = [0, 1, 2].map((m) =>
      treeLogits(trainTrees(stopping, data.x, data.y, 2_000, 11 + m * TREE_MEMBER_SEED_STRIDE).ensemble, data.x, 2_000),
    );
    const evaluated = treeLogits(merged.ensemble, data.x, 2_000);
    let largest = 0;
    let largestIfOneMissing = 0;
    for (let r = 0; r < 2_000; r++) {
      largest = Math.max(largest, Math.abs(evaluated[r]! - (alone[0]![r]! + alone[1]![r]! + alone[2]![r]!) / 3));
      largestIfOneMissing = Math.max(
        largestIfOneMissing,
        Math.abs(evaluated[r]! - (alone[0]![r]! + alone[1]![r]!) / 2),
      );
    }
    expect(largest).toBeLessThan(1e-5);
    expect(largestIfOneMissing).toBeGreaterThan(1e-3); // control: the comparison sees a member missing
    expect(merged.rounds).toHaveLength(3);
    expect(merged.ensemble.trees).toHaveLength(merged.rounds.reduce((a, b) => a + b, 0));
  });

  test('refuse a config out of range, naming the key', () => {
    expect(treeConfigProblems(config)).toEqual([]);
    expect(treeConfigProblems({ ...config, maxBins: 256, learningRate: 0 })).toEqual([
      'trees.maxBins must be a whole number in 2 … 255, got 256',
      'trees.learningRate must be > 0, got 0',
    ]);
    const data = rows(100, 7, (v) => v(0) > 0);
    expect(() => trainTrees({ ...config, maxLeaves: 1 }, data.x, data.y, 100, 1)).toThrow(/trees\.maxLeaves/);
    expect(() => trainTrees(config, data.x, new Float32Array(100), 100, 1)).toThrow(/both classes/);
  });
});

describe('treeEnsembleProblems', () => {
  const data = rows(1_000, 8, (v) => v(2) > 0);
  const trained = trainTrees({ ...config, maxRounds: 3 }, data.x, data.y, 1_000, 1).ensemble;

  test('accepts what training produces, after a JSON round trip', () => {
    expect(treeEnsembleProblems(JSON.parse(JSON.stringify(trained)))).toEqual([]);
  });

  test('names what makes a file unusable', () => {
    const [tree] = trained.trees;
    const broken = {
      baseLogit: 'x',
      trees: [
        { ...tree, left: tree!.left.map((c, i) => (tree!.feature[i]! >= 0 ? 0 : c)) },
        { ...tree, feature: tree!.feature.map((f) => (f >= 0 ? FEATURE_COUNT : f)) },
        { ...tree, value: tree!.value.slice(1) },
      ],
    };
    const problems = treeEnsembleProblems(broken);
    expect(problems).toContain('/baseLogit must be a finite number');
    expect(problems).toContain('/trees/0/left/0 must be a node after 0 and before ' + tree!.feature.length);
    expect(problems).toContain(`/trees/1/feature/0 must be -1 (a leaf) or a feature index below ${FEATURE_COUNT}`);
    expect(problems).toContain(
      `/trees/2/value has ${tree!.value.length - 1} entries, /feature ${tree!.feature.length}`,
    );
    expect(treeEnsembleProblems(null)).toEqual(['/ must be an object']);
  });
});
