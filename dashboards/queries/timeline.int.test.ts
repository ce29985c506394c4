import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { FileCustomerKeyStore } from '../../platform/file-customer-key-store.js';
import { PersonalDataCipher, seal } from '../../platform/personal-data.js';
import type { CaseTimeline } from '../../schemas/api.js';
import { ClickHouseTables, clickhouseTableStatements } from '../../schemas/clickhouse.js';
import type { Decision } from '../../schemas/generated/types.js';
import { encodeCursorValues, selectRows } from './select.js';
import { type TimelineCursor, type TimelineQuery, caseTimeline, decodeTimelineCursor } from './timeline.js';
// The timeline reads what ledger-sink writes: every row goes in through ledger-sink's real writer, so this test
// crosses the stage boundary on purpose.
// eslint-disable-next-line no-restricted-imports
import { ClickHouseLedgerStore } from '../../ledger-sink/adapters/clickhouse-store.js';
// eslint-disable-next-line no-restricted-imports
import { NO_LINKS } from '../../ledger-sink/domain/holds.js';
// eslint-disable-next-line no-restricted-imports
import type { PostedEntry } from '../../ledger-sink/ports.js';
// eslint-disable-next-line no-restricted-imports
import { scoredTransaction } from '../../ledger-sink/testing/fixtures.js';

/**
 * A case's timeline on real chDB: customer acct-a pays with two cards (tok-a1, the case's, and tok-a2); customer
 * acct-b paid once with tok-a1 too; acct-x is a stranger. Three transactions share one millisecond, one decision is
 * stored twice, and acct-b's personal data is erased (its data keys destroyed). Pages walked with a small limit must
 * concatenate to the one-page answer; a paging by event time alone (the planted fault) must not.
 */
const T0 = 1_764_000_000_000;
const dataDir = mkdtempSync(join(tmpdir(), 'vigil-timeline-'));
let clickhouse: ClickHouseClient;
let keys: FileCustomerKeyStore;

interface Fixture {
  readonly id: string;
  readonly payer: string;
  readonly customer: string;
  /** Card token, or null for a card-less transfer. */
  readonly card: string | null;
  readonly atMs: number;
  readonly decision: Decision;
  readonly description: string;
}

const fixtures: readonly Fixture[] = [
  {
    id: 'tx-transfer',
    payer: 'acct-a',
    customer: 'cust-a',
    card: null,
    atMs: 100,
    decision: 'APPROVE',
    description: 'rent',
  },
  {
    id: 'tx-reversed',
    payer: 'acct-a',
    customer: 'cust-a',
    card: 'tok-a1',
    atMs: 500,
    decision: 'APPROVE',
    description: 'tv',
  },
  {
    id: 'tx-a1',
    payer: 'acct-a',
    customer: 'cust-a',
    card: 'tok-a1',
    atMs: 1000,
    decision: 'APPROVE',
    description: 'coffee',
  },
  {
    id: 'tx-a2',
    payer: 'acct-a',
    customer: 'cust-a',
    card: 'tok-a2',
    atMs: 2000,
    decision: 'REVIEW',
    description: 'shoes',
  },
  {
    id: 'tx-b',
    payer: 'acct-b',
    customer: 'cust-b',
    card: 'tok-a1',
    atMs: 3000,
    decision: 'DECLINE',
    description: 'fuel',
  },
  // Three in one millisecond, stored in an order that is neither the answer nor its reverse.
  {
    id: 'tx-tie-a',
    payer: 'acct-a',
    customer: 'cust-a',
    card: 'tok-a1',
    atMs: 4000,
    decision: 'REVIEW',
    description: 'tie',
  },
  {
    id: 'tx-tie-c',
    payer: 'acct-a',
    customer: 'cust-a',
    card: 'tok-a1',
    atMs: 4000,
    decision: 'APPROVE',
    description: 'tie',
  },
  {
    id: 'tx-tie-b',
    payer: 'acct-a',
    customer: 'cust-a',
    card: 'tok-a1',
    atMs: 4000,
    decision: 'APPROVE',
    description: 'tie',
  },
  { id: 'tx-x', payer: 'acct-x', customer: 'cust-x', card: 'tok-x', atMs: 4500, decision: 'APPROVE', description: 'x' },
  {
    id: 'tx-alert',
    payer: 'acct-a',
    customer: 'cust-a',
    card: 'tok-a1',
    atMs: 5000,
    decision: 'REVIEW',
    description: 'watch',
  },
];

/** What the case around tx-alert looks up: its card and its customer. */
const caseKeys: TimelineQuery = {
  cardTokens: ['tok-a1'],
  payerAccountIds: ['acct-a'],
  caseTransactionIds: new Set(['tx-alert']),
  limit: 200,
  before: undefined,
};
const EXPECTED_ORDER = [
  'tx-alert',
  'tx-tie-c',
  'tx-tie-b',
  'tx-tie-a',
  'tx-b',
  'tx-a2',
  'tx-a1',
  'tx-reversed',
  'tx-transfer',
];

function legs(id: string, payer: string, atMs: number, reversing = false): PostedEntry[] {
  return [
    { leg: reversing ? 2 : 0, accountId: payer, amountMinor: reversing ? 1_000n : -1_000n },
    { leg: reversing ? 3 : 1, accountId: 'acct-shop', amountMinor: reversing ? -1_000n : 1_000n },
  ].map((l) => ({
    entryId: `${id}/${l.leg}`,
    transactionId: id,
    leg: l.leg,
    accountId: l.accountId,
    amountMinor: l.amountMinor,
    currency: 'EUR',
    entryType: 'PRINCIPAL',
    fingerprint: `fp-${id}`,
    eventTimeMs: T0 + atMs,
    postedAtMs: T0 + atMs + 10,
    reversesEntryId: reversing ? `${id}/${l.leg - 2}` : '',
    capturesTransactionId: '',
    refundsTransactionId: '',
  }));
}

beforeAll(async () => {
  clickhouse = createClickHouseClient(`embedded:${join(dataDir, 'chdb')}`);
  for (const statement of clickhouseTableStatements()) await clickhouse.command({ query: statement });
  keys = FileCustomerKeyStore.open(join(dataDir, 'keys'), { rotateAfterMs: 0 });
  const store = new ClickHouseLedgerStore(clickhouse);
  // Writes straight through, so the planted duplicate decision is really stored twice.
  const planting = new ClickHouseLedgerStore(clickhouse, { lookupChunkIds: 1000, insertOnce: false });
  for (const [i, f] of fixtures.entries()) {
    const key = await keys.currentKey(f.customer, T0);
    const scored = scoredTransaction(
      i,
      {
        transactionId: f.id,
        channel: f.card === null ? 'SEPA' : 'CARD',
        kind: f.card === null ? 'TRANSFER' : 'PURCHASE',
        amountMinor: 1_000n + BigInt(i),
        currency: 'EUR',
        settlement: null,
        payerAccountId: f.payer,
        payeeAccountId: 'acct-shop',
        customerId: f.customer,
        card:
          f.card === null
            ? null
            : { token: f.card, bin: '411111', last4: f.card.slice(-2).padStart(4, '0'), present: true },
        merchantId: f.card === null ? null : 'm-shop',
        description: seal(key, f.description),
        eventTimeMs: T0 + f.atMs,
        receivedAtMs: T0 + f.atMs + 5,
      },
      { decision: f.decision, score: f.decision === 'APPROVE' ? 0.1 : 0.8 },
    );
    // One insert per row: each lands as its own part, so no single sorted block gives the order away.
    await store.insertDecisions([{ scored, storedAtMs: T0 + f.atMs + 20 }]);
    if (f.id === 'tx-a1') await planting.insertDecisions([{ scored, storedAtMs: T0 + f.atMs + 30 }]);
  }
  await store.insertEntries([
    ...legs('tx-transfer', 'acct-a', 100),
    ...legs('tx-reversed', 'acct-a', 500),
    ...legs('tx-reversed', 'acct-a', 600, true),
    ...legs('tx-a1', 'acct-a', 1000),
    ...legs('tx-tie-b', 'acct-a', 4000),
  ]);
  const hold = (id: string, atMs: number) => ({
    transactionId: id,
    fingerprint: `fp-${id}`,
    legs: legs(id, 'acct-a', atMs),
    kind: 'REVIEW' as const,
    links: NO_LINKS,
    placedAtMs: T0 + atMs + 15,
    expiresAtMs: T0 + atMs + 86_400_000,
  });
  await store.insertHolds([hold('tx-a2', 2000), hold('tx-tie-a', 4000), hold('tx-alert', 5000)]);
  await store.insertHoldResolutions([
    {
      transactionId: 'tx-tie-a',
      resolution: 'VOIDED',
      cause: 'FRAUD',
      resolvedBy: 'user:ann',
      resolvedAtMs: T0 + 4100,
    },
  ]);
}, 120_000);

afterAll(async () => {
  await clickhouse?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Every page of a timeline walked with `pageOf`, `limit` at a time, concatenated; stops after 50 pages. */
async function walk(
  pageOf: (before: TimelineCursor | undefined) => Promise<CaseTimeline>,
): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let before: TimelineCursor | undefined;
  for (let pages = 1; pages <= 50; pages++) {
    const page = await pageOf(before);
    ids.push(...page.items.map((i) => i.transactionId));
    if (page.nextCursor === null) return { ids, pages };
    before = decodeTimelineCursor(page.nextCursor);
  }
  throw new Error('more than 50 pages');
}

/** The planted fault: the same keys, ordered and paged by event time alone (no transaction-id tiebreak). */
async function pagedByTimeAlone(before: TimelineCursor | undefined, limit: number): Promise<CaseTimeline> {
  const rows = await selectRows<{ transaction_id: string; event_time_ms: string }>(
    clickhouse,
    `SELECT transaction_id, toUnixTimestamp64Milli(event_time) AS event_time_ms FROM ${ClickHouseTables.decisions}
     WHERE (card_token IN {cards:Array(String)} OR payer_account_id IN {payers:Array(String)})
       AND ({hasCursor:UInt8} = 0 OR event_time < fromUnixTimestamp64Milli({beforeMs:Int64}, 'UTC'))
     ORDER BY event_time DESC LIMIT 1 BY transaction_id LIMIT {take:UInt32}`,
    {
      cards: caseKeys.cardTokens,
      payers: caseKeys.payerAccountIds,
      hasCursor: before ? 1 : 0,
      beforeMs: before?.eventTimeMs ?? 0,
      take: limit + 1,
    },
  );
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map((r) => ({ transactionId: r.transaction_id }) as CaseTimeline['items'][number]),
    nextCursor:
      rows.length > limit && last ? encodeCursorValues([Number(last.event_time_ms), last.transaction_id]) : null,
  };
}

describe('caseTimeline (chDB)', () => {
  it('lists the case card’s and customer’s transactions newest first, ties in one ms by transaction id, each once', async () => {
    const timeline = await caseTimeline(clickhouse, caseKeys);
    expect(timeline.items.map((i) => [i.transactionId, i.matchedBy, i.inCase, i.ledger, i.decision])).toEqual([
      ['tx-alert', ['card', 'customer'], true, 'held', 'REVIEW'],
      ['tx-tie-c', ['card', 'customer'], false, 'not_posted', 'APPROVE'],
      ['tx-tie-b', ['card', 'customer'], false, 'posted', 'APPROVE'],
      ['tx-tie-a', ['card', 'customer'], false, 'not_posted', 'REVIEW'],
      // Another customer's payment with the case's card; the customer's payment with their other card.
      ['tx-b', ['card'], false, 'not_posted', 'DECLINE'],
      ['tx-a2', ['customer'], false, 'held', 'REVIEW'],
      // Stored twice, listed once.
      ['tx-a1', ['card', 'customer'], false, 'posted', 'APPROVE'],
      ['tx-reversed', ['card', 'customer'], false, 'reversed', 'APPROVE'],
      ['tx-transfer', ['customer'], false, 'posted', 'APPROVE'],
    ]);
    expect(timeline.nextCursor).toBeNull();
    const alert = timeline.items[0]!;
    expect([alert.eventTime, alert.amount, alert.cardLast4, alert.merchantId, alert.topReasonCode]).toEqual([
      new Date(T0 + 5000).toISOString(),
      { amount: '10.09', amountMinor: '1009', currency: 'EUR' },
      '00a1',
      'm-shop',
      'R_VELOCITY_1H',
    ]);
    // The planted duplicate is really there: two decision rows for tx-a1.
    const stored = await selectRows<{ n: string }>(
      clickhouse,
      `SELECT count() AS n FROM ${ClickHouseTables.decisions} WHERE transaction_id = 'tx-a1'`,
    );
    expect(stored[0]!.n).toBe('2');
  });

  it('pages with a limit, the boundary inside the one-ms tie neither repeating nor skipping; time-only paging does', async () => {
    const first = await caseTimeline(clickhouse, { ...caseKeys, limit: 2 });
    expect([first.items.map((i) => i.transactionId), first.nextCursor === null]).toEqual([
      ['tx-alert', 'tx-tie-c'],
      false,
    ]);
    const walked = await walk((before) => caseTimeline(clickhouse, { ...caseKeys, limit: 2, before }));
    expect(walked).toEqual({ ids: EXPECTED_ORDER, pages: 5 });
    const byThree = await walk((before) => caseTimeline(clickhouse, { ...caseKeys, limit: 3, before }));
    expect(byThree).toEqual({ ids: EXPECTED_ORDER, pages: 3 });
    // Negative control: ordered and paged by event time alone, the page after the boundary loses the rest of the tie.
    const faulty = await walk((before) => pagedByTimeAlone(before, 2));
    expect(faulty.ids).not.toEqual(EXPECTED_ORDER);
    expect(faulty.ids.filter((id) => id.startsWith('tx-tie-'))).toHaveLength(1);
  });

  it('keeps to the case’s keys: a card-only or customer-only filter misses what the other key brings', async () => {
    const cardOnly = await caseTimeline(clickhouse, { ...caseKeys, payerAccountIds: [] });
    const customerOnly = await caseTimeline(clickhouse, { ...caseKeys, cardTokens: [] });
    const ids = (t: CaseTimeline) => t.items.map((i) => i.transactionId);
    // The customer's other card (tx-a2) and card-less transfer only come by customer; acct-b's payment only by card.
    expect(EXPECTED_ORDER.filter((id) => !ids(cardOnly).includes(id))).toEqual(['tx-a2', 'tx-transfer']);
    expect(EXPECTED_ORDER.filter((id) => !ids(customerOnly).includes(id))).toEqual(['tx-b']);
    // '' is how a row says "no card": it never matches a card-less row of a stranger.
    const blank = await caseTimeline(clickhouse, { ...caseKeys, cardTokens: [''], payerAccountIds: ['acct-x'] });
    expect(ids(blank)).toEqual(['tx-x']);
    expect(await caseTimeline(clickhouse, { ...caseKeys, cardTokens: [], payerAccountIds: [] })).toEqual({
      items: [],
      nextCursor: null,
    });
  });

  it('opens personal fields per customer; an erased customer’s show "[erased]" and the others stay readable', async () => {
    const cipher = new PersonalDataCipher(keys);
    const descriptions = async () =>
      Object.fromEntries(
        (await cipher.openDeep(await caseTimeline(clickhouse, caseKeys))).items
          .filter((i) => ['tx-a1', 'tx-b'].includes(i.transactionId))
          .map((i) => [i.transactionId, i.description]),
      );
    // Negative control: before the erasure, acct-b's description opens like any other.
    expect(await descriptions()).toEqual({ 'tx-b': 'fuel', 'tx-a1': 'coffee' });
    await keys.destroy('cust-b', T0 + 10_000);
    expect(await descriptions()).toEqual({ 'tx-b': '[erased]', 'tx-a1': 'coffee' });
  });

  it('a cursor that is not one of ours is undefined, not a crash', () => {
    expect(decodeTimelineCursor('not-a-cursor')).toBeUndefined();
    expect(decodeTimelineCursor(encodeCursorValues(['4000', 'tx-1']))).toBeUndefined();
    expect(decodeTimelineCursor(encodeCursorValues([T0, 'tx-1']))).toEqual({ eventTimeMs: T0, transactionId: 'tx-1' });
  });
});
