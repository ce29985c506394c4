import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evolvedTransaction } from './evolution-fixtures.js';
import { EmbeddedSchemaRegistry } from './registry.js';
import { Topics, valueSubject } from './topics.js';

/**
 * The embedded registry's registrations file: what a restart replays, and what it refuses to replay. The records
 * those ids are on, read after a restart, are in schema-evolution.int.test.ts.
 */
const subject = valueSubject(Topics.transactionsRaw);
const newer = evolvedTransaction.addedOptionalField();
/** The first id a run-time registration can get: one above every id the repository's contracts hold. */
const firstRunTimeId =
  Math.max(
    ...Object.values(JSON.parse(readFileSync(new URL('./avro/ids.json', import.meta.url), 'utf8')) as object).filter(
      (id): id is number => typeof id === 'number',
    ),
  ) + 1;

describe('EmbeddedSchemaRegistry registrations file', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-registrations-'));
    file = join(dir, 'schemas', 'registrations.jsonl');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a restart finds the id, the schema and the subject version registered before it', async () => {
    const id = await new EmbeddedSchemaRegistry({ registrationsFile: file }).register(subject, newer);
    const restarted = new EmbeddedSchemaRegistry({ registrationsFile: file });
    expect(await restarted.schemaById(id)).toBe(newer);
    // Already under the subject: the same id, and no second line.
    expect(await restarted.register(subject, newer)).toBe(id);
    expect(readFileSync(file, 'utf8').trimEnd().split('\n')).toHaveLength(1);
    // The next new schema gets the next id, not the replayed one.
    expect(await restarted.register('other-value', '"string"')).toBe(id + 1);
  });

  it('negative control: without the file a restart does not know the id', async () => {
    const id = await new EmbeddedSchemaRegistry({ registrationsFile: file }).register(subject, newer);
    await expect(new EmbeddedSchemaRegistry().schemaById(id)).rejects.toMatchObject({ code: 'UNKNOWN_SCHEMA_ID' });
  });

  it('a last line cut by a crash (never acknowledged) is dropped, and later registrations append cleanly', async () => {
    const id = await new EmbeddedSchemaRegistry({ registrationsFile: file }).register(subject, newer);
    appendFileSync(file, '{"subject":"other-value","id":');
    const restarted = new EmbeddedSchemaRegistry({ registrationsFile: file });
    expect(await restarted.register('other-value', '"string"')).toBe(id + 1);
    const again = new EmbeddedSchemaRegistry({ registrationsFile: file });
    expect(await again.schemaById(id)).toBe(newer);
    expect(await again.schemaById(id + 1)).toBe('"string"');
  });

  it('refuses to start on a damaged line before the last', async () => {
    await new EmbeddedSchemaRegistry({ registrationsFile: file }).register(subject, newer);
    writeFileSync(file, 'not json\n' + readFileSync(file, 'utf8'));
    expect(() => new EmbeddedSchemaRegistry({ registrationsFile: file })).toThrow(
      `${file} line 1 is not a schema registration`,
    );
  });

  it('refuses to start when the seeded contracts now give a replayed id to another schema', () => {
    // Id 15 is Transaction.v4 in schemas/avro/ids.json: as if a later build had taken a run-time id for a new .avsc.
    mkdirSync(join(dir, 'schemas'));
    writeFileSync(file, JSON.stringify({ subject, id: 15, schema: newer }) + '\n');
    expect(() => new EmbeddedSchemaRegistry({ registrationsFile: file })).toThrow(
      'schema id 15 was registered at run time for tx.raw-value, but',
    );
  });

  it('a registration that cannot be kept is refused as retriable and takes no id', async () => {
    // The file's folder is a regular file: the write fails.
    writeFileSync(join(dir, 'schemas'), '');
    const registry = new EmbeddedSchemaRegistry({ registrationsFile: file });
    await expect(registry.register(subject, newer)).rejects.toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
      retriable: true,
    });
    await expect(registry.schemaById(firstRunTimeId)).rejects.toMatchObject({ code: 'UNKNOWN_SCHEMA_ID' });
    expect(await new EmbeddedSchemaRegistry().register(subject, newer)).toBe(firstRunTimeId);
  });
});
