import { type Client, errors, type estypes } from '@elastic/elasticsearch';
import { UnavailableError, VigilError, describeError } from '../../platform/errors.js';
import { type AuditDocument, auditIndexPattern } from '../../schemas/elasticsearch/audit.js';
import { moneyView } from '../domain/money.js';
import type { AuditHit } from '../../schemas/api.js';
import { type AuditPage, type AuditQuery, type SearchTerm, TOTAL_CAP } from '../domain/audit-query.js';
import type { AuditSearch } from '../ports.js';

/**
 * {@link AuditSearch} over the Elasticsearch audit index written by ledger-sink (schemas/elasticsearch/). Only
 * core queries on built-in field types (term with `case_insensitive`, match with the standard analyzer,
 * range, bool), sorted by (event_time, transaction_id) descending and paged with `search_after` — so it runs on
 * the minimal distribution, without scripting.
 *
 * Every filter is a `filter` clause (no scoring, cacheable); each free-text term is a `should` group of which one
 * must match, mirroring the ClickHouse backend's rules (audit-search.ts).
 */
export class ElasticsearchAuditSearch implements AuditSearch {
  constructor(
    private readonly client: Client,
    private readonly indexPrefix: string,
  ) {}

  async search(q: AuditQuery): Promise<AuditPage> {
    let response: estypes.SearchResponse<AuditDocument>;
    try {
      response = await this.client.search<AuditDocument>({
        index: auditIndexPattern(this.indexPrefix),
        // No audit index yet (nothing indexed) is an empty result, not an error.
        ignore_unavailable: true,
        allow_no_indices: true,
        query: { bool: { filter: filters(q), must: q.terms.map(termClause) } },
        sort: [{ event_time: { order: 'desc' } }, { transaction_id: { order: 'desc' } }],
        ...(q.after ? { search_after: [q.after.eventTimeMs, q.after.transactionId] } : {}),
        size: q.limit + 1,
        track_total_hits: TOTAL_CAP,
        _source: true,
      });
    } catch (cause) {
      if (cause instanceof errors.ResponseError && (cause.statusCode ?? 0) < 500 && cause.statusCode !== 429)
        throw new VigilError('AUDIT_SEARCH_FAILED', `Elasticsearch rejected an audit search: ${describeError(cause)}`, {
          cause,
        });
      throw new UnavailableError(
        'AUDIT_SEARCH_UNAVAILABLE',
        'the audit search index (Elasticsearch) is unavailable',
        cause,
      );
    }
    const found = response.hits.hits;
    const page = found.slice(0, q.limit);
    const last = page[page.length - 1];
    const total = response.hits.total;
    const totalValue = typeof total === 'number' ? total : (total?.value ?? 0);
    const exact = typeof total === 'number' || total?.relation !== 'gte';
    return {
      hits: page.map((hit) => toHit(hit._source)),
      total: { value: Math.min(totalValue, TOTAL_CAP), exact: exact && totalValue <= TOTAL_CAP },
      next:
        found.length > q.limit && last?._source
          ? { eventTimeMs: Date.parse(last._source.event_time), transactionId: last._source.transaction_id }
          : undefined,
    };
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

const idFields = ['transaction_id', 'payer_account_id', 'payee_account_id', 'merchant_id', 'reasons.code'] as const;
const wordFields = ['description', 'reasons.description', 'merchant_id.text'] as const;

function termClause(term: SearchTerm): estypes.QueryDslQueryContainer {
  return {
    bool: {
      should: [
        ...idFields.map((field) => ({ term: { [field]: { value: term.text, case_insensitive: true } } })),
        ...(term.words.length === 0
          ? []
          : wordFields.map((field) => ({
              match: { [field]: { query: term.words.join(' '), operator: 'and' as const } },
            }))),
      ],
      minimum_should_match: 1,
    },
  };
}

function filters(q: AuditQuery): estypes.QueryDslQueryContainer[] {
  const out: estypes.QueryDslQueryContainer[] = [];
  if (q.account !== undefined)
    out.push({
      bool: {
        should: [{ term: { payer_account_id: q.account } }, { term: { payee_account_id: q.account } }],
        minimum_should_match: 1,
      },
    });
  if (q.cardToken !== undefined) out.push({ term: { card_token: q.cardToken } });
  if (q.channel !== undefined) out.push({ term: { channel: q.channel } });
  if (q.decision !== undefined) out.push({ term: { decision: q.decision } });
  if (q.minScore !== undefined || q.maxScore !== undefined)
    out.push({ range: { score: { gte: q.minScore, lte: q.maxScore } } });
  if (q.fromMs !== undefined || q.toMs !== undefined)
    out.push({ range: { event_time: { gte: q.fromMs, lt: q.toMs, format: 'epoch_millis' } } });
  return out;
}

/** ClickHouse stores absent text as '' and the index as null; responses say null for both. */
const presentOrNull = (text: string | null): string | null => (text === null || text === '' ? null : text);

function toHit(doc: AuditDocument | undefined): AuditHit {
  if (doc === undefined)
    throw new VigilError('AUDIT_DOCUMENT_WITHOUT_SOURCE', 'an audit document came back without _source');
  return {
    transactionId: doc.transaction_id,
    eventTime: new Date(doc.event_time).toISOString(),
    scoredAt: new Date(doc.scored_at).toISOString(),
    decision: doc.decision,
    score: doc.score,
    channel: doc.channel,
    kind: doc.kind,
    amount: moneyView(String(doc.amount_minor), doc.currency),
    payerAccountId: doc.payer_account_id,
    payeeAccountId: doc.payee_account_id,
    cardToken: presentOrNull(doc.card_token),
    cardLast4: presentOrNull(doc.card_last4),
    merchantId: presentOrNull(doc.merchant_id),
    country: presentOrNull(doc.country),
    description: presentOrNull(doc.description),
    reasons: doc.reasons.map((r) => ({ code: r.code, description: r.description })),
    modelVersion: doc.model_version,
    rulesVersion: doc.rules_version,
  };
}
