import { FEATURE_COUNT, FEATURE_NAMES, FEATURES } from './feature-names.js';

/** How a feature is brought to a common scale before standardisation. */
export type FeatureTransform = 'log1p' | 'identity';

export interface Normalisation {
  readonly transforms: readonly FeatureTransform[];
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** Everything the artefact's metadata.json records; the adapter validates it against this build. */
export interface ModelMetadata {
  readonly version: string;
  readonly createdAt: string;
  readonly featureNames: readonly string[];
  readonly normalisation: Normalisation;
  /**
   * Training over-weighted frauds by this factor; the adapter maps raw outputs back to probabilities with
   * p = q / (q + w·(1 − q)) (prior correction for a weighted loss).
   */
  readonly positiveClassWeight: number;
  readonly architecture: string;
  readonly training: Readonly<Record<string, unknown>>;
  readonly metrics: Readonly<Record<string, number>>;
}

/** Counts, sums, times and distances are heavy-tailed: log1p them; flags, ratios and z-scores stay. */
export function defaultTransforms(): FeatureTransform[] {
  return FEATURES.map((d) =>
    d.unit === 'count' || d.unit === 'amount' || d.unit === 'seconds' || d.unit === 'km' || d.unit === 'kmh'
      ? 'log1p'
      : 'identity',
  );
}

const transform = (kind: FeatureTransform, v: number): number => (kind === 'log1p' ? Math.log1p(Math.max(0, v)) : v);

/** Fits the standardisation statistics on `n` rows of raw features. */
export function fitNormalisation(features: Float32Array, n: number): Normalisation {
  const transforms = defaultTransforms();
  const mean = new Float64Array(FEATURE_COUNT);
  const sq = new Float64Array(FEATURE_COUNT);
  for (let r = 0; r < n; r++)
    for (let j = 0; j < FEATURE_COUNT; j++) {
      const v = transform(transforms[j]!, features[r * FEATURE_COUNT + j]!);
      mean[j] = mean[j]! + v;
      sq[j] = sq[j]! + v * v;
    }
  const std: number[] = [];
  for (let j = 0; j < FEATURE_COUNT; j++) {
    mean[j] = mean[j]! / Math.max(1, n);
    const variance = sq[j]! / Math.max(1, n) - mean[j]! ** 2;
    std.push(Math.sqrt(Math.max(variance, 0)) || 1);
  }
  return { transforms, mean: [...mean], std };
}

/** Writes the normalised rows into `out` (same shape); values are clipped to ±10 standard deviations. */
export function normalise(
  norm: Normalisation,
  features: Float32Array,
  n: number,
  out: Float32Array = new Float32Array(n * FEATURE_COUNT),
): Float32Array {
  for (let r = 0; r < n; r++)
    for (let j = 0; j < FEATURE_COUNT; j++) {
      const at = r * FEATURE_COUNT + j;
      const z = (transform(norm.transforms[j]!, features[at]!) - norm.mean[j]!) / norm.std[j]!;
      out[at] = z > 10 ? 10 : z < -10 ? -10 : z;
    }
  return out;
}

/** Prior correction for a positive class weight w: maps the weighted model's output back to a probability. */
export function unweight(q: number, positiveClassWeight: number): number {
  return q / (q + positiveClassWeight * (1 - q));
}

/** Problems with an artefact's metadata for this build (empty when it fits). */
export function metadataProblems(metadata: ModelMetadata): string[] {
  const problems: string[] = [];
  if (typeof metadata.version !== 'string' || metadata.version === '')
    problems.push('/version must be a non-empty string');
  if (!Array.isArray(metadata.featureNames) || metadata.featureNames.join(',') !== FEATURE_NAMES.join(',')) {
    problems.push('/featureNames differ from this build’s feature layout (retrain with npm run train)');
  }
  const norm = metadata.normalisation;
  for (const key of ['transforms', 'mean', 'std'] as const) {
    if (!Array.isArray(norm?.[key]) || norm[key].length !== FEATURE_COUNT)
      problems.push(`/normalisation/${key} must have ${FEATURE_COUNT} entries`);
  }
  if (typeof metadata.positiveClassWeight !== 'number' || !(metadata.positiveClassWeight > 0))
    problems.push('/positiveClassWeight must be a positive number');
  return problems;
}
