import { type Codec, createCodec } from './codec.js';
import { CompatibilityLevel } from './compatibility.js';
import { evolvedTransaction, typeOf } from './evolution-fixtures.js';
import { sampleTransaction } from './fixtures.js';
import type { Transaction } from './generated/types.js';
import { EmbeddedSchemaRegistry, SchemaIncompatibleError } from './registry.js';
import { Topics } from './topics.js';

/**
 * Fault 7 of the fault suite at the codec level: a newer writer of tx.raw next to this build's reader. The "log"
 * is the list of framed records a producer would hand to the bus; a producer produces only through a codec, so a
 * writer refused at register time has nothing to produce with.
 */
const RECORDS_PER_WRITER = 5;

type Log = Buffer[];

/** Registers the writer (as a newer build would at startup) and, if it gets a codec, produces its records. */
async function produceAsNewerBuild(
  registry: EmbeddedSchemaRegistry,
  writerSchema: string,
  log: Log,
  extra: (i: number) => Record<string, unknown>,
): Promise<{ refused?: SchemaIncompatibleError }> {
  let writer: Codec<Record<string, unknown>>;
  try {
    writer = await createCodec(registry, Topics.transactionsRaw, { type: typeOf(writerSchema) });
  } catch (error) {
    if (error instanceof SchemaIncompatibleError) return { refused: error };
    throw error;
  }
  for (let i = 0; i < RECORDS_PER_WRITER; i++)
    log.push(writer.encode({ ...sampleTransaction({ transactionId: `tx-${i}` }), ...extra(i) }));
  return {};
}

/**
 * The oracle: every record on the log is read by this build's reader with every field it knows intact, and with
 * what the writer added beyond them reported, not dropped. Returns one line per violation (empty = no loss).
 */
async function readWithoutLoss(
  log: Log,
  reader: Codec<Transaction>,
  expected: (i: number) => { known: Transaction; unknown: Record<string, unknown> },
): Promise<string[]> {
  const violations: string[] = [];
  for (const [i, bytes] of log.entries()) {
    try {
      const { value, fieldsUnknownToReader } = await reader.decodeRecord(bytes);
      const { known, unknown } = expected(i);
      if (JSON.stringify(value, bigints) !== JSON.stringify(known, bigints)) violations.push(`record ${i}: misread`);
      if (JSON.stringify(fieldsUnknownToReader) !== JSON.stringify(unknown))
        violations.push(`record ${i}: writer fields lost (${JSON.stringify(fieldsUnknownToReader)})`);
    } catch (error) {
      violations.push(`record ${i}: unreadable (${(error as { code?: string }).code ?? String(error)})`);
    }
  }
  return violations;
}

const bigints = (_key: string, v: unknown): unknown => (typeof v === 'bigint' ? `${v}n` : v);

describe('schema evolution on tx.raw (fault 7)', () => {
  let reader: Codec<Transaction>;
  let registry: EmbeddedSchemaRegistry;
  beforeEach(async () => {
    registry = new EmbeddedSchemaRegistry();
    reader = await createCodec<Transaction>(registry, Topics.transactionsRaw);
  });

  it('a compatible newer writer (an added optional field) is read without loss', async () => {
    const log: Log = [];
    const outcome = await produceAsNewerBuild(registry, evolvedTransaction.addedOptionalField(), log, (i) => ({
      riskHint: `hint-${i}`,
    }));
    expect(outcome.refused).toBeUndefined();
    expect(log).toHaveLength(RECORDS_PER_WRITER);
    // All written with the newer writer's own id, which the reader resolves through the registry.
    expect(new Set(log.map((b) => b.readUInt32BE(1))).size).toBe(1);
    expect(log[0]!.readUInt32BE(1)).not.toBe(reader.writerSchemaId);
    const violations = await readWithoutLoss(log, reader, (i) => ({
      known: sampleTransaction({ transactionId: `tx-${i}` }),
      unknown: { riskHint: `hint-${i}` },
    }));
    expect(violations).toEqual([]);
  });

  it.each<[string, string, string]>([
    ['amountMinor long → string', evolvedTransaction.amountAsString(), '/amountMinor'],
    ['a required field removed', evolvedTransaction.removedRequiredField(), '/payeeAccountId'],
  ])('an incompatible writer (%s) is refused at register time and produces nothing', async (_n, schema, path) => {
    const log: Log = [];
    const { refused } = await produceAsNewerBuild(registry, schema, log, (i) =>
      schema === evolvedTransaction.amountAsString() ? { amountMinor: `${i}` } : {},
    );
    expect(refused).toBeInstanceOf(SchemaIncompatibleError);
    expect(refused).toMatchObject({ code: 'SCHEMA_INCOMPATIBLE', retriable: false });
    expect(refused!.message).toContain('tx.raw-value');
    expect(refused!.message).toContain(`forward vs version 2 ${path}`);
    expect(log).toHaveLength(0);
    expect(await readWithoutLoss(log, reader, () => ({ known: sampleTransaction(), unknown: {} }))).toEqual([]);
  });

  it('negative control: with the check switched off (level NONE) the incompatible records reach the log and the oracle catches every one', async () => {
    const unchecked = new EmbeddedSchemaRegistry({ compatibility: CompatibilityLevel.none });
    const uncheckedReader = await createCodec<Transaction>(unchecked, Topics.transactionsRaw);
    const log: Log = [];
    const { refused } = await produceAsNewerBuild(
      unchecked,
      evolvedTransaction.removedRequiredField(),
      log,
      () => ({}),
    );
    expect(refused).toBeUndefined();
    expect(log).toHaveLength(RECORDS_PER_WRITER);
    const violations = await readWithoutLoss(log, uncheckedReader, (i) => ({
      known: sampleTransaction({ transactionId: `tx-${i}` }),
      unknown: {},
    }));
    expect(violations).toEqual(
      Array.from({ length: RECORDS_PER_WRITER }, (_, i) => `record ${i}: unreadable (INCOMPATIBLE_SCHEMA)`),
    );
  });

  it('negative control: a reader that drops what it does not know is reported as losing the new field', async () => {
    const log: Log = [];
    await produceAsNewerBuild(registry, evolvedTransaction.addedOptionalField(), log, (i) => ({ riskHint: `h${i}` }));
    const forgetful: Codec<Transaction> = {
      ...reader,
      decodeRecord: async (bytes) => ({ ...(await reader.decodeRecord(bytes)), fieldsUnknownToReader: {} }),
    };
    const violations = await readWithoutLoss(log, forgetful, (i) => ({
      known: sampleTransaction({ transactionId: `tx-${i}` }),
      unknown: { riskHint: `h${i}` },
    }));
    expect(violations).toEqual(
      Array.from({ length: RECORDS_PER_WRITER }, (_, i) => `record ${i}: writer fields lost ({})`),
    );
  });

  it('the refusal leaves the subject as it was: the compatible writer still registers afterwards', async () => {
    await expect(
      createCodec(registry, Topics.transactionsRaw, { type: typeOf(evolvedTransaction.amountAsString()) }),
    ).rejects.toBeInstanceOf(SchemaIncompatibleError);
    const compatible = await createCodec(registry, Topics.transactionsRaw, {
      type: typeOf(evolvedTransaction.addedOptionalField()),
    });
    expect(await registry.schemaById(compatible.writerSchemaId)).toContain('riskHint');
  });
});
