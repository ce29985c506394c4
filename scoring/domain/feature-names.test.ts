import { featureValueNames } from '../../schemas/features.js';
import { FEATURE_COUNT, FEATURE_NAMES, featureValues } from './feature-names.js';

describe('the feature layout and the ScoredTransaction contract', () => {
  test('FeatureValues has exactly the engine’s features, in its order (a new feature needs a new schema version)', () => {
    expect(featureValueNames()).toEqual([...FEATURE_NAMES]);
  });

  test('featureValues names every value of a row by its feature', () => {
    const row = Float32Array.from({ length: FEATURE_COUNT * 2 }, (_, i) => i);
    const second = featureValues(row, FEATURE_COUNT) as unknown as Record<string, number>;
    expect(Object.keys(second)).toEqual([...FEATURE_NAMES]);
    expect(Object.values(second)).toEqual(Array.from({ length: FEATURE_COUNT }, (_, i) => FEATURE_COUNT + i));
  });
});
