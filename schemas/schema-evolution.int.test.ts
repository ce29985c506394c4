/**
 * Fault 7 on a real log: an older and a newer build of a tx.raw producer share the embedded durable log (files in
 * a temp dir) and one embedded registry. The compatible newer writer's records are read by this build's reader
 * without loss; an incompatible writer is refused when it registers, so the topic holds exactly what the
 * compatible writers sent; after a restart the newer writer's records still decode, its schema replayed from the
 * registry's registrations file. Negative controls: with the registry's check off, the incompatible records land and
 * the same oracle reports every one of them; without the file, every record of the newer writer is unreadable.
 */
import { join } from 'node:path';
import { EmbeddedLog } from '../platform/embedded-log/embedded-log.js';
import { makeTempDir, readAll, removeTempDir } from '../platform/embedded-log/test-helpers.js';
import { type Codec, createCodec } from './codec.js';
import { CompatibilityLevel } from './compatibility.js';
import { evolvedTransaction, typeOf } from './evolution-fixtures.js';
import { sampleTransaction } from './fixtures.js';
import type { Transaction } from './generated/types.js';
import { EmbeddedSchemaRegistry, SchemaIncompatibleError } from './registry.js';
import { Topics } from './topics.js';

const PER_WRITER = 20;
const topic = Topics.transactionsRaw;

/** Starts a producer build writing `schema`; sends PER_WRITER records unless its registration is refused. */
async function runWriterBuild(
  log: EmbeddedLog,
  registry: EmbeddedSchemaRegistry,
  schema: string,
  prefix: string,
  extra: (i: number) => Record<string, unknown>,
): Promise<'sent' | 'refused'> {
  let codec: Codec<Record<string, unknown>>;
  try {
    codec = await createCodec(registry, topic, { type: typeOf(schema) });
  } catch (error) {
    if (error instanceof SchemaIncompatibleError) return 'refused';
    throw error;
  }
  const records = Array.from({ length: PER_WRITER }, (_, i) => ({
    key: 'acct-payer-1',
    value: codec.encode({ ...sampleTransaction({ transactionId: `${prefix}-${i}` }), ...extra(i) }),
  }));
  await log.producer().send(topic, records);
  return 'sent';
}

/**
 * The oracle, from the log: each record decodes with this build's reader; an id prefixed `new-` carries
 * `riskHint: hint-<i>` beyond the reader's fields, reported not dropped; every known field equals what was sent.
 */
async function violations(log: EmbeddedLog, reader: Codec<Transaction>): Promise<string[]> {
  const found: string[] = [];
  for (const record of await readAll(log, topic, 0)) {
    try {
      const { value, fieldsUnknownToReader } = await reader.decodeRecord(record.value);
      const [prefix, index] = value.transactionId.split('-');
      const expectedExtra = prefix === 'new' ? { riskHint: `hint-${index}` } : {};
      if (JSON.stringify(fieldsUnknownToReader) !== JSON.stringify(expectedExtra))
        found.push(`offset ${record.offset}: writer fields lost`);
      const sent = sampleTransaction({ transactionId: value.transactionId });
      if (
        (Object.keys(sent) as (keyof Transaction)[]).some(
          (k) => JSON.stringify([value[k]], big) !== JSON.stringify([sent[k]], big),
        )
      )
        found.push(`offset ${record.offset}: misread`);
    } catch (error) {
      found.push(`offset ${record.offset}: unreadable (${(error as { code?: string }).code ?? String(error)})`);
    }
  }
  return found;
}

const big = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? `${v}n` : v);

describe('schema evolution over the embedded durable log (fault 7)', () => {
  let dir: string;
  let log: EmbeddedLog;
  beforeEach(async () => {
    dir = await makeTempDir('vigil-schema-evolution-');
    log = await EmbeddedLog.open({ dir, topics: [topic] });
  });
  afterEach(async () => {
    await log.close();
    await removeTempDir(dir);
  });

  it('compatible newer writer read without loss; incompatible writers refused before producing', async () => {
    const registry = new EmbeddedSchemaRegistry();
    const reader = await createCodec<Transaction>(registry, topic);
    expect(
      await runWriterBuild(log, registry, evolvedTransaction.addedOptionalField(), 'new', (i) => ({
        riskHint: `hint-${i}`,
      })),
    ).toBe('sent');
    expect(
      await runWriterBuild(log, registry, evolvedTransaction.amountAsString(), 'bad', (i) => ({ amountMinor: `${i}` })),
    ).toBe('refused');
    expect(await runWriterBuild(log, registry, evolvedTransaction.removedRequiredField(), 'bad', () => ({}))).toBe(
      'refused',
    );
    // This build keeps producing next to the newer one.
    await log.producer().send(
      topic,
      Array.from({ length: PER_WRITER }, (_, i) => ({
        key: 'acct-payer-1',
        value: reader.encode(sampleTransaction({ transactionId: `cur-${i}` })),
      })),
    );
    expect((await log.endOffsets(topic))[0]).toBe(2 * PER_WRITER);
    expect(await violations(log, reader)).toEqual([]);
  });

  it.each([
    [
      "after a restart, the newer writer's records still decode: its schema is replayed from the registrations file",
      true,
      [],
    ],
    [
      'negative control: after a restart without the registrations file, every record of the newer writer is unreadable',
      false,
      Array.from({ length: PER_WRITER }, (_, i) => `offset ${i}: unreadable (UNKNOWN_SCHEMA_ID)`),
    ],
  ])('%s', async (_title, keep, expected) => {
    const registrationsFile = join(dir, 'schemas', 'registrations.jsonl');
    const before = new EmbeddedSchemaRegistry(keep ? { registrationsFile } : {});
    expect(
      await runWriterBuild(log, before, evolvedTransaction.addedOptionalField(), 'new', (i) => ({
        riskHint: `hint-${i}`,
      })),
    ).toBe('sent');
    await log.close();
    // The restart: a new log handle on the same files, a new registry, a new reader codec.
    log = await EmbeddedLog.open({ dir, topics: [topic] });
    const after = new EmbeddedSchemaRegistry(keep ? { registrationsFile } : {});
    const reader = await createCodec<Transaction>(after, topic);
    expect((await log.endOffsets(topic))[0]).toBe(PER_WRITER);
    expect(await violations(log, reader)).toEqual(expected);
  });

  it('negative control: with the check off (NONE) the incompatible records land and the oracle reports each', async () => {
    const registry = new EmbeddedSchemaRegistry({ compatibility: CompatibilityLevel.none });
    const reader = await createCodec<Transaction>(registry, topic);
    expect(await runWriterBuild(log, registry, evolvedTransaction.removedRequiredField(), 'bad', () => ({}))).toBe(
      'sent',
    );
    expect((await log.endOffsets(topic))[0]).toBe(PER_WRITER);
    expect(await violations(log, reader)).toEqual(
      Array.from({ length: PER_WRITER }, (_, i) => `offset ${i}: unreadable (INCOMPATIBLE_SCHEMA)`),
    );
  });
});
