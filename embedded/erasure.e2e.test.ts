import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouseClient } from '../platform/clickhouse.js';
import { FileCustomerKeyStore } from '../platform/file-customer-key-store.js';
import { createLogger } from '../platform/logger.js';
import { ERASED, PersonalDataCipher } from '../platform/personal-data.js';
import type {
  AccessLogPage,
  AuditTrail,
  CustomerExport,
  LedgerIntegrity,
  PersonalDataErasure,
  TransactionRequest,
  TrialBalance,
} from '../schemas/api.js';
import { type EmbeddedPipeline, startEmbeddedPipeline } from './pipeline.js';
import { customerKeysDirOf } from './secrets.js';
import { apiClient, storedStringColumns, waitFor } from './testing.js';

/**
 * Erasure by crypto-shredding (GDPR art. 17) on the embedded default. Customers A and B each send a card payment
 * (device id, IP address, precise location, description) and a SEPA transfer (remittance information) with planted
 * personal values. Then every store is scanned for what is *readable* of them: the plain text of every file of the
 * data directory (log segments of every topic, dead letters, the idempotency journal, scoring snapshots, the
 * simulator-free state files), of every String column of every ClickHouse table (by SQL) and of every line the
 * process logged — plus every sealed value found there, opened with the key store as it is on disk. Elasticsearch
 * is not part of the embedded default and is not scanned.
 *
 * Before erasure the scan finds exactly A's sealed values (the negative control: the scan reaches them), never
 * the device id or the precise coordinates (not kept at all: minimisation). After `DELETE
 * /v1/customers/A/personal-data` it finds none of A's and still all of B's; A's decisions keep their features and
 * reasons, the trial balance is unchanged, the export shows A's values as erased, and the access log has the DELETE.
 */
const keys = {
  ingest: 'erase-ingest-key-0123456789',
  analyst: 'erase-analyst-key-0123456789',
  compliance: 'erase-compliance-key-0123456789',
};
const env = (dataDir: string) => ({
  VIGIL_DATA_DIR: dataDir,
  VIGIL_HTTP_PORT: '0',
  VIGIL_SIMULATOR_TPS: '0',
  VIGIL_LOG_LEVEL: 'debug',
  VIGIL_API_KEYS: Object.entries(keys)
    .map(([role, key]) => `${role}:${key}`)
    .join(','),
});

interface Person {
  readonly customerId: string;
  readonly account: string;
  readonly ip: string;
  readonly deviceId: string;
  readonly latitude: number;
  readonly longitude: number;
  readonly description: string;
  readonly remittance: string;
}
const A: Person = {
  customerId: 'cust-erase-a',
  account: 'acct-erase-a',
  ip: '203.0.113.77',
  deviceId: 'device-anna-7f3k',
  latitude: 48.856613,
  longitude: 2.352222,
  description: 'birthday gift for Anna Kowalska',
  remittance: 'rent flat 4b Anna Kowalska',
};
const B: Person = {
  customerId: 'cust-erase-b',
  account: 'acct-erase-b',
  ip: '198.51.100.23',
  deviceId: 'device-bert-9q2z',
  latitude: 52.370216,
  longitude: 4.895168,
  description: 'dinner with Bert Jansen',
  remittance: 'loan repayment Bert Jansen',
};
/** What the scan looks for, by name: every personal value the requests carried. */
const planted = (p: Person): Record<string, string> => ({
  ip: p.ip,
  deviceId: p.deviceId,
  latitude: String(p.latitude),
  longitude: String(p.longitude),
  description: p.description,
  remittance: p.remittance,
});

function requestsOf(p: Person): TransactionRequest[] {
  return [
    {
      transactionId: `${p.customerId}-card`,
      channel: 'card',
      amount: { value: '42.50', currency: 'EUR' },
      payer: { accountId: p.account, customerId: p.customerId },
      payee: { accountId: 'merchant-erase' },
      card: { number: '4111111111111111', present: false },
      merchant: { id: 'merchant-erase', terminalId: 'term-erase', mcc: '5411' },
      device: { id: p.deviceId, ip: p.ip },
      location: { country: 'FR', latitude: p.latitude, longitude: p.longitude },
      description: p.description,
    },
    {
      transactionId: `${p.customerId}-sepa`,
      channel: 'sepa',
      amount: { value: '700.00', currency: 'EUR' },
      payer: { accountId: p.account, customerId: p.customerId },
      payee: { accountId: 'acct-landlord' },
      bankTransfer: { scheme: 'SEPA_CT', endToEndId: `e2e-${p.customerId}`, remittanceInfo: p.remittance },
    },
  ];
}

const SEALED = /pd1\.[A-Za-z0-9_-]+\.[1-9][0-9]*\.[A-Za-z0-9_-]+/g;

/** Names of `person`'s planted values readable in `texts`: in plain text, or in a sealed value that still opens. */
async function readableValues(texts: readonly string[], person: Person, cipher: PersonalDataCipher): Promise<string[]> {
  const found = new Set<string>();
  for (const text of texts) {
    const opened = await Promise.all([...text.matchAll(SEALED)].map((m) => cipher.open(m[0])));
    const readable = [text, ...opened].join('\n');
    for (const [name, value] of Object.entries(planted(person))) if (readable.includes(value)) found.add(name);
  }
  return [...found].sort();
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** The text of every file of the data directory; ClickHouse's own files are read by SQL instead. */
function fileTexts(dataDir: string): Map<string, string> {
  const clickhouseDir = join(dataDir, 'clickhouse');
  return new Map(
    filesUnder(dataDir)
      .filter((path) => !path.startsWith(clickhouseDir))
      .map((path) => [path, readFileSync(path).toString('latin1')]),
  );
}

/** `table.column` → all its values as one text, for every stored String-typed column (arrays and nullables too). */
async function columnTexts(clickhouse: ClickHouseClient): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  for (const { table, column: name, textSql: text } of await storedStringColumns(clickhouse)) {
    const rows = await (
      await clickhouse.query({ query: `SELECT ${text} AS t FROM ${table}`, format: 'JSONEachRow' })
    ).json<{ t: string }>();
    texts.set(`${table}.${name}`, rows.map((r) => r.t).join('\n'));
  }
  return texts;
}

/** Every store of a stopped pipeline's data directory, scanned: per person, the stores holding readable values. */
async function scan(
  dataDir: string,
  logged: readonly string[],
): Promise<{ stores: number; readable: Map<Person, Record<string, string[]>> }> {
  // A fresh store over the key files as they are on disk: no cache from the run.
  const cipher = new PersonalDataCipher(FileCustomerKeyStore.open(customerKeysDirOf(dataDir), { rotateAfterMs: 0 }));
  const clickhouse = createClickHouseClient(`embedded:${join(dataDir, 'clickhouse')}`);
  try {
    const stores = new Map([
      ...fileTexts(dataDir),
      ...(await columnTexts(clickhouse)),
      ['process log', logged.join('\n')],
    ]);
    const readable = new Map<Person, Record<string, string[]>>();
    for (const person of [A, B]) {
      const byStore: Record<string, string[]> = {};
      for (const [store, text] of stores) {
        const values = await readableValues([text], person, cipher);
        if (values.length > 0) byStore[store.startsWith(dataDir) ? store.slice(dataDir.length + 1) : store] = values;
      }
      readable.set(person, byStore);
    }
    return { stores: stores.size, readable };
  } finally {
    await clickhouse.close();
  }
}

/** The union of the value names over every store. */
const valuesIn = (byStore: Record<string, string[]>): string[] => [...new Set(Object.values(byStore).flat())].sort();

describe("erasure of a customer's personal data (embedded)", () => {
  let dataDir: string;
  let pipeline: EmbeddedPipeline | undefined;
  const logged: string[] = [];
  const logger = createLogger({ level: 'debug', write: (line) => logged.push(line) });

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-erasure-'));
  });
  afterAll(async () => {
    await pipeline?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('leaves none of A readable in any store, B untouched, the ledger balanced and decisions explained', async () => {
    pipeline = await startEmbeddedPipeline({ env: env(dataDir), logger });
    const ingest = apiClient(pipeline.url, keys.ingest);
    for (const request of [...requestsOf(A), ...requestsOf(B)])
      expect((await ingest.post('/v1/transactions', request)).status).toBe(202);
    const compliance = () => apiClient(pipeline!.url, keys.compliance);
    await waitFor(
      'the 4 decisions stored',
      async () =>
        (await compliance().get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body.decisionRows === 4
          ? true
          : undefined,
      120_000,
    );
    const trailOf = async (id: string): Promise<AuditTrail> => {
      const response = await compliance().get<AuditTrail>(`/v1/transactions/${id}`);
      expect(response.status).toBe(200);
      return response.body;
    };
    const aCard = await trailOf(`${A.customerId}-card`);
    expect(aCard.transaction.description).toBe(A.description); // opened for an authorised reader
    expect(aCard.input).toMatchObject({ ipAddress: A.ip, latitude: 48.86, longitude: 2.35 });
    expect((aCard.input as { deviceId: string }).deviceId).toMatch(/^dev_[A-Za-z0-9_-]{22}$/);
    expect(Object.keys(aCard.features as object).length).toBeGreaterThan(10);
    const aSepa = await trailOf(`${A.customerId}-sepa`);
    const trialBefore = (await compliance().get<TrialBalance>('/v1/reports/trial-balance')).body;
    expect(trialBefore.balanced).toBe(true);
    await pipeline.close();
    pipeline = undefined;

    // Negative control: before erasure the scan reads A's sealed values (and B's) — so it does reach them.
    const before = await scan(dataDir, logged);
    expect(valuesIn(before.readable.get(A)!)).toEqual(['description', 'ip', 'remittance']);
    expect(valuesIn(before.readable.get(B)!)).toEqual(['description', 'ip', 'remittance']);
    // …in the log segments and in ClickHouse both.
    const storesOfA = Object.keys(before.readable.get(A)!);
    expect(storesOfA.some((s) => s.startsWith('log/'))).toBe(true);
    expect(storesOfA).toContain('decisions.transaction_json');

    pipeline = await startEmbeddedPipeline({ env: env(dataDir), logger });
    const erased = await compliance().delete<PersonalDataErasure>(`/v1/customers/${A.customerId}/personal-data`);
    expect(erased.status).toBe(200);
    expect(erased.body).toMatchObject({ customerId: A.customerId, destroyedKeyVersions: [1] });
    const again = await compliance().delete<PersonalDataErasure>(`/v1/customers/${A.customerId}/personal-data`);
    expect(again.body.destroyedKeyVersions).toEqual([]);

    // Reads show A's values as erased, not an error; the decision stays explained by the same features and reasons.
    const aCardAfter = await trailOf(`${A.customerId}-card`);
    expect(aCardAfter.transaction.description).toBe(ERASED);
    expect(aCardAfter.input).toMatchObject({ ipAddress: ERASED, description: ERASED, latitude: 48.86 });
    expect(aCardAfter.features).toEqual(aCard.features);
    expect(aCardAfter.decision).toEqual(aCard.decision);
    expect(aCardAfter.ledgerEntries).toEqual(aCard.ledgerEntries);
    const aSepaAfter = await trailOf(`${A.customerId}-sepa`);
    expect(aSepaAfter.input).toMatchObject({ bankTransfer: { remittanceInfo: ERASED } });
    expect(aSepaAfter.features).toEqual(aSepa.features);
    expect((await trailOf(`${B.customerId}-card`)).transaction.description).toBe(B.description);

    // The ledger is untouched: the same trial balance, still balanced.
    const trialAfter = (await compliance().get<TrialBalance>('/v1/reports/trial-balance')).body;
    expect(trialAfter.balanced).toBe(true);
    expect(trialAfter.lines).toEqual(trialBefore.lines);
    expect(trialAfter.currencies).toEqual(trialBefore.currencies);

    // The export: A's transactions with their values erased, B's readable.
    const exportOf = async (p: Person) =>
      (await compliance().get<CustomerExport>(`/v1/customers/${p.customerId}/export`)).body;
    const exportA = await exportOf(A);
    expect(exportA.personalData).toMatchObject({ status: 'erased', heldKeyVersions: [], destroyedKeyVersions: [1] });
    expect(exportA.transactions.map((t) => t.transactionId)).toEqual(
      expect.arrayContaining([`${A.customerId}-card`, `${A.customerId}-sepa`]),
    );
    expect(exportA.transactions).toHaveLength(2);
    expect(JSON.stringify(exportA)).not.toContain('Kowalska');
    expect(exportA.transactions.find((t) => t.transactionId.endsWith('-card'))!.transaction).toMatchObject({
      ipAddress: ERASED,
      description: ERASED,
    });
    for (const t of exportA.transactions) expect(Object.keys(t.decision.features as object).length).toBeGreaterThan(10);
    const exportB = await exportOf(B);
    expect(exportB.personalData.status).toBe('held');
    expect(exportB.transactions).toHaveLength(2);
    expect(exportB.transactions.find((t) => t.transactionId.endsWith('-card'))!.transaction).toMatchObject({
      ipAddress: B.ip,
      description: B.description,
    });
    expect(exportB.transactions.find((t) => t.transactionId.endsWith('-sepa'))!.transaction).toMatchObject({
      bankTransfer: { remittanceInfo: B.remittance },
    });

    // The erasure is on record, with who asked.
    const access = await compliance().get<AccessLogPage>(
      `/v1/audit/access?resource=customer/${A.customerId}&action=customer.erase`,
    );
    expect(access.body.entries).toHaveLength(2);
    expect(access.body.entries.every((e) => e.role === 'compliance')).toBe(true);
    await pipeline.close();
    pipeline = undefined;

    const after = await scan(dataDir, logged);
    expect(after.stores).toBeGreaterThan(40); // files, every String column, the process log
    expect(after.readable.get(A)).toEqual({});
    expect(valuesIn(after.readable.get(B)!)).toEqual(['description', 'ip', 'remittance']);

    // Negative control for plain text: a value of A's written in clear is found, in a file and in a table.
    writeFileSync(join(dataDir, 'planted.txt'), `note: ${A.remittance}`);
    const clickhouse = createClickHouseClient(`embedded:${join(dataDir, 'clickhouse')}`);
    try {
      await clickhouse.command({
        query: `INSERT INTO analyst_labels (transaction_id, label, labelled_by, labelled_at, note) VALUES ('x', 'FRAUD', 'planted', now64(3), {note:String})`,
        query_params: { note: `called from ${A.ip}` },
      });
    } finally {
      await clickhouse.close();
    }
    const planted = await scan(dataDir, logged);
    expect(planted.readable.get(A)).toEqual({ 'planted.txt': ['remittance'], 'analyst_labels.note': ['ip'] });
  }, 300_000);
});
