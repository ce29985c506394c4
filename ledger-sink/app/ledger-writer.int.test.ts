import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { BatchHandler, RecordBatch, SubscribeOptions, Subscription } from '../../platform/bus.js';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { ManualClock } from '../../platform/clock.js';
import { silentLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { ClickHouseTables } from '../../schemas/clickhouse.js';
import { type Codec, createCodec } from '../../schemas/codec.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import { transactionExtraOf } from '../../schemas/decision-transaction.js';
import type { AnalystLabel, DeadLetter, ScoredTransaction, ShadowDecision } from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { HeaderNames, Topics } from '../../schemas/topics.js';
import { ClickHouseLedgerReader } from '../testing/clickhouse-ledger-reader.js';
import { ClickHouseLedgerStore } from '../adapters/clickhouse-store.js';
import { LedgerBatchHandler } from './ledger-writer.js';
import { startLedgerSink } from '../main.js';
import { auditJson } from '../domain/audit.js';
import { INT64_MAX } from '../domain/postings.js';
import type { StoredFingerprints } from '../domain/idempotency.js';
import type { LedgerStore } from '../ports.js';
import { type CapturingBus, batchOf, capturingBus, scoredTransaction } from '../testing/fixtures.js';

// chDB binds one data directory per process: one temp directory for this file, closed and removed after it.
const dataDir = mkdtempSync(join(tmpdir(), 'vigil-ledger-consumer-'));
const registry = new EmbeddedSchemaRegistry();
const clock = new ManualClock(1_764_100_000_000);
let client: ClickHouseClient;
let store: ClickHouseLedgerStore;
let reader: ClickHouseLedgerReader;
let scoredCodec: Codec<ScoredTransaction>;
let labelCodec: Codec<AnalystLabel>;
let deadLetterCodec: Codec<DeadLetter>;

beforeAll(async () => {
  client = createClickHouseClient(`embedded:${dataDir}`);
  store = new ClickHouseLedgerStore(client, { lookupChunkIds: 1000 });
  reader = new ClickHouseLedgerReader(client);
  await store.ensureSchema();
  scoredCodec = await createCodec(registry, Topics.transactionsScored);
  labelCodec = await createCodec(registry, Topics.analystLabels);
  deadLetterCodec = await createCodec(registry, Topics.deadLetters);
});

afterAll(async () => {
  await client.close();
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(async () => {
  for (const table of Object.values(ClickHouseTables))
    await client.command({ query: `TRUNCATE TABLE IF EXISTS ${table}` });
});

interface Harness {
  readonly handler: LedgerBatchHandler;
  readonly bus: CapturingBus;
  readonly metrics: MetricsRegistry;
}

async function harness(storeForHandler: LedgerStore = store): Promise<Harness> {
  const bus = capturingBus();
  const metrics = new MetricsRegistry();
  const deadLetters = await DeadLetterWriter.create(bus, registry, 'ledger-sink', clock);
  const handler = new LedgerBatchHandler({
    store: storeForHandler,
    scoredCodec,
    labelCodec,
    deadLetters,
    logger: silentLogger,
    metrics,
    clock,
  });
  return { handler, bus, metrics };
}

const scoredBatch = (items: readonly ScoredTransaction[], firstOffset = 0): RecordBatch =>
  batchOf(
    Topics.transactionsScored,
    items.map((s) => scoredCodec.encode(s)),
    { firstOffset, keys: items.map((s) => s.transaction.payerAccountId) },
  );

async function deadLettersOf(bus: CapturingBus): Promise<DeadLetter[]> {
  return Promise.all((bus.sent.get(Topics.deadLetters) ?? []).map((r) => deadLetterCodec.decode(r.value)));
}

/** Everything that must not move when a batch is replayed: row counts, per-currency totals and turnover. */
async function ledgerSnapshot() {
  return {
    counts: await reader.counts(),
    totals: await reader.totalsByCurrency(),
    turnover: await reader.turnoverByCurrency(),
  };
}

/** The double-entry invariants, checked in SQL over the whole ledger. */
async function expectSoundLedger(): Promise<void> {
  expect(await reader.imbalances()).toEqual([]);
  for (const total of (await reader.totalsByCurrency()).values()) expect(total).toBe(0n);
  expect(await reader.duplicatedEntryIds()).toEqual([]);
  expect(await reader.duplicatedDecisionIds()).toEqual([]);
  expect(await reader.fingerprintCollisions()).toEqual([]);
}

const mixed = (count: number, from = 0): ScoredTransaction[] =>
  Array.from({ length: count }, (_, i) => scoredTransaction(from + i));

describe('ledger-sink batch handler over chDB', () => {
  it('given 2,000 mixed scored transactions, when handled, then every posting balances per currency and every decision is stored', async () => {
    const { handler } = await harness();
    const items = mixed(2000);
    const batch = scoredBatch(items);

    const started = performance.now();
    const report = await handler.handle(batch);
    const seconds = (performance.now() - started) / 1000;
    const rows = report.entriesWritten + report.decisionsWritten;
    console.log(
      `ledger-sink: 2000 scored transactions → ${report.entriesWritten} entries + ${report.decisionsWritten} decisions in ${(seconds * 1000).toFixed(0)} ms: ` +
        `${Math.round(2000 / seconds)} tx/s, ${Math.round(rows / seconds)} rows/s (informational, not asserted)`,
    );

    // APPROVE books now; a REVIEW places a hold and books on its verdict (posting-lifecycle.int.test.ts); an
    // AUTHORIZATION let through places a hold its captures settle.
    const posting = items.filter((s) => s.decision === 'APPROVE' && s.transaction.kind !== 'AUTHORIZATION');
    const held = items.filter(
      (s) =>
        (s.decision === 'REVIEW' && s.transaction.kind !== 'AUTHORIZATION') ||
        (s.decision !== 'DECLINE' && s.transaction.kind === 'AUTHORIZATION'),
    );
    const expectedEntries = posting.reduce(
      (n, s) =>
        n + (s.transaction.settlement !== null && s.transaction.settlement.currency !== s.transaction.currency ? 4 : 2),
      0,
    );
    expect(report).toMatchObject({
      records: 2000,
      deadLettered: 0,
      decisionsWritten: 2000,
      postedTransactions: posting.length,
      entriesWritten: expectedEntries,
      holdsPlaced: held.length,
      duplicates: 0,
      conflicts: 0,
    });
    expect(held.length).toBeGreaterThan(0);
    expect(await reader.counts()).toEqual({
      entries: expectedEntries,
      postedTransactions: posting.length,
      decisions: 2000,
      conflicts: 0,
      labels: 0,
    });
    await expectSoundLedger();
    expect([...(await reader.totalsByCurrency()).keys()]).toEqual(['EUR', 'GBP', 'JPY', 'USD']);
  });

  it('given a cross-currency transaction, when posted, then the FX legs are stored as computed', async () => {
    const { handler } = await harness();
    const fx = scoredTransaction(
      1,
      {
        transactionId: 'tx-fx',
        kind: 'PURCHASE',
        amountMinor: 10_000n,
        currency: 'EUR',
        settlement: { amountMinor: 8_631n, currency: 'GBP' },
      },
      { decision: 'APPROVE' },
    );
    await handler.handle(scoredBatch([fx]));
    expect(await reader.entriesOf('tx-fx')).toEqual([
      {
        entryId: 'tx-fx/0',
        accountId: fx.transaction.payerAccountId,
        amountMinor: -8_631n,
        currency: 'GBP',
        entryType: 'PRINCIPAL',
      },
      { entryId: 'tx-fx/1', accountId: 'fx:GBP', amountMinor: 8_631n, currency: 'GBP', entryType: 'FX' },
      { entryId: 'tx-fx/2', accountId: 'fx:EUR', amountMinor: -10_000n, currency: 'EUR', entryType: 'FX' },
      {
        entryId: 'tx-fx/3',
        accountId: fx.transaction.payeeAccountId,
        amountMinor: 10_000n,
        currency: 'EUR',
        entryType: 'PRINCIPAL',
      },
    ]);
    await expectSoundLedger();
  });

  it('given a batch already handled, when it is redelivered, then no count, total or turnover changes', async () => {
    const { handler, metrics } = await harness();
    const batch = scoredBatch(mixed(500));
    await handler.handle(batch);
    const before = await ledgerSnapshot();

    const replay = await handler.handle(batch);

    expect(replay).toMatchObject({ postedTransactions: 0, entriesWritten: 0, decisionsWritten: 0, duplicates: 500 });
    expect(await ledgerSnapshot()).toEqual(before);
    expect(metrics.render()).toContain('vigil_ledger_duplicates_total{topic="tx.scored"} 500');
    await expectSoundLedger();
  });

  it('given a batch with internal duplicates, when handled (and replayed), then each transaction is stored once', async () => {
    const { handler: once } = await harness();
    const unique = mixed(300, 1000);
    await once.handle(scoredBatch(unique));
    const expected = await ledgerSnapshot();
    for (const table of Object.values(ClickHouseTables)) await client.command({ query: `TRUNCATE TABLE ${table}` });

    const { handler } = await harness();
    const doubled = scoredBatch([...unique, ...unique.slice(0, 150), ...unique.slice(100, 300).reverse()]);
    const report = await handler.handle(doubled);
    expect(report).toMatchObject({ decisionsWritten: 300, duplicates: 350, conflicts: 0 });
    expect(await ledgerSnapshot()).toEqual(expected);
    await handler.handle(doubled);
    expect(await ledgerSnapshot()).toEqual(expected);
    await expectSoundLedger();
  });

  it('given a posted transaction id arriving again with other content, then a conflict is recorded and dead-lettered, never posted', async () => {
    const { handler, bus, metrics } = await harness();
    const original = scoredTransaction(
      7,
      { transactionId: 'tx-dup', kind: 'PURCHASE', amountMinor: 1_000n, currency: 'EUR', settlement: null },
      { decision: 'APPROVE' },
    );
    await handler.handle(scoredBatch([original]));
    const before = await ledgerSnapshot();

    const tampered = scoredTransaction(
      7,
      { ...original.transaction, amountMinor: 9_999n, fingerprint: 'e'.repeat(64) },
      { decision: 'APPROVE' },
    );
    const report = await handler.handle(scoredBatch([tampered], 1));
    expect(report).toMatchObject({ conflicts: 1, postedTransactions: 0, decisionsWritten: 0, deadLettered: 1 });
    expect(await reader.conflicts()).toEqual([
      {
        transactionId: 'tx-dup',
        postedFingerprint: original.transaction.fingerprint,
        conflictingFingerprint: 'e'.repeat(64),
      },
    ]);
    expect((await reader.entriesOf('tx-dup')).map((e) => e.amountMinor)).toEqual([-1_000n, 1_000n]);
    expect((await ledgerSnapshot()).totals).toEqual(before.totals);
    expect((await ledgerSnapshot()).turnover).toEqual(before.turnover);
    expect((await reader.decision('tx-dup'))?.fingerprint).toBe(original.transaction.fingerprint);

    const [letter] = await deadLettersOf(bus);
    expect(letter).toMatchObject({
      stage: 'ledger-sink',
      errorCode: 'LEDGER_CONFLICT',
      sourceTopic: Topics.transactionsScored,
      sourceOffset: 1n,
    });
    expect(letter?.originalBytes.equals(scoredCodec.encode(tampered))).toBe(true);
    expect(metrics.render()).toContain('vigil_ledger_conflicts_total 1');

    // Redelivered: reported to the dead-letter topic again (at least once), recorded in the table once.
    await handler.handle(scoredBatch([tampered], 1));
    expect(await reader.conflicts()).toHaveLength(1);
    await expectSoundLedger();
  });

  it('given the same id twice in one batch with different content, then the first is posted and the second is a conflict', async () => {
    const { handler } = await harness();
    const first = scoredTransaction(
      3,
      { transactionId: 'tx-twin', kind: 'TRANSFER', settlement: null },
      { decision: 'APPROVE' },
    );
    const second = scoredTransaction(
      3,
      { ...first.transaction, fingerprint: 'd'.repeat(64), payeeAccountId: 'mule-1' },
      { decision: 'APPROVE' },
    );
    const report = await handler.handle(scoredBatch([first, second]));
    expect(report).toMatchObject({ postedTransactions: 1, conflicts: 1 });
    expect((await reader.entriesOf('tx-twin')).map((e) => e.accountId)).toEqual([
      first.transaction.payerAccountId,
      first.transaction.payeeAccountId,
    ]);
    await expectSoundLedger();
  });

  it('given a declined transaction, then its decision row is stored and no entries are posted', async () => {
    const { handler, metrics } = await harness();
    const declined = scoredTransaction(9, { transactionId: 'tx-declined' }, { decision: 'DECLINE', score: 0.97 });
    await handler.handle(scoredBatch([declined]));
    expect(await reader.entriesOf('tx-declined')).toEqual([]);
    expect(await reader.decision('tx-declined')).toMatchObject({ decision: 'DECLINE', score: 0.97 });
    expect(metrics.render()).toContain('vigil_ledger_not_posted_total{reason="declined"} 1');
  });

  it('given a decision, then its audit row reproduces every input exactly (times to the millisecond, bigint money, JSON)', async () => {
    const { handler } = await harness();
    clock.set(1_764_100_000_321);
    const s = scoredTransaction(
      11,
      {
        transactionId: 'tx-audit',
        amountMinor: INT64_MAX,
        settlement: null,
        kind: 'PURCHASE',
        eventTimeMs: 1_764_000_000_007,
        receivedAtMs: 1_764_000_000_999,
      },
      { decision: 'REVIEW', scoredAtMs: 1_764_000_001_001, reportingCurrency: 'CHF' },
    );
    await handler.handle(scoredBatch([s]));
    const row = await reader.decision('tx-audit');
    expect(row).toEqual({
      transactionId: 'tx-audit',
      fingerprint: s.transaction.fingerprint,
      decision: 'REVIEW',
      amountMinor: INT64_MAX,
      score: s.score,
      reasonsJson: auditJson(s.reasons),
      reasonCodes: ['R_VELOCITY_1H', 'M_AMOUNT_VS_HISTORY'],
      rulesFired: ['R_VELOCITY_1H'],
      featuresJson: auditJson(s.features),
      reportingCurrency: 'CHF',
      unconvertedCurrency: null,
      modelVersion: 'autoencoder-2025.11',
      rulesVersion: 'rules-7',
      transactionJson: auditJson(transactionExtraOf(s.transaction)),
      transaction: JSON.parse(auditJson(s.transaction)) as unknown,
      eventTimeMs: 1_764_000_000_007,
      receivedAtMs: 1_764_000_000_999,
      scoredAtMs: 1_764_000_001_001,
      storedAtMs: 1_764_100_000_321,
    });
    // Read back from the columns and the slim transaction_json: the whole record, exact, in its field order.
    expect(JSON.stringify(row!.transaction)).toBe(auditJson(s.transaction));
    expect(row!.transaction).toMatchObject({ amountMinor: INT64_MAX.toString(), transactionId: 'tx-audit' });
    // A REVIEW books nothing yet: its legs wait, exact to the last unit, in its hold.
    expect(await reader.entriesOf('tx-audit')).toEqual([]);
    const hold = (await store.transactionLedgers(['tx-audit'])).get('tx-audit')?.hold;
    expect(hold?.legs.map((e) => e.amountMinor)).toEqual([-INT64_MAX, INT64_MAX]);
  });

  it('given corrupt records among good ones, then each corrupt one is dead-lettered with its reason and the rest is posted', async () => {
    const { handler, bus } = await harness();
    const good = mixed(4, 200);
    const encoded = good.map((s) => scoredCodec.encode(s));
    const truncated = encoded[0]!.subarray(0, encoded[0]!.length - 3);
    const badMagic = Buffer.from([7, ...encoded[1]!.subarray(1)]);
    const batch = batchOf(
      Topics.transactionsScored,
      [encoded[0]!, truncated, encoded[1]!, badMagic, encoded[2]!, encoded[3]!],
      { firstOffset: 100 },
    );

    const report = await handler.handle(batch);

    expect(report).toMatchObject({ records: 6, deadLettered: 2, decisionsWritten: 4 });
    const letters = await deadLettersOf(bus);
    expect(letters.map((l) => [l.errorCode, l.sourceOffset])).toEqual([
      ['CORRUPT_BODY', 101n],
      ['BAD_MAGIC_BYTE', 103n],
    ]);
    expect(letters[0]?.originalBytes.equals(truncated)).toBe(true);
    expect((bus.sent.get(Topics.deadLetters) ?? []).map((r) => r.headers?.[HeaderNames.dlqSourceTopic])).toEqual([
      Topics.transactionsScored,
      Topics.transactionsScored,
    ]);
    expect((await reader.counts()).decisions).toBe(4);
    await expectSoundLedger();
  });

  it('given a crash between the ledger insert and the decisions insert, when redelivered, then the decisions are repaired and nothing doubles', async () => {
    let crash = true;
    const crashing: LedgerStore = Object.assign(Object.create(store) as LedgerStore, {
      insertDecisions: (rows: Parameters<LedgerStore['insertDecisions']>[0]) =>
        crash ? Promise.reject(new Error('process killed between inserts')) : store.insertDecisions(rows),
    });
    const { handler } = await harness(crashing);
    const batch = scoredBatch(mixed(200, 5000));
    await expect(handler.handle(batch)).rejects.toThrow('process killed between inserts');
    const afterCrash = await reader.counts();
    expect(afterCrash.decisions).toBe(0);
    expect(afterCrash.entries).toBeGreaterThan(0);

    crash = false;
    const report = await handler.handle(batch);
    expect(report).toMatchObject({ entriesWritten: 0, decisionsWritten: 200 });
    expect((await reader.counts()).entries).toBe(afterCrash.entries);
    await expectSoundLedger();
  });

  it('given analyst labels (one repeated), then each is stored once with who and when', async () => {
    const { handler } = await harness();
    const label: AnalystLabel = {
      transactionId: 'tx-000001',
      label: 'FRAUD',
      labelledBy: 'analyst-7',
      labelledAtMs: 1_764_000_200_123,
      transactionEventTimeMs: 1_764_000_000_000,
      payerAccountId: 'acct-1',
      cardToken: 'tok_abc',
      terminalId: null,
      note: 'confirmed with customer',
    };
    const chargeback: AnalystLabel = {
      ...label,
      labelledBy: 'chargeback',
      labelledAtMs: 1_764_000_900_000,
      note: null,
    };
    const batch = batchOf(
      Topics.analystLabels,
      [label, chargeback, label].map((l) => labelCodec.encode(l)),
    );
    await expect(handler.handle(batch)).resolves.toMatchObject({ labelsWritten: 2, duplicates: 1 });
    await expect(handler.handle(batch)).resolves.toMatchObject({ labelsWritten: 0, duplicates: 3 });
    const rs = await client.query({
      query: 'SELECT labelled_by, toUnixTimestamp64Milli(labelled_at) AS at, note FROM analyst_labels ORDER BY at',
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([
      { labelled_by: 'analyst-7', at: '1764000200123', note: 'confirmed with customer' },
      { labelled_by: 'chargeback', at: '1764000900000', note: '' },
    ]);
  });

  /** A store that claims nothing was ever stored: the fault the idempotency check exists to prevent. */
  const amnesiacOver = (inner: LedgerStore): LedgerStore =>
    Object.assign(Object.create(inner) as LedgerStore, {
      storedFingerprints: (): Promise<StoredFingerprints> =>
        Promise.resolve({
          ledger: new Map(),
          decisions: new Map(),
          decidedAs: new Map(),
          held: new Set(),
          labelled: new Set(),
          unposted: new Set(),
        }),
    });

  it('given the idempotency lookup bypassed, when a batch is redelivered, then the insert-once tables still store nothing twice', async () => {
    const { handler } = await harness();
    const batch = scoredBatch(mixed(100, 7000));
    await handler.handle(batch);
    const before = await ledgerSnapshot();

    const { handler: faulty } = await harness(amnesiacOver(store));
    const report = await faulty.handle(batch);

    // The handler believes it wrote everything again; the inserts skipped every row already stored.
    expect(report.decisionsWritten).toBe(100);
    expect(await ledgerSnapshot()).toEqual(before);
    await expectSoundLedger();
  });

  describe('the checks can fail', () => {
    it('given the idempotency lookup bypassed and plain inserts, when a batch is redelivered, then the same SQL checks catch the double count', async () => {
      const { handler } = await harness();
      const batch = scoredBatch(mixed(100, 7000));
      await handler.handle(batch);
      const before = await ledgerSnapshot();
      await expectSoundLedger();

      // Both protections off: the look-up, and the insert-once tables (inserts straight into the tables).
      const plain = new ClickHouseLedgerStore(client, { lookupChunkIds: 1000, insertOnce: false });
      const { handler: faulty } = await harness(amnesiacOver(plain));
      await faulty.handle(batch);

      const after = await ledgerSnapshot();
      expect(after).not.toEqual(before);
      expect(after.counts.entries).toBe(2 * before.counts.entries);
      for (const [currency, turnover] of before.turnover) expect(after.turnover.get(currency)).toBe(2n * turnover);
      expect((await reader.duplicatedEntryIds()).length).toBe(before.counts.entries);
      expect((await reader.duplicatedDecisionIds()).length).toBe(100);
      await expect(expectSoundLedger()).rejects.toThrow();
    });

    it('given an unbalanced posting planted past the domain, then the balance check reports it', async () => {
      const { handler } = await harness();
      await handler.handle(scoredBatch(mixed(50, 8000)));
      await store.insertEntries([
        {
          entryId: 'planted/0',
          transactionId: 'planted',
          leg: 0,
          accountId: 'a',
          amountMinor: -100n,
          currency: 'EUR',
          entryType: 'PRINCIPAL',
          eventTimeMs: 0,
          postedAtMs: 0,
          fingerprint: 'p',
          reversesEntryId: '',
          capturesTransactionId: '',
          refundsTransactionId: '',
        },
        {
          entryId: 'planted/1',
          transactionId: 'planted',
          leg: 1,
          accountId: 'b',
          amountMinor: 99n,
          currency: 'EUR',
          entryType: 'PRINCIPAL',
          eventTimeMs: 0,
          postedAtMs: 0,
          fingerprint: 'p',
          reversesEntryId: '',
          capturesTransactionId: '',
          refundsTransactionId: '',
        },
      ]);
      expect(await reader.imbalances()).toEqual([{ transactionId: 'planted', currency: 'EUR', sumMinor: -1n }]);
      expect((await reader.totalsByCurrency()).get('EUR')).toBe(-1n);
      await expect(expectSoundLedger()).rejects.toThrow();
    });
  });
});

describe('startLedgerSink', () => {
  it('creates the tables, subscribes ledger-sink to tx.scored and analyst.labels after-batch (shadow decisions apart), and stops on close', async () => {
    await client.command({ query: `DROP TABLE IF EXISTS ${ClickHouseTables.decisions}` });
    const bus = capturingBus();
    const subscribed: Array<{ options: SubscribeOptions; handler: BatchHandler }> = [];
    let closed = 0;
    const subscription: Subscription = {
      commit: () => Promise.resolve(),
      positions: () => [],
      progress: () => ({ lag: 0, handledRecords: 0 }),
      close: () => Promise.resolve(void (closed += 1)),
    };
    bus.subscribe = (options, handler) => {
      subscribed.push({ options, handler });
      return Promise.resolve(subscription);
    };
    // An empty chart of accounts: read to its end at once.
    bus.endOffsets = () => Promise.resolve([0, 0]);
    // Topic creation is the composition root's, with VIGIL_PARTITIONS: the stage must not ask for a count of its own.
    const topicsAskedFor: string[] = [];
    bus.ensureTopics = (specs) => Promise.resolve(void topicsAskedFor.push(...specs.map((spec) => spec.topic)));

    const stage = await startLedgerSink({
      bus,
      registry,
      logger: silentLogger,
      metrics: new MetricsRegistry(),
      clock,
      clickhouse: client,
      env: { VIGIL_LEDGER_MAX_BATCH_RECORDS: '500' },
    });

    expect(stage.isReady()).toBe(true);
    expect(topicsAskedFor).toEqual([]);
    // The chart of accounts first, whole, in a group of this process's own; then the decisions and verdicts.
    expect(subscribed.map((s) => s.options.topics)).toEqual([
      [Topics.accounts],
      [Topics.transactionsScored, Topics.analystLabels],
      [Topics.shadowDecisions],
    ]);
    expect(subscribed[0]!.options).toMatchObject({ commitMode: 'manual', startFrom: 'earliest' });
    expect(subscribed[0]!.options.groupId).toMatch(/^ledger-sink\.accounts\.[0-9a-f-]{36}$/);
    expect(subscribed[1]!.options).toMatchObject({
      groupId: 'ledger-sink',
      topics: [Topics.transactionsScored, Topics.analystLabels],
      commitMode: 'after-batch',
      maxBatchRecords: 500,
    });
    await subscribed[1]!.handler(scoredBatch(mixed(10, 9000)));
    expect((await reader.counts()).decisions).toBe(10);
    // The challenger's decisions in a group of their own, stored in shadow_decisions once however often delivered.
    expect(subscribed[2]!.options).toMatchObject({ groupId: 'ledger-sink.shadow', commitMode: 'after-batch' });
    const shadowCodec = await createCodec<ShadowDecision>(registry, Topics.shadowDecisions);
    const shadow: ShadowDecision = {
      transactionId: 'tx-shadow-1',
      eventTimeMs: Date.UTC(2026, 11, 7),
      scoredAtMs: Date.UTC(2026, 11, 7, 0, 0, 1),
      championDecision: 'APPROVE',
      championScore: 0.1,
      championRisk: 0.1,
      championReasonCodes: [],
      championModelVersion: 'm1',
      championRulesVersion: 'r1',
      challengerDecision: 'REVIEW',
      challengerScore: 0.1,
      challengerRisk: 0.7,
      challengerReasonCodes: ['R_X'],
      challengerModelVersion: 'm1',
      challengerRulesVersion: 'r2',
    };
    const shadowBatch = batchOf(Topics.shadowDecisions, [shadowCodec.encode(shadow)]);
    await subscribed[2]!.handler(shadowBatch);
    await subscribed[2]!.handler(shadowBatch);
    const stored = await client.query({
      query: `SELECT transaction_id, challenger_decision FROM ${ClickHouseTables.shadowDecisions}`,
      format: 'JSONEachRow',
    });
    expect(await stored.json()).toEqual([{ transaction_id: 'tx-shadow-1', challenger_decision: 'REVIEW' }]);
    await Promise.all([stage.close(), stage.close()]);
    expect(stage.isReady()).toBe(false);
    expect(closed).toBe(3); // each subscription once
  });

  it('fails fast on a bad config value, naming the key', async () => {
    await expect(
      startLedgerSink({
        bus: capturingBus(),
        registry,
        logger: silentLogger,
        metrics: new MetricsRegistry(),
        clock,
        clickhouse: client,
        env: { VIGIL_LEDGER_MAX_BATCH_RECORDS: '0' },
      }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID', details: { key: 'VIGIL_LEDGER_MAX_BATCH_RECORDS' } });
  });
});
