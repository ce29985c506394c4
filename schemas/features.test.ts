import { parseSchema } from './avro.js';
import { createCodec } from './codec.js';
import { featureValueNames, featureValuesOf } from './features.js';
import { sampleTransaction } from './fixtures.js';
import type { FeatureValues, ScoredTransaction } from './generated/types.js';
import { EmbeddedSchemaRegistry } from './registry.js';
import { Topics } from './topics.js';

const registry = new EmbeddedSchemaRegistry();
const SCORED_V1_ID = 3;

function frame(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

const base = {
  transaction: sampleTransaction(),
  decision: 'REVIEW',
  score: 0.75,
  risk: 0.75,
  reasons: [],
  rulesFired: [],
  modelVersion: 'm1',
  reportingCurrency: 'EUR',
  unconvertedCurrency: null,
  rulesVersion: 'r1',
  scoredAtMs: 1_764_000_000_100,
} as const;

describe('feature values across ScoredTransaction versions', () => {
  test('a v1 record (features as a map) reads with its features, and featureValuesOf gives the map', async () => {
    const codec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    const v1 = parseSchema(await registry.schemaById(SCORED_V1_ID));
    const features = { card_count_1h: 7, amount_vs_avg_30d: 3.5 };
    const decoded = await codec.decode(frame(SCORED_V1_ID, v1.toBuffer({ ...base, features })));
    expect(decoded.featureValues).toBeNull();
    expect(featureValuesOf(decoded)).toEqual(features);
  });

  test('a v2 record carries them as named fields, round trip exact at float precision, in far fewer bytes', async () => {
    const codec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    const fields = featureValueNames();
    const values = Object.fromEntries(fields.map((name, i) => [name, Math.fround(i * 1.37 + 0.1)]));
    const v2 = { ...base, features: {}, featureValues: values as unknown as FeatureValues };
    const bytes = codec.encode(v2);
    const decoded = await codec.decode(bytes);
    expect(featureValuesOf(decoded)).toEqual(values);
    const asMap = await codec.decode(codec.encode({ ...base, features: values, featureValues: null }));
    expect(featureValuesOf(asMap)).toEqual(values);
    // 4 bytes a feature instead of its name and 8 bytes: what this version is for.
    expect(bytes.length).toBeLessThan(codec.encode({ ...base, features: values, featureValues: null }).length / 3);
  });
});
