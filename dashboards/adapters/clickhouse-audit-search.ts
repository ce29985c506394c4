import type { ClickHouseClient } from '@clickhouse/client';
import { moneyView } from '../domain/money.js';
import { isoTime, orNull, parseStoredJson, selectRows } from '../queries/select.js';
import type { AuditHit } from '../../schemas/api.js';
import { type AuditPage, type AuditQuery, TOTAL_CAP } from '../domain/audit-query.js';
import type { AuditSearch } from '../ports.js';
import { ClickHouseTables, type DecisionRow, type SelectedRow, epochMsColumn } from '../../schemas/clickhouse.js';

/**
 * {@link AuditSearch} over ClickHouse's `decisions` (the embedded default). The SQL text is assembled only
 * from the constant fragments below, chosen by which filters are present; every value from the request is a
 * typed query parameter.
 *
 * Free text scans `decisions` (ordered by transaction id, so there is no index to narrow by text): a cheap
 * case-insensitive substring pre-check (`positionCaseInsensitiveUTF8` of each term's longest word over the
 * searchable columns, raw) runs first and only rows passing it are split into words. The pre-check can only
 * let through more rows than match, never fewer: a row matches a term only if the term, or each of its words,
 * occurs in one of those columns.
 */
const searchableText = `concat(transaction_id, ' ', payer_account_id, ' ', payee_account_id, ' ', merchant_id, ' ', description, ' ', reasons_json)`;
const reasonDescriptions = `arrayStringConcat(arrayMap(r -> JSONExtractString(r, 'description'), JSONExtractArrayRaw(reasons_json)), ' ')`;

const FILTERS = {
  text: `arrayAll(needle -> positionCaseInsensitiveUTF8(${searchableText}, needle) > 0, {needles:Array(String)})
    AND arrayAll((term, words) ->
         term IN (lowerUTF8(transaction_id), lowerUTF8(payer_account_id), lowerUTF8(payee_account_id), lowerUTF8(merchant_id))
      OR has(arrayMap(code -> lowerUTF8(code), reason_codes), term)
      OR (notEmpty(words) AND (
           hasAll(splitByNonAlpha(lowerUTF8(description)), words)
        OR hasAll(splitByNonAlpha(lowerUTF8(${reasonDescriptions})), words)
        OR hasAll(splitByNonAlpha(lowerUTF8(merchant_id)), words))),
      {terms:Array(String)}, {termWords:Array(Array(String))})`,
  account: `(payer_account_id = {account:String} OR payee_account_id = {account:String})`,
  cardToken: `card_token = {cardToken:String}`,
  channel: `channel = {channel:String}`,
  decision: `decision = {decision:String}`,
  minScore: `score >= {minScore:Float64}`,
  maxScore: `score <= {maxScore:Float64}`,
  from: `event_time >= fromUnixTimestamp64Milli({fromMs:Int64}, 'UTC')`,
  to: `event_time < fromUnixTimestamp64Milli({toMs:Int64}, 'UTC')`,
} as const;
const AFTER = `(event_time, transaction_id) < (fromUnixTimestamp64Milli({afterMs:Int64}, 'UTC'), {afterId:String})`;

type HitRow = SelectedRow<
  DecisionRow,
  | 'transaction_id'
  | 'decision'
  | 'score'
  | 'channel'
  | 'kind'
  | 'amount_minor'
  | 'currency'
  | 'payer_account_id'
  | 'payee_account_id'
  | 'card_token'
  | 'card_last4'
  | 'merchant_id'
  | 'country'
  | 'description'
  | 'reasons_json'
  | 'model_version'
  | 'rules_version',
  'event_time' | 'scored_at'
>;

export class ClickHouseAuditSearch implements AuditSearch {
  constructor(private readonly clickhouse: ClickHouseClient) {}

  async search(q: AuditQuery): Promise<AuditPage> {
    const conditions: string[] = [];
    const params: Record<string, unknown> = {};
    if (q.terms.length > 0) {
      conditions.push(FILTERS.text);
      params['terms'] = q.terms.map((t) => t.text);
      params['termWords'] = q.terms.map((t) => t.words);
      params['needles'] = q.terms.map((t) =>
        t.words.length === 0 ? t.text : t.words.reduce((a, b) => (b.length > a.length ? b : a)),
      );
    }
    const bind = (key: keyof typeof FILTERS, name: string, value: unknown): void => {
      if (value === undefined) return;
      conditions.push(FILTERS[key]);
      params[name] = value;
    };
    bind('account', 'account', q.account);
    bind('cardToken', 'cardToken', q.cardToken);
    bind('channel', 'channel', q.channel);
    bind('decision', 'decision', q.decision);
    bind('minScore', 'minScore', q.minScore);
    bind('maxScore', 'maxScore', q.maxScore);
    bind('from', 'fromMs', q.fromMs);
    bind('to', 'toMs', q.toMs);
    const where = conditions.length === 0 ? '1' : conditions.join('\n  AND ');
    const pageWhere = q.after ? `${where}\n  AND ${AFTER}` : where;
    const pageParams = q.after
      ? { ...params, afterMs: q.after.eventTimeMs, afterId: q.after.transactionId, limit: q.limit + 1 }
      : { ...params, limit: q.limit + 1 };

    const [rows, counted] = await Promise.all([
      selectRows<HitRow>(
        this.clickhouse,
        `SELECT transaction_id, decision, score, channel, kind, amount_minor, currency, payer_account_id,
           payee_account_id, card_token, card_last4, merchant_id, country, description, reasons_json, model_version,
           rules_version, ${epochMsColumn('event_time')}, ${epochMsColumn('scored_at')}
         FROM ${ClickHouseTables.decisions}
         WHERE ${pageWhere}
         ORDER BY event_time DESC, transaction_id DESC
         LIMIT 1 BY transaction_id
         LIMIT {limit:UInt32}`,
        pageParams,
      ),
      // Distinct ids, like the index (one document per transaction); stops counting past the cap.
      selectRows<{ n: string }>(
        this.clickhouse,
        `SELECT count() AS n FROM (SELECT DISTINCT transaction_id FROM ${ClickHouseTables.decisions} WHERE ${where} LIMIT {cap:UInt32})`,
        { ...params, cap: TOTAL_CAP + 1 },
      ),
    ]);
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    const n = Number(counted[0]?.n ?? 0);
    return {
      hits: page.map(toHit),
      total: n > TOTAL_CAP ? { value: TOTAL_CAP, exact: false } : { value: n, exact: true },
      next:
        rows.length > q.limit && last
          ? { eventTimeMs: Number(last.event_time_ms), transactionId: last.transaction_id }
          : undefined,
    };
  }

  /** The client is shared with the rest of the process; its owner closes it. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function toHit(r: HitRow): AuditHit {
  const reasons = parseStoredJson(r.reasons_json);
  return {
    transactionId: r.transaction_id,
    eventTime: isoTime(r.event_time_ms),
    scoredAt: isoTime(r.scored_at_ms),
    decision: r.decision,
    score: r.score,
    channel: r.channel,
    kind: r.kind,
    amount: moneyView(r.amount_minor, r.currency),
    payerAccountId: r.payer_account_id,
    payeeAccountId: r.payee_account_id,
    cardToken: orNull(r.card_token),
    cardLast4: orNull(r.card_last4),
    merchantId: orNull(r.merchant_id),
    country: orNull(r.country),
    description: orNull(r.description),
    reasons: Array.isArray(reasons)
      ? reasons.map((reason: unknown) => {
          const { code, description } = (reason ?? {}) as { code?: unknown; description?: unknown };
          return {
            code: typeof code === 'string' ? code : '',
            description: typeof description === 'string' ? description : '',
          };
        })
      : [],
    modelVersion: r.model_version,
    rulesVersion: r.rules_version,
  };
}
