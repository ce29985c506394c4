import express from 'express';
import { Role } from '../../platform/auth.js';
import { principalOf, route } from '../../platform/http.js';
import { type AuditSearchResponse, type AuditTrail, type SyncDecision, riskBand } from '../../schemas/api.js';
import { Channel, Decision } from '../../schemas/generated/types.js';
import { type AuditPage, encodeAuditCursor } from '../domain/audit-query.js';
import { auditTrailFor } from '../domain/visibility.js';
import { auditTrail } from '../queries/transactions.js';
import { type RouteContext, notFound } from './context.js';
import { ParamReader, readAuditCursor, readSearchText } from './params.js';

/** One transaction's audit trail (`GET /v1/transactions/:id`) and the audit search (`GET /v1/audit/search`). */
export function transactionRoutes(ctx: RouteContext): express.Router {
  const { clickhouse, audit } = ctx;
  const router = express.Router();

  router.get(
    '/v1/transactions/:id',
    ctx.analystOrCompliance,
    route(async (req, res) => {
      const params = new ParamReader(req.params, 'params');
      const id = params.id('id');
      params.done();
      await audit(res, 'transaction.audit-trail', `transaction/${id}`, {});
      const trail = await auditTrail(clickhouse, id);
      if (!trail) throw notFound('TRANSACTION_NOT_FOUND', `no decision recorded for transaction ${id}`);
      res.json(auditTrailFor(principalOf(res).role, await ctx.openPersonalData(trail)));
    }),
  );

  router.get(
    '/v1/decisions/:id',
    ctx.only(Role.ingest),
    route(async (req, res) => {
      const params = new ParamReader(req.params, 'params');
      const id = params.id('id');
      params.done();
      await audit(res, 'decision.read', `transaction/${id}`, {});
      const trail = await auditTrail(clickhouse, id);
      if (!trail) throw notFound('TRANSACTION_NOT_FOUND', `no decision recorded for transaction ${id} (yet)`);
      res.json(syncDecisionOf(trail));
    }),
  );

  router.get(
    '/v1/audit/search',
    ctx.only(Role.compliance),
    route(async (req, res) => {
      const query = new ParamReader(req.query, 'query');
      const terms = readSearchText(query, 'q');
      const account = query.optionalId('account');
      const cardToken = query.optionalId('cardToken');
      const channel = query.oneOf('channel', Object.values(Channel));
      const decision = query.oneOf('decision', Object.values(Decision));
      const minScore = query.number('minScore', 0, 1);
      const maxScore = query.number('maxScore', 0, 1);
      const fromMs = query.time('from');
      const toMs = query.time('to');
      const limit = query.limit('limit', 50, 500);
      const after = readAuditCursor(query, 'cursor');
      if (minScore !== undefined && maxScore !== undefined && minScore > maxScore)
        query.fail('minScore', 'must not be greater than maxScore');
      if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs) query.fail('from', 'must be before to');
      query.done();
      const filters = { account, cardToken, channel, decision, minScore, maxScore, fromMs, toMs };
      // Who searched for what, before the search runs (misses and failures included).
      await audit(res, 'audit.search', 'audit/search', {
        q: typeof req.query['q'] === 'string' ? req.query['q'] : null,
        ...filters,
        limit,
        cursor: after ? encodeAuditCursor(after) : null,
      });
      const page = await ctx.auditSearch.search({ terms, ...filters, limit, after });
      res.json(searchResponse({ ...page, hits: await ctx.openPersonalData(page.hits) }));
    }),
  );

  return router;
}

/**
 * The response body: `total` when the count is exact, `totalAtLeast` once counting stopped at the cap, never
 * both; `nextCursor` is null on the last page.
 */
function searchResponse(page: AuditPage): AuditSearchResponse {
  return {
    hits: page.hits,
    ...(page.total.exact ? { total: page.total.value } : { totalAtLeast: page.total.value }),
    nextCursor: page.next ? encodeAuditCursor(page.next) : null,
  };
}

/** The stored decision in the shape `POST /v1/decisions` answers with, the ledger's state read from its entries. */
function syncDecisionOf(trail: AuditTrail): SyncDecision {
  const reasons = Array.isArray(trail.decision.reasons) ? (trail.decision.reasons as SyncDecision['reasons']) : [];
  return {
    transactionId: trail.transactionId,
    decision: trail.decision.outcome,
    score: trail.decision.score,
    risk: riskBand(trail.decision.outcome),
    reasons: reasons.map((r) => ({ code: r.code, source: r.source, description: r.description })),
    modelVersion: trail.decision.modelVersion,
    rulesVersion: trail.decision.rulesVersion,
    decidedAt: trail.timeline.scoredAt,
    ledger: {
      status:
        trail.decision.outcome === 'DECLINE' ? 'not_posted' : trail.ledgerEntries.length > 0 ? 'posted' : 'pending',
    },
  };
}
