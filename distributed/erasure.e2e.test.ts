import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiClient, storedStringColumns, waitFor } from '../embedded/testing.js';
import type { Bus } from '../platform/bus.js';
import { createClickHouseClient } from '../platform/clickhouse.js';
import { systemClock } from '../platform/clock.js';
import { Secret } from '../platform/config.js';
import { KafkaBus } from '../platform/kafka/kafka-bus.js';
import { LogCustomerKeyStore } from '../platform/log-customer-key-store.js';
import { silentLogger } from '../platform/logger.js';
import { NamespacedBus } from '../platform/namespaced-bus.js';
import { type CustomerKeyStore, ERASED, PersonalDataCipher } from '../platform/personal-data.js';
import type {
  AuditTrail,
  CustomerExport,
  LedgerIntegrity,
  PersonalDataErasure,
  TransactionRequest,
  TrialBalance,
} from '../schemas/api.js';
import { PersonalDataTopics, Topics } from '../schemas/topics.js';
import {
  type ServiceProcess,
  deleteTestNamespace,
  readNamespacedTopic,
  startService,
  stopService,
} from './processes.js';

/**
 * Erasure by crypto-shredding in distributed mode: ingest, scoring and ledger-sink with dashboards each their own
 * process on real Kafka (a namespace of this test's own), sharing no key store but the `customer.keys` topic.
 * Customers A and B send a card payment and a SEPA transfer with planted personal values; ingest seals them, and
 * dashboards — another process — opens them for an authorised reader. After `DELETE /v1/customers/A/personal-data`
 * on dashboards, every record of every Vigil topic (tx.raw, tx.scored, alerts, dead letters, ledger events, …) and
 * every String column of every ClickHouse table are scanned for what is readable — plain text, and every sealed value
 * found, opened through a key store that starts afresh from the topic (a process starting after the erasure): none
 * of A's, all of B's; the audit trail and the export show A's values as erased, the decisions keep their features,
 * the trial balance is unchanged.
 *
 * Negative control: the same scan through a reader that never folded the erasure (A's and B's keys as they were
 * before it) reads A's values in tx.raw, tx.scored and ClickHouse — so the scan reaches them, and only the erasure
 * folded makes them unreadable.
 */
const brokers = (process.env.VIGIL_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const namespace = `erasure-e2e-${Date.now()}`;
const MASTER_KEY = Buffer.alloc(32, 42).toString('base64');
const keys = {
  ingest: 'erase-dist-ingest-key-0123456789',
  compliance: 'erase-dist-compliance-key-0123456789',
};

interface Person {
  readonly customerId: string;
  readonly account: string;
  readonly ip: string;
  readonly description: string;
  readonly remittance: string;
}
const A: Person = {
  customerId: 'cust-dist-erase-a',
  account: 'acct-dist-erase-a',
  ip: '203.0.113.78',
  description: 'birthday gift for Anna Nowak',
  remittance: 'rent flat 4c Anna Nowak',
};
const B: Person = {
  customerId: 'cust-dist-erase-b',
  account: 'acct-dist-erase-b',
  ip: '198.51.100.24',
  description: 'dinner with Bert de Vries',
  remittance: 'loan repayment Bert de Vries',
};
const planted = (p: Person): Record<string, string> => ({
  ip: p.ip,
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
      payee: { accountId: 'merchant-dist-erase' },
      card: { number: '4111111111111111', present: false },
      merchant: { id: 'merchant-dist-erase', terminalId: 'term-dist-erase', mcc: '5411' },
      device: { id: `device-of-${p.customerId}`, ip: p.ip },
      location: { country: 'FR', latitude: 48.856613, longitude: 2.352222 },
      description: p.description,
    },
    {
      transactionId: `${p.customerId}-sepa`,
      channel: 'sepa',
      amount: { value: '700.00', currency: 'EUR' },
      payer: { accountId: p.account, customerId: p.customerId },
      payee: { accountId: 'acct-dist-landlord' },
      bankTransfer: { scheme: 'SEPA_CT', endToEndId: `e2e-${p.customerId}`, remittanceInfo: p.remittance },
    },
  ];
}

const SEALED = /pd1\.[A-Za-z0-9_-]+\.[1-9][0-9]*\.[A-Za-z0-9_-]+/g;

/** Per store, the names of `person`'s planted values readable there: in plain text, or sealed and still opening. */
async function readable(
  stores: ReadonlyMap<string, string>,
  person: Person,
  cipher: PersonalDataCipher,
): Promise<Record<string, string[]>> {
  const byStore: Record<string, string[]> = {};
  for (const [store, text] of stores) {
    const opened = await Promise.all([...text.matchAll(SEALED)].map((m) => cipher.open(m[0])));
    const all = [text, ...opened].join('\n');
    const found = Object.entries(planted(person))
      .filter(([, value]) => all.includes(value))
      .map(([name]) => name);
    if (found.length > 0) byStore[store] = found.sort();
  }
  return byStore;
}

const valuesIn = (byStore: Record<string, string[]>): string[] => [...new Set(Object.values(byStore).flat())].sort();

/** The raw bytes (as latin1 text) of every record of every Vigil topic in the namespace, per topic. */
async function topicTexts(bus: Bus): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  for (const topic of Object.values(Topics)) {
    const ends = await bus.endOffsets(topic).catch(() => undefined);
    if (ends === undefined || ends.every((end) => end === 0)) continue;
    const records = await readNamespacedTopic(brokers, namespace, topic, ends);
    texts.set(
      topic,
      records.map((r) => `${r.key ?? ''} ${JSON.stringify(r.headers)} ${r.value.toString('latin1')}`).join('\n'),
    );
  }
  return texts;
}

/** `table.column` → all its values, for every stored String column of the chDB directory ledger-sink wrote. */
async function columnTexts(chdbDir: string): Promise<Map<string, string>> {
  const clickhouse = createClickHouseClient(`embedded:${chdbDir}`);
  try {
    const texts = new Map<string, string>();
    for (const { table, column, textSql } of await storedStringColumns(clickhouse)) {
      const rows = await (
        await clickhouse.query({ query: `SELECT ${textSql} AS t FROM ${table}`, format: 'JSONEachRow' })
      ).json<{ t: string }>();
      texts.set(`${table}.${column}`, rows.map((r) => r.t).join('\n'));
    }
    return texts;
  } finally {
    await clickhouse.close();
  }
}

/** A reader that never folds anything again: the version-1 keys `store` gives for `people` now, frozen. */
async function frozenKeys(store: CustomerKeyStore, people: readonly Person[]): Promise<CustomerKeyStore> {
  const frozen = new Map<string, Buffer>();
  for (const person of people) {
    const key = await store.keyOf(person.customerId, 1);
    if (key !== undefined) frozen.set(person.customerId, key);
  }
  return {
    currentKey: () => Promise.reject(new Error('read only')),
    keyOf: (customerId, version) => Promise.resolve(version === 1 ? frozen.get(customerId) : undefined),
    destroy: () => Promise.reject(new Error('read only')),
    status: () => Promise.reject(new Error('read only')),
  };
}

describe("erasure of a customer's personal data (distributed)", () => {
  let dataDir: string;
  let kafka: KafkaBus | undefined;
  const running = new Set<ServiceProcess>();
  const stores: LogCustomerKeyStore[] = [];

  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await kafka?.close();
    await Promise.all([...running].map((s) => stopService(s)));
    await deleteTestNamespace(brokers, namespace);
    rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);

  /** A fresh store over the namespace's customer.keys: what a process starting now would fold. */
  const freshStore = async (bus: Bus): Promise<LogCustomerKeyStore> => {
    const store = await LogCustomerKeyStore.open({
      bus,
      topic: PersonalDataTopics.customerKeys,
      masterKey: new Secret(MASTER_KEY),
      compaction: { lagMs: 3_600_000, deleteRetentionMs: 86_400_000 },
      rotateAfterMs: 0,
      clock: systemClock,
      logger: silentLogger,
    });
    stores.push(store);
    return store;
  };

  it('leaves none of A readable in the log, ClickHouse, the audit trail or the export; B untouched; ledger balanced', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-dist-erasure-'));
    const chdbDir = join(dataDir, 'chdb');
    const env = {
      ...process.env,
      VIGIL_KAFKA_BROKERS: brokers.join(','),
      VIGIL_KAFKA_NAMESPACE: namespace,
      VIGIL_API_KEYS: Object.entries(keys)
        .map(([role, key]) => `${role}:${key}`)
        .join(','),
      VIGIL_TOKENIZATION_KEY: 'dist-erasure-tokenization-key-0123456789',
      VIGIL_HTTP_HOST: '127.0.0.1',
      VIGIL_HTTP_PORT: '0',
      VIGIL_PARTITIONS: '2',
      VIGIL_LOG_LEVEL: 'info',
    };
    // Only ingest and dashboards hold the master key, as in compose.
    const withKey = { VIGIL_PERSONAL_DATA_MASTER_KEY: MASTER_KEY };
    const start = async (stages: string[], extra: Record<string, string>): Promise<ServiceProcess> => {
      const service = await startService(stages, { ...env, ...extra });
      running.add(service);
      return service;
    };
    const sink = await start(['ledger-sink', 'dashboards'], {
      ...withKey,
      VIGIL_CLICKHOUSE_URL: `embedded:${chdbDir}`,
      VIGIL_DATA_DIR: join(dataDir, 'sink'),
    });
    await start(['scoring'], { VIGIL_DATA_DIR: join(dataDir, 'scoring') });
    const ingest = await start(['ingest'], { ...withKey, VIGIL_DATA_DIR: join(dataDir, 'ingest') });

    const submit = apiClient(ingest.url, keys.ingest);
    for (const request of [...requestsOf(A), ...requestsOf(B)])
      expect((await submit.post('/v1/transactions', request)).status).toBe(202);
    const compliance = apiClient(sink.url, keys.compliance);
    await waitFor(
      'the 4 decisions stored',
      async () =>
        (await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body.decisionRows === 4
          ? true
          : undefined,
      180_000,
    );
    const trailOf = async (id: string): Promise<AuditTrail> => {
      const response = await compliance.get<AuditTrail>(`/v1/transactions/${id}`);
      expect(response.status).toBe(200);
      return response.body;
    };
    // Sealed by ingest, opened by dashboards: two processes, one key.
    const aCard = await trailOf(`${A.customerId}-card`);
    expect(aCard.transaction.description).toBe(A.description);
    expect(aCard.input).toMatchObject({ ipAddress: A.ip });
    const aSepa = await trailOf(`${A.customerId}-sepa`);
    const trialBefore = (await compliance.get<TrialBalance>('/v1/reports/trial-balance')).body;
    expect(trialBefore.balanced).toBe(true);

    kafka = await KafkaBus.connect({ brokers, clientId: `${namespace}-test`, logger: silentLogger });
    const bus = new NamespacedBus(kafka, namespace);
    // What the log held before the erasure, read through a process's view of the keys: both customers, sealed.
    const logBefore = await topicTexts(bus);
    const viewBefore = await freshStore(bus);
    expect(valuesIn(await readable(logBefore, A, new PersonalDataCipher(viewBefore)))).toEqual([
      'description',
      'ip',
      'remittance',
    ]);
    // …and only sealed: without keys, nothing of A's is readable there.
    expect(await readable(logBefore, A, new PersonalDataCipher(await frozenKeys(viewBefore, [])))).toEqual({});
    const notFolded = await frozenKeys(viewBefore, [A, B]);

    const erased = await compliance.delete<PersonalDataErasure>(`/v1/customers/${A.customerId}/personal-data`);
    expect(erased.status).toBe(200);
    expect(erased.body).toMatchObject({ customerId: A.customerId, destroyedKeyVersions: [1] });

    // The audit trail reads A's values as erased at once; the decisions keep their features; B stays readable.
    const aCardAfter = await trailOf(`${A.customerId}-card`);
    expect(aCardAfter.transaction.description).toBe(ERASED);
    expect(aCardAfter.input).toMatchObject({ ipAddress: ERASED, description: ERASED });
    expect(aCardAfter.features).toEqual(aCard.features);
    expect(aCardAfter.decision).toEqual(aCard.decision);
    expect((await trailOf(`${A.customerId}-sepa`)).input).toMatchObject({ bankTransfer: { remittanceInfo: ERASED } });
    expect((await trailOf(`${A.customerId}-sepa`)).features).toEqual(aSepa.features);
    expect((await trailOf(`${B.customerId}-card`)).transaction.description).toBe(B.description);

    const trialAfter = (await compliance.get<TrialBalance>('/v1/reports/trial-balance')).body;
    expect(trialAfter.balanced).toBe(true);
    expect(trialAfter.lines).toEqual(trialBefore.lines);

    const exportOf = async (p: Person) =>
      (await compliance.get<CustomerExport>(`/v1/customers/${p.customerId}/export`)).body;
    const exportA = await exportOf(A);
    expect(exportA.personalData).toMatchObject({ status: 'erased', heldKeyVersions: [], destroyedKeyVersions: [1] });
    expect(exportA.transactions).toHaveLength(2);
    expect(JSON.stringify(exportA)).not.toContain('Nowak');
    expect(JSON.stringify(exportA)).not.toContain(A.ip);
    const exportB = await exportOf(B);
    expect(exportB.personalData.status).toBe('held');
    expect(JSON.stringify(exportB)).toContain(B.remittance);

    // ClickHouse is read from its directory once the process that holds it has stopped.
    await stopService(sink);
    running.delete(sink);
    const stored = new Map([...(await topicTexts(bus)), ...(await columnTexts(chdbDir))]);
    expect(stored.size).toBeGreaterThan(20);
    const afterwards = new PersonalDataCipher(await freshStore(bus));
    expect(await readable(stored, A, afterwards)).toEqual({});
    expect(valuesIn(await readable(stored, B, afterwards))).toEqual(['description', 'ip', 'remittance']);

    // Negative control: a reader that never folded the erasure still opens A's values, in the log and in ClickHouse.
    const stale = await readable(stored, A, new PersonalDataCipher(notFolded));
    expect(valuesIn(stale)).toEqual(['description', 'ip', 'remittance']);
    expect(Object.keys(stale)).toEqual(
      expect.arrayContaining([Topics.transactionsRaw, Topics.transactionsScored, 'decisions.transaction_json']),
    );
  }, 300_000);
});
