import { DEFAULT_HOLD_SETTINGS } from '../domain/holds.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { RecordBatch } from '../../platform/bus.js';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { ManualClock } from '../../platform/clock.js';
import { silentLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { ClickHouseTables } from '../../schemas/clickhouse.js';
import { type Codec, createCodec } from '../../schemas/codec.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import type { AnalystLabel, LabelValue, ScoredTransaction } from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import { ClickHouseLedgerStore } from '../adapters/clickhouse-store.js';
import { ClickHouseLedgerReader } from '../testing/clickhouse-ledger-reader.js';
import { batchOf, capturingBus, scoredTransaction } from '../testing/fixtures.js';
import { LedgerBatchHandler } from './ledger-writer.js';

// Two-phase postings on the real engine: holds, verdicts, reversals and expiry written and read back by SQL.
const dataDir = mkdtempSync(join(tmpdir(), 'vigil-ledger-lifecycle-'));
const registry = new EmbeddedSchemaRegistry();
const START_MS = 1_764_100_000_000;
const TIMEOUT_MS = 3_600_000;
let client: ClickHouseClient;
let store: ClickHouseLedgerStore;
let reader: ClickHouseLedgerReader;
let scoredCodec: Codec<ScoredTransaction>;
let labelCodec: Codec<AnalystLabel>;

beforeAll(async () => {
  client = createClickHouseClient(`embedded:${dataDir}`);
  store = new ClickHouseLedgerStore(client, { lookupChunkIds: 2 }); // 2: the lookups must also work in chunks
  reader = new ClickHouseLedgerReader(client);
  await store.ensureSchema();
  scoredCodec = await createCodec(registry, Topics.transactionsScored);
  labelCodec = await createCodec(registry, Topics.analystLabels);
}, 120_000);

afterAll(async () => {
  await client.close();
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(async () => {
  for (const table of Object.values(ClickHouseTables))
    await client.command({ query: `TRUNCATE TABLE IF EXISTS ${table}` });
});

async function harness() {
  const clock = new ManualClock(START_MS);
  const metrics = new MetricsRegistry();
  const handler = new LedgerBatchHandler({
    store,
    scoredCodec,
    labelCodec,
    deadLetters: await DeadLetterWriter.create(capturingBus(), registry, 'ledger-sink', clock),
    logger: silentLogger,
    metrics,
    clock,
    holds: { ...DEFAULT_HOLD_SETTINGS, reviewTimeoutMs: TIMEOUT_MS, expiryPolicy: 'void' },
  });
  return { handler, clock, metrics };
}

/** A same-currency purchase (scoredTransaction(0) is a card PURCHASE) numbered `n`, with the given decision. */
const purchase = (n: number, decision: ScoredTransaction['decision']): ScoredTransaction =>
  scoredTransaction(0, { transactionId: `tx-${n}`, amountMinor: 10_000n, settlement: null }, { decision });

const decided = (items: readonly ScoredTransaction[]): RecordBatch =>
  batchOf(
    Topics.transactionsScored,
    items.map((s) => scoredCodec.encode(s)),
  );

const verdicts = (items: ReadonlyArray<[ScoredTransaction, LabelValue, number]>): RecordBatch =>
  batchOf(
    Topics.analystLabels,
    items.map(([s, label, atMs]) =>
      labelCodec.encode({
        transactionId: s.transaction.transactionId,
        label,
        labelledBy: 'analyst:ana',
        labelledAtMs: atMs,
        transactionEventTimeMs: s.transaction.eventTimeMs,
        payerAccountId: s.transaction.payerAccountId,
        cardToken: null,
        terminalId: null,
        note: null,
      }),
    ),
  );

/** Every row of the three ledger tables, in a stable order, as the SQL returns them. */
async function rows() {
  const select = async (sql: string) =>
    (await client.query({ query: sql, format: 'JSONEachRow' })).json<Record<string, string>>();
  return {
    entries: await select(
      `SELECT entry_id, account_id, amount_minor, reverses_entry_id, toUnixTimestamp64Milli(posted_at) AS posted_at_ms FROM ${ClickHouseTables.ledgerEntries} ORDER BY entry_id`,
    ),
    holds: await select(
      `SELECT transaction_id, leg, amount_minor FROM ${ClickHouseTables.ledgerHolds} ORDER BY transaction_id, leg`,
    ),
    resolutions: await select(
      `SELECT transaction_id, resolution, cause, resolved_by FROM ${ClickHouseTables.ledgerHoldResolutions} ORDER BY transaction_id`,
    ),
  };
}

describe('two-phase postings over chDB', () => {
  it('given REVIEWs, when verdicts arrive, then GENUINE posts a hold at booking time, FRAUD voids one, and FRAUD on booked money reverses it once', async () => {
    const { handler, clock } = await harness();
    const [toPost, toVoid, approved] = [purchase(1, 'REVIEW'), purchase(2, 'REVIEW'), purchase(3, 'APPROVE')];
    const report = await handler.handle(decided([toPost, toVoid, approved]));
    expect(report).toMatchObject({ postedTransactions: 1, holdsPlaced: 2 });
    expect((await rows()).entries).toHaveLength(2); // only the approval books

    clock.advance(60_000);
    const first = await handler.handle(
      verdicts([
        [toPost, 'GENUINE', clock.nowMs()],
        [toVoid, 'FRAUD', clock.nowMs()],
        [approved, 'FRAUD', clock.nowMs()],
      ]),
    );
    expect(first.outcomes).toMatchObject({ hold_posted: 1, hold_voided: 1, reversed: 1 });
    clock.advance(60_000);
    const later = await handler.handle(verdicts([[toPost, 'FRAUD', clock.nowMs()]]));
    expect(later.outcomes).toMatchObject({ reversed: 1 });

    const after = await rows();
    const booking = String(START_MS + 60_000);
    const reversal = String(START_MS + 120_000);
    expect(after.entries).toEqual([
      {
        entry_id: 'tx-1/0',
        account_id: toPost.transaction.payerAccountId,
        amount_minor: '-10000',
        reverses_entry_id: '',
        posted_at_ms: booking,
      },
      {
        entry_id: 'tx-1/1',
        account_id: toPost.transaction.payeeAccountId,
        amount_minor: '10000',
        reverses_entry_id: '',
        posted_at_ms: booking,
      },
      {
        entry_id: 'tx-1/r0',
        account_id: toPost.transaction.payerAccountId,
        amount_minor: '10000',
        reverses_entry_id: 'tx-1/0',
        posted_at_ms: reversal,
      },
      {
        entry_id: 'tx-1/r1',
        account_id: toPost.transaction.payeeAccountId,
        amount_minor: '-10000',
        reverses_entry_id: 'tx-1/1',
        posted_at_ms: reversal,
      },
      {
        entry_id: 'tx-3/0',
        account_id: approved.transaction.payerAccountId,
        amount_minor: '-10000',
        reverses_entry_id: '',
        posted_at_ms: String(START_MS),
      },
      {
        entry_id: 'tx-3/1',
        account_id: approved.transaction.payeeAccountId,
        amount_minor: '10000',
        reverses_entry_id: '',
        posted_at_ms: String(START_MS),
      },
      {
        entry_id: 'tx-3/r0',
        account_id: approved.transaction.payerAccountId,
        amount_minor: '10000',
        reverses_entry_id: 'tx-3/0',
        posted_at_ms: booking,
      },
      {
        entry_id: 'tx-3/r1',
        account_id: approved.transaction.payeeAccountId,
        amount_minor: '-10000',
        reverses_entry_id: 'tx-3/1',
        posted_at_ms: booking,
      },
    ]);
    expect(after.resolutions).toEqual([
      { transaction_id: 'tx-1', resolution: 'POSTED', cause: 'GENUINE', resolved_by: 'analyst:ana' },
      { transaction_id: 'tx-2', resolution: 'VOIDED', cause: 'FRAUD', resolved_by: 'analyst:ana' },
    ]);
    expect(await reader.imbalances()).toEqual([]);

    // The same verdicts and decisions again (a redelivery, a replay): nothing changes.
    clock.advance(60_000);
    await handler.handle(decided([toPost, toVoid, approved]));
    await handler.handle(
      verdicts([
        [toPost, 'GENUINE', START_MS + 60_000],
        [toVoid, 'FRAUD', START_MS + 60_000],
        [approved, 'FRAUD', START_MS + 60_000],
      ]),
    );
    await handler.handle(verdicts([[toPost, 'FRAUD', START_MS + 120_000]]));
    expect(await rows()).toEqual(after);
  });

  it('given a verdict that arrives before its decision is stored, then the decision applies it when it lands', async () => {
    const { handler, clock } = await harness();
    const review = purchase(4, 'REVIEW');
    const approved = purchase(5, 'APPROVE');
    const early = await handler.handle(
      verdicts([
        [review, 'GENUINE', clock.nowMs()],
        [approved, 'FRAUD', clock.nowMs()],
      ]),
    );
    expect(early).toMatchObject({ labelsWritten: 2, outcomes: { no_effect: 2 } });
    clock.advance(1_000);
    const report = await handler.handle(decided([review, approved]));
    expect(report).toMatchObject({ holdsPlaced: 1, outcomes: { hold_posted: 1, reversed: 1 } });
    const after = await rows();
    expect(after.entries.map((e) => e.entry_id)).toEqual([
      'tx-4/0',
      'tx-4/1',
      'tx-5/0',
      'tx-5/1',
      'tx-5/r0',
      'tx-5/r1',
    ]);
    expect(after.resolutions).toEqual([
      { transaction_id: 'tx-4', resolution: 'POSTED', cause: 'GENUINE', resolved_by: 'analyst:ana' },
    ]);
  });

  it('given a hold nobody resolves, when the sweep runs after its timeout (and not before), then it is voided as EXPIRED', async () => {
    const { handler, clock } = await harness();
    await handler.handle(decided([purchase(6, 'REVIEW'), purchase(7, 'REVIEW')]));
    await handler.handle(verdicts([[purchase(7, 'REVIEW'), 'GENUINE', clock.nowMs()]]));

    clock.advance(TIMEOUT_MS - 1);
    expect((await handler.expireHolds(100)).outcomes.hold_voided).toBe(0);
    clock.advance(1);
    const swept = await handler.expireHolds(100);
    expect(swept.outcomes).toMatchObject({ hold_voided: 1, hold_posted: 0 });
    expect((await rows()).resolutions).toEqual([
      { transaction_id: 'tx-6', resolution: 'VOIDED', cause: 'EXPIRED', resolved_by: 'expiry' },
      { transaction_id: 'tx-7', resolution: 'POSTED', cause: 'GENUINE', resolved_by: 'analyst:ana' },
    ]);
    // Nothing is left to expire, and a verdict after the expiry changes nothing.
    expect(await store.expiredHolds(clock.nowMs() + TIMEOUT_MS, 100)).toEqual([]);
    const late = await handler.handle(verdicts([[purchase(6, 'REVIEW'), 'GENUINE', clock.nowMs()]]));
    expect(late.outcomes).toMatchObject({ no_effect: 1 });
    expect((await rows()).entries.map((e) => e.entry_id)).toEqual(['tx-7/0', 'tx-7/1']);
  });
});
