import express from 'express';
import { Role } from '../../platform/auth.js';
import { principalOf, route } from '../../platform/http.js';
import type { LabelAccepted } from '../../schemas/api.js';
import { ErrorCategory, VigilError } from '../../platform/errors.js';
import { releaseGoesThroughCase } from '../domain/cases.js';
import { listAlerts } from '../queries/alerts.js';
import { findDecidedTransaction } from '../queries/transactions.js';
import { DAY_MS, type RouteContext, notFound } from './context.js';
import { labelOf, parseLabelRequest, sendLabels } from './labels.js';
import { ParamReader, readCursor } from './params.js';

/** The analysts' work queue: the alert list (`GET /v1/alerts`) and their verdicts (`POST /v1/labels`). */
export function alertRoutes(ctx: RouteContext): express.Router {
  const { clickhouse, clock, audit } = ctx;
  const router = express.Router();

  router.get(
    '/v1/alerts',
    ctx.only(Role.analyst),
    route(async (req, res) => {
      const query = new ParamReader(req.query, 'query');
      const decision = query.oneOf('decision', ['REVIEW', 'DECLINE']);
      const sinceMs = query.time('since', clock.nowMs() - 7 * DAY_MS);
      const limit = query.limit('limit', 50, 500);
      const cursor = readCursor(query, 'cursor');
      query.done();
      await audit(res, 'alerts.list', 'alerts', { decision: decision ?? null, sinceMs, limit, cursor: cursor ?? null });
      res.json(
        await listAlerts(clickhouse, {
          decisions: decision ? [decision] : ['REVIEW', 'DECLINE'],
          sinceMs,
          limit,
          cursor,
        }),
      );
    }),
  );

  router.post(
    '/v1/labels',
    ctx.only(Role.analyst),
    express.json({ limit: '16kb' }),
    route(async (req, res) => {
      const request = parseLabelRequest(req.body);
      const principal = principalOf(res);
      // Who judged which transaction, before the lookup runs (an unknown id is logged too). The note stays out:
      // it is free text and lives on the label itself.
      await audit(res, 'label.create', `transaction/${request.transactionId}`, { label: request.label });
      const through = ctx.cases && request.label === 'genuine' ? caseToRelease(ctx, request.transactionId) : undefined;
      if (through !== undefined)
        throw new VigilError(
          'CASE_RELEASE_NEEDS_APPROVAL',
          `transaction ${request.transactionId} is held above the four-eyes limit in case ${through.caseId}: resolve the case as genuine`,
          { category: ErrorCategory.conflict, details: { caseId: through.caseId } },
        );
      const decided = await findDecidedTransaction(clickhouse, request.transactionId);
      if (!decided)
        throw notFound('TRANSACTION_NOT_FOUND', `no decision recorded for transaction ${request.transactionId}`);
      const label = labelOf(
        decided,
        request.label === 'fraud' ? 'FRAUD' : 'GENUINE',
        principal.id,
        clock.nowMs(),
        request.note ?? null,
      );
      // 202 means kept: sendLabels resolves once the record is durable.
      const [position] = await sendLabels(ctx.labels, [label]);
      const accepted: LabelAccepted = {
        status: 'accepted',
        // The card token goes on the topic (scoring's card features need it) but not back to the analyst (API3, see
        // domain/visibility.ts).
        label: { ...label, cardToken: null, labelledAt: new Date(label.labelledAtMs).toISOString() },
        partition: position?.partition ?? null,
        offset: position?.offset ?? null,
      };
      res.status(202).json(accepted);
    }),
  );

  return router;
}

function caseToRelease(ctx: RouteContext, transactionId: string) {
  return ctx.cases === undefined
    ? undefined
    : releaseGoesThroughCase(ctx.cases.book, transactionId, ctx.config.cases.fourEyesAbove);
}
