import express from 'express';
import { Role } from '../../platform/auth.js';
import { route } from '../../platform/http.js';
import { statementCsv } from '../domain/statement-csv.js';
import { accountBalance, accountStatement } from '../queries/accounts.js';
import { DAY_MS, type RouteContext, notFound } from './context.js';
import { ParamReader, checkTimeRange } from './params.js';

/** An account's balances (`GET /v1/accounts/:id/balance`) and statement (`GET /v1/accounts/:id/statement`). */
export function accountRoutes(ctx: RouteContext): express.Router {
  const { clickhouse, clock, audit } = ctx;
  const router = express.Router();

  router.get(
    '/v1/accounts/:id/balance',
    ctx.analystOrCompliance,
    route(async (req, res) => {
      const params = new ParamReader(req.params, 'params');
      const id = params.id('id');
      params.done();
      audit(res, 'account.balance', `account/${id}`, {});
      const balance = await accountBalance(clickhouse, id);
      if (!balance) throw notFound('ACCOUNT_NOT_FOUND', `the ledger holds no entries or holds for account ${id}`);
      res.json(balance);
    }),
  );

  router.get(
    '/v1/accounts/:id/statement',
    ctx.only(Role.compliance),
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
      // JSON unless the client prefers CSV (`Accept: text/csv`): the same statement, one table (domain/statement-csv.ts).
      const csv = req.accepts(['application/json', 'text/csv']) === 'text/csv';
      audit(res, 'account.statement', `account/${id}`, { fromMs, toMs, limit, format: csv ? 'csv' : 'json' });
      const statement = await accountStatement(clickhouse, id, fromMs, toMs, limit);
      if (csv) res.type('text/csv; charset=utf-8').attachment(`statement-${id}.csv`).send(statementCsv(statement));
      else res.json(statement);
    }),
  );

  return router;
}
