import express from 'express';
import { problemDetailsMiddleware } from '../../platform/http.js';
import { accessRoutes } from './access-routes.js';
import { accountRoutes } from './account-routes.js';
import { apiKeyRoutes } from './api-key-routes.js';
import { alertRoutes } from './alert-routes.js';
import { callerRoutes } from './caller-routes.js';
import { caseRoutes } from './case-routes.js';
import { type RoutesDeps, routeContext } from './context.js';
import { customerRoutes } from './customer-routes.js';
import { reportRoutes } from './report-routes.js';
import { rulesRoutes } from './rules-routes.js';
import { shadowRoutes } from './shadow-routes.js';
import { transactionRoutes } from './transaction-routes.js';
import { webRoutes } from './web-routes.js';

/**
 * The dashboards' HTTP API and its web page, one router per area. Every `/v1` route authenticates with an API
 * key and checks the role; every read, search, export and action is recorded in the access log, durably, before it
 * runs (misses included) — and refused with 503 when it cannot be (fail closed). Errors leave as RFC 9457 problem
 * responses.
 */
export function dashboardsRouter(deps: RoutesDeps): express.Router {
  const ctx = routeContext(deps);
  const router = express.Router();
  router.use(webRoutes(deps.config.consoleSignIn));
  router.use(callerRoutes(ctx));
  router.use(transactionRoutes(ctx));
  router.use(alertRoutes(ctx));
  if (deps.cases !== undefined) router.use(caseRoutes(ctx, deps.cases));
  router.use(accountRoutes(ctx));
  router.use(reportRoutes(ctx));
  router.use(accessRoutes(ctx));
  router.use(rulesRoutes(ctx));
  if (deps.shadow !== undefined && deps.rules !== undefined) router.use(shadowRoutes(ctx, deps.shadow, deps.rules));
  if (deps.apiKeys !== undefined) router.use(apiKeyRoutes(ctx, deps.apiKeys));
  router.use(customerRoutes(ctx));
  router.use(problemDetailsMiddleware(deps.logger));
  return router;
}
