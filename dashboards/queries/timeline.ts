import type { ClickHouseClient } from '@clickhouse/client';
import type { CaseTimeline, LedgerStatusName, TimelineMatch } from '../../schemas/api.js';
import { ClickHouseTables, type DecisionRow, type SelectedRow, epochMsColumn } from '../../schemas/clickhouse.js';
import { moneyView } from '../domain/money.js';
import { decodeCursorValues, encodeCursorValues, isoTime, orNull, selectRows } from './select.js';

/** Keyset cursor of a timeline: the last item's event time and transaction id, opaque to clients. */
export interface TimelineCursor {
  readonly eventTimeMs: number;
  readonly transactionId: string;
}

export function encodeTimelineCursor(cursor: TimelineCursor): string {
  return encodeCursorValues([cursor.eventTimeMs, cursor.transactionId]);
}

/** The cursor {@link encodeTimelineCursor} made, or undefined when `text` is not one. */
export function decodeTimelineCursor(text: string): TimelineCursor | undefined {
  const [eventTimeMs, transactionId] = decodeCursorValues(text, 2) ?? [];
  return Number.isSafeInteger(eventTimeMs) && typeof transactionId === 'string'
    ? { eventTimeMs: eventTimeMs as number, transactionId }
    : undefined;
}

export interface TimelineQuery {
  /** Card tokens whose transactions belong on the timeline ('' never matches: it is how a row says "no card"). */
  readonly cardTokens: readonly string[];
  /** Payer accounts (the customers cases group by) whose transactions belong on it. */
  readonly payerAccountIds: readonly string[];
  /** The case's own transactions, marked `inCase`. */
  readonly caseTransactionIds: ReadonlySet<string>;
  readonly limit: number;
  /** Only transactions strictly before this place in the order (the previous page's last). */
  readonly before: TimelineCursor | undefined;
}

type TimelineRow = SelectedRow<
  DecisionRow,
  | 'transaction_id'
  | 'channel'
  | 'kind'
  | 'amount_minor'
  | 'currency'
  | 'payer_account_id'
  | 'payee_account_id'
  | 'merchant_id'
  | 'card_last4'
  | 'description'
  | 'decision'
  | 'score',
  'event_time'
> & { readonly top_reason_code: string; readonly by_card: number; readonly by_customer: number };

/**
 * The transactions of the given cards and payers, newest first by event time, ties in one millisecond broken by
 * transaction id (both descending, so a page boundary inside a tie neither repeats nor skips a row), keyset-paged on
 * that pair. One item per transaction: a decision stored twice (a fault the ledger-integrity report counts) is listed
 * once, as first stored. Each item says which key matched and where the ledger stands (a second query, by the page's
 * ids, on the ledger tables' primary key). Personal fields come back sealed; the caller opens them.
 */
export async function caseTimeline(clickhouse: ClickHouseClient, q: TimelineQuery): Promise<CaseTimeline> {
  const cardTokens = q.cardTokens.filter((token) => token !== '');
  if (cardTokens.length === 0 && q.payerAccountIds.length === 0) return { items: [], nextCursor: null };
  const rows = await selectRows<TimelineRow>(
    clickhouse,
    `SELECT transaction_id, channel, kind, amount_minor, currency, payer_account_id, payee_account_id, merchant_id,
       card_last4, description, decision, score, reason_codes[1] AS top_reason_code,
       card_token IN {cardTokens:Array(String)} AS by_card,
       payer_account_id IN {payerAccountIds:Array(String)} AS by_customer,
       ${epochMsColumn('event_time')}
     FROM ${ClickHouseTables.decisions}
     WHERE (card_token IN {cardTokens:Array(String)} OR payer_account_id IN {payerAccountIds:Array(String)})
       AND ({hasCursor:UInt8} = 0
         OR (event_time, transaction_id) < (fromUnixTimestamp64Milli({beforeMs:Int64}, 'UTC'), {beforeId:String}))
     ORDER BY event_time DESC, transaction_id DESC, stored_at ASC
     LIMIT 1 BY transaction_id
     LIMIT {take:UInt32}`,
    {
      cardTokens,
      payerAccountIds: q.payerAccountIds,
      hasCursor: q.before ? 1 : 0,
      beforeMs: q.before?.eventTimeMs ?? 0,
      beforeId: q.before?.transactionId ?? '',
      take: q.limit + 1,
    },
  );
  const page = rows.slice(0, q.limit);
  const ledger = await ledgerStatuses(
    clickhouse,
    page.map((r) => r.transaction_id),
  );
  const last = page[page.length - 1];
  return {
    items: page.map((r) => ({
      transactionId: r.transaction_id,
      eventTime: isoTime(r.event_time_ms),
      channel: r.channel,
      kind: r.kind,
      amount: moneyView(r.amount_minor, r.currency),
      payerAccountId: r.payer_account_id,
      payeeAccountId: r.payee_account_id,
      merchantId: orNull(r.merchant_id),
      cardLast4: orNull(r.card_last4),
      description: orNull(r.description),
      decision: r.decision,
      score: r.score,
      topReasonCode: orNull(r.top_reason_code),
      ledger: ledgerStatusOf(ledger.get(r.transaction_id)),
      matchedBy: matchesOf(r),
      inCase: q.caseTransactionIds.has(r.transaction_id),
    })),
    nextCursor:
      rows.length > q.limit && last
        ? encodeTimelineCursor({ eventTimeMs: Number(last.event_time_ms), transactionId: last.transaction_id })
        : null,
  };
}

const matchesOf = (r: TimelineRow): TimelineMatch[] => [
  ...(Number(r.by_card) === 1 ? (['card'] as const) : []),
  ...(Number(r.by_customer) === 1 ? (['customer'] as const) : []),
];

/** What the ledger tables hold for one transaction. */
interface LedgerFacts {
  readonly legs: number;
  readonly reversalLegs: number;
  readonly holdLegs: number;
  /** How its hold ended ('' while open or when it never had one). */
  readonly resolution: string;
}

function ledgerStatusOf(facts: LedgerFacts | undefined): LedgerStatusName {
  if (facts === undefined) return 'not_posted';
  if (facts.reversalLegs > 0) return 'reversed';
  if (facts.legs > 0 || facts.resolution === 'CAPTURED') return 'posted';
  if (facts.holdLegs > 0 && facts.resolution === '') return 'held';
  return 'not_posted';
}

/** The ledger's facts per transaction id, for ids that have any; one round trip over the three tables. */
async function ledgerStatuses(
  clickhouse: ClickHouseClient,
  transactionIds: readonly string[],
): Promise<Map<string, LedgerFacts>> {
  if (transactionIds.length === 0) return new Map();
  const rows = await selectRows<{
    transaction_id: string;
    legs: string;
    reversal_legs: string;
    hold_legs: string;
    resolution: string;
  }>(
    clickhouse,
    `SELECT transaction_id, sum(legs) AS legs, sum(reversal_legs) AS reversal_legs, sum(hold_legs) AS hold_legs,
       max(resolution) AS resolution
     FROM (
       SELECT transaction_id, count() AS legs, countIf(reverses_entry_id != '') AS reversal_legs, 0 AS hold_legs,
         '' AS resolution
       FROM ${ClickHouseTables.ledgerEntries} WHERE transaction_id IN {ids:Array(String)} GROUP BY transaction_id
       UNION ALL
       SELECT transaction_id, 0, 0, count(), '' FROM ${ClickHouseTables.ledgerHolds}
       WHERE transaction_id IN {ids:Array(String)} GROUP BY transaction_id
       UNION ALL
       SELECT transaction_id, 0, 0, 0, toString(any(resolution)) FROM ${ClickHouseTables.ledgerHoldResolutions}
       WHERE transaction_id IN {ids:Array(String)} GROUP BY transaction_id
     )
     GROUP BY transaction_id`,
    { ids: transactionIds },
  );
  return new Map(
    rows.map((r) => [
      r.transaction_id,
      {
        legs: Number(r.legs),
        reversalLegs: Number(r.reversal_legs),
        holdLegs: Number(r.hold_legs),
        resolution: r.resolution,
      },
    ]),
  );
}
