import express from 'express';
import { Role } from '../../platform/auth.js';
import { principalOf, route } from '../../platform/http.js';
import type { AccountList } from '../../schemas/api.js';
import type { Account } from '../../schemas/generated/types.js';
import { Topics } from '../../schemas/topics.js';
import { FX_POSITION_PREFIX, accountView, accountViewOf, isFxPositionId } from '../domain/accounts.js';
import { statementCsv } from '../domain/statement-csv.js';
import { accountBalance, accountStatement } from '../queries/accounts.js';
import { parseAccountRequest } from './accounts-body.js';
import { DAY_MS, type RouteContext, notFound } from './context.js';
import { ParamReader, checkTimeRange } from './params.js';

/** Most accounts `GET /v1/accounts` lists in one answer. */
const MAX_LISTED_ACCOUNTS = 10_000;

/**
 * The chart of accounts (`GET /v1/accounts`, `GET`/`PUT /v1/accounts/:id`), an account's balances
 * (`GET /v1/accounts/:id/balance`) and statement (`GET /v1/accounts/:id/statement`).
 */
export function accountRoutes(ctx: RouteContext): express.Router {
  const { clickhouse, clock, audit } = ctx;
  const { table } = ctx.accounts;
  const router = express.Router();

  router.get(
    '/v1/accounts',
    ctx.only(Role.compliance),
    route(async (req, res) => {
      const query = new ParamReader(req.query, 'query');
      const limit = query.limit('limit', MAX_LISTED_ACCOUNTS, MAX_LISTED_ACCOUNTS);
      query.done();
      await audit(res, 'accounts.list', 'accounts', { limit });
      const list: AccountList = {
        accounts: table.list(limit).map(accountView),
        total: table.size,
        truncated: table.size > limit,
      };
      res.json(list);
    }),
  );

  router.get(
    '/v1/accounts/:id',
    ctx.analystOrCompliance,
    route(async (req, res) => {
      const params = new ParamReader(req.params, 'params');
      const id = params.id('id');
      params.done();
      await audit(res, 'account.view', `account/${id}`, {});
      res.json(accountViewOf(id, table.get(id)));
    }),
  );

  router.put(
    '/v1/accounts/:id',
    ctx.only(Role.admin),
    express.json({ limit: '16kb' }),
    route(async (req, res) => {
      const params = new ParamReader(req.params, 'params');
      const id = params.id('id');
      if (isFxPositionId(id))
        params.fail('id', `must not start with "${FX_POSITION_PREFIX}" (reserved for the ledger's FX positions)`);
      params.done();
      const setting = parseAccountRequest(req.body);
      await audit(res, 'account.update', `account/${id}`, {
        type: setting.type,
        currency: setting.currency,
        overdraftLimitMinor: setting.overdraftLimitMinor?.toString() ?? null,
        scheme: setting.scheme,
      });
      const account: Account = {
        accountId: id,
        ...setting,
        updatedBy: principalOf(res).id,
        updatedAtMs: clock.nowMs(),
      };
      // Keyed by account id (topics.ts); resolves only once the record is durable. Applied here as well, so a GET
      // right after this answer sees it before the feed brings the same record round (apply keeps the newest).
      await ctx.accounts.producer.send(Topics.accounts, [
        { key: account.accountId, value: ctx.accounts.codec.encode(account) },
      ]);
      table.apply(account);
      res.json(accountView(account));
    }),
  );

  router.get(
    '/v1/accounts/:id/balance',
    ctx.analystOrCompliance,
    route(async (req, res) => {
      const params = new ParamReader(req.params, 'params');
      const id = params.id('id');
      params.done();
      await audit(res, 'account.balance', `account/${id}`, {});
      const account = table.get(id);
      const overdraft =
        account === undefined || account.overdraftLimitMinor === null
          ? undefined
          : { currency: account.currency, limitMinor: account.overdraftLimitMinor };
      const balance = await accountBalance(clickhouse, id, overdraft);
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
      await audit(res, 'account.statement', `account/${id}`, { fromMs, toMs, limit, format: csv ? 'csv' : 'json' });
      const statement = await accountStatement(clickhouse, id, fromMs, toMs, limit);
      if (csv) res.type('text/csv; charset=utf-8').attachment(`statement-${id}.csv`).send(statementCsv(statement));
      else res.json(statement);
    }),
  );

  return router;
}
