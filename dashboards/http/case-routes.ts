import { randomUUID } from 'node:crypto';
import express from 'express';
import type { Principal } from '../../platform/auth.js';
import { Role } from '../../platform/auth.js';
import { ErrorCategory, VigilError } from '../../platform/errors.js';
import { principalOf, route } from '../../platform/http.js';
import type {
  CaseActionRequest,
  CaseActionResult,
  CaseHistoryView,
  CasePage,
  CaseResolutionName,
  CaseSummary,
  CaseView,
  LiveCaseMessage,
} from '../../schemas/api.js';
import type { AnalystLabel, CaseEvent, CaseResolution } from '../../schemas/generated/types.js';
import type { CasesConfig } from '../config.js';
import {
  type Case,
  type CaseRefusal,
  CaseState,
  caseTiming,
  listCases,
  releaseNeedsApproval,
  type StepOutcome,
} from '../domain/cases.js';
import { moneyView } from '../domain/money.js';
import { caseGroupKeyFor } from '../domain/visibility.js';
import type { CaseLog } from '../ports.js';
import { caseTimeline, encodeTimelineCursor } from '../queries/timeline.js';
import { auditTrail, findDecidedTransaction } from '../queries/transactions.js';
import { parseCaseAction } from './case-actions.js';
import { type RouteContext, notFound } from './context.js';
import { labelOf, sendLabels } from './labels.js';
import { ParamReader, readTimelineCursor } from './params.js';

/** Alerts whose holds a case view looks up; a case with more lists the holds of its first ones. */
const MAX_HOLDS_SHOWN = 50;
/** Timeline page sizes: what the console shows at once, and the most one page may ask for. */
const TIMELINE_LIMIT = 25;
const MAX_TIMELINE_LIMIT = 200;

/**
 * Analysts' cases: `GET /v1/cases` (the queue, filtered and sorted), `GET /v1/cases/{id}` (alerts, history, holds),
 * `GET /v1/cases/{id}/timeline` (its cards' and customers' recent transactions) and `POST /v1/cases/{id}/actions` (assign, note, investigate, resolve, approve-release). Reads are open to analysts
 * and compliance; actions to analysts. Every call is access-logged before it runs; every action is a step on the case
 * log, answered once this process has folded it. Resolutions drive the ledger through the labels path: fraud puts
 * FRAUD labels on analyst.labels (ledger-sink voids holds and reverses booked payments), genuine puts GENUINE labels
 * (it books the holds) — above the four-eyes limit only once a second analyst approved the release.
 */
export function caseRoutes(ctx: RouteContext, cases: CaseLog): express.Router {
  const { audit, clock } = ctx;
  const config = ctx.config.cases;
  const router = express.Router();

  router.get(
    '/v1/cases',
    ctx.analystOrCompliance,
    route(async (req, res) => {
      const query = new ParamReader(req.query, 'query');
      const state = query.oneOf('state', [...Object.values(CaseState), 'unresolved'] as const);
      const assignee = query.optionalId('assignee');
      const sort = query.oneOf('sort', ['priority', 'age'] as const) ?? 'priority';
      const limit = query.limit('limit', 50, 500);
      const cursor = query.matching('cursor', /^\d{1,40}\/[^\s]{1,200}$/, 'the `next` of a page of this list');
      query.done();
      await audit(res, 'cases.list', 'cases', {
        state: state ?? null,
        assignee: assignee ?? null,
        sort,
        limit,
        cursor: cursor ?? null,
      });
      await cases.catchUp();
      const page = listCases(cases.book, { state, assignee, sort, limit, after: cursor });
      const nowMs = clock.nowMs();
      const role = principalOf(res).role;
      const body: CasePage = { cases: page.cases.map((c) => caseSummary(c, nowMs, config, role)), next: page.next };
      res.json(body);
    }),
  );

  router.get(
    '/v1/cases/:id',
    ctx.analystOrCompliance,
    route(async (req, res) => {
      const params = new ParamReader(req.params, 'params');
      const caseId = params.id('id');
      params.done();
      await audit(res, 'case.read', `case/${caseId}`, {});
      await cases.catchUp();
      const found = cases.book.get(caseId);
      if (found === undefined) throw notFound('CASE_NOT_FOUND', `no case ${caseId}`);
      const transactionIds = [...new Set(found.alerts.map((a) => a.transactionId))].slice(0, MAX_HOLDS_SHOWN);
      const trails = await Promise.all(transactionIds.map((id) => auditTrail(ctx.clickhouse, id)));
      const view: CaseView = {
        ...caseSummary(found, clock.nowMs(), config, principalOf(res).role),
        alerts: found.alerts.map((a) => ({
          alertId: a.alertId,
          transactionId: a.transactionId,
          decision: a.decision,
          score: a.score,
          amount: moneyView(a.amountMinor, a.currency),
          payerAccountId: a.payerAccountId,
          eventTime: new Date(a.eventTimeMs).toISOString(),
          raisedAt: new Date(a.raisedAtMs).toISOString(),
        })),
        history: found.history.map(historyView),
        holds: transactionIds.map((transactionId, i) => ({
          transactionId,
          hold: trails[i]?.hold ?? null,
          reversed: trails[i]?.ledgerEntries.some((e) => e.reversesEntryId !== null) ?? false,
        })),
      };
      res.json(await ctx.openPersonalData(view));
    }),
  );

  // The timeline is keyed by the case, not by a card token: analysts never see tokens (visibility.ts), so the case's
  // own cards and customers are looked up here, and the join stays scoped to the case an analyst works.
  router.get(
    '/v1/cases/:id/timeline',
    ctx.analystOrCompliance,
    route(async (req, res) => {
      const params = new ParamReader(req.params, 'params');
      const caseId = params.id('id');
      params.done();
      const query = new ParamReader(req.query, 'query');
      const limit = query.limit('limit', TIMELINE_LIMIT, MAX_TIMELINE_LIMIT);
      const before = readTimelineCursor(query, 'cursor');
      query.done();
      await audit(res, 'case.timeline', `case/${caseId}`, {
        limit,
        cursor: before === undefined ? null : encodeTimelineCursor(before),
      });
      await cases.catchUp();
      const found = cases.book.get(caseId);
      if (found === undefined) throw notFound('CASE_NOT_FOUND', `no case ${caseId}`);
      const timeline = await caseTimeline(ctx.clickhouse, {
        cardTokens: [...new Set(found.alerts.flatMap((a) => (a.cardToken === null ? [] : [a.cardToken])))],
        payerAccountIds: [...new Set(found.alerts.map((a) => a.payerAccountId))],
        caseTransactionIds: new Set(found.alerts.map((a) => a.transactionId)),
        limit,
        before,
      });
      res.json(await ctx.openPersonalData(timeline));
    }),
  );

  router.post(
    '/v1/cases/:id/actions',
    ctx.only(Role.analyst),
    express.json({ limit: '16kb' }),
    route(async (req, res) => {
      const params = new ParamReader(req.params, 'params');
      const caseId = params.id('id');
      params.done();
      const request = parseCaseAction(req.body);
      const principal = principalOf(res);
      // Before the case is looked up, so refused and unknown-case attempts are on the access log too; notes stay out
      // (free text, kept in the case's history).
      await audit(res, `case.${request.action}`, `case/${caseId}`, auditedFields(request));
      await cases.catchUp();
      const current = cases.book.get(caseId);
      if (current === undefined) throw notFound('CASE_NOT_FOUND', `no case ${caseId}`);
      const event = stepOf(request, current, principal, clock.nowMs(), config);
      // The fold's own rules, run up front: a refusal here is what the fold would say, without writing a step.
      throwIfRefused(cases.book.check(event));
      // The fold decides: another analyst's step written first (on this replica or another) may refuse this one.
      throwIfRefused(await cases.submit(event));
      const after = cases.book.get(caseId)!;
      const labels = await verdictLabels(ctx, event, after);
      await sendLabels(ctx.labels, labels);
      const result: CaseActionResult = {
        case: caseSummary(after, clock.nowMs(), config, principal.role),
        labelsSent: labels.length,
      };
      res.json(result);
    }),
  );

  return router;
}

/** The live message of a step the fold applied: pushed by the hub to every connected console. */
export function liveCaseMessage(event: CaseEvent, after: Case, nowMs: number, config: CasesConfig): LiveCaseMessage {
  return {
    type: 'case',
    action: event.action,
    by: event.actor,
    at: new Date(event.atMs).toISOString(),
    // The live stream is the analysts': it carries what they may see.
    case: caseSummary(after, nowMs, config, 'analyst'),
  };
}

/** A case as the queue lists it to `role`, with its age and SLA marks at `nowMs`. */
export function caseSummary(
  c: Case,
  nowMs: number,
  config: Pick<CasesConfig, 'slaMs'>,
  role: Principal['role'],
): CaseSummary {
  const timing = caseTiming(c, nowMs, config.slaMs);
  const pending = c.pendingRelease;
  return {
    caseId: c.caseId,
    groupKey: caseGroupKeyFor(role, c.groupKey),
    state: c.state,
    resolution: resolutionName(c.resolution),
    assignee: c.assignee,
    priority: c.priority.toString(),
    openedAt: new Date(c.openedAtMs).toISOString(),
    updatedAt: new Date(c.updatedAtMs).toISOString(),
    resolvedAt: c.resolvedAtMs === null ? null : new Date(c.resolvedAtMs).toISOString(),
    resolvedBy: c.resolvedBy,
    ageMs: timing.ageMs,
    slaDueAt: new Date(timing.slaDueMs).toISOString(),
    slaBreached: timing.breached,
    alertCount: c.alerts.length,
    pendingRelease:
      pending === null
        ? null
        : {
            requestedBy: pending.requestedBy,
            requestedByName: pending.requestedByName,
            requestedAt: new Date(pending.requestedAtMs).toISOString(),
            note: pending.note,
          },
  };
}

function historyView(entry: Case['history'][number]): CaseHistoryView {
  return {
    eventId: entry.eventId,
    action: entry.action,
    by: entry.by,
    byName: entry.byName,
    at: new Date(entry.atMs).toISOString(),
    alertId: entry.alertId,
    assignee: entry.assignee,
    note: entry.note,
    resolution: resolutionName(entry.resolution),
    awaitsApproval: entry.awaitsApproval,
    withdrewRelease: entry.withdrewRelease,
  };
}

const resolutionName = (resolution: CaseResolution | null): CaseResolutionName | null =>
  resolution === null ? null : (resolution.toLowerCase() as CaseResolutionName);

/** The step `request` asks for. Whether a release needs a second analyst is decided here, once, and kept on it. */
function stepOf(request: CaseActionRequest, current: Case, principal: Principal, atMs: number, config: CasesConfig) {
  const step: CaseEvent = {
    eventId: randomUUID(),
    caseId: current.caseId,
    action: 'NOTE',
    actor: principal.id,
    actorName: principal.name ?? null,
    atMs,
    alert: null,
    groupKey: null,
    joinWithinMs: null,
    assignee: null,
    note: null,
    resolution: null,
    releaseNeedsApproval: null,
  };
  switch (request.action) {
    case 'assign':
      return { ...step, action: 'ASSIGN', assignee: request.assignee ?? principal.id } satisfies CaseEvent;
    case 'note':
      return { ...step, action: 'NOTE', note: request.note } satisfies CaseEvent;
    case 'investigate':
      return { ...step, action: 'INVESTIGATE' } satisfies CaseEvent;
    case 'resolve': {
      const resolution = request.resolution.toUpperCase() as CaseResolution;
      return {
        ...step,
        action: 'RESOLVE',
        resolution,
        note: request.note ?? null,
        releaseNeedsApproval:
          resolution === 'GENUINE' ? releaseNeedsApproval(current.alerts, config.fourEyesAbove) : null,
      } satisfies CaseEvent;
    }
    case 'approve-release':
      return { ...step, action: 'APPROVE_RELEASE', note: request.note ?? null } satisfies CaseEvent;
  }
}

function throwIfRefused(outcome: StepOutcome): void {
  if (outcome.kind !== 'refused') return;
  throw refusalError(outcome.refusal);
}

function refusalError(refusal: CaseRefusal): VigilError {
  const category =
    refusal.code === 'CASE_NOT_FOUND'
      ? ErrorCategory.notFound
      : refusal.code === 'CASE_FOUR_EYES_SAME_PERSON'
        ? ErrorCategory.forbidden
        : ErrorCategory.conflict;
  return new VigilError(refusal.code, refusal.detail, { category });
}

/** What an action's access-log row keeps: its choices, never its free text. */
function auditedFields(request: CaseActionRequest): Record<string, unknown> {
  switch (request.action) {
    case 'assign':
      return { assignee: request.assignee ?? null };
    case 'resolve':
      return { resolution: request.resolution };
    default:
      return {};
  }
}

/**
 * The verdicts an applied step puts on analyst.labels: FRAUD for every alerted transaction when a case is resolved as
 * fraud, GENUINE when it is resolved genuine without (or after) the four-eyes approval; none otherwise. Labelled by the
 * person who took the step, at the step's time, so sending them again after a failure is stored once (ledger-sink keys
 * labels by transaction, verdict, person and time).
 */
async function verdictLabels(ctx: RouteContext, event: CaseEvent, after: Case): Promise<AnalystLabel[]> {
  const releases =
    event.action === 'APPROVE_RELEASE' ||
    (event.action === 'RESOLVE' && event.resolution === 'GENUINE' && event.releaseNeedsApproval !== true);
  const verdict = event.action === 'RESOLVE' && event.resolution === 'FRAUD' ? 'FRAUD' : releases ? 'GENUINE' : null;
  if (verdict === null || after.state !== CaseState.resolved) return [];
  const note =
    event.action === 'APPROVE_RELEASE'
      ? `case ${after.caseId}: release asked by ${
          after.history.findLast((h) => h.awaitsApproval)?.by ?? 'unknown'
        }, approved by ${event.actor}`
      : `case ${after.caseId}`;
  const labels: AnalystLabel[] = [];
  for (const transactionId of new Set(after.alerts.map((a) => a.transactionId))) {
    const alert = after.alerts.find((a) => a.transactionId === transactionId)!;
    // The decision row names the terminal (the alert does not); an alert whose decision is not stored yet is judged
    // from the alert's own fields.
    const decided = (await findDecidedTransaction(ctx.clickhouse, transactionId)) ?? {
      transactionId,
      payerAccountId: alert.payerAccountId,
      cardToken: alert.cardToken,
      terminalId: null,
      eventTimeMs: alert.eventTimeMs,
    };
    labels.push(
      labelOf(decided, verdict, event.actor, event.atMs, event.note === null ? note : `${note}: ${event.note}`),
    );
  }
  return labels;
}
