import * as tf from '@tensorflow/tfjs';
import { FEATURE_COUNT, FEATURE_NAMES } from '../../scoring/domain/feature-names.js';
import { seededRandom } from './synthetic.js';

/**
 * Training side of the TF.js adapter, shared by `npm run train` (the shipped artefact) and `npm run eval`
 * (the handbook protocol): one architecture, one seeded fitting loop, one batched prediction, so the model
 * that is evaluated is built exactly like the model that is shipped.
 */
export interface ClassifierConfig {
  /** Seeds the weight initialisers and the per-epoch shuffle. */
  readonly seed: number;
  readonly hiddenUnits: readonly number[];
  readonly l2: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Loss weight of the fraud class (class imbalance); the genuine class weighs 1. */
  readonly positiveClassWeight: number;
  /** Features standardised on their own scale instead of log1p (`fitModelNormalisation`); none when absent. */
  readonly identityFeatures?: readonly string[];
  /**
   * Spline knots: per feature name, quantiles of its standardised training values at which a fixed first layer adds
   * a ramp max(0, x − knot) beside the inputs themselves (`featureKnots`); none when absent.
   */
  readonly knots?: Readonly<Record<string, readonly number[]>>;
  /**
   * Networks trained with different seeds and merged into one whose output is the mean of their logits
   * (`trainClassifier`); 1 when absent.
   */
  readonly members?: number;
}

/** Seed distance between ensemble members: member m is seeded `seed + m × MEMBER_SEED_STRIDE`. */
export const MEMBER_SEED_STRIDE = 7919;

/** One ramp of the fixed first layer: max(0, standardised feature − at). */
export interface Knot {
  readonly feature: number;
  readonly at: number;
}

/**
 * The knots of `config.knots` on `n` normalised training rows: each listed quantile of the feature's values, repeated
 * values once. Throws RangeError on an unknown feature name.
 */
export function featureKnots(config: ClassifierConfig, x: Float32Array, n: number): Knot[] {
  const knots: Knot[] = [];
  for (const [name, quantiles] of Object.entries(config.knots ?? {})) {
    const feature = FEATURE_NAMES.indexOf(name);
    if (feature < 0) throw new RangeError(`knots: no feature named ${JSON.stringify(name)}`);
    const column = new Float32Array(n);
    for (let r = 0; r < n; r++) column[r] = x[r * FEATURE_COUNT + feature]!;
    column.sort();
    const seen = new Set<number>();
    for (const q of quantiles) {
      const at = column[Math.min(n - 1, Math.max(0, Math.floor(q * (n - 1))))]!;
      if (seen.has(at)) continue;
      seen.add(at);
      knots.push({ feature, at });
    }
  }
  return knots;
}

/**
 * Dense ReLU layers on FEATURE_COUNT standardised inputs, one sigmoid output, Adam on binary cross-entropy. With
 * `knots`, a fixed (untrained) first layer passes every input on as max(0, x) and max(0, −x) and adds one ramp
 * max(0, x − at) per knot: a piecewise-linear encoding that lets the network put a sharp step where a fraud
 * threshold lies, which a smooth function of the input alone only approximates (MODEL.md, Model and imbalance). It
 * is an ordinary dense layer, so the live scorer and its explanations run it unchanged.
 */
export function buildClassifier(config: ClassifierConfig, knots: readonly Knot[] = []): tf.Sequential {
  const model = tf.sequential();
  if (knots.length > 0) {
    const units = 2 * FEATURE_COUNT + knots.length;
    const kernel = new Float32Array(FEATURE_COUNT * units);
    const bias = new Float32Array(units);
    for (let j = 0; j < FEATURE_COUNT; j++) {
      kernel[j * units + j] = 1;
      kernel[j * units + FEATURE_COUNT + j] = -1;
    }
    knots.forEach(({ feature, at }, k) => {
      kernel[feature * units + 2 * FEATURE_COUNT + k] = 1;
      bias[2 * FEATURE_COUNT + k] = -at;
    });
    model.add(
      tf.layers.dense({
        units,
        activation: 'relu',
        inputShape: [FEATURE_COUNT],
        trainable: false,
        weights: [tf.tensor2d(kernel, [FEATURE_COUNT, units]), tf.tensor1d(bias)],
      }),
    );
  }
  config.hiddenUnits.forEach((units, i) => {
    model.add(
      tf.layers.dense({
        units,
        activation: 'relu',
        inputShape: i === 0 && knots.length === 0 ? [FEATURE_COUNT] : undefined,
        kernelInitializer: tf.initializers.heNormal({ seed: config.seed + i }),
        kernelRegularizer: tf.regularizers.l2({ l2: config.l2 }),
      }),
    );
  });
  model.add(
    tf.layers.dense({
      units: 1,
      activation: 'sigmoid',
      kernelInitializer: tf.initializers.glorotUniform({ seed: config.seed + 99 }),
    }),
  );
  model.compile({ optimizer: tf.train.adam(config.learningRate), loss: 'binaryCrossentropy' });
  return model;
}

/** A readable one-line description of the architecture, stored in artefact metadata and reports. */
export function describeClassifier(config: ClassifierConfig): string {
  const knotted = Object.entries(config.knots ?? {});
  const encoding =
    knotted.length === 0
      ? ''
      : ` → fixed ±x and knot ramps (${knotted.map(([name, qs]) => `${name} at ${qs.length} quantiles`).join(', ')})`;
  const members = config.members ?? 1;
  const network = `dense ${FEATURE_COUNT}${encoding} → ${config.hiddenUnits.map((u) => `${u * members} relu`).join(' → ')} → 1 sigmoid`;
  const ensemble =
    members === 1
      ? ''
      : `; ${members} networks of ${config.hiddenUnits.join('-')} trained with their own seeds, merged block-diagonally so the output is the mean of their logits`;
  return `${network} (L2 ${config.l2}, Adam ${config.learningRate}, binary cross-entropy${ensemble})`;
}

/**
 * Builds and fits the classifier `config` describes on `n` normalised rows: one network, or with `members` > 1 that
 * many networks with their own seeds, merged by `mergeMembers` into one. The knots come from these rows. Averaging
 * independently trained networks removes part of each one's seed-to-seed variance (MODEL.md, Ensemble); merging
 * keeps the artefact a single plain dense network, so the live scorer and its explanations run it unchanged.
 * `onEpoch` counts epochs across members (0 … members × epochs − 1).
 */
export async function trainClassifier(
  config: ClassifierConfig,
  x: Float32Array,
  labels: Float32Array,
  n: number,
  onEpoch?: (step: number, loss: number) => void,
): Promise<{ model: tf.Sequential; losses: number[]; seconds: number }> {
  const members = config.members ?? 1;
  if (!Number.isSafeInteger(members) || members < 1)
    throw new RangeError(`members must be a whole number ≥ 1, got ${members}`);
  const knots = featureKnots(config, x, n);
  const trained: tf.Sequential[] = [];
  const losses: number[] = [];
  let seconds = 0;
  try {
    for (let m = 0; m < members; m++) {
      const memberConfig = { ...config, seed: config.seed + m * MEMBER_SEED_STRIDE };
      const model = buildClassifier(memberConfig, knots);
      trained.push(model);
      const fitted = await fitClassifier(model, x, labels, n, memberConfig, (epoch, loss) =>
        onEpoch?.(m * config.epochs + epoch, loss),
      );
      losses.push(...fitted.losses);
      seconds += fitted.seconds;
    }
    if (members === 1) return { model: trained.pop()!, losses, seconds };
    return { model: mergeMembers(config, knots, trained), losses, seconds };
  } finally {
    for (const model of trained) model.dispose();
  }
}

/**
 * One network equal to the mean of `members`' logits: the shared fixed layer once, each hidden layer the members'
 * layers side by side (the first concatenated, later ones block-diagonal so member m's units only feed member m's),
 * and the output the members' output weights divided by their count, with the mean of their biases. The sigmoid of
 * that output is sigmoid(mean of the members' logits). The members are left to the caller.
 */
export function mergeMembers(
  config: ClassifierConfig,
  knots: readonly Knot[],
  members: readonly tf.Sequential[],
): tf.Sequential {
  const count = members.length;
  const merged = buildClassifier({ ...config, hiddenUnits: config.hiddenUnits.map((u) => u * count) }, knots);
  const fixed = knots.length > 0 ? 1 : 0;
  const weights = (model: tf.Sequential, layer: number): [Float32Array, Float32Array] => {
    const [kernel, bias] = model.layers[layer]!.getWeights();
    return [kernel!.dataSync() as Float32Array, bias!.dataSync() as Float32Array];
  };
  let inputs = fixed === 1 ? 2 * FEATURE_COUNT + knots.length : FEATURE_COUNT;
  for (let h = 0; h <= config.hiddenUnits.length; h++) {
    const layer = fixed + h;
    const isOutput = h === config.hiddenUnits.length;
    const units = isOutput ? 1 : config.hiddenUnits[h]!;
    // The first trained layer reads the shared inputs; every later one reads only its own member's previous units.
    const sharedInput = h === 0;
    const mergedIn = sharedInput ? inputs : inputs * count;
    const mergedOut = isOutput ? 1 : units * count;
    const kernel = new Float32Array(mergedIn * mergedOut);
    const bias = new Float32Array(mergedOut);
    members.forEach((member, m) => {
      const [k, b] = weights(member, layer);
      for (let i = 0; i < inputs; i++) {
        const row = sharedInput ? i : m * inputs + i;
        for (let j = 0; j < units; j++) {
          const at = row * mergedOut + (isOutput ? 0 : m * units + j);
          kernel[at] = kernel[at]! + (isOutput ? k[i * units + j]! / count : k[i * units + j]!);
        }
      }
      for (let j = 0; j < units; j++) {
        const at = isOutput ? 0 : m * units + j;
        bias[at] = bias[at]! + (isOutput ? b[j]! / count : b[j]!);
      }
    });
    const values = [tf.tensor2d(kernel, [mergedIn, mergedOut]), tf.tensor1d(bias)];
    merged.layers[layer]!.setWeights(values);
    tf.dispose(values);
    inputs = units;
  }
  return merged;
}

/**
 * Fits `model` on `n` normalised rows (n × FEATURE_COUNT) with 0/1 labels, the fraud class weighted by
 * `positiveClassWeight`. tf's own fit-time shuffle uses Math.random; a seeded Fisher–Yates per epoch keeps
 * runs reproducible. Returns the per-epoch losses and the seconds spent.
 */
export async function fitClassifier(
  model: tf.LayersModel,
  x: Float32Array,
  labels: Float32Array,
  n: number,
  config: ClassifierConfig,
  onEpoch?: (epoch: number, loss: number) => void,
): Promise<{ losses: number[]; seconds: number }> {
  const started = performance.now();
  const shuffle = seededRandom(config.seed);
  const order = Array.from({ length: n }, (_, i) => i);
  const xs = new Float32Array(n * FEATURE_COUNT);
  const ys = new Float32Array(n);
  const losses: number[] = [];
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(shuffle() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    order.forEach((from, to) => {
      xs.set(x.subarray(from * FEATURE_COUNT, (from + 1) * FEATURE_COUNT), to * FEATURE_COUNT);
      ys[to] = labels[from]!;
    });
    const xt = tf.tensor2d(xs, [n, FEATURE_COUNT]);
    const yt = tf.tensor2d(ys, [n, 1]);
    try {
      const history = await model.fit(xt, yt, {
        epochs: 1,
        batchSize: config.batchSize,
        shuffle: false,
        classWeight: { 0: 1, 1: config.positiveClassWeight },
        verbose: 0,
      });
      const loss = history.history.loss?.[0] as number;
      losses.push(loss);
      onEpoch?.(epoch, loss);
    } finally {
      xt.dispose();
      yt.dispose();
    }
  }
  return { losses, seconds: (performance.now() - started) / 1000 };
}

/** Raw sigmoid outputs for `n` normalised rows, in chunks so memory stays bounded. */
export function predictRaw(model: tf.LayersModel, x: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n);
  const chunk = 8192;
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    const y = tf.tidy(() =>
      (
        model.predict(tf.tensor2d(x.subarray(start * FEATURE_COUNT, (start + m) * FEATURE_COUNT), [m, FEATURE_COUNT]), {
          batchSize: m,
        }) as tf.Tensor
      ).dataSync(),
    );
    out.set(y, start);
  }
  return out;
}

/**
 * The network's log-odds for `n` normalised rows: every layer but the output's sigmoid, as the live scorer's
 * `logOdds` computes them. Unlike the logit of `predictRaw`'s float32 probabilities, they do not saturate where a
 * probability rounds to 1, so a blend with another model's log-odds keeps the network's ranking at the top.
 */
export function predictLogits(model: tf.LayersModel, x: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n);
  const hidden = model.layers.slice(0, -1);
  const [kernel, bias] = model.layers[model.layers.length - 1]!.getWeights();
  const chunk = 8192;
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    const y = tf.tidy(() => {
      let h: tf.Tensor = tf.tensor2d(x.subarray(start * FEATURE_COUNT, (start + m) * FEATURE_COUNT), [
        m,
        FEATURE_COUNT,
      ]);
      for (const layer of hidden) h = layer.apply(h) as tf.Tensor;
      return tf.add(tf.matMul(h, kernel!), bias!).dataSync();
    });
    out.set(y, start);
  }
  return out;
}
