import { readFileSync, readdirSync } from 'node:fs';
import { featureValueNames } from '../../schemas/features.js';
import { FEATURES, FEATURE_COUNT, FEATURE_NAMES, featureValues } from './feature-names.js';

const avroDir = new URL('../../schemas/avro/', import.meta.url);

/** The `doc` of every FeatureValues field in one ScoredTransaction schema file, by field name. */
function featureDocs(file: string): Map<string, string> {
  const schema = JSON.parse(readFileSync(new URL(file, avroDir), 'utf8')) as {
    fields: Array<{ name: string; type: unknown }>;
  };
  const union = schema.fields.find((f) => f.name === 'featureValues')!.type as unknown[];
  const record = union.find((t) => typeof t === 'object') as { fields: Array<{ name: string; doc?: string }> };
  return new Map(record.fields.map((f) => [f.name, f.doc ?? '']));
}

const newestScoredTransaction = readdirSync(avroDir)
  .filter((name) => /^ScoredTransaction\.v\d+\.avsc$/.test(name))
  .sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]))
  .at(-1)!;

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

  test('the contract documents every amount feature in the reporting currency, as the engine computes it', () => {
    const amountFeatures = FEATURES.filter((d) => d.unit === 'amount').map((d) => d.name);
    const notInReportingCurrency = (docs: Map<string, string>): string[] =>
      amountFeatures.filter((name) => !(docs.get(name) ?? '').includes('reporting currency'));
    const newest = featureDocs(newestScoredTransaction);
    expect([amountFeatures.length, notInReportingCurrency(newest)]).toEqual([13, []]);
    expect([...newest.values()].filter((doc) => doc.includes('settlement currency'))).toEqual([]);
    // Negative control: v4, written before reporting currencies, documents none of them so, and the check says so.
    expect(notInReportingCurrency(featureDocs('ScoredTransaction.v4.avsc'))).toEqual(amountFeatures);
  });
});
