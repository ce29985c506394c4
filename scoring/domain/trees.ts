import { FEATURE_COUNT } from './feature-names.js';

/**
 * A gradient-boosted tree ensemble on the model's standardised rows (`normalise`), as model-lab trains it
 * (`model-lab/training/gbdt.ts`) and the live scorer would evaluate it: its output is a log-odds, added to the
 * network's. Each tree is stored as flat arrays indexed by node, node 0 the root; a node with `feature[i] = -1` is a
 * leaf whose `value[i]` (learning rate applied) is added to the log-odds. An inner node sends a row to `left[i]` when
 * its standardised value of `feature[i]` is ≤ `threshold[i]`, else to `right[i]`.
 */
export interface RegressionTree {
  readonly feature: readonly number[];
  readonly threshold: readonly number[];
  readonly left: readonly number[];
  readonly right: readonly number[];
  readonly value: readonly number[];
}

export interface TreeEnsemble {
  /** The log-odds every row starts from: the training set's fraud rate as a logit. */
  readonly baseLogit: number;
  readonly trees: readonly RegressionTree[];
}

/** The log-odds of `n` standardised rows (n × FEATURE_COUNT) under `ensemble`, written into `out`. */
export function treeLogits(
  ensemble: TreeEnsemble,
  rows: Float32Array,
  n: number,
  out: Float32Array = new Float32Array(n),
): Float32Array {
  const { feature, threshold, left, right, value, roots } = flat(ensemble);
  for (let r = 0; r < n; r++) {
    const at = r * FEATURE_COUNT;
    let logit = ensemble.baseLogit;
    for (let t = 0; t < roots.length; t++) {
      let node = roots[t]!;
      let f = feature[node]!;
      while (f >= 0) {
        node = rows[at + f]! <= threshold[node]! ? left[node]! : right[node]!;
        f = feature[node]!;
      }
      logit += value[node]!;
    }
    out[r] = logit;
  }
  return out;
}

/** Every tree's nodes in one set of typed arrays, children as absolute indices, and where each tree's root is. */
interface FlatTrees {
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly value: Float64Array;
  readonly roots: Int32Array;
}

const flattened = new WeakMap<TreeEnsemble, FlatTrees>();

/**
 * The ensemble as typed arrays, made once per ensemble object (ensembles are not changed once built): walking them
 * is about 3.4 times as fast as walking the JSON-shaped arrays (MODEL.md, Trees in the live path).
 */
function flat(ensemble: TreeEnsemble): FlatTrees {
  const cached = flattened.get(ensemble);
  if (cached !== undefined) return cached;
  const nodes = ensemble.trees.reduce((sum, tree) => sum + tree.feature.length, 0);
  const made: FlatTrees = {
    feature: new Int32Array(nodes),
    threshold: new Float64Array(nodes),
    left: new Int32Array(nodes),
    right: new Int32Array(nodes),
    value: new Float64Array(nodes),
    roots: new Int32Array(ensemble.trees.length),
  };
  let at = 0;
  ensemble.trees.forEach((tree, t) => {
    made.roots[t] = at;
    for (let i = 0; i < tree.feature.length; i++) {
      made.feature[at + i] = tree.feature[i]!;
      made.threshold[at + i] = tree.threshold[i]!;
      made.left[at + i] = at + tree.left[i]!;
      made.right[at + i] = at + tree.right[i]!;
      made.value[at + i] = tree.value[i]!;
    }
    at += tree.feature.length;
  });
  flattened.set(ensemble, made);
  return made;
}

/**
 * Problems with a tree ensemble read from a file (empty when it is usable): every array of a tree as long as the
 * others, features within the row, children pointing forward inside the tree (so evaluation always ends at a leaf),
 * finite thresholds and values. Paths are JSON pointers into the ensemble, after `at` when it lies inside a document.
 */
export function treeEnsembleProblems(ensemble: unknown, at = ''): string[] {
  if (typeof ensemble !== 'object' || ensemble === null) return [`${at || '/'} must be an object`];
  const { baseLogit, trees } = ensemble as Partial<Record<keyof TreeEnsemble, unknown>>;
  const problems: string[] = [];
  if (typeof baseLogit !== 'number' || !Number.isFinite(baseLogit))
    problems.push(`${at}/baseLogit must be a finite number`);
  if (!Array.isArray(trees)) return [...problems, `${at}/trees must be an array`];
  trees.forEach((tree: unknown, t) => {
    const path = `${at}/trees/${t}`;
    if (typeof tree !== 'object' || tree === null) {
      problems.push(`${path} must be an object`);
      return;
    }
    const arrays = tree as Partial<Record<keyof RegressionTree, unknown>>;
    const keys = ['feature', 'threshold', 'left', 'right', 'value'] as const;
    const missing = keys.filter((k) => !Array.isArray(arrays[k]));
    if (missing.length > 0) {
      problems.push(...missing.map((k) => `${path}/${k} must be an array`));
      return;
    }
    const { feature, threshold, left, right, value } = arrays as Record<keyof RegressionTree, unknown[]>;
    const nodes = feature.length;
    const shape: string[] = [];
    if (nodes === 0) shape.push(`${path}/feature must hold at least the root`);
    for (const k of keys)
      if ((arrays[k] as unknown[]).length !== nodes)
        shape.push(`${path}/${k} has ${(arrays[k] as unknown[]).length} entries, /feature ${nodes}`);
    if (shape.length > 0) {
      problems.push(...shape);
      return;
    }
    for (let i = 0; i < nodes; i++) {
      const f = feature[i];
      if (!Number.isInteger(f) || (f as number) < -1 || (f as number) >= FEATURE_COUNT) {
        problems.push(`${path}/feature/${i} must be -1 (a leaf) or a feature index below ${FEATURE_COUNT}`);
        continue;
      }
      if (f === -1) {
        if (typeof value[i] !== 'number' || !Number.isFinite(value[i]))
          problems.push(`${path}/value/${i} must be finite`);
        continue;
      }
      if (typeof threshold[i] !== 'number' || !Number.isFinite(threshold[i]))
        problems.push(`${path}/threshold/${i} must be finite`);
      for (const [name, child] of [
        ['left', left[i]],
        ['right', right[i]],
      ] as const)
        if (!Number.isInteger(child) || (child as number) <= i || (child as number) >= nodes)
          problems.push(`${path}/${name}/${i} must be a node after ${i} and before ${nodes}`);
    }
  });
  return problems;
}

/**
 * Trees blended with the network in one model artefact (its `trees.json`): the model's log-odds are
 * (1 − blendWeight) · network log-odds + blendWeight · trees' log-odds. The trees' `baseLogit` is already on the
 * network's raw scale, so the score is the sigmoid of that blend less ln positiveClassWeight, as for the network alone.
 */
export interface BlendedTrees {
  readonly blendWeight: number;
  readonly ensemble: TreeEnsemble;
}

/** Problems with a `trees.json` (empty when it is usable), as JSON pointers into it. */
export function blendedTreesProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return ['/ must be an object'];
  const { blendWeight, ensemble } = value as Partial<Record<keyof BlendedTrees, unknown>>;
  const problems: string[] = [];
  if (typeof blendWeight !== 'number' || !(blendWeight >= 0 && blendWeight <= 1))
    problems.push('/blendWeight must be a number in 0 … 1');
  return [...problems, ...treeEnsembleProblems(ensemble, '/ensemble')];
}
