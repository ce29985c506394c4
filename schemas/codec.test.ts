import avro from 'avsc';
import { readFileSync } from 'node:fs';
import { type Codec, CodecError, createCodec } from './codec.js';
import { avroDir, parseSchema } from './avro.js';
import { sampleTransaction } from './fixtures.js';
import type { ScoredTransaction, Transaction } from './generated/types.js';
import { EmbeddedSchemaRegistry, type SchemaRegistry, UnknownSchemaIdError } from './registry.js';
import { Topics } from './topics.js';

const registry = new EmbeddedSchemaRegistry();
const readSchema = (file: string): string => readFileSync(avroDir + file, 'utf8');

/** Frames an Avro body the way a producer on another schema version would. */
function frame(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

describe('Confluent-framed Avro codec', () => {
  let transactions: Codec<Transaction>;
  beforeAll(async () => {
    transactions = await createCodec<Transaction>(registry, Topics.transactionsRaw);
  });

  it('round-trips a transaction exactly, including int64 amounts beyond 2^53', async () => {
    const tx = sampleTransaction({ amountMinor: 2n ** 63n - 1n });
    const bytes = transactions.encode(tx);
    expect(bytes[0]).toBe(0);
    expect(bytes.readUInt32BE(1)).toBe(transactions.writerSchemaId);
    expect(await transactions.decode(bytes)).toEqual(tx);
  });

  it('writes with the newest registered schema id (Transaction v2 = id 2)', () => {
    expect(transactions.writerSchemaId).toBe(2);
  });

  it('reads records written with the older schema version (v1), filling the new field with its default', async () => {
    const v1 = parseSchema(readSchema('Transaction.v1.avsc'));
    const { channelReference: _dropped, ...v1Value } = sampleTransaction();
    const decoded = await transactions.decode(frame(1, v1.toBuffer(v1Value)));
    expect(decoded).toEqual({ ...sampleTransaction(), channelReference: null });
  });

  it('lets a consumer on the older schema read records written with the newer one', async () => {
    const v1Reader = parseSchema(readSchema('Transaction.v1.avsc'));
    const written = transactions.encode(sampleTransaction({ channelReference: 'uetr-1' }));
    const writer = parseSchema(await registry.schemaById(written.readUInt32BE(1)));
    const asV1 = v1Reader.fromBuffer(written.subarray(5), v1Reader.createResolver(writer)) as Record<string, unknown>;
    expect(asV1['transactionId']).toBe('tx-0001');
    expect(asV1).not.toHaveProperty('channelReference');
  });

  it('round-trips a scored transaction with maps, arrays and nested records', async () => {
    const codec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    const scored: ScoredTransaction = {
      transaction: sampleTransaction(),
      decision: 'REVIEW',
      score: 0.73,
      reasons: [
        { code: 'R_VELOCITY_1H', source: 'RULE', description: '14 card payments in the last hour', weight: 0.4 },
      ],
      rulesFired: ['R_VELOCITY_1H'],
      features: { count_1h: 14, amount_ratio: 3.5 },
      modelVersion: 'm1',
      rulesVersion: 'r1',
      scoredAtMs: 1_764_000_000_100,
    };
    expect(await codec.decode(codec.encode(scored))).toEqual(scored);
  });

  it('refuses to encode an invalid value and names every bad field path', () => {
    const bad = { ...sampleTransaction(), amountMinor: 12.5, currency: undefined } as unknown as Transaction;
    expect(() => transactions.encode(bad)).toThrow(/\/amountMinor.*\/currency/);
  });

  describe('bad bytes are reported, never crash', () => {
    it.each<[string, Buffer, string]>([
      ['an empty record', Buffer.alloc(0), 'TRUNCATED_RECORD'],
      ['a wrong magic byte', Buffer.from([1, 0, 0, 0, 2, 0]), 'BAD_MAGIC_BYTE'],
      ['a truncated body', Buffer.from([0, 0, 0, 0, 2, 0x0a, 0x61]), 'CORRUPT_BODY'],
    ])('%s', async (_name, bytes, code) => {
      await expect(transactions.decode(bytes)).rejects.toMatchObject({ code, retriable: false });
      await expect(transactions.decode(bytes)).rejects.toBeInstanceOf(CodecError);
    });

    it('trailing garbage after a valid body', async () => {
      const bytes = Buffer.concat([transactions.encode(sampleTransaction()), Buffer.from([1, 2, 3])]);
      await expect(transactions.decode(bytes)).rejects.toMatchObject({ code: 'CORRUPT_BODY' });
    });

    it('an unknown schema id', async () => {
      const bytes = frame(9999, Buffer.from([0]));
      await expect(transactions.decode(bytes)).rejects.toBeInstanceOf(UnknownSchemaIdError);
      await expect(transactions.decode(bytes)).rejects.toMatchObject({ code: 'UNKNOWN_SCHEMA_ID', retriable: false });
    });

    it('a schema id of another record type that cannot be resolved', async () => {
      const labels = await createCodec<unknown>(registry, Topics.analystLabels);
      const label = labels.encode({
        transactionId: 't',
        label: 'FRAUD',
        labelledBy: 'a',
        labelledAtMs: 1,
        transactionEventTimeMs: 1,
        payerAccountId: null,
        cardToken: null,
        terminalId: null,
        note: null,
      });
      await expect(transactions.decode(label)).rejects.toMatchObject({ code: 'INCOMPATIBLE_SCHEMA' });
    });
  });
});

describe('schema registries', () => {
  it('the embedded registry keeps the permanent ids of ids.json and dedupes identical schemas', async () => {
    const registry: SchemaRegistry = new EmbeddedSchemaRegistry();
    const v1 = JSON.stringify(parseSchema(readSchema('Transaction.v1.avsc')).schema({ exportAttrs: true }));
    expect(await registry.register('tx.raw-value', v1)).toBe(1);
    const fresh = JSON.stringify({ type: 'record', name: 'Other', fields: [{ name: 'a', type: 'int' }] });
    const id = await registry.register('other-value', fresh);
    expect(id).toBeGreaterThan(7);
    expect(await registry.register('other-value', fresh)).toBe(id);
    expect(avro.Type.forSchema(JSON.parse(await registry.schemaById(id)) as avro.Schema).name).toBe('Other');
  });

  it('every schema file has an id and the ids are unique', () => {
    const ids = JSON.parse(readSchema('ids.json')) as Record<string, unknown>;
    const values = Object.entries(ids)
      .filter(([k]) => k !== '//')
      .map(([, v]) => v);
    expect(new Set(values).size).toBe(values.length);
    expect(() => new EmbeddedSchemaRegistry()).not.toThrow();
  });
});
