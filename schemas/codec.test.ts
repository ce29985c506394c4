import avro from 'avsc';
import { readFileSync } from 'node:fs';
import { type Codec, CodecError, createCodec, readerType } from './codec.js';
import { MalformedAvroError, avroDir, parseSchema } from './avro.js';
import { sampleTransaction } from './fixtures.js';
import type { Account, AnalystLabel, CaseEvent, ScoredTransaction, Transaction } from './generated/types.js';
import { EmbeddedSchemaRegistry, type SchemaRegistry, UnknownSchemaIdError } from './registry.js';
import { TopicValueSchema, Topics } from './topics.js';

const registry = new EmbeddedSchemaRegistry();
const readSchema = (file: string): string => readFileSync(avroDir + file, 'utf8');

/** Frames an Avro body the way a producer on another schema version would. */
function frame(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

function sampleScored(overrides: Partial<ScoredTransaction> = {}): ScoredTransaction {
  return {
    transaction: sampleTransaction(),
    decision: 'REVIEW',
    score: 0.73,
    risk: 0.73,
    reasons: [],
    rulesFired: [],
    features: { count_1h: 14 },
    featureValues: null,
    reportingCurrency: 'EUR',
    unconvertedCurrency: null,
    modelVersion: 'm1',
    rulesVersion: 'r1',
    scoredAtMs: 1_764_000_000_100,
    ...overrides,
  };
}

function readerTypeOf(codec: Codec<unknown> | Codec<ScoredTransaction>): avro.types.RecordType {
  return readerType(TopicValueSchema[codec.topic]) as avro.types.RecordType;
}

let transactionsCodec: Codec<Transaction> | undefined;
beforeAll(async () => {
  transactionsCodec = await createCodec<Transaction>(registry, Topics.transactionsRaw);
});
const transactions = (): Codec<Transaction> => transactionsCodec!;

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

  it('writes with the newest registered schema id (Transaction v5 = id 18)', () => {
    expect(transactions.writerSchemaId).toBe(18);
  });

  it('round-trips a channel transaction with its source document, leading zeros in references kept', async () => {
    const tx = sampleTransaction({
      sourceDocument: {
        format: 'pain.001.001.09',
        references: { MsgId: '000123', EndToEndId: 'E2E-0001' },
        location: '/Document/CstmrCdtTrfInitn/PmtInf[1]/CdtTrfTxInf[2]',
      },
    });
    expect(await transactions.decode(transactions.encode(tx))).toEqual(tx);
  });

  it('reads records written with Transaction v4 (id 15) with no source document', async () => {
    const v4 = parseSchema(await registry.schemaById(15));
    const { sourceDocument: _added, ...v4Value } = sampleTransaction();
    expect(await transactions.decode(frame(15, v4.toBuffer(v4Value)))).toEqual(sampleTransaction());
  });

  it('keeps what an existing id means when a record it embeds gets a new version', async () => {
    // ScoredTransaction v2 (id 8) embeds Transaction v2 for good: records on a log written with id 8 hold no
    // originalTransactionId, so its schema must not gain it when Transaction v3 (id 11) arrives; v3 (id 13) does.
    const fieldsOfEmbedded = async (id: number): Promise<string[]> => {
      const schema = JSON.parse(await registry.schemaById(id)) as {
        fields: Array<{ name: string; type: { fields?: Array<{ name: string }> } }>;
      };
      return (schema.fields.find((f) => f.name === 'transaction')!.type.fields ?? []).map((f) => f.name);
    };
    expect(await fieldsOfEmbedded(8)).not.toContain('originalTransactionId');
    expect(await fieldsOfEmbedded(8)).toContain('channelReference');
    expect(await fieldsOfEmbedded(13)).toContain('originalTransactionId');
    // The same for Transaction v4 (id 15, submittedBy): ScoredTransaction v3 (id 13) stays without it, v4 (id 16) has it.
    expect(await fieldsOfEmbedded(13)).not.toContain('submittedBy');
    expect(await fieldsOfEmbedded(16)).toContain('submittedBy');
    // And for Transaction v5 (id 18, sourceDocument): ScoredTransaction v4 (id 16) stays without it, v5 (id 19) has it.
    expect(await fieldsOfEmbedded(16)).not.toContain('sourceDocument');
    expect(await fieldsOfEmbedded(19)).toContain('sourceDocument');
    // ScoredTransaction v6 (id 24) embeds the same Transaction v5: nothing about the transaction changed.
    expect(await fieldsOfEmbedded(24)).toEqual(await fieldsOfEmbedded(19));
    const scored = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    expect(scored.writerSchemaId).toBe(24);
  });

  it('round-trips a decision with the currency of its amount features (ScoredTransaction v6)', async () => {
    const scored = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    const decision = sampleScored({ reportingCurrency: 'GBP' });
    const bytes = scored.encode(decision);
    expect(bytes.readUInt32BE(1)).toBe(24);
    expect(await scored.decode(bytes)).toEqual(decision);
  });

  it('round-trips a decision whose amount had no rate and went in unconverted, in its own currency (ScoredTransaction v6)', async () => {
    const scored = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    const decision = sampleScored({ reportingCurrency: 'EUR', unconvertedCurrency: 'KES' });
    const bytes = scored.encode(decision);
    expect(bytes.readUInt32BE(1)).toBe(24);
    expect(await scored.decode(bytes)).toEqual(decision);
  });

  it('reads a decision written with ScoredTransaction v5 (id 19) with no reporting or unconverted currency: absent, never guessed', async () => {
    const scored = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    const v5 = parseSchema(await registry.schemaById(19));
    const { reportingCurrency: _added, unconvertedCurrency: _alsoAdded, ...v5Value } = sampleScored();
    expect(await scored.decode(frame(19, v5.toBuffer(v5Value)))).toEqual(
      sampleScored({ reportingCurrency: null, unconvertedCurrency: null }),
    );
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

  it('writes accounts with Account v2 (id 12) and reads v1 records (id 9) with no scheme', async () => {
    const accounts = await createCodec<Account>(registry, Topics.accounts);
    expect(accounts.writerSchemaId).toBe(12);
    const v1Account = {
      accountId: 'clr-1',
      type: 'CLEARING',
      currency: 'EUR',
      overdraftLimitMinor: null,
      updatedBy: 'admin:1',
      updatedAtMs: 1_764_000_000_000,
    } as const;
    const v1 = parseSchema(readSchema('Account.v1.avsc'));
    expect(await accounts.decode(frame(9, v1.toBuffer(v1Account)))).toEqual({ ...v1Account, scheme: null });
    const withScheme: Account = { ...v1Account, scheme: 'SEPA_CT' };
    expect(await accounts.decode(accounts.encode(withScheme))).toEqual(withScheme);
  });

  it('writes case steps with CaseEvent v1 (id 21) and round-trips one carrying an alert, amounts beyond 2^53 exact', async () => {
    const cases = await createCodec<CaseEvent>(registry, Topics.caseEvents);
    expect(cases.writerSchemaId).toBe(21);
    const step: CaseEvent = {
      eventId: 'alert-a1',
      caseId: 'case-a1',
      action: 'ALERT',
      actor: 'system',
      actorName: null,
      atMs: 1_764_000_000_000,
      alert: {
        alertId: 'a1',
        transactionId: 'tx-1',
        decision: 'REVIEW',
        score: 0.73,
        amountMinor: 2n ** 60n + 1n,
        currency: 'EUR',
        payerAccountId: 'acct-1',
        cardToken: 'tok-1',
        eventTimeMs: 1_763_999_999_000,
        raisedAtMs: 1_764_000_000_000,
      },
      groupKey: 'customer:acct-1',
      joinWithinMs: 86_400_000n,
      assignee: null,
      note: null,
      resolution: null,
      releaseNeedsApproval: null,
    };
    expect(await cases.decode(cases.encode(step))).toEqual(step);
    const resolve: CaseEvent = {
      ...step,
      eventId: 'e-2',
      action: 'RESOLVE',
      actor: 'user:ann',
      actorName: 'ann',
      alert: null,
      groupKey: null,
      joinWithinMs: null,
      resolution: 'GENUINE',
      note: 'customer confirmed',
      releaseNeedsApproval: true,
    };
    expect(await cases.decode(cases.encode(resolve))).toEqual(resolve);
  });

  it('round-trips a scored transaction with maps, arrays and nested records', async () => {
    const codec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    const scored: ScoredTransaction = {
      transaction: sampleTransaction(),
      decision: 'REVIEW',
      score: 0.73,
      risk: 0.73,
      reasons: [
        { code: 'R_VELOCITY_1H', source: 'RULE', description: '14 card payments in the last hour', weight: 0.4 },
      ],
      rulesFired: ['R_VELOCITY_1H'],
      features: { count_1h: 14, amount_ratio: 3.5 },
      featureValues: null,
      reportingCurrency: 'EUR',
      unconvertedCurrency: null,
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

/** An Avro long/int as a zigzag varint (Avro 1.11 specification, "Binary Encoding"). */
function varint(n: bigint): number[] {
  let unsigned = n >= 0n ? n << 1n : (-n << 1n) - 1n;
  const bytes: number[] = [];
  do {
    const low = Number(unsigned & 0x7fn);
    unsigned >>= 7n;
    bytes.push(unsigned > 0n ? low | 0x80 : low);
  } while (unsigned > 0n);
  return bytes;
}

/** What a rejected decode carries: the code and, as the cause, the encoding check's refusal. */
async function refusal(decoding: Promise<unknown>): Promise<{ code: string; cause: unknown; message: string }> {
  try {
    await decoding;
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    return { code: error.code, cause: error.cause, message: error.message };
  }
  throw new Error('decoded');
}

function encodeError(encode: () => unknown): CodecError {
  try {
    encode();
  } catch (error) {
    if (error instanceof CodecError) return error;
    throw error;
  }
  throw new Error('encoded');
}

// Bytes crafted the way fuzz/README.md describes; before the encoding check each one either hung avsc for
// seconds or for ever, or decoded into a value the schema does not allow.
describe('crafted Avro bodies are refused before avsc reads them', () => {
  const DEAD_LETTER_ID = 7;
  let deadLetters: Codec<unknown>;
  beforeAll(async () => {
    deadLetters = await createCodec<unknown>(registry, Topics.deadLetters);
  });
  /** stage, errorCode and reason empty, then `rest` (the problems array onwards). */
  const deadLetter = (...rest: number[]): Buffer => frame(DEAD_LETTER_ID, Buffer.from([0, 0, 0, ...rest]));
  /** A dead letter with no problems and nulls, whose sourcePartition / sourceOffset union carries `value`. */
  const withPartition = (value: number[]): Buffer => deadLetter(0, 0, 2, ...value, 0, 0, 0, 0);
  const withOffset = (value: number[]): Buffer => deadLetter(0, 0, 0, 2, ...value, 0, 0, 0);

  it.each([
    ['10^7 problems in a 12-byte record', 10n ** 7n],
    ['4·10^9 problems in a 13-byte record', 4n * 10n ** 9n],
  ])('an array block count of %s', async (_name, count) => {
    const bytes = deadLetter(...varint(count));
    const { code, cause, message } = await refusal(deadLetters.decode(bytes));
    expect(code).toBe('CORRUPT_BODY');
    expect(cause).toBeInstanceOf(MalformedAvroError);
    expect(message).toContain(`block count ${count} is more than the`);
    expect(message).toContain('/problems');
  });

  it('a negative block count (with a byte size) of 10^7 problems', async () => {
    const { code, cause } = await refusal(deadLetters.decode(deadLetter(...varint(-(10n ** 7n)), ...varint(4n))));
    expect(code).toBe('CORRUPT_BODY');
    expect(cause).toBeInstanceOf(MalformedAvroError);
  });

  /** A framed ScoredTransaction whose fields before `features` are a sample's, followed by `features` as given. */
  async function scoredWithFeatureBytes(): Promise<{
    codec: Codec<ScoredTransaction>;
    body: (...features: number[]) => Buffer;
  }> {
    const codec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    const type = readerTypeOf(codec);
    const scored = sampleScored();
    const featuresAt = type.fields.findIndex((field) => field.name === 'features');
    const before = type.fields.slice(0, featuresAt).map((f) => f.type.toBuffer((scored as never)[f.name]));
    return {
      codec,
      body: (...features) => frame(codec.writerSchemaId, Buffer.concat([...before, Buffer.from(features)])),
    };
  }

  it('a map block count of 10^12 features', async () => {
    const { codec, body } = await scoredWithFeatureBytes();
    const { code, cause, message } = await refusal(codec.decode(body(...varint(10n ** 12n))));
    expect(code).toBe('CORRUPT_BODY');
    expect(cause).toBeInstanceOf(MalformedAvroError);
    expect(message).toContain('/features');
  });

  it('names the map entry and what ran out: a key length cut off, a value cut short', async () => {
    const { codec, body } = await scoredWithFeatureBytes();
    // One entry (count 1 → zigzag 2) whose key length never comes.
    const keyCut = await refusal(codec.decode(body(2)));
    expect(keyCut.message).toMatch(
      /^.*the body ends inside the length of a map key at \/features\/0 \(body byte \d+\)$/,
    );
    // Two entries: the first whole ("a" = 1.0), the second's double three bytes short.
    const valueCut = await refusal(codec.decode(body(4, 2, 97, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 2, 98, 0, 0, 0, 0, 0)));
    expect(valueCut.message).toMatch(/a double of 8 bytes runs past the end of the body at \/features\/1 /);
  });

  it('an int of 2^31 (sourcePartition), while 2^31 - 1 and -2^31 decode', async () => {
    const { code, cause, message } = await refusal(deadLetters.decode(withPartition(varint(2n ** 31n))));
    expect(code).toBe('CORRUPT_BODY');
    expect(cause).toBeInstanceOf(MalformedAvroError);
    expect(message).toContain('/sourcePartition');
    await expect(deadLetters.decode(withPartition(varint(2n ** 31n - 1n)))).resolves.toMatchObject({
      sourcePartition: 2 ** 31 - 1,
    });
    await expect(deadLetters.decode(withPartition(varint(-(2n ** 31n))))).resolves.toMatchObject({
      sourcePartition: -(2 ** 31),
    });
  });

  it('a long of 2^63 (sourceOffset), while 2^63 - 1 decodes', async () => {
    const { code, cause } = await refusal(deadLetters.decode(withOffset(varint(2n ** 63n))));
    expect(code).toBe('CORRUPT_BODY');
    expect(cause).toBeInstanceOf(MalformedAvroError);
    await expect(deadLetters.decode(withOffset(varint(2n ** 63n - 1n)))).resolves.toMatchObject({
      sourceOffset: 2n ** 63n - 1n,
    });
  });

  it('a map key "__proto__", which avsc would decode as the prototype and lose', async () => {
    const codec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    const bytes = codec.encode(sampleScored({ features: { __proto_$: 1 } }));
    bytes.write('_', bytes.indexOf('__proto_$') + 8);
    const { code, cause } = await refusal(codec.decode(bytes));
    expect(code).toBe('CORRUPT_BODY');
    expect(cause).toBeInstanceOf(MalformedAvroError);
  });

  it('a record written with another schema version is checked against that writer schema', async () => {
    const v1 = parseSchema(readSchema('Transaction.v1.avsc'));
    const { channelReference: _dropped, ...v1Value } = sampleTransaction();
    const body = v1.toBuffer(v1Value);
    // transactionId's length, replaced by one far past the end of the body.
    const bytes = frame(1, Buffer.concat([Buffer.from(varint(10n ** 9n)), body.subarray(1)]));
    const { code, cause, message } = await refusal(transactions().decode(bytes));
    expect(code).toBe('CORRUPT_BODY');
    expect(cause).toBeInstanceOf(MalformedAvroError);
    expect(message).toContain('/transactionId');
  });
});

describe('what the codec refuses to encode, because it would not read back the same', () => {
  it('a map key "__proto__"', async () => {
    const codec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    const features = Object.fromEntries([['__proto__', 0]]) as Record<string, number>;
    const error = encodeError(() => codec.encode(sampleScored({ features })));
    expect(error.code).toBe('INVALID_VALUE');
    expect(error.message).toContain('/features');
  });

  it('a timestamp beyond ±2^52 ms, whose sign the number long would flip; ±2^52 round-trips', async () => {
    const codec = await createCodec<AnalystLabel>(registry, Topics.analystLabels);
    const label = (labelledAtMs: number): AnalystLabel => ({
      transactionId: 't',
      label: 'FRAUD',
      labelledBy: 'a',
      labelledAtMs,
      transactionEventTimeMs: 1,
      payerAccountId: null,
      cardToken: null,
      terminalId: null,
      note: null,
    });
    for (const ms of [-(2 ** 52) - 1, 2 ** 52 + 1, Number.MAX_SAFE_INTEGER])
      expect(encodeError(() => codec.encode(label(ms))).code).toBe('INVALID_VALUE');
    for (const ms of [-(2 ** 52), 2 ** 52]) expect(await codec.decode(codec.encode(label(ms)))).toEqual(label(ms));
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
