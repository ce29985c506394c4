import { readerType } from './codec.js';
import type { ScoredTransaction } from './generated/types.js';

/**
 * The feature values a decision was made on, by name: the FeatureValues record of a v2 ScoredTransaction, or
 * the map of a v1 record (read from a log written before v2). Every reader of features goes through this, so
 * the two generations of records look the same to it.
 */
export function featureValuesOf(scored: ScoredTransaction): Readonly<Record<string, number>> {
  // An interface has no index signature, though every FeatureValues field is a number by its schema.
  return (scored.featureValues as Readonly<Record<string, number>> | null) ?? scored.features;
}

/** The fields of the FeatureValues record this build writes, in order: the feature layout as the contract states it. */
export function featureValueNames(): string[] {
  const schema = readerType('vigil.ScoredTransaction').schema() as { fields: Array<{ name: string; type: unknown }> };
  const union = schema.fields.find((f) => f.name === 'featureValues')!.type as unknown[];
  const record = union.find((t) => typeof t === 'object') as { fields: Array<{ name: string }> };
  return record.fields.map((f) => f.name);
}
