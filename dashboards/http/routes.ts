import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import express, { type Request, type Response } from 'express';
import { type ApiKeyAuthenticator, Role } from '../../platform/auth.js';
import type { Clock } from '../../platform/clock.js';
import type { Producer } from '../../platform/bus.js';
import { ErrorCategory, VigilError } from '../../platform/errors.js';
import { principalOf, problemDetailsMiddleware, requireRole, route } from '../../platform/http.js';
import type { Logger } from '../../platform/logger.js';
import type { AuditSearchResponse, LabelAccepted } from '../../schemas/api.js';
import type { Codec } from '../../schemas/codec.js';
import { currencyExponents } from '../../schemas/currencies.js';
import type { AnalystLabel } from '../../schemas/generated/types.js';
import { Topics } from '../../schemas/topics.js';
import type { DashboardsConfig } from '../config.js';
import { parseMajorToMinor } from '../domain/money.js';
import type { AccessLogWriter } from '../adapters/clickhouse-access-log.js';
import { accountBalance, accountStatement } from '../queries/accounts.js';
import { listAlerts } from '../queries/alerts.js';
import { largeCashReport, ledgerIntegrity, summaryReport, trialBalance } from '../queries/reports.js';
import { auditTrail, findDecidedTransaction } from '../queries/transactions.js';
import { type AuditPage, encodeAuditCursor } from '../domain/audit-query.js';
import type { AuditSearch } from '../ports.js';
import { Channel, Decision, IngestSource } from '../../schemas/generated/types.js';
import { parseLabelRequest } from './labels.js';
import { ParamReader, checkTimeRange, readAuditCursor, readCursor, readSearchText } from './params.js';

export interface RoutesDeps {
  readonly clickhouse: ClickHouseClient;
  readonly authenticator: ApiKeyAuthenticator;
  readonly accessLog: AccessLogWriter;
  /** Audit search: ClickHouse in the embedded default, Elasticsearch in distributed mode. */
  readonly auditSearch: AuditSearch;
  readonly labels: { readonly producer: Producer; readonly codec: Codec<AnalystLabel> };
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: DashboardsConfig;
}

const DAY_MS = 86_400_000;
const webDir = fileURLToPath(new URL('../web/', import.meta.url));

const notFound = (code: ConstructorParameters<typeof VigilError>[0], message: string): VigilError =>
  new VigilError(code, message, { category: ErrorCategory.notFound });

/**
 * The dashboards' HTTP API and its web page. Every `/v1` route authenticates with an API key and checks the
 * role; every read is recorded in the access log before it runs (misses included). Errors leave as RFC 7807
 * problem responses.
 */
export function dashboardsRouter(deps: RoutesDeps): express.Router {
  const { clickhouse, authenticator, accessLog, clock, config } = deps;
  const router = express.Router();
  const analystOrCompliance = requireRole(authenticator, Role.analyst, Role.compliance);
  const audit = (res: Response, action: string, resource: string, query: Record<string, unknown>): void =>
    accessLog.record({ principal: principalOf(res), action, resource, query });

  // The page is static and holds no data, so the browser can load it without a key; it asks for one.
  const securityHeaders = (_req: Request, res: Response, next: () => void): void => {
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'",
    );
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  };
  router.get(['/', '/index.html'], securityHeaders, (_req, res) => res.sendFile('index.html', { root: webDir }));
  // The page's ISO 4217 minor-unit table, served from the one table in schemas/ (static data, no key).
  router.get('/assets/currencies.json', securityHeaders, (_req, res) => res.json(currencyExponents));
  router.use('/assets', securityHeaders, express.static(webDir, { index: false }));

  router.get(
    '/v1/transactions/:id',
    analystOrCompliance,
    route(async (req, res) => {
      const params = new ParamReader(req.params, 'params');
      const id = params.id('id');
      params.done();
      audit(res, 'transaction.audit-trail', `transaction/${id}`, {});
      const trail = await auditTrail(clickhouse, id);
      if (!trail) throw notFound('TRANSACTION_NOT_FOUND', `no decision recorded for transaction ${id}`);
      res.json(trail);
    }),
  );

  router.get(
    '/v1/accounts/:id/balance',
    analystOrCompliance,
    route(async (req, res) => {
      const params = new ParamReader(req.params, 'params');
      const id = params.id('id');
      params.done();
      audit(res, 'account.balance', `account/${id}`, {});
      const balance = await accountBalance(clickhouse, id);
      if (!balance) throw notFound('ACCOUNT_NOT_FOUND', `the ledger holds no entries for account ${id}`);
      res.json(balance);
    }),
  );

  router.get(
    '/v1/accounts/:id/statement',
    requireRole(authenticator, Role.compliance),
    route(async (req, res) => {
      const params = new ParamReader(req.params, 'params');
      const id = params.id('id');
      params.done();
      const query = new ParamReader(req.query, 'query');
      const toMs = query.time('to', clock.nowMs());
      const fromMs = query.time('from', toMs - 31 * DAY_MS);
      const limit = query.limit('limit', 1000, 10_000);
      checkTimeRange(query, fromMs, toMs, 3660);
      query.done();
      audit(res, 'account.statement', `account/${id}`, { fromMs, toMs, limit });
      res.json(await accountStatement(clickhouse, id, fromMs, toMs, limit));
    }),
  );

  router.get(
    '/v1/alerts',
    requireRole(authenticator, Role.analyst),
    route(async (req, res) => {
      const query = new ParamReader(req.query, 'query');
      const decision = query.oneOf('decision', ['REVIEW', 'DECLINE']);
      const sinceMs = query.time('since', clock.nowMs() - 7 * DAY_MS);
      const limit = query.limit('limit', 50, 500);
      const cursor = readCursor(query, 'cursor');
      query.done();
      audit(res, 'alerts.list', 'alerts', { decision: decision ?? null, sinceMs, limit, cursor: cursor ?? null });
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
    requireRole(authenticator, Role.analyst),
    express.json({ limit: '16kb' }),
    route(async (req, res) => {
      const request = parseLabelRequest(req.body);
      const principal = principalOf(res);
      const decided = await findDecidedTransaction(clickhouse, request.transactionId);
      if (!decided)
        throw notFound('TRANSACTION_NOT_FOUND', `no decision recorded for transaction ${request.transactionId}`);
      const label: AnalystLabel = {
        transactionId: decided.transactionId,
        label: request.label === 'fraud' ? 'FRAUD' : 'GENUINE',
        labelledBy: principal.id,
        labelledAtMs: clock.nowMs(),
        transactionEventTimeMs: decided.eventTimeMs,
        payerAccountId: decided.payerAccountId,
        cardToken: decided.cardToken,
        terminalId: decided.terminalId,
        note: request.note ?? null,
      };
      // Keyed by transaction id (topics.ts); resolves only once the record is durable, so 202 means kept.
      const [position] = await deps.labels.producer.send(Topics.analystLabels, [
        { key: label.transactionId, value: deps.labels.codec.encode(label) },
      ]);
      const accepted: LabelAccepted = {
        status: 'accepted',
        label: { ...label, labelledAt: new Date(label.labelledAtMs).toISOString() },
        partition: position?.partition ?? null,
        offset: position?.offset ?? null,
      };
      res.status(202).json(accepted);
    }),
  );

  router.get(
    '/v1/audit/search',
    requireRole(authenticator, Role.compliance),
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
      audit(res, 'audit.search', 'audit/search', {
        q: typeof req.query['q'] === 'string' ? req.query['q'] : null,
        ...filters,
        limit,
        cursor: after ? encodeAuditCursor(after) : null,
      });
      const page = await deps.auditSearch.search({ terms, ...filters, limit, after });
      res.json(searchResponse(page));
    }),
  );

  router.get(
    '/v1/reports/summary',
    analystOrCompliance,
    route(async (req, res) => {
      const query = new ParamReader(req.query, 'query');
      const toMs = query.time('to', clock.nowMs());
      const fromMs = query.time('from', toMs - DAY_MS);
      const source = query.oneOf('source', Object.values(IngestSource));
      checkTimeRange(query, fromMs, toMs, 400);
      query.done();
      audit(res, 'report.summary', 'reports/summary', { fromMs, toMs, source: source ?? null });
      res.json(await summaryReport(clickhouse, { fromMs, toMs, source }));
    }),
  );

  router.get(
    '/v1/reports/trial-balance',
    requireRole(authenticator, Role.compliance),
    route(async (req, res) => {
      const query = new ParamReader(req.query, 'query');
      const top = query.limit('top', config.trialBalanceTopAccounts, 10_000);
      query.done();
      audit(res, 'report.trial-balance', 'reports/trial-balance', { top });
      res.json(await trialBalance(clickhouse, top));
    }),
  );

  router.get(
    '/v1/reports/ledger-integrity',
    requireRole(authenticator, Role.compliance),
    route(async (_req, res) => {
      audit(res, 'report.ledger-integrity', 'reports/ledger-integrity', {});
      res.json(await ledgerIntegrity(clickhouse));
    }),
  );

  router.get(
    '/v1/reports/large-cash',
    requireRole(authenticator, Role.compliance),
    route(async (req, res) => {
      const query = new ParamReader(req.query, 'query');
      const currency =
        query.matching('currency', /^[A-Z]{3}$/, 'an ISO 4217 code such as USD') ?? config.largeCashCurrency;
      const thresholdText =
        query.matching(
          'threshold',
          /^\d{1,15}(\.\d{1,4})?$/,
          'a decimal amount in major units, e.g. 10000 or 9999.99',
        ) ?? config.largeCashThreshold;
      const thresholdMinor = parseMajorToMinor(thresholdText, currency);
      if (thresholdMinor === undefined || thresholdMinor <= 0n)
        query.fail('threshold', `must be a positive amount with at most the minor digits of ${currency}`);
      const bandPercent = query.limit('band', 20, 50);
      const minDeposits = query.limit('minDeposits', 3, 1000);
      const toMs = query.time('to', clock.nowMs());
      const fromMs = query.time('from', toMs - 31 * DAY_MS);
      const limit = query.limit('limit', 200, 5000);
      checkTimeRange(query, fromMs, toMs, 400);
      query.done();
      const q = { currency, thresholdMinor: thresholdMinor ?? 0n, bandPercent, minDeposits, fromMs, toMs, limit };
      audit(res, 'report.large-cash', 'reports/large-cash', q);
      res.json(await largeCashReport(clickhouse, q));
    }),
  );

  router.use(problemDetailsMiddleware(deps.logger));
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
