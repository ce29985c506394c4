import { FEATURE_COUNT, FEATURE_NAMES } from '../../scoring/domain/feature-names.js';
import { type Normalisation, fitNormalisation } from '../../scoring/domain/model.js';

/**
 * The standardisation a model is trained with, stored in its artefact (the live scorer applies the artefact's own
 * transforms): the build's defaults, except the features named in `identityFeatures`, which keep their own scale
 * instead of log1p. On the handbook protocol the amount is one: a fraud threshold on the amount (any amount above
 * 220 in the handbook's scenario 1) is a step the network learns sharply on the linear scale and only smoothly on
 * the log scale, where 200 and 230 lie 0.1 standard deviations apart (MODEL.md, Model and imbalance).
 */
export function fitModelNormalisation(
  features: Float32Array,
  n: number,
  identityFeatures: readonly string[] = [],
): Normalisation {
  const fitted = fitNormalisation(features, n);
  if (identityFeatures.length === 0) return fitted;
  const transforms = [...fitted.transforms];
  const mean = [...fitted.mean];
  const std = [...fitted.std];
  for (const name of identityFeatures) {
    const j = FEATURE_NAMES.indexOf(name);
    if (j < 0) throw new RangeError(`identityFeatures: no feature named ${JSON.stringify(name)}`);
    let sum = 0;
    let sq = 0;
    for (let r = 0; r < n; r++) {
      const v = features[r * FEATURE_COUNT + j]!;
      sum += v;
      sq += v * v;
    }
    const m = sum / Math.max(1, n);
    transforms[j] = 'identity';
    mean[j] = m;
    std[j] = Math.sqrt(Math.max(sq / Math.max(1, n) - m * m, 0)) || 1;
  }
  return { transforms, mean, std };
}
