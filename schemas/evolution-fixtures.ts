import type avro from 'avsc';
import { parseSchema } from './avro.js';
import { readerType } from './codec.js';

/**
 * Writer schemas for schema-evolution tests, derived from this build's Transaction contract (test-only; never
 * imported by production files).
 */
type FieldSchema = { name: string; type: unknown; default?: unknown };
type RecordSchema = { type: 'record'; name: string; namespace?: string; fields: FieldSchema[] };

function currentTransactionSchema(): RecordSchema {
  return readerType('vigil.Transaction').schema({ exportAttrs: true }) as unknown as RecordSchema;
}

function derive(change: (fields: FieldSchema[]) => FieldSchema[]): string {
  const schema = currentTransactionSchema();
  return JSON.stringify({ ...schema, fields: change(schema.fields) });
}

/** The current Transaction with a field's type replaced. */
export function withFieldType(name: string, type: unknown): string {
  return derive((fields) => fields.map((f) => (f.name === name ? { ...f, type } : f)));
}

export const evolvedTransaction = {
  /** Compatible both ways: an added optional field with a default (what a newer producer would add). */
  addedOptionalField: (): string =>
    derive((fields) => [...fields, { name: 'riskHint', type: ['null', 'string'], default: null }]),
  /** Forward-incompatible: `amountMinor` long → string; no reader of the contract can read it. */
  amountAsString: (): string => withFieldType('amountMinor', 'string'),
  /** Forward-incompatible: `payeeAccountId` (no default) removed; current readers have nothing to fill it with. */
  removedRequiredField: (): string => derive((fields) => fields.filter((f) => f.name !== 'payeeAccountId')),
  /** Backward-incompatible: a new required field without a default; the new reader cannot read old records. */
  addedRequiredField: (): string => derive((fields) => [...fields, { name: 'riskHint', type: 'string' }]),
} as const;

/** Parses one of the schemas above with Vigil's type hooks (bigint longs, timestamp-millis). */
export function typeOf(schema: string): avro.Type {
  return parseSchema(schema);
}
