import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Codec, createCodec, readerType } from './codec.js';
import { CompatibilityLevel } from './compatibility.js';
import { evolvedTransaction, typeOf } from './evolution-fixtures.js';
import { sampleTransaction } from './fixtures.js';
import type { Transaction } from './generated/types.js';
import { HttpSchemaRegistry, RegistryRefusedError, SchemaIncompatibleError, type SchemaRegistry } from './registry.js';
import { Topics, valueSubject } from './topics.js';

/**
 * HttpSchemaRegistry against a real Confluent-compatible registry: Apicurio Registry 2.4.2 with in-memory storage,
 * built from Maven Central and started by `npm run services:up` (infra/apicurio/), through its Confluent API. The
 * registry is shared by every test run, so each test works under subjects of its own (deleted afterwards) and sets
 * the registry's level for them itself; schema ids are global there, so ids are compared, never assumed.
 */
const REGISTRY_URL = process.env['VIGIL_TEST_SCHEMA_REGISTRY_URL'] ?? 'http://127.0.0.1:8085/apis/ccompat/v7';
const RECORDS = 5;

/** This build's Transaction schema, as createCodec registers it. */
const current = JSON.stringify(readerType('vigil.Transaction').schema({ exportAttrs: true }));

/** The registry's own API, for what the client under test does not do: levels, version lists, cleanup. */
const registryApi = {
  async call(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(REGISTRY_URL + path, {
      method,
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  },
  /** Sets the level the registry itself enforces for one subject (Confluent `PUT /config/{subject}`). */
  async setLevel(subject: string, level: CompatibilityLevel): Promise<void> {
    const response = await this.call('PUT', `/config/${encodeURIComponent(subject)}`, { compatibility: level });
    // Apicurio keeps a level as a rule of the subject and NONE removes it: for a subject not registered yet there
    // is nothing to remove (404), and no rule is what NONE means (no test here sets a registry-wide level).
    if (level === CompatibilityLevel.none && response.status === 404) return void (await response.body?.cancel());
    if (!response.ok) throw new Error(`PUT /config/${subject} answered ${response.status}: ${await response.text()}`);
  },
  /** The subject's versions as the registry lists them; none when it has no such subject (40401). */
  async versions(subject: string): Promise<number[]> {
    const response = await this.call('GET', `/subjects/${encodeURIComponent(subject)}/versions`);
    if (response.status === 404) return [];
    if (!response.ok) throw new Error(`GET versions of ${subject} answered ${response.status}`);
    return (await response.json()) as number[];
  },
  /** Soft delete, then permanent (Confluent requires both steps). */
  async deleteSubject(subject: string): Promise<void> {
    for (const query of ['', '?permanent=true']) {
      const response = await this.call('DELETE', `/subjects/${encodeURIComponent(subject)}${query}`);
      await response.body?.cancel();
    }
  },
};

let subjects: string[] = [];

/** A subject name no other test or run uses, deleted after the test. */
function uniqueSubject(tag: string): string {
  const subject = `vigil-test-${tag}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}-value`;
  subjects.push(subject);
  return subject;
}

/** The registry seen by a codec, with every subject under `prefix` so a test's `tx.raw-value` is its own. */
function underPrefix(registry: SchemaRegistry, prefix: string): SchemaRegistry {
  subjects.push(prefix + valueSubject(Topics.transactionsRaw));
  return {
    register: (subject, schema) => registry.register(prefix + subject, schema),
    schemaById: (id) => registry.schemaById(id),
  };
}

/**
 * The oracle of "read without loss": every record decodes through the registry with each field this build knows
 * equal to what was sent, and the fields only the writer knows reported, not dropped. One line per violation.
 */
async function readWithoutLoss(log: readonly Buffer[], reader: Codec<Transaction>): Promise<string[]> {
  const violations: string[] = [];
  for (const [i, bytes] of log.entries()) {
    try {
      const { value, fieldsUnknownToReader } = await reader.decodeRecord(bytes);
      if (JSON.stringify(value, bigints) !== JSON.stringify(sampleTransaction({ transactionId: `tx-${i}` }), bigints))
        violations.push(`record ${i}: misread`);
      if (JSON.stringify(fieldsUnknownToReader) !== JSON.stringify({ riskHint: `hint-${i}` }))
        violations.push(`record ${i}: writer fields lost (${JSON.stringify(fieldsUnknownToReader)})`);
    } catch (error) {
      violations.push(`record ${i}: unreadable (${(error as { code?: string }).code ?? String(error)})`);
    }
  }
  return violations;
}

const bigints = (_key: string, v: unknown): unknown => (typeof v === 'bigint' ? `${v}n` : v);

describe('HttpSchemaRegistry against Apicurio Registry (Confluent API)', () => {
  beforeAll(async () => {
    const reachable = await registryApi.call('GET', '/subjects').then(
      (r) => r.ok,
      () => false,
    );
    if (!reachable)
      throw new Error(
        `No schema registry answers at ${REGISTRY_URL}. Start it with \`npm run services:up\` ` +
          '(or set VIGIL_TEST_SCHEMA_REGISTRY_URL) and run the tests again.',
      );
  });
  afterEach(async () => {
    await Promise.all(subjects.map((s) => registryApi.deleteSubject(s)));
    subjects = [];
  });

  it('registers a compatible newer writer and every id resolves from a fresh client', async () => {
    const subject = uniqueSubject('ids');
    await registryApi.setLevel(subject, CompatibilityLevel.fullTransitive);
    const client = new HttpSchemaRegistry(REGISTRY_URL);
    const first = await client.register(subject, current);
    const newer = await client.register(subject, evolvedTransaction.addedOptionalField());
    expect(newer).not.toBe(first);
    expect(await client.register(subject, current)).toBe(first);
    expect(await registryApi.versions(subject)).toEqual([1, 2]);
    const fresh = new HttpSchemaRegistry(REGISTRY_URL);
    expect(JSON.parse(await fresh.schemaById(first))).toEqual(JSON.parse(current));
    expect(JSON.parse(await fresh.schemaById(newer))).toEqual(JSON.parse(evolvedTransaction.addedOptionalField()));
    await expect(fresh.schemaById(2_147_483_647)).rejects.toMatchObject({
      code: 'UNKNOWN_SCHEMA_ID',
      retriable: false,
    });
  });

  describe("a compatible newer writer's records, read by this build through the registry", () => {
    let log: Buffer[];
    let reader: Codec<Transaction>;
    let readerId: number;
    beforeEach(async () => {
      const prefix = `vigil-test-read-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}.`;
      // Three clients, as three processes would have: the reader's never saw the writer's schema.
      readerId = (
        await createCodec<Transaction>(
          underPrefix(new HttpSchemaRegistry(REGISTRY_URL), prefix),
          Topics.transactionsRaw,
        )
      ).writerSchemaId;
      const writer = await createCodec<Record<string, unknown>>(
        underPrefix(new HttpSchemaRegistry(REGISTRY_URL), prefix),
        Topics.transactionsRaw,
        { type: typeOf(evolvedTransaction.addedOptionalField()) },
      );
      log = Array.from({ length: RECORDS }, (_, i) =>
        writer.encode({ ...sampleTransaction({ transactionId: `tx-${i}` }), riskHint: `hint-${i}` }),
      );
      reader = await createCodec<Transaction>(
        underPrefix(new HttpSchemaRegistry(REGISTRY_URL), prefix),
        Topics.transactionsRaw,
      );
    });

    it('are read without loss: known fields intact, the added field reported', async () => {
      expect(reader.writerSchemaId).toBe(readerId);
      expect(new Set(log.map((b) => b.readUInt32BE(1)))).toEqual(new Set([log[0]!.readUInt32BE(1)]));
      expect(log[0]!.readUInt32BE(1)).not.toBe(readerId);
      expect(await readWithoutLoss(log, reader)).toEqual([]);
    });

    it('negative control: a reader that drops what it does not know is reported as losing the new field', async () => {
      const forgetful: Codec<Transaction> = {
        ...reader,
        decodeRecord: async (bytes) => ({ ...(await reader.decodeRecord(bytes)), fieldsUnknownToReader: {} }),
      };
      expect(await readWithoutLoss(log, forgetful)).toEqual(
        Array.from({ length: RECORDS }, (_, i) => `record ${i}: writer fields lost ({})`),
      );
    });
  });

  it.each([
    ['amountMinor long → string', evolvedTransaction.amountAsString(), '/amountMinor'],
    ['a required field removed', evolvedTransaction.removedRequiredField(), '/payeeAccountId'],
  ])('refuses an incompatible writer (%s) itself: no codec, nothing registered', async (_n, schema, path) => {
    const prefix = `vigil-test-refuse-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}.`;
    const subject = prefix + valueSubject(Topics.transactionsRaw);
    const registry = underPrefix(new HttpSchemaRegistry(REGISTRY_URL), prefix);
    await createCodec<Transaction>(registry, Topics.transactionsRaw);
    // The registry itself would take anything: what refuses is the client's check.
    await registryApi.setLevel(subject, CompatibilityLevel.none);
    const refused = await createCodec(registry, Topics.transactionsRaw, { type: typeOf(schema) }).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(SchemaIncompatibleError);
    expect(refused).toMatchObject({ code: 'SCHEMA_INCOMPATIBLE', retriable: false });
    expect((refused as Error).message).toContain(`subject ${subject} (compatibility FULL_TRANSITIVE)`);
    expect((refused as Error).message).toContain(`forward vs version 1 ${path}`);
    expect(await registryApi.versions(subject)).toEqual([1]);
  });

  it('negative control: with the client check off (NONE) and a registry at NONE, the incompatible writer is registered', async () => {
    const subject = uniqueSubject('unchecked');
    await registryApi.setLevel(subject, CompatibilityLevel.none);
    const unchecked = new HttpSchemaRegistry(REGISTRY_URL, fetch, { compatibility: CompatibilityLevel.none });
    const first = await unchecked.register(subject, current);
    expect(await unchecked.register(subject, evolvedTransaction.amountAsString())).not.toBe(first);
    expect(await registryApi.versions(subject)).toEqual([1, 2]);
  });

  it.each([
    [CompatibilityLevel.forward, 'refuses', [1]],
    [CompatibilityLevel.backward, 'accepts (negative control)', [1, 2]],
  ])(
    "the registry's own level %s %s what the client's BACKWARD check passes (a required field removed)",
    async (level, _outcome, versions) => {
      const subject = uniqueSubject('registry-level');
      await registryApi.setLevel(subject, level);
      const client = new HttpSchemaRegistry(REGISTRY_URL, fetch, { compatibility: CompatibilityLevel.backward });
      await client.register(subject, current);
      const outcome = await client
        .register(subject, evolvedTransaction.removedRequiredField())
        .catch((e: unknown) => e);
      if (level === CompatibilityLevel.forward) {
        expect(outcome).toBeInstanceOf(SchemaIncompatibleError);
        expect(outcome).toMatchObject({ code: 'SCHEMA_INCOMPATIBLE', retriable: false });
        expect((outcome as Error).message).toContain(
          `schema refused for subject ${subject} (compatibility the registry level): Incompatible artifact`,
        );
      } else expect(typeof outcome).toBe('number');
      expect(await registryApi.versions(subject)).toEqual(versions);
    },
  );

  it('a schema the registry finds invalid (422) is a non-retriable REGISTRY_REFUSED, and nothing is registered', async () => {
    const subject = uniqueSubject('invalid');
    const client = new HttpSchemaRegistry(REGISTRY_URL);
    const refused = await client.register(subject, '{"type":"record","name":"NoFields"}').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RegistryRefusedError);
    expect(refused).toMatchObject({
      code: 'REGISTRY_REFUSED',
      retriable: false,
      details: { registryErrorCode: 42201 },
    });
    expect(await registryApi.versions(subject)).toEqual([]);
  });

  it('an unreachable registry is a retriable REGISTRY_UNAVAILABLE, not a refusal', async () => {
    // A port that was just free: nothing listens there once the server is closed.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    const client = new HttpSchemaRegistry(`http://127.0.0.1:${port}`);
    await expect(client.register('vigil-test-unreachable-value', current)).rejects.toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
      retriable: true,
    });
  });
});
