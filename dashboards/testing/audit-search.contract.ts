import { sampleTransaction } from '../../schemas/fixtures.js';
import type { Reason, ScoredTransaction, Transaction } from '../../schemas/generated/types.js';
import {
  type AuditPage,
  type AuditQuery,
  decodeAuditCursor,
  encodeAuditCursor,
  parseSearchText,
} from '../domain/audit-query.js';
import type { AuditSearch } from '../ports.js';

/**
 * The audit-search contract: one suite, run against every {@link AuditSearch} backend (ClickHouse in
 * audit-search.int.test.ts, Elasticsearch in audit-search.es.int.test.ts), so both answer every query alike.
 *
 * A backend factory receives the decisions to make searchable, stores them as its writer would, and returns the
 * search; it registers the cleanup of whatever it creates through `onCleanup` as soon as it creates it, so a
 * failure half-way still cleans up.
 */
export type AuditSearchFactory = (
  decisions: readonly ScoredTransaction[],
  onCleanup: (cleanup: () => Promise<void>) => void,
) => Promise<AuditSearch>;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Mid-January 2026; one decision sits in December so the index side spans two monthly indices. */
export const T0 = Date.UTC(2026, 0, 15, 12);
const BIG = 9_007_199_254_740_993n; // 2^53 + 1: a float cannot hold it

const reason = (code: string, description: string, source: Reason['source'] = 'RULE'): Reason => ({
  code,
  source,
  description,
  weight: 0.4,
});

function decided(
  id: string,
  at: number,
  tx: Partial<Transaction>,
  decision: ScoredTransaction['decision'],
  score: number,
  reasons: Reason[],
): ScoredTransaction {
  const transaction = sampleTransaction({
    transactionId: id,
    fingerprint: `fp-${id}`.padEnd(64, '0'),
    eventTimeMs: at,
    receivedAtMs: at + 40,
    ...tx,
  });
  return {
    transaction,
    decision,
    score,
    risk: score,
    reasons,
    rulesFired: reasons.filter((r) => r.source === 'RULE').map((r) => r.code),
    features: { tx_count_1h: 3 },
    featureValues: null,
    reportingCurrency: 'EUR',
    unconvertedCurrency: null,
    modelVersion: 'model-v3',
    rulesVersion: 'rules-v12',
    scoredAtMs: at + 52,
  };
}

const noCard = { card: null, merchantId: null } as const;

/** Six distinct decisions, then twenty for paging (two at the same instant, to test the tie-break at a page end). */
export const auditFixtures: readonly ScoredTransaction[] = [
  decided(
    'au-001',
    T0 - HOUR,
    {
      payerAccountId: 'acc-alice',
      payeeAccountId: 'acc-coffee',
      card: { token: 'tok_alice', bin: '411111', last4: '1111', present: true },
      merchantId: 'blue-bottle-coffee',
      description: 'Flat white and croissant',
      amountMinor: BIG,
    },
    'DECLINE',
    0.97,
    [reason('R_GEO_VELOCITY', 'Impossible travel since the last card use')],
  ),
  decided(
    'au-002',
    T0 - 2 * HOUR,
    {
      payerAccountId: 'acc-alice',
      payeeAccountId: 'acc-books',
      card: { token: 'tok_alice', bin: '411111', last4: '1111', present: false },
      merchantId: 'city-books',
      description: 'Paperback novels',
    },
    'REVIEW',
    0.61,
    [reason('R_VELOCITY_1H', 'Many transactions on this card in the last hour')],
  ),
  decided(
    'au-003',
    T0 - 3 * HOUR,
    {
      ...noCard,
      channel: 'SEPA',
      kind: 'TRANSFER',
      payerAccountId: 'acc-bob',
      payeeAccountId: 'acc-alice',
      description: 'Rent January',
    },
    'APPROVE',
    0.05,
    [],
  ),
  decided(
    'au-004',
    T0 - 4 * HOUR,
    {
      ...noCard,
      channel: 'WIRE',
      kind: 'TRANSFER',
      payerAccountId: 'acc-bob',
      payeeAccountId: 'acc-offshore',
      description: 'Invoice 4471 consulting',
      currency: 'USD',
      amountMinor: 2_500_000n,
    },
    'DECLINE',
    0.88,
    [reason('M_AMOUNT_VS_HISTORY', 'Amount far above the customer history', 'MODEL')],
  ),
  decided(
    'au-005',
    T0 - 5 * HOUR,
    {
      ...noCard,
      channel: 'CASH',
      kind: 'DEPOSIT',
      payerAccountId: 'acc-carol',
      payeeAccountId: 'bank-vault',
      description: null,
    },
    'APPROVE',
    0.3,
    [],
  ),
  decided(
    'au-006',
    T0 - 40 * DAY,
    {
      channel: 'WALLET',
      payerAccountId: 'acc-carol',
      payeeAccountId: 'acc-coffee',
      card: null,
      merchantId: 'blue-bottle-coffee',
      description: 'Gift card top-up',
    },
    'REVIEW',
    0.5,
    [reason('R_NEW_DEVICE', 'First payment from a new device')],
  ),
  ...Array.from({ length: 20 }, (_, i) =>
    decided(
      `pg-${String(i).padStart(3, '0')}`,
      // pg-006 and pg-007 share one instant, where the first page of 7 ends: only the id orders them.
      T0 - 10 * DAY - (i === 7 ? 6 : i) * 60_000,
      {
        ...noCard,
        channel: 'P2P',
        kind: 'TRANSFER',
        payerAccountId: 'acc-pager',
        payeeAccountId: `acc-friend-${i % 3}`,
        description: 'Split dinner bill',
      },
      'APPROVE',
      0.1,
      [],
    ),
  ),
];

const paged = auditFixtures.filter((d) => d.transaction.payerAccountId === 'acc-pager');

export function auditSearchContract(backend: string, factory: AuditSearchFactory): void {
  describe(`AuditSearch contract: ${backend}`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    let search: AuditSearch;

    beforeAll(async () => {
      search = await factory(auditFixtures, (cleanup) => cleanups.push(cleanup));
    }, 120_000);

    afterAll(async () => {
      await search?.close();
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    const run = (query: Partial<AuditQuery> & { q?: string }): Promise<AuditPage> => {
      const { q, ...rest } = query;
      return search.search({ terms: parseSearchText(q ?? ''), limit: 50, ...rest });
    };
    const ids = async (query: Partial<AuditQuery> & { q?: string }): Promise<string[]> =>
      (await run(query)).hits.map((h) => h.transactionId);

    it('given no criteria, lists every decision newest first with an exact total', async () => {
      const page = await run({ limit: 6 });
      expect(page.hits.map((h) => h.transactionId)).toEqual([
        'au-001',
        'au-002',
        'au-003',
        'au-004',
        'au-005',
        'pg-000',
      ]);
      expect(page.total).toEqual({ value: auditFixtures.length, exact: true });
      expect(page.next).toEqual({ eventTimeMs: T0 - 10 * DAY, transactionId: 'pg-000' });
    });

    it('returns the audit summary with exact money and reasons', async () => {
      const [hit] = (await run({ q: 'au-001' })).hits;
      expect(hit).toEqual({
        transactionId: 'au-001',
        eventTime: new Date(T0 - HOUR).toISOString(),
        scoredAt: new Date(T0 - HOUR + 52).toISOString(),
        decision: 'DECLINE',
        score: 0.97,
        channel: 'CARD',
        kind: 'PURCHASE',
        amount: { amount: '90071992547409.93', amountMinor: '9007199254740993', currency: 'EUR' },
        payerAccountId: 'acc-alice',
        payeeAccountId: 'acc-coffee',
        cardToken: 'tok_alice',
        cardLast4: '1111',
        merchantId: 'blue-bottle-coffee',
        country: 'FR',
        description: 'Flat white and croissant',
        reasons: [{ code: 'R_GEO_VELOCITY', description: 'Impossible travel since the last card use' }],
        modelVersion: 'model-v3',
        rulesVersion: 'rules-v12',
      });
      const [cash] = (await run({ q: 'au-005' })).hits;
      expect(cash).toMatchObject({ cardToken: null, merchantId: null, description: null, reasons: [] });
    });

    it('finds by merchant: the whole id, or a word of it, ignoring case', async () => {
      expect(await ids({ q: 'blue-bottle-coffee' })).toEqual(['au-001', 'au-006']);
      expect(await ids({ q: 'BOTTLE' })).toEqual(['au-001', 'au-006']);
      expect(await ids({ q: 'city-books' })).toEqual(['au-002']);
    });

    it('finds by description words, ignoring case; every term must match', async () => {
      expect(await ids({ q: 'croissant' })).toEqual(['au-001']);
      expect(await ids({ q: 'CROISSANT flat' })).toEqual(['au-001']);
      expect(await ids({ q: 'paperback novels' })).toEqual(['au-002']);
      expect(await ids({ q: 'invoice 4471' })).toEqual(['au-004']);
      expect(await ids({ q: 'paperback rent' })).toEqual([]);
      expect(await ids({ q: 'crois' })).toEqual([]); // words, not fragments
    });

    it('finds by reason description and by reason code', async () => {
      expect(await ids({ q: 'impossible travel' })).toEqual(['au-001']);
      expect(await ids({ q: 'impossible-travel' })).toEqual(['au-001']);
      expect(await ids({ q: 'history' })).toEqual(['au-004']);
      expect(await ids({ q: 'r_velocity_1h' })).toEqual(['au-002']);
      expect(await ids({ q: 'M_AMOUNT_VS_HISTORY' })).toEqual(['au-004']);
    });

    it('finds by transaction id and by payer or payee account id', async () => {
      expect(await ids({ q: 'AU-004' })).toEqual(['au-004']);
      expect(await ids({ q: 'acc-bob' })).toEqual(['au-003', 'au-004']);
      expect(await ids({ q: 'acc-alice' })).toEqual(['au-001', 'au-002', 'au-003']);
    });

    it('filters by account (payer or payee), card token, channel and decision', async () => {
      expect(await ids({ account: 'acc-alice' })).toEqual(['au-001', 'au-002', 'au-003']);
      expect(await ids({ account: 'acc-coffee' })).toEqual(['au-001', 'au-006']);
      expect(await ids({ account: 'ACC-ALICE' })).toEqual([]); // ids are exact
      expect(await ids({ cardToken: 'tok_alice' })).toEqual(['au-001', 'au-002']);
      expect(await ids({ channel: 'WIRE' })).toEqual(['au-004']);
      expect(await ids({ channel: 'WALLET' })).toEqual(['au-006']);
      expect(await ids({ decision: 'DECLINE' })).toEqual(['au-001', 'au-004']);
      expect(await ids({ decision: 'REVIEW', q: 'coffee' })).toEqual(['au-006']);
      expect(await ids({ decision: 'DECLINE', account: 'acc-bob', channel: 'WIRE', q: 'consulting' })).toEqual([
        'au-004',
      ]);
    });

    it('filters by score range, bounds inclusive', async () => {
      expect(await ids({ minScore: 0.6 })).toEqual(['au-001', 'au-002', 'au-004']);
      expect(await ids({ minScore: 0.5, maxScore: 0.61 })).toEqual(['au-002', 'au-006']);
      expect(await ids({ maxScore: 0.05 })).toEqual(['au-003']);
    });

    it('filters by event time, from inclusive and to exclusive', async () => {
      expect(await ids({ fromMs: T0 - 4 * HOUR, toMs: T0 - HOUR })).toEqual(['au-002', 'au-003', 'au-004']);
      expect(await ids({ toMs: T0 - 20 * DAY })).toEqual(['au-006']);
      expect(await ids({ fromMs: T0 - 5 * HOUR, q: 'acc-carol' })).toEqual(['au-005']);
    });

    it('pages newest first without duplicates or gaps, ties ordered by id', async () => {
      const expected = [...paged]
        .sort((a, b) =>
          b.transaction.eventTimeMs !== a.transaction.eventTimeMs
            ? b.transaction.eventTimeMs - a.transaction.eventTimeMs
            : b.transaction.transactionId.localeCompare(a.transaction.transactionId),
        )
        .map((d) => d.transaction.transactionId);
      const seen: string[] = [];
      const sizes: number[] = [];
      let after: AuditQuery['after'];
      for (let pages = 0; pages < 10; pages++) {
        const page = await run({ account: 'acc-pager', limit: 7, after });
        expect(page.total).toEqual({ value: 20, exact: true });
        seen.push(...page.hits.map((h) => h.transactionId));
        sizes.push(page.hits.length);
        if (!page.next) break;
        // The cursor survives its round trip through the client.
        after = decodeAuditCursor(encodeAuditCursor(page.next));
      }
      expect(sizes).toEqual([7, 7, 6]);
      expect(seen).toEqual(expected);
      expect(seen.slice(5, 8)).toEqual(['pg-005', 'pg-007', 'pg-006']); // the tie spans the first page's end
    });

    it('gives an empty page for no match', async () => {
      const page = await run({ q: 'nonexistentword' });
      expect(page).toEqual({ hits: [], total: { value: 0, exact: true }, next: undefined });
      expect(await ids({ decision: 'DECLINE', channel: 'CASH' })).toEqual([]);
      expect(await ids({ account: 'acc-pager', after: { eventTimeMs: T0 - 365 * DAY, transactionId: 'z' } })).toEqual(
        [],
      );
    });
  });
}
