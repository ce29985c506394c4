import express from 'express';
import { Role } from '../../platform/auth.js';
import { route } from '../../platform/http.js';
import { IngestSource } from '../../schemas/generated/types.js';
import { parseMajorToMinor } from '../domain/money.js';
import { largeCashReport, ledgerIntegrity, summaryReport } from '../queries/reports.js';
import { trialBalance } from '../queries/trial-balance.js';
import { DAY_MS, type RouteContext } from './context.js';
import { ParamReader, checkTimeRange } from './params.js';

/** The reports under `/v1/reports/`: summary, trial balance, ledger integrity and large cash. */
export function reportRoutes(ctx: RouteContext): express.Router {
  const { clickhouse, clock, config, audit } = ctx;
  const router = express.Router();

  router.get(
    '/v1/reports/summary',
    ctx.analystOrCompliance,
    route(async (req, res) => {
      const query = new ParamReader(req.query, 'query');
      const toMs = query.time('to', clock.nowMs());
      const fromMs = query.time('from', toMs - DAY_MS);
      const source = query.oneOf('source', Object.values(IngestSource));
      const excludeSource = query.oneOf('excludeSource', Object.values(IngestSource));
      checkTimeRange(query, fromMs, toMs, 400);
      query.done();
      await audit(res, 'report.summary', 'reports/summary', {
        fromMs,
        toMs,
        source: source ?? null,
        excludeSource: excludeSource ?? null,
      });
      res.json(await summaryReport(clickhouse, { fromMs, toMs, source, excludeSource }));
    }),
  );

  router.get(
    '/v1/reports/trial-balance',
    ctx.only(Role.compliance),
    route(async (req, res) => {
      const query = new ParamReader(req.query, 'query');
      const top = query.limit('top', config.trialBalanceTopAccounts, 10_000);
      query.done();
      await audit(res, 'report.trial-balance', 'reports/trial-balance', { top });
      res.json(await trialBalance(clickhouse, ctx.accounts.table.list(), top));
    }),
  );

  router.get(
    '/v1/reports/ledger-integrity',
    ctx.only(Role.compliance),
    route(async (_req, res) => {
      await audit(res, 'report.ledger-integrity', 'reports/ledger-integrity', {});
      res.json(await ledgerIntegrity(clickhouse));
    }),
  );

  router.get(
    '/v1/reports/large-cash',
    ctx.only(Role.compliance),
    route(async (req, res) => {
      const query = new ParamReader(req.query, 'query');
      // Every configured currency with its own threshold; `currency` narrows the report to one, and `threshold`
      // (only with `currency`: a threshold is an amount in one currency) replaces that one's.
      const currency = query.matching('currency', /^[A-Z]{3}$/, 'an ISO 4217 code such as USD');
      const thresholdText = query.matching(
        'threshold',
        /^\d{1,15}(\.\d{1,4})?$/,
        'a decimal amount in major units, e.g. 10000 or 9999.99',
      );
      let thresholds: ReadonlyMap<string, bigint> = config.cashThresholds;
      if (currency !== undefined) {
        const given = thresholdText === undefined ? undefined : parseMajorToMinor(thresholdText, currency);
        if (thresholdText !== undefined && (given === undefined || given <= 0n))
          query.fail('threshold', `must be a positive amount with at most the minor digits of ${currency}`);
        const threshold = given ?? config.cashThresholds.get(currency);
        if (threshold === undefined && thresholdText === undefined)
          query.fail('threshold', `is required for ${currency}: it has no configured threshold`);
        thresholds = new Map(threshold === undefined ? [] : [[currency, threshold]]);
      } else if (thresholdText !== undefined)
        query.fail('threshold', 'needs `currency`: a threshold is an amount in one currency');
      const bandPercent = query.limit('band', 20, 50);
      const minTransactions = query.limit('minTransactions', 3, 1000);
      const toMs = query.time('to', clock.nowMs());
      const fromMs = query.time('from', toMs - 31 * DAY_MS);
      const limit = query.limit('limit', 200, 5000);
      checkTimeRange(query, fromMs, toMs, 400);
      query.done();
      const q = { thresholds, bandPercent, minTransactions, fromMs, toMs, limit };
      await audit(res, 'report.large-cash', 'reports/large-cash', {
        ...q,
        thresholds: Object.fromEntries([...thresholds].map(([c, minor]) => [c, minor.toString()])),
      });
      res.json(await largeCashReport(clickhouse, q));
    }),
  );

  return router;
}
