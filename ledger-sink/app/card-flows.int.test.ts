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
import type { AnalystLabel, ScoredTransaction, Transaction } from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import { ClickHouseLedgerStore } from '../adapters/clickhouse-store.js';
import { DEFAULT_HOLD_SETTINGS, type HoldResolutionRecord } from '../domain/holds.js';
import type { LedgerStore, PostedEntry } from '../ports.js';
import { MemoryStore, batchOf, capturingBus, scoredTransaction } from '../testing/fixtures.js';
import { AccountTypes } from './account-types.js';
import { LedgerBatchHandler } from './ledger-writer.js';

// Card flows through the real batch handler: authorisation holds, their captures, expiry and refunds, on chDB (the
// ledger_open_hold_legs view computes what is pending) and on the memory store (the domain's remainingLegs does);
// both must give the same balances at every step.
const dataDir = mkdtempSync(join(tmpdir(), 'vigil-card-flows-'));
const registry = new EmbeddedSchemaRegistry();
const START_MS = 1_764_200_000_000;
const DAY_MS = 86_400_000;
const MERCHANT = 'merchant-card-1';
let client: ClickHouseClient;
let chdb: ClickHouseLedgerStore;
let scoredCodec: Codec<ScoredTransaction>;
let labelCodec: Codec<AnalystLabel>;

beforeAll(async () => {
  client = createClickHouseClient(`embedded:${dataDir}`);
  chdb = new ClickHouseLedgerStore(client, { lookupChunkIds: 2 }); // 2: the lookups must also work in chunks
  await chdb.ensureSchema();
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

async function handlerOn(
  store: LedgerStore,
  options: Partial<ConstructorParameters<typeof LedgerBatchHandler>[0]> = {},
) {
  const clock = new ManualClock(START_MS);
  const handler = new LedgerBatchHandler({
    store,
    scoredCodec,
    labelCodec,
    deadLetters: await DeadLetterWriter.create(capturingBus(), registry, 'ledger-sink', clock),
    logger: silentLogger,
    metrics: new MetricsRegistry(),
    clock,
    holds: DEFAULT_HOLD_SETTINGS,
    ...options,
  });
  return { handler, clock };
}

let fingerprints = 0;
/** A same-currency EUR card transaction from `payer` to {@link MERCHANT}, decided `decision`. */
function card(
  transactionId: string,
  kind: Transaction['kind'],
  amountMinor: bigint,
  payerAccountId: string,
  more: Partial<Transaction> = {},
  decision: ScoredTransaction['decision'] = 'APPROVE',
): ScoredTransaction {
  fingerprints += 1;
  return scoredTransaction(
    0,
    {
      transactionId,
      fingerprint: `card-${fingerprints}`.padEnd(64, '0'),
      kind,
      amountMinor,
      currency: 'EUR',
      settlement: null,
      payerAccountId,
      payeeAccountId: MERCHANT,
      ...more,
    },
    { decision },
  );
}

const decided = (...items: readonly ScoredTransaction[]): RecordBatch =>
  batchOf(
    Topics.transactionsScored,
    items.map((s) => scoredCodec.encode(s)),
  );

/** Posted and pending-debit minor units of one account in EUR, as the store's balance query returns them. */
async function eur(store: LedgerStore, accountId: string): Promise<{ posted: bigint; pending: bigint }> {
  const [account] = await store.accountBalances([accountId]);
  const balance = account?.balances.find((b) => b.currency === 'EUR');
  return { posted: balance?.postedMinor ?? 0n, pending: balance?.pendingDebitsMinor ?? 0n };
}

/** What the card-flow tests read from a store once the sequence ran. */
interface StoreView {
  entries(): Promise<PostedEntry[]>;
  resolutions(): Promise<Array<Pick<HoldResolutionRecord, 'transactionId' | 'resolution' | 'cause' | 'resolvedBy'>>>;
}

/** The card-flow sequence: every balance it reads, step by step, so two stores' traces can be compared whole. */
async function cardSequence(store: LedgerStore): Promise<Array<[string, string, bigint, bigint]>> {
  const { handler, clock } = await handlerOn(store);
  const trace: Array<[string, string, bigint, bigint]> = [];
  const look = async (step: string, accountId: string) => {
    const { posted, pending } = await eur(store, accountId);
    trace.push([step, accountId, posted, pending]);
  };

  // Two partial captures of 30.00 and 70.00 on a 100.00 authorisation.
  await handler.handle(decided(card('auth-1', 'AUTHORIZATION', 10_000n, 'payer-1')));
  await look('authorised', 'payer-1');
  clock.advance(60_000);
  const firstCapture = decided(card('cap-1a', 'CAPTURE', 3_000n, 'payer-1', { originalTransactionId: 'auth-1' }));
  await handler.handle(firstCapture);
  await look('captured 30.00', 'payer-1');
  await handler.handle(firstCapture); // redelivered
  await look('captured 30.00, redelivered', 'payer-1');
  clock.advance(60_000);
  await handler.handle(decided(card('cap-1b', 'CAPTURE', 7_000n, 'payer-1', { originalTransactionId: 'auth-1' })));
  await look('captured 70.00 more', 'payer-1');

  // An over-capture: 120.00 on 100.00.
  await handler.handle(decided(card('auth-2', 'AUTHORIZATION', 10_000n, 'payer-2')));
  await handler.handle(decided(card('cap-2', 'CAPTURE', 12_000n, 'payer-2', { originalTransactionId: 'auth-2' })));
  await look('over-captured', 'payer-2');

  // Captured 40.00 of 100.00, then nobody captures the rest before it expires.
  await handler.handle(decided(card('auth-3', 'AUTHORIZATION', 10_000n, 'payer-3')));
  await handler.handle(decided(card('cap-3', 'CAPTURE', 4_000n, 'payer-3', { originalTransactionId: 'auth-3' })));
  await look('captured 40.00', 'payer-3');
  clock.advance(7 * DAY_MS);
  await handler.expireHolds(100);
  await look('expired', 'payer-3');

  // A refund of 20.00 naming its 50.00 purchase.
  await handler.handle(decided(card('buy-4', 'PURCHASE', 5_000n, 'payer-4')));
  await handler.handle(decided(card('ref-4', 'REFUND', 2_000n, 'payer-4', { originalTransactionId: 'buy-4' })));
  await look('refunded', 'payer-4');
  await look('end', MERCHANT);
  return trace;
}

/** The trace {@link cardSequence} must produce: posted (credits positive) and pending debits, in minor units. */
const EXPECTED_TRACE: Array<[string, string, bigint, bigint]> = [
  ['authorised', 'payer-1', 0n, 10_000n],
  ['captured 30.00', 'payer-1', -3_000n, 7_000n],
  ['captured 30.00, redelivered', 'payer-1', -3_000n, 7_000n],
  ['captured 70.00 more', 'payer-1', -10_000n, 0n],
  ['over-captured', 'payer-2', -12_000n, 0n],
  ['captured 40.00', 'payer-3', -4_000n, 6_000n],
  ['expired', 'payer-3', -4_000n, 0n],
  ['refunded', 'payer-4', -3_000n, 0n],
  // 30 + 70 + 120 + 40 + 50 − 20; the merchant's side of a hold is a credit, never pending debit.
  ['end', MERCHANT, 29_000n, 0n],
];

const chdbView: StoreView = {
  async entries() {
    const rows = await (
      await client.query({
        query: `SELECT entry_id, transaction_id, account_id, amount_minor, captures_transaction_id, refunds_transaction_id FROM ${ClickHouseTables.ledgerEntries} ORDER BY entry_id`,
        format: 'JSONEachRow',
      })
    ).json<Record<string, string>>();
    return rows.map(
      (r) =>
        ({
          entryId: r['entry_id'],
          transactionId: r['transaction_id'],
          accountId: r['account_id'],
          amountMinor: BigInt(r['amount_minor']!),
          capturesTransactionId: r['captures_transaction_id'],
          refundsTransactionId: r['refunds_transaction_id'],
        }) as unknown as PostedEntry,
    );
  },
  async resolutions() {
    const rows = await (
      await client.query({
        query: `SELECT transaction_id, resolution, cause, resolved_by FROM ${ClickHouseTables.ledgerHoldResolutions} ORDER BY transaction_id`,
        format: 'JSONEachRow',
      })
    ).json<Record<string, string>>();
    return rows.map((r) => ({
      transactionId: r['transaction_id']!,
      resolution: r['resolution'] as HoldResolutionRecord['resolution'],
      cause: r['cause'] as HoldResolutionRecord['cause'],
      resolvedBy: r['resolved_by']!,
    }));
  },
};

const linksOfEntries = (entries: readonly PostedEntry[]) =>
  entries.map((e) => [e.entryId, e.amountMinor, e.capturesTransactionId, e.refundsTransactionId]);

describe('card flows through the batch handler', () => {
  it('given authorisations, captures, an expiry and a refund on chDB, then balances, resolutions and links are exactly the expected ones', async () => {
    expect(await cardSequence(chdb)).toEqual(EXPECTED_TRACE);
    expect(await chdbView.resolutions()).toEqual([
      { transactionId: 'auth-1', resolution: 'CAPTURED', cause: 'CAPTURED', resolvedBy: 'capture' },
      { transactionId: 'auth-2', resolution: 'CAPTURED', cause: 'CAPTURED', resolvedBy: 'capture' },
      { transactionId: 'auth-3', resolution: 'VOIDED', cause: 'EXPIRED', resolvedBy: 'expiry' },
    ]);
    // The authorisations book nothing themselves; the redelivered capture is booked once.
    expect(linksOfEntries(await chdbView.entries())).toEqual([
      ['buy-4/0', -5_000n, '', ''],
      ['buy-4/1', 5_000n, '', ''],
      ['cap-1a/0', -3_000n, 'auth-1', ''],
      ['cap-1a/1', 3_000n, 'auth-1', ''],
      ['cap-1b/0', -7_000n, 'auth-1', ''],
      ['cap-1b/1', 7_000n, 'auth-1', ''],
      ['cap-2/0', -12_000n, 'auth-2', ''],
      ['cap-2/1', 12_000n, 'auth-2', ''],
      ['cap-3/0', -4_000n, 'auth-3', ''],
      ['cap-3/1', 4_000n, 'auth-3', ''],
      // A refund reverses the signs: money flows back from the merchant to the payer.
      ['ref-4/0', 2_000n, '', 'buy-4'],
      ['ref-4/1', -2_000n, '', 'buy-4'],
    ]);
    const holdKinds = await (
      await client.query({
        query: `SELECT transaction_id, groupUniqArray(hold_kind) AS kinds FROM ${ClickHouseTables.ledgerHolds} GROUP BY transaction_id ORDER BY transaction_id`,
        format: 'JSONEachRow',
      })
    ).json<{ transaction_id: string; kinds: string[] }>();
    expect(holdKinds).toEqual([
      { transaction_id: 'auth-1', kinds: ['AUTHORIZATION'] },
      { transaction_id: 'auth-2', kinds: ['AUTHORIZATION'] },
      { transaction_id: 'auth-3', kinds: ['AUTHORIZATION'] },
    ]);
  }, 180_000);

  it('given a capture batch redelivered after it was booked, then no row is written twice', async () => {
    const { handler, clock } = await handlerOn(chdb);
    await handler.handle(decided(card('auth-5', 'AUTHORIZATION', 10_000n, 'payer-5')));
    const capture = decided(card('cap-5', 'CAPTURE', 10_000n, 'payer-5', { originalTransactionId: 'auth-5' }));
    const first = await handler.handle(capture);
    expect(first).toMatchObject({ postedTransactions: 1, outcomes: { hold_captured: 1 } });
    const counts = async () =>
      Promise.all(
        [ClickHouseTables.ledgerEntries, ClickHouseTables.ledgerHolds, ClickHouseTables.ledgerHoldResolutions].map(
          async (table) =>
            (
              await (
                await client.query({ query: `SELECT count() AS n FROM ${table}`, format: 'JSONEachRow' })
              ).json<{ n: string }>()
            )[0]!.n,
        ),
      );
    const before = await counts();
    expect(before).toEqual(['2', '2', '1']);
    clock.advance(1_000);
    const again = await handler.handle(capture);
    expect(again).toMatchObject({ postedTransactions: 0, outcomes: { hold_captured: 0 } });
    expect(await counts()).toEqual(before);
  }, 120_000);

  it('given the same sequence on the memory store, then it gives the same balances as chDB at every step, and a store that drops the capture link does not', async () => {
    const chdbTrace = await cardSequence(chdb);
    const memory = new MemoryStore();
    expect(await cardSequence(memory)).toEqual(chdbTrace);
    expect(memory.resolutions.map((r) => [r.transactionId, r.resolution, r.cause, r.resolvedBy]).sort()).toEqual([
      ['auth-1', 'CAPTURED', 'CAPTURED', 'capture'],
      ['auth-2', 'CAPTURED', 'CAPTURED', 'capture'],
      ['auth-3', 'VOIDED', 'EXPIRED', 'expiry'],
    ]);

    // Negative control: a store that loses captures_transaction_id on write never sees a hold consumed.
    const unlinked = new (class extends MemoryStore {
      override insertEntries(rows: readonly PostedEntry[]): Promise<void> {
        return super.insertEntries(rows.map((e) => ({ ...e, capturesTransactionId: '' })));
      }
    })();
    const wrong = await cardSequence(unlinked);
    expect(wrong).not.toEqual(chdbTrace);
    expect(wrong[1]).toEqual(['captured 30.00', 'payer-1', -3_000n, 10_000n]);
  }, 180_000);

  it('given a MERCHANT payer with its own hold settings, then its holds get its timeouts and a CUSTOMER payer the general ones', async () => {
    const accountTypes = new AccountTypes();
    accountTypes.apply({
      accountId: 'payer-merchant',
      type: 'MERCHANT',
      currency: 'EUR',
      overdraftLimitMinor: null,
      scheme: null,
      updatedBy: 'admin',
      updatedAtMs: START_MS - 1,
    });
    const merchantHolds = { reviewTimeoutMs: 3_600_000, expiryPolicy: 'post', authorizationTimeoutMs: DAY_MS } as const;
    const { handler } = await handlerOn(chdb, { accountTypes, holdsByAccountType: { MERCHANT: merchantHolds } });
    await handler.handle(
      decided(
        card('rev-m', 'PURCHASE', 1_000n, 'payer-merchant', {}, 'REVIEW'),
        card('rev-c', 'PURCHASE', 1_000n, 'payer-customer', {}, 'REVIEW'),
        card('auth-m', 'AUTHORIZATION', 1_000n, 'payer-merchant'),
        card('auth-c', 'AUTHORIZATION', 1_000n, 'payer-customer'),
      ),
    );
    const ledgers = await chdb.transactionLedgers(['rev-m', 'rev-c', 'auth-m', 'auth-c']);
    const timeouts = Object.fromEntries([...ledgers].map(([id, l]) => [id, l.hold!.expiresAtMs - l.hold!.placedAtMs]));
    expect(timeouts).toEqual({
      'rev-m': 3_600_000,
      'rev-c': DEFAULT_HOLD_SETTINGS.reviewTimeoutMs,
      'auth-m': DAY_MS,
      'auth-c': DEFAULT_HOLD_SETTINGS.authorizationTimeoutMs,
    });
    expect(ledgers.get('rev-m')!.hold!.expiresAtMs).toBe(START_MS + 3_600_000);

    // The merchant's policy applies at expiry too: its REVIEW is posted, the customer's is not yet due.
    const { handler: later, clock } = await handlerOn(chdb, {
      accountTypes,
      holdsByAccountType: { MERCHANT: merchantHolds },
    });
    clock.advance(3_600_000);
    expect((await later.expireHolds(100)).outcomes).toMatchObject({ hold_posted: 1, hold_voided: 0, hold_captured: 0 });
  }, 120_000);

  it('given a FRAUD verdict on a partly captured authorisation, then the rest is released and the captured money reversed, once', async () => {
    const fraudOnAuthorisation = async (store: LedgerStore) => {
      const { handler, clock } = await handlerOn(store);
      await handler.handle(decided(card('auth-6', 'AUTHORIZATION', 10_000n, 'payer-6')));
      await handler.handle(decided(card('cap-6', 'CAPTURE', 6_000n, 'payer-6', { originalTransactionId: 'auth-6' })));
      clock.advance(60_000);
      const label: AnalystLabel = {
        transactionId: 'auth-6',
        label: 'FRAUD',
        labelledBy: 'analyst-1',
        labelledAtMs: START_MS + 60_000,
        transactionEventTimeMs: START_MS,
        payerAccountId: 'payer-6',
        cardToken: null,
        terminalId: null,
        note: null,
      };
      const verdict = batchOf(Topics.analystLabels, [labelCodec.encode(label)]);
      const first = await handler.handle(verdict);
      const again = await handler.handle(verdict); // redelivered
      return { first: first.outcomes, again: again.outcomes, balance: await eur(store, 'payer-6') };
    };
    const expected = {
      first: { hold_voided: 1, reversed: 1 },
      again: { hold_voided: 0, reversed: 0 },
      // The 60.00 captured is paid back by the reversal; the 40.00 still held is released.
      balance: { posted: 0n, pending: 0n },
    };
    expect(await fraudOnAuthorisation(chdb)).toMatchObject(expected);
    expect(linksOfEntries(await chdbView.entries())).toEqual([
      ['cap-6/0', -6_000n, 'auth-6', ''],
      ['cap-6/1', 6_000n, 'auth-6', ''],
      ['cap-6/r0', 6_000n, 'auth-6', ''],
      ['cap-6/r1', -6_000n, 'auth-6', ''],
    ]);
    expect(await chdbView.resolutions()).toEqual([
      { transactionId: 'auth-6', resolution: 'VOIDED', cause: 'FRAUD', resolvedBy: 'analyst-1' },
    ]);
    expect(await fraudOnAuthorisation(new MemoryStore())).toMatchObject(expected);

    // Negative control: a store that never reports an authorisation's captures leaves the captured money booked.
    const blind = new (class extends MemoryStore {
      override async transactionLedgers(ids: readonly string[]) {
        const ledgers = await super.transactionLedgers(ids);
        return new Map([...ledgers].map(([id, l]) => [id, { ...l, captures: [] }]));
      }
    })();
    expect((await fraudOnAuthorisation(blind)).balance).toEqual({ posted: -6_000n, pending: 0n });
  }, 120_000);
});
