import { FEATURE_COUNT } from '../../scoring/domain/feature-names.js';
import { type BlendedTrees, type RegressionTree, type TreeEnsemble, treeLogits } from '../../scoring/domain/trees.js';
import { seededRandom } from './synthetic.js';

/**
 * Histogram gradient-boosted trees for binary log-loss, trained on the same standardised rows as the network
 * (`normalise`), so the live scorer can feed one row to both. The design follows scikit-learn's
 * HistGradientBoostingClassifier (the diagnostic in MODEL.md): quantile bins per feature, leaf-wise growth up to
 * `maxLeaves`, a minimum of rows per leaf, L2 on the leaf values, shrinkage, and early stopping on a held-out slice of
 * the rows it is given (the training window only).
 *
 * Written here rather than taken from npm: the registry had no maintained GBDT trainer for Node without native
 * binaries. `ml-xgboost` is XGBoost 0.7 compiled to wasm in 2018 and unmaintained since, with no seeded sampling
 * and a binary model format the scoring stage could not read without shipping that wasm too; `decision-tree`'s
 * "XGBoost" grows entropy (ID3) trees over arrays of objects, not second-order histogram trees, and would not fit
 * 68 k × 62 rows in reasonable time. The evaluator is in `scoring/domain/trees.ts` because the live path needs it.
 */
export interface TreeConfig {
  /** Bins per feature (quantiles of the fitted rows), 2 … 255. */
  readonly maxBins: number;
  /** Leaves per tree; the leaf with the largest gain is split first. */
  readonly maxLeaves: number;
  /** A split is allowed only when both sides keep at least this many rows. */
  readonly minSamplesLeaf: number;
  /** L2 penalty on leaf values: value = −G / (H + l2). */
  readonly l2: number;
  /** Shrinkage applied to every leaf value. */
  readonly learningRate: number;
  /** Boosting rounds (trees), or the most of them with early stopping. */
  readonly maxRounds: number;
  /**
   * Holds out `validationFraction` of the rows (stratified, seeded) and stops when the held-out log-loss has not
   * improved for `patience` rounds, keeping the trees up to the best round. Absent: exactly `maxRounds` trees on
   * every row.
   */
  readonly earlyStopping?: { readonly validationFraction: number; readonly patience: number };
  /**
   * Ensembles trained with their own seeds (so, with early stopping, their own held-out slices and stopping rounds)
   * and merged into one whose log-odds are the mean of theirs; 1 when absent. On one week of handbook rows the round
   * at which the held-out loss bottoms out moves from 19 to 79 with the slice drawn (MODEL.md, Trees), and averaging
   * takes out part of that variance, as `members` does for the networks.
   */
  readonly members?: number;
}

/** Trees to train beside the network and blend with it: the model's log-odds are the weighted mean of both. */
export interface BlendedTreeConfig extends TreeConfig {
  /** The trees' share of the blended log-odds, fixed before any test figure is seen (0.5: the plain mean). */
  readonly blendWeight: number;
}

/** A readable description of the trees and the blend, appended to the network's in metadata and reports. */
export function describeTrees(config: BlendedTreeConfig): string {
  const stopping =
    config.earlyStopping === undefined
      ? `${config.maxRounds} rounds`
      : `up to ${config.maxRounds} rounds, early stopping on ${config.earlyStopping.validationFraction * 100} % held out (patience ${config.earlyStopping.patience})`;
  const members = config.members ?? 1;
  return `gradient-boosted trees (${members > 1 ? `${members} members, ` : ''}${config.maxLeaves} leaves, ≥ ${config.minSamplesLeaf} rows a leaf, L2 ${config.l2}, learning rate ${config.learningRate}, ${config.maxBins} bins, ${stopping}); log-odds blended ${1 - config.blendWeight} network + ${config.blendWeight} trees`;
}

/** `treeConfigProblems` and the blend weight's range. */
export function blendedTreeConfigProblems(config: BlendedTreeConfig): string[] {
  const problems = treeConfigProblems(config);
  const w = config.blendWeight;
  if (typeof w !== 'number' || !(w >= 0 && w <= 1))
    problems.push(`trees.blendWeight must be in 0 … 1, got ${JSON.stringify(w)}`);
  return problems;
}

/**
 * The trees as an artefact blends them (`BlendedTrees`): their log-odds moved onto the network's raw scale, on which
 * the live scorer subtracts ln positiveClassWeight from the blend. The trees are fitted without class weight, so
 * ln positiveClassWeight is added to their base; both saw genuine rows sampled at the same rate, which that weight
 * already includes.
 */
export function blendedForArtefact(
  ensemble: TreeEnsemble,
  blendWeight: number,
  positiveClassWeight: number,
): BlendedTrees {
  return { blendWeight, ensemble: { ...ensemble, baseLogit: ensemble.baseLogit + Math.log(positiveClassWeight) } };
}

/**
 * Probabilities of the blend from the two models' log-odds on the same rows, each first mapped back to the unsampled
 * data's scale: the network was fitted with the fraud class weighted by `positiveClassWeight` and genuine rows kept
 * at `negativeSampleRate`, the trees on the same rows without a class weight.
 */
export function blendScores(
  networkLogits: Float32Array,
  treeLogit: Float32Array,
  blendWeight: number,
  positiveClassWeight: number,
  negativeSampleRate: number,
): Float32Array {
  const networkShift = Math.log(positiveClassWeight / negativeSampleRate);
  const treeShift = Math.log(1 / negativeSampleRate);
  return networkLogits.map((z, i) =>
    sigmoid((1 - blendWeight) * (z - networkShift) + blendWeight * (treeLogit[i]! - treeShift)),
  );
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

export interface TrainedTrees {
  /** The members merged: every member's trees, leaf values divided by the member count. */
  readonly ensemble: TreeEnsemble;
  /** Per member, the held-out mean log-loss after each round (empty without early stopping). */
  readonly validationLoss: ReadonlyArray<readonly number[]>;
  /** Per member, the trees kept. */
  readonly rounds: readonly number[];
  /** Rows each member fitted on and held out. */
  readonly rowsFitted: number;
  readonly rowsHeldOut: number;
  /**
   * The training side's log-odds of every row it was given (held-out rows included), from the binned rows it fitted
   * on: `treeLogits` on the same rows must agree, which is what shows the thresholds and the bins mean one thing.
   */
  readonly logits: Float64Array;
  readonly seconds: number;
}

/** Rejects a config outside the ranges the trainer supports, naming the key. */
export function treeConfigProblems(config: TreeConfig): string[] {
  const problems: string[] = [];
  const whole = (key: keyof TreeConfig, min: number, max = Number.MAX_SAFE_INTEGER): void => {
    const v = config[key];
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max)
      problems.push(`trees.${key} must be a whole number in ${min} … ${max}, got ${JSON.stringify(v)}`);
  };
  whole('maxBins', 2, 255);
  whole('maxLeaves', 2);
  whole('minSamplesLeaf', 1);
  whole('maxRounds', 1);
  if (config.members !== undefined) whole('members', 1);
  if (!(config.l2 >= 0)) problems.push(`trees.l2 must be ≥ 0, got ${JSON.stringify(config.l2)}`);
  if (!(config.learningRate > 0)) problems.push(`trees.learningRate must be > 0, got ${config.learningRate}`);
  const stop = config.earlyStopping;
  if (stop !== undefined) {
    if (!(stop.validationFraction > 0 && stop.validationFraction < 1))
      problems.push(`trees.earlyStopping.validationFraction must be in (0, 1), got ${stop.validationFraction}`);
    if (!Number.isInteger(stop.patience) || stop.patience < 1)
      problems.push(`trees.earlyStopping.patience must be a whole number ≥ 1, got ${stop.patience}`);
  }
  return problems;
}

/** Bins are stored with a fixed stride so a feature's histogram starts at feature × BIN_STRIDE. */
const BIN_STRIDE = 256;
/** A side of a split needs this much hessian (scikit-learn's min_hessian_to_split), or its leaf value explodes. */
const MIN_HESSIAN = 1e-3;
/** Held-out loss must fall by more than this to count as an improvement (scikit-learn's tol). */
const IMPROVEMENT = 1e-7;

/** Seed distance between tree members: member m is seeded `seed + m × TREE_MEMBER_SEED_STRIDE`. */
export const TREE_MEMBER_SEED_STRIDE = 7919;

/**
 * Fits a tree ensemble on `n` standardised rows (n × FEATURE_COUNT) with 0/1 labels: `config.members` ensembles,
 * merged. Deterministic for a seed: the seed only draws the held-out slices, and ties between splits go to the lower
 * feature and bin. Throws RangeError on a bad config or when the fitted rows lack a class.
 */
export function trainTrees(
  config: TreeConfig,
  x: Float32Array,
  labels: Float32Array,
  n: number,
  seed: number,
): TrainedTrees {
  const started = performance.now();
  const problems = treeConfigProblems(config);
  if (problems.length > 0) throw new RangeError(problems.join('; '));
  const count = config.members ?? 1;
  const members = Array.from({ length: count }, (_, m) =>
    trainMember(config, x, labels, n, seed + m * TREE_MEMBER_SEED_STRIDE),
  );
  const logits = new Float64Array(n);
  for (const member of members) for (let r = 0; r < n; r++) logits[r] = logits[r]! + member.logits[r]! / count;
  return {
    ensemble: {
      baseLogit: members.reduce((sum, member) => sum + member.ensemble.baseLogit, 0) / count,
      trees: members.flatMap((member) =>
        member.ensemble.trees.map((tree) =>
          count === 1 ? tree : { ...tree, value: tree.value.map((v) => v / count) },
        ),
      ),
    },
    validationLoss: members.map((member) => member.validationLoss),
    rounds: members.map((member) => member.ensemble.trees.length),
    rowsFitted: members[0]!.rowsFitted,
    rowsHeldOut: members[0]!.rowsHeldOut,
    logits,
    seconds: (performance.now() - started) / 1000,
  };
}

interface TrainedMember {
  readonly ensemble: TreeEnsemble;
  readonly validationLoss: readonly number[];
  readonly rowsFitted: number;
  readonly rowsHeldOut: number;
  readonly logits: Float64Array;
}

function trainMember(
  config: TreeConfig,
  x: Float32Array,
  labels: Float32Array,
  n: number,
  seed: number,
): TrainedMember {
  const { fit, heldOut } = splitRows(labels, n, config.earlyStopping?.validationFraction ?? 0, seed);
  const m = fit.length;
  const y = Float64Array.from(fit, (r) => labels[r]!);
  const positives = y.reduce((a, b) => a + b, 0);
  if (positives === 0 || positives === m) throw new RangeError('trees: the fitted rows need both classes');

  const thresholds = binThresholds(x, fit, config.maxBins);
  const bins = binRows(x, fit, thresholds);
  const baseLogit = Math.log(positives / (m - positives));
  const raw = new Float64Array(m).fill(baseLogit);
  const gradient = new Float64Array(m);
  const hessian = new Float64Array(m);

  const heldOutRows = new Float32Array(heldOut.length * FEATURE_COUNT);
  heldOut.forEach((r, k) => heldOutRows.set(x.subarray(r * FEATURE_COUNT, (r + 1) * FEATURE_COUNT), k * FEATURE_COUNT));
  const heldOutLabels = Float64Array.from(heldOut, (r) => labels[r]!);
  const heldOutRaw = new Float64Array(heldOut.length).fill(baseLogit);
  const treeOut = new Float32Array(heldOut.length);

  const trees: RegressionTree[] = [];
  const validationLoss: number[] = [];
  let best = { loss: Infinity, rounds: 0 };
  for (let round = 0; round < config.maxRounds; round++) {
    for (let i = 0; i < m; i++) {
      const p = 1 / (1 + Math.exp(-raw[i]!));
      gradient[i] = p - y[i]!;
      hessian[i] = Math.max(p * (1 - p), 1e-16);
    }
    const grown = growTree(config, bins, thresholds, gradient, hessian, m);
    trees.push(grown.tree);
    for (const leaf of grown.leaves)
      for (let i = leaf.start; i < leaf.end; i++) raw[grown.order[i]!] = raw[grown.order[i]!]! + leaf.value;
    if (config.earlyStopping === undefined) continue;
    treeLogits({ baseLogit: 0, trees: [grown.tree] }, heldOutRows, heldOut.length, treeOut);
    let loss = 0;
    for (let k = 0; k < heldOut.length; k++) {
      const z = heldOutRaw[k]! + treeOut[k]!;
      heldOutRaw[k] = z;
      // log(1 + e^z) − y·z, computed without overflow.
      loss += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - heldOutLabels[k]! * z;
    }
    loss /= heldOut.length;
    validationLoss.push(loss);
    if (loss < best.loss - IMPROVEMENT) best = { loss, rounds: round + 1 };
    else if (round + 1 - best.rounds >= config.earlyStopping.patience) break;
  }
  const logits = new Float64Array(n);
  if (config.earlyStopping !== undefined) {
    trees.length = best.rounds;
    // The rounds after the best were added to the running sums; count the kept trees again.
    logits.set(treeLogits({ baseLogit, trees }, x, n));
  } else fit.forEach((r, i) => (logits[r] = raw[i]!));
  return {
    ensemble: { baseLogit, trees },
    validationLoss,
    rowsFitted: m,
    rowsHeldOut: heldOut.length,
    logits,
  };
}

/** Rows to fit and rows held out: `fraction` of each class held out, drawn with a seeded shuffle. */
function splitRows(
  labels: Float32Array,
  n: number,
  fraction: number,
  seed: number,
): { fit: Uint32Array; heldOut: Uint32Array } {
  if (fraction === 0) return { fit: Uint32Array.from({ length: n }, (_, i) => i), heldOut: new Uint32Array(0) };
  const random = seededRandom(seed);
  const held = new Uint8Array(n);
  for (const positive of [false, true]) {
    const rows: number[] = [];
    for (let r = 0; r < n; r++) if (labels[r]! > 0 === positive) rows.push(r);
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [rows[i], rows[j]] = [rows[j]!, rows[i]!];
    }
    const count = Math.round(fraction * rows.length);
    for (let i = 0; i < count; i++) held[rows[i]!] = 1;
  }
  const fit: number[] = [];
  const heldOut: number[] = [];
  for (let r = 0; r < n; r++) (held[r] === 1 ? heldOut : fit).push(r);
  return { fit: Uint32Array.from(fit), heldOut: Uint32Array.from(heldOut) };
}

/**
 * Per feature, the upper edges of its bins on the fitted rows: a value goes to the first bin whose edge it does not
 * exceed. With at most `maxBins` distinct values, the edges are the midpoints between them; otherwise they are
 * quantiles of the values (each a value itself), repeated ones once.
 */
function binThresholds(x: Float32Array, fit: Uint32Array, maxBins: number): Float64Array[] {
  const column = new Float32Array(fit.length);
  const edges: Float64Array[] = [];
  for (let f = 0; f < FEATURE_COUNT; f++) {
    fit.forEach((r, i) => (column[i] = x[r * FEATURE_COUNT + f]!));
    column.sort();
    const distinct: number[] = [];
    for (let i = 0; i < column.length; i++) if (i === 0 || column[i] !== column[i - 1]) distinct.push(column[i]!);
    const cut: number[] = [];
    if (distinct.length <= maxBins) {
      for (let i = 0; i + 1 < distinct.length; i++) cut.push((distinct[i]! + distinct[i + 1]!) / 2);
    } else {
      for (let k = 1; k < maxBins; k++) {
        const at = column[Math.floor((k * column.length) / maxBins)]!;
        if (at < distinct[distinct.length - 1]! && (cut.length === 0 || at > cut[cut.length - 1]!)) cut.push(at);
      }
    }
    edges.push(Float64Array.from(cut));
  }
  return edges;
}

/** The bin of every fitted row's every feature, row-major (m × FEATURE_COUNT). */
function binRows(x: Float32Array, fit: Uint32Array, thresholds: readonly Float64Array[]): Uint8Array {
  const bins = new Uint8Array(fit.length * FEATURE_COUNT);
  fit.forEach((r, i) => {
    for (let f = 0; f < FEATURE_COUNT; f++) {
      const edges = thresholds[f]!;
      const v = x[r * FEATURE_COUNT + f]!;
      let lo = 0;
      let hi = edges.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (v <= edges[mid]!) hi = mid;
        else lo = mid + 1;
      }
      bins[i * FEATURE_COUNT + f] = lo;
    }
  });
  return bins;
}

interface Split {
  readonly gain: number;
  readonly feature: number;
  readonly bin: number;
}

interface GrowingNode {
  readonly id: number;
  /** Its rows are order[start … end). */
  readonly start: number;
  readonly end: number;
  readonly sumGradient: number;
  readonly sumHessian: number;
  /** Per feature and bin: gradient and hessian sums interleaved, then row counts. */
  readonly histogram: Float64Array;
  readonly counts: Uint32Array;
  readonly split: Split | undefined;
}

/**
 * One tree grown leaf-wise on the binned rows: the leaf whose best split gains most is split next, until `maxLeaves`
 * or no leaf can be split. A child's histogram is built from its rows when it is the smaller one and is the parent's
 * minus its sibling's otherwise, which halves the work.
 */
function growTree(
  config: TreeConfig,
  bins: Uint8Array,
  thresholds: readonly Float64Array[],
  gradient: Float64Array,
  hessian: Float64Array,
  m: number,
): { tree: RegressionTree; order: Uint32Array; leaves: Array<{ start: number; end: number; value: number }> } {
  const order = Uint32Array.from({ length: m }, (_, i) => i);
  const scratch = new Uint32Array(m);
  const tree = { feature: [] as number[], threshold: [] as number[], left: [] as number[], right: [] as number[] };
  const value: number[] = [];
  const addNode = (): number => {
    tree.feature.push(-1);
    tree.threshold.push(0);
    tree.left.push(0);
    tree.right.push(0);
    value.push(0);
    return tree.feature.length - 1;
  };
  const histogramOf = (start: number, end: number): { histogram: Float64Array; counts: Uint32Array } => {
    const histogram = new Float64Array(FEATURE_COUNT * BIN_STRIDE * 2);
    const counts = new Uint32Array(FEATURE_COUNT * BIN_STRIDE);
    for (let i = start; i < end; i++) {
      const r = order[i]!;
      const g = gradient[r]!;
      const h = hessian[r]!;
      const base = r * FEATURE_COUNT;
      for (let f = 0; f < FEATURE_COUNT; f++) {
        const k = f * BIN_STRIDE + bins[base + f]!;
        histogram[2 * k] = histogram[2 * k]! + g;
        histogram[2 * k + 1] = histogram[2 * k + 1]! + h;
        counts[k] = counts[k]! + 1;
      }
    }
    return { histogram, counts };
  };
  const bestSplit = (
    histogram: Float64Array,
    counts: Uint32Array,
    g: number,
    h: number,
    rows: number,
  ): Split | undefined => {
    const parent = (g * g) / (h + config.l2);
    let best: Split | undefined;
    for (let f = 0; f < FEATURE_COUNT; f++) {
      let gl = 0;
      let hl = 0;
      let nl = 0;
      for (let b = 0; b < thresholds[f]!.length; b++) {
        const k = f * BIN_STRIDE + b;
        gl += histogram[2 * k]!;
        hl += histogram[2 * k + 1]!;
        nl += counts[k]!;
        if (nl < config.minSamplesLeaf || hl < MIN_HESSIAN) continue;
        const nr = rows - nl;
        const hr = h - hl;
        if (nr < config.minSamplesLeaf) break;
        if (hr < MIN_HESSIAN) continue;
        const gr = g - gl;
        const gain = (gl * gl) / (hl + config.l2) + (gr * gr) / (hr + config.l2) - parent;
        if (gain > 0 && (best === undefined || gain > best.gain)) best = { gain, feature: f, bin: b };
      }
    }
    return best;
  };
  const makeNode = (
    start: number,
    end: number,
    built: { histogram: Float64Array; counts: Uint32Array },
  ): GrowingNode => {
    let sumGradient = 0;
    let sumHessian = 0;
    // Sums from feature 0's bins: every row falls in exactly one of them.
    for (let b = 0; b < BIN_STRIDE; b++) {
      sumGradient += built.histogram[2 * b]!;
      sumHessian += built.histogram[2 * b + 1]!;
    }
    return {
      id: addNode(),
      start,
      end,
      sumGradient,
      sumHessian,
      ...built,
      split: bestSplit(built.histogram, built.counts, sumGradient, sumHessian, end - start),
    };
  };

  const leaves: GrowingNode[] = [makeNode(0, m, histogramOf(0, m))];
  while (leaves.length < config.maxLeaves) {
    let pick = -1;
    leaves.forEach((leaf, i) => {
      if (leaf.split !== undefined && (pick < 0 || leaf.split.gain > leaves[pick]!.split!.gain)) pick = i;
    });
    if (pick < 0) break;
    const parent = leaves[pick]!;
    const { feature, bin } = parent.split!;
    // Stable partition of the parent's rows: bin ≤ split bin to the left.
    let l = parent.start;
    let s = 0;
    for (let i = parent.start; i < parent.end; i++) {
      const r = order[i]!;
      if (bins[r * FEATURE_COUNT + feature]! <= bin) order[l++] = r;
      else scratch[s++] = r;
    }
    order.set(scratch.subarray(0, s), l);
    const leftRows = l - parent.start;
    const smallerIsLeft = leftRows <= parent.end - l;
    const small = smallerIsLeft ? histogramOf(parent.start, l) : histogramOf(l, parent.end);
    const large = { histogram: parent.histogram, counts: parent.counts };
    for (let k = 0; k < large.histogram.length; k++) large.histogram[k] = large.histogram[k]! - small.histogram[k]!;
    for (let k = 0; k < large.counts.length; k++) large.counts[k] = large.counts[k]! - small.counts[k]!;
    const left = makeNode(parent.start, l, smallerIsLeft ? small : large);
    const right = makeNode(l, parent.end, smallerIsLeft ? large : small);
    tree.feature[parent.id] = feature;
    tree.threshold[parent.id] = thresholds[feature]![bin]!;
    tree.left[parent.id] = left.id;
    tree.right[parent.id] = right.id;
    leaves.splice(pick, 1, left, right);
  }
  const leafValues = leaves.map((leaf) => {
    const v = (-config.learningRate * leaf.sumGradient) / (leaf.sumHessian + config.l2);
    value[leaf.id] = v;
    return { start: leaf.start, end: leaf.end, value: v };
  });
  return { tree: { ...tree, value }, order, leaves: leafValues };
}
