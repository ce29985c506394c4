import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { ClickHouseTables, type DecisionRow, clickhouseTableStatements } from '../../schemas/clickhouse.js';
import type { ScoredTransaction } from '../../schemas/generated/types.js';
import { auditJson } from '../domain/audit.js';
import { INT64_MAX, INT64_MIN } from '../domain/postings.js';
import type { PostedEntry } from '../ports.js';
import { placeHold } from '../domain/holds.js';
import { MemoryStore, scoredTransaction } from '../testing/fixtures.js';
import { ClickHouseLedgerReader } from '../testing/clickhouse-ledger-reader.js';
import { ClickHouseLedgerStore, decisionRow } from './clickhouse-store.js';

// chDB binds one data directory per process: one temp directory for this file, closed and removed after it.
const dataDir = mkdtempSync(join(tmpdir(), 'vigil-ledger-store-'));
let client: ClickHouseClient;
let store: ClickHouseLedgerStore;
let reader: ClickHouseLedgerReader;

beforeAll(async () => {
  client = createClickHouseClient(`embedded:${dataDir}`);
  store = new ClickHouseLedgerStore(client, { lookupChunkIds: 3 });
  reader = new ClickHouseLedgerReader(client);
  await store.ensureSchema();
});

afterAll(async () => {
  await client.close();
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(async () => {
  for (const table of Object.values(ClickHouseTables))
    await client.command({ query: `TRUNCATE TABLE IF EXISTS ${table}` });
});

const entry = (
  transactionId: string,
  leg: number,
  amountMinor: bigint,
  overrides: Partial<PostedEntry> = {},
): PostedEntry => ({
  entryId: `${transactionId}/${leg}`,
  transactionId,
  leg,
  accountId: `acct-${leg}`,
  amountMinor,
  currency: 'EUR',
  entryType: 'PRINCIPAL',
  eventTimeMs: 1_764_000_000_000,
  postedAtMs: 1_764_000_000_001,
  fingerprint: `fp-${transactionId}`,
  reversesEntryId: '',
  capturesTransactionId: '',
  refundsTransactionId: '',
  ...overrides,
});

/**
 * A decision row as versions before the slim `transaction_json` wrote it (every version before `source`,
 * `submitted_by` and `risk` was): the whole transaction record in that column.
 */
function legacyDecisionRow(scored: ScoredTransaction): DecisionRow {
  return { ...decisionRow({ scored, storedAtMs: scored.scoredAtMs }), transaction_json: auditJson(scored.transaction) };
}

async function columnsOf(table: string): Promise<string[]> {
  const rs = await client.query({
    query: 'SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {table:String}',
    query_params: { table },
    format: 'JSONEachRow',
  });
  return (await rs.json<{ name: string }>()).map((c) => c.name);
}

async function activeParts(table: string): Promise<number> {
  const rs = await client.query({
    query:
      'SELECT count() AS parts FROM system.parts WHERE database = currentDatabase() AND table = {table:String} AND active',
    query_params: { table },
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ parts: string }>();
  return Number(row?.parts);
}

describe('ClickHouseLedgerStore against chDB', () => {
  it('is idempotent in creating its tables', async () => {
    await expect(store.ensureSchema()).resolves.toBeUndefined();
  });

  it('given a data directory from before decisions.source, when the schema is ensured, then old rows read their source and new rows write it', async () => {
    // The decisions table as versions before `source` created it: today's DDL without that column.
    const current = clickhouseTableStatements().find((s) => s.startsWith('CREATE TABLE IF NOT EXISTS decisions'))!;
    const legacy = current.replace(/^\s*source\s.*\n/m, '');
    expect(legacy).not.toContain(' source ');
    await client.command({ query: `DROP TABLE ${ClickHouseTables.decisions}` });
    await client.command({ query: legacy });
    const old = scoredTransaction(1, { source: 'SIMULATOR' });
    const { source: _absent, ...legacyRow } = legacyDecisionRow(old);
    await client.insert({ table: ClickHouseTables.decisions, values: [legacyRow], format: 'JSONEachRow' });

    await store.ensureSchema();
    await store.ensureSchema(); // and again: the ALTER is idempotent too
    const fresh = scoredTransaction(2, { source: 'FILE' });
    await store.insertDecisions([{ scored: fresh, storedAtMs: fresh.scoredAtMs }]);
    const rs = await client.query({
      query: `SELECT transaction_id, source FROM ${ClickHouseTables.decisions} ORDER BY transaction_id`,
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([
      { transaction_id: old.transaction.transactionId, source: 'SIMULATOR' },
      { transaction_id: fresh.transaction.transactionId, source: 'FILE' },
    ]);
    // Both read back as the whole record: the old row's transaction_json as it is, the new one's rebuilt.
    const reader = new ClickHouseLedgerReader(client);
    for (const scored of [old, fresh])
      expect(JSON.stringify((await reader.decision(scored.transaction.transactionId))?.transaction)).toBe(
        auditJson(scored.transaction),
      );
  });

  it('given a data directory from before decisions.submitted_by and risk, when the schema is ensured, then old rows read as unknown and new rows write both', async () => {
    const current = clickhouseTableStatements().find((s) => s.startsWith('CREATE TABLE IF NOT EXISTS decisions'))!;
    const legacy = current.replace(/^\s*submitted_by\s.*\n/m, '').replace(/^\s*risk\s.*\n/m, '');
    expect(legacy).not.toContain('submitted_by');
    expect(legacy).not.toContain(' risk ');
    await client.command({ query: `DROP TABLE ${ClickHouseTables.decisions}` });
    await client.command({ query: legacy });
    // A decision scored before v4: no submitter in its transaction JSON, no risk.
    const old = scoredTransaction(1, { submittedBy: null }, { risk: null });
    const { submitted_by: _noSubmitter, risk: _noRisk, ...legacyRow } = legacyDecisionRow(old);
    await client.insert({ table: ClickHouseTables.decisions, values: [legacyRow], format: 'JSONEachRow' });

    await store.ensureSchema();
    await store.ensureSchema(); // the ALTERs are idempotent too
    const fresh = scoredTransaction(2, { submittedBy: 'ingest:0a1b2c3d' }, { score: 0.41, risk: 0.81 });
    await store.insertDecisions([{ scored: fresh, storedAtMs: fresh.scoredAtMs }]);
    const rs = await client.query({
      query: `SELECT transaction_id, submitted_by, score, risk FROM ${ClickHouseTables.decisions} ORDER BY transaction_id`,
      format: 'JSONEachRow',
    });
    const rows = await rs.json();
    expect(rows).toEqual([
      { transaction_id: old.transaction.transactionId, submitted_by: '', score: old.score, risk: null },
      { transaction_id: fresh.transaction.transactionId, submitted_by: 'ingest:0a1b2c3d', score: 0.41, risk: 0.81 },
    ]);
    // Negative control: a row that stored the model score as its risk (the fault this column fixes) is told apart.
    expect(rows).not.toEqual([rows[0], { ...(rows[1] as object), risk: 0.41 }]);
  });

  it('given a data directory from before decisions.reporting_currency and unconverted_currency, when the schema is ensured, then old rows read them as not recorded and new rows store them through the insert-once view', async () => {
    // decisions, decisions_incoming and decisions_once as the previous DDL made them: today's without the columns.
    const statements = clickhouseTableStatements();
    const previous = (prefix: string): string => {
      const statement = statements.find((s) => s.startsWith(prefix))!;
      return statement.replace(/^\s*(reporting|unconverted)_currency\s.*\n/gm, '');
    };
    const legacyTable = previous('CREATE TABLE IF NOT EXISTS decisions\n');
    expect(legacyTable).not.toMatch(/reporting_currency|unconverted_currency/);
    await client.command({ query: 'DROP VIEW decisions_once' });
    await client.command({ query: 'DROP TABLE decisions_incoming' });
    await client.command({ query: `DROP TABLE ${ClickHouseTables.decisions}` });
    await client.command({ query: legacyTable });
    await client.command({ query: previous('CREATE TABLE IF NOT EXISTS decisions_incoming ') });
    await client.command({ query: previous('CREATE MATERIALIZED VIEW IF NOT EXISTS decisions_once ') });
    expect(await columnsOf('decisions_incoming')).not.toContain('reporting_currency');
    expect(await columnsOf('decisions_incoming')).not.toContain('unconverted_currency');
    // A decision scored before v6, stored by the previous ledger-sink through the view.
    const old = scoredTransaction(1, {}, { reportingCurrency: null });
    const {
      reporting_currency: _absent,
      unconverted_currency: _alsoAbsent,
      ...legacyRow
    } = decisionRow({ scored: old, storedAtMs: old.scoredAtMs });
    await client.insert({ table: 'decisions_incoming', values: [legacyRow], format: 'JSONEachRow' });

    await store.ensureSchema();
    await store.ensureSchema(); // the ALTERs are idempotent too
    // Scored in GBP with no KES rate: the column added after reporting_currency holds the unconverted currency.
    const fresh = scoredTransaction(2, {}, { reportingCurrency: 'GBP', unconvertedCurrency: 'KES' });
    await store.insertDecisions([{ scored: fresh, storedAtMs: fresh.scoredAtMs }]);
    const rs = await client.query({
      query: `SELECT transaction_id, reporting_currency, unconverted_currency FROM ${ClickHouseTables.decisions} ORDER BY transaction_id`,
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([
      { transaction_id: old.transaction.transactionId, reporting_currency: '', unconverted_currency: '' },
      { transaction_id: fresh.transaction.transactionId, reporting_currency: 'GBP', unconverted_currency: 'KES' },
    ]);
    const stored = async (id: string) => {
      const decision = await reader.decision(id);
      return [decision?.reportingCurrency, decision?.unconvertedCurrency];
    };
    expect(await stored(old.transaction.transactionId)).toEqual([null, null]);
    expect(await stored(fresh.transaction.transactionId)).toEqual(['GBP', 'KES']);
    // And the view still stores each decision once.
    await store.insertDecisions([{ scored: fresh, storedAtMs: fresh.scoredAtMs + 1 }]);
    expect((await reader.counts()).decisions).toBe(2);
  });

  it('given a decision the ledger could not post, when stored, then its row keeps the reason and the others an empty one', async () => {
    const unpostable = scoredTransaction(3, { payeeAccountId: 'fx:EUR' });
    const ordinary = scoredTransaction(4);
    await store.insertDecisions([
      { scored: unpostable, storedAtMs: unpostable.scoredAtMs, unpostedReason: 'RESERVED_ACCOUNT_ID: fx: namespace' },
      { scored: ordinary, storedAtMs: ordinary.scoredAtMs },
    ]);
    const rs = await client.query({
      query: `SELECT transaction_id, unposted_reason FROM ${ClickHouseTables.decisions} ORDER BY transaction_id`,
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([
      { transaction_id: unpostable.transaction.transactionId, unposted_reason: 'RESERVED_ACCOUNT_ID: fx: namespace' },
      { transaction_id: ordinary.transaction.transactionId, unposted_reason: '' },
    ]);
  });

  it('given DateTime64 values, when written and read back, then every epoch millisecond is exact', async () => {
    // Millisecond edges, a leap day, the epoch, and the bounds every ClickHouse version stores.
    const times = [
      0,
      1,
      999,
      1_764_000_000_050,
      1_764_000_000_999,
      Date.UTC(2024, 1, 29, 23, 59, 59, 999),
      Date.UTC(1900, 0, 1),
      Date.UTC(2299, 11, 31, 23, 59, 59, 996),
      -1,
    ];
    const scored = times.map((ms, i) =>
      scoredTransaction(i, { eventTimeMs: ms, receivedAtMs: ms + 1 }, { scoredAtMs: ms + 2 }),
    );
    await store.insertDecisions(scored.map((s, i) => ({ scored: s, storedAtMs: times[i]! + 3 })));
    for (const [i, s] of scored.entries()) {
      const row = await reader.decision(s.transaction.transactionId);
      expect([row?.eventTimeMs, row?.receivedAtMs, row?.scoredAtMs, row?.storedAtMs]).toEqual([
        times[i],
        times[i]! + 1,
        times[i]! + 2,
        times[i]! + 3,
      ]);
    }
  });

  it('given Int64 extremes, when written and summed, then amounts and sums are exact bigints (no float, no wrap)', async () => {
    await store.insertEntries([
      entry('big', 0, -INT64_MAX),
      entry('big', 1, INT64_MAX),
      entry('min', 0, INT64_MIN),
      entry('min', 1, INT64_MAX),
      entry('min', 2, 1n),
    ]);
    expect((await reader.entriesOf('big')).map((e) => e.amountMinor)).toEqual([-INT64_MAX, INT64_MAX]);
    expect((await reader.entriesOf('min')).map((e) => e.amountMinor)).toEqual([INT64_MIN, INT64_MAX, 1n]);
    expect(await reader.imbalances()).toEqual([]);
    // Two postings crediting acct-1 with 2^63−1 each: the balance is 2^64−2, beyond Int64, read exactly via Int128.
    expect(await reader.balance('acct-1', 'EUR')).toBe(2n * INT64_MAX);
  });

  it('given entries, open and resolved holds, when balances are read, then SQL agrees exactly with the in-memory store', async () => {
    const memory = new MemoryStore();
    const leg = (tx: string, i: number, account: string, amountMinor: bigint, currency = 'EUR') => ({
      ...entry(tx, i, amountMinor, { accountId: account, currency }),
    });
    const entries = [
      leg('in', 0, 'bank', -10_000n),
      leg('in', 1, 'alice', 10_000n),
      leg('out', 0, 'alice', -2_500n),
      leg('out', 1, 'shop', 2_500n),
      leg('usd', 0, 'alice', -700n, 'USD'),
      leg('usd', 1, 'shop', 700n, 'USD'),
    ];
    const hold = (tx: string, amountMinor: bigint) =>
      placeHold(
        tx,
        `fp-${tx}`,
        [leg(tx, 0, 'alice', -amountMinor), leg(tx, 1, 'shop', amountMinor)],
        1_764_000_000_000,
        1000,
      );
    const holds = [hold('open', 1_000n), hold('voided', 4_000n)];
    const resolutions = [
      {
        transactionId: 'voided',
        resolution: 'VOIDED',
        cause: 'FRAUD',
        resolvedBy: 'a-1',
        resolvedAtMs: 1_764_000_000_500,
      },
    ] as const;
    for (const target of [store, memory]) {
      await target.insertEntries(entries);
      await target.insertHolds(holds);
      await target.insertHoldResolutions(resolutions);
    }
    const expected = [
      {
        accountId: 'alice',
        rows: 6n, // 3 entries, 2 hold legs, 1 resolution of a hold with a leg on alice
        balances: [
          { currency: 'EUR', postedMinor: 7_500n, pendingDebitsMinor: 1_000n },
          { currency: 'USD', postedMinor: -700n, pendingDebitsMinor: 0n },
        ],
      },
      {
        accountId: 'shop',
        rows: 5n, // 2 entries, 2 hold legs, 1 resolution
        balances: [
          { currency: 'EUR', postedMinor: 2_500n, pendingDebitsMinor: 0n },
          { currency: 'USD', postedMinor: 700n, pendingDebitsMinor: 0n },
        ],
      },
    ];
    expect(await store.accountBalances(['shop', 'alice', 'nobody'])).toEqual(expected);
    expect(await memory.accountBalances(['shop', 'alice', 'nobody'])).toEqual(expected);
  });

  it('given an unbalanced posting planted past the domain, when checked, then the SQL check names it and its imbalance', async () => {
    await store.insertEntries([entry('ok', 0, -5n), entry('ok', 1, 5n), entry('bad', 0, -5n), entry('bad', 1, 4n)]);
    expect(await reader.imbalances()).toEqual([{ transactionId: 'bad', currency: 'EUR', sumMinor: -1n }]);
  });

  it('given one insert of 8,000 entries, then it lands as exactly one part (all rows or none)', async () => {
    const rows = Array.from({ length: 4000 }, (_, i) => [
      entry(`p-${i}`, 0, -BigInt(i + 1)),
      entry(`p-${i}`, 1, BigInt(i + 1)),
    ]).flat();
    await store.insertEntries(rows);
    expect(await activeParts(ClickHouseTables.ledgerEntries)).toBe(1);
    expect((await reader.counts()).entries).toBe(8000);
  });

  it('given ids with quotes, backslashes and SQL, when looked up in chunks, then each is matched exactly (parameters, not string SQL)', async () => {
    const ids = ["o'brien", 'back\\slash', "x') OR 1=1 --", 'plain', 'ünïcode-€', 'tab\tid', 'last'];
    await store.insertEntries(ids.map((id) => entry(id, 0, 0n)));
    await store.insertDecisions(
      ids.slice(0, 2).map((id, i) => ({
        scored: scoredTransaction(i, { transactionId: id, fingerprint: `fp-${id}` }),
        storedAtMs: 0,
      })),
    );
    const found = await store.storedFingerprints([...ids, 'missing', "o'brien"]);
    expect(new Map([...found.ledger].sort())).toEqual(new Map(ids.map((id) => [id, `fp-${id}`] as const).sort()));
    expect([...found.decisions.keys()].sort()).toEqual(["o'brien", 'back\\slash'].sort());
  });

  it('given an unreachable ClickHouse, when used, then it rejects with a retriable LEDGER_STORE_UNAVAILABLE', async () => {
    const unreachable = createClient({ url: 'http://127.0.0.1:9', log: { level: ClickHouseLogLevel.OFF } });
    try {
      const down = new ClickHouseLedgerStore(unreachable, { lookupChunkIds: 10 });
      await expect(down.storedFingerprints(['a'])).rejects.toMatchObject({
        code: 'LEDGER_STORE_UNAVAILABLE',
        retriable: true,
      });
      await expect(down.insertEntries([entry('a', 0, 1n)])).rejects.toMatchObject({
        code: 'LEDGER_STORE_UNAVAILABLE',
        retriable: true,
      });
    } finally {
      await unreachable.close();
    }
  });
});
