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
}

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
  return `dense ${FEATURE_COUNT}${encoding} → ${config.hiddenUnits.map((u) => `${u} relu`).join(' → ')} → 1 sigmoid (L2 ${config.l2}, Adam ${config.learningRate}, binary cross-entropy)`;
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
