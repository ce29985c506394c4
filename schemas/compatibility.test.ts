import { loadSchemaSet, loadSchemaFiles, parseSchema } from './avro.js';
import { readerType } from './codec.js';
import { CompatibilityLevel, compatibilityProblems, readProblems } from './compatibility.js';
import { evolvedTransaction, typeOf, withFieldType } from './evolution-fixtures.js';

const current = readerType('vigil.Transaction');

describe('Avro compatibility rules (schema resolution per the Avro spec)', () => {
  it.each<[string, string, { backward: string[]; forward: string[] }]>([
    ['an added optional field with a default', evolvedTransaction.addedOptionalField(), { backward: [], forward: [] }],
    [
      'amountMinor long → string',
      evolvedTransaction.amountAsString(),
      { backward: ['/amountMinor'], forward: ['/amountMinor'] },
    ],
    [
      'a required field removed',
      evolvedTransaction.removedRequiredField(),
      { backward: [], forward: ['/payeeAccountId'] },
    ],
    ['a required field added', evolvedTransaction.addedRequiredField(), { backward: ['/riskHint'], forward: [] }],
  ])('%s: exactly the expected problems in each direction', (_name, schema, expected) => {
    const candidate = typeOf(schema);
    expect(readProblems(candidate, current).map((p) => p.path)).toEqual(expected.backward);
    expect(readProblems(current, candidate).map((p) => p.path)).toEqual(expected.forward);
  });

  it('reports every faulty field, not just the first', () => {
    const twoFaults = JSON.parse(withFieldType('amountMinor', 'string')) as {
      fields: { name: string; type: unknown }[];
    };
    twoFaults.fields = twoFaults.fields.map((f) => (f.name === 'currency' ? { ...f, type: 'int' } : f));
    const problems = readProblems(current, typeOf(JSON.stringify(twoFaults)));
    expect(problems).toEqual([
      { path: '/amountMinor', message: 'cannot read "string" as "long"' },
      { path: '/currency', message: 'cannot read "int" as "string"' },
    ]);
  });

  it('levels: FORWARD and FULL refuse a removed required field, BACKWARD (Confluent default) lets it through', () => {
    const candidate = typeOf(evolvedTransaction.removedRequiredField());
    const count = (level: CompatibilityLevel): number => compatibilityProblems(candidate, [current], level).length;
    expect(count(CompatibilityLevel.backward)).toBe(0);
    expect(count(CompatibilityLevel.forward)).toBe(1);
    expect(count(CompatibilityLevel.full)).toBe(1);
    // Negative control: with the check switched off the same incompatible writer passes.
    expect(count(CompatibilityLevel.none)).toBe(0);
  });

  it('transitive levels check every version, the others only the latest', () => {
    const files = loadSchemaFiles().filter((f) => f.name === 'vigil.Transaction');
    expect(files.map((f) => f.version)).toEqual([1, 2, 3, 4, 5]);
    const v1 = parseSchema(files[0]!.schema);
    // channelReference (added in v2) without its default: v2 data has it, v1 data does not.
    const noDefault = JSON.parse(evolvedTransaction.addedOptionalField()) as { fields: Record<string, unknown>[] };
    noDefault.fields = noDefault.fields
      .filter((f) => f['name'] !== 'riskHint')
      .map((f) => (f['name'] === 'channelReference' ? { name: f['name'], type: f['type'] } : f));
    const required = typeOf(JSON.stringify(noDefault));
    expect(compatibilityProblems(required, [v1, current], CompatibilityLevel.backward)).toEqual([]);
    const transitive = compatibilityProblems(required, [v1, current], CompatibilityLevel.backwardTransitive);
    expect(transitive.map((p) => [p.versionIndex, p.path])).toEqual([[0, '/channelReference']]);
  });

  it('the contracts in schemas/avro are FULL_TRANSITIVE compatible with their earlier versions', () => {
    const byName = new Map<string, ReturnType<typeof parseSchema>[]>();
    const set = loadSchemaSet();
    for (const file of loadSchemaFiles()) {
      const versions = byName.get(file.name) ?? [];
      const candidate = parseSchema(set.expanded.get(file.file)!);
      expect(compatibilityProblems(candidate, versions, CompatibilityLevel.fullTransitive)).toEqual([]);
      byName.set(file.name, [...versions, candidate]);
    }
    expect([...byName.values()].reduce((n, v) => n + v.length, 0)).toBe(loadSchemaFiles().length);
  });
});
