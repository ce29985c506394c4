import express, { type Router } from 'express';
import { type ApiKeyAuthenticator, Role } from '../../platform/auth.js';
import { ValidationError } from '../../platform/errors.js';
import { principalOf, problemDetailsMiddleware, requireRole, route } from '../../platform/http.js';
import type { Logger } from '../../platform/logger.js';
import type { WebhookReplayRequest } from '../../schemas/webhooks.js';
import type { Notifier } from '../app/notifier.js';

export interface NotifierRouterOptions {
  readonly notifier: Notifier;
  readonly authenticator: ApiKeyAuthenticator;
  readonly logger: Logger;
}

const MAX_DELIVERIES_LISTED = 500;

/**
 * The webhook admin API, role `admin` on every route:
 *  - `POST /v1/webhooks` `{ url, events, description? }` → 201 with the endpoint and its signing secret (shown once)
 *  - `GET /v1/webhooks` → `{ endpoints }`; `GET /v1/webhooks/{id}` → one; `DELETE /v1/webhooks/{id}` → 204
 *  - `GET /v1/webhooks/{id}/deliveries?limit=` → `{ deliveries }`, newest attempt first (limit 1–500, default 100)
 *  - `POST /v1/webhooks/{id}/replay` `{ from, to }` (ISO 8601) → 202 `{ endpointId, events }`
 *  - `POST /v1/webhooks/{id}/enable` → 200 with the endpoint: a disabled endpoint resumes from its cursor
 * Admin actions are logged with the caller's principal.
 */
export function notifierRouter({ notifier, authenticator, logger }: NotifierRouterOptions): Router {
  const router = express.Router();
  const admin = requireRole(authenticator, Role.admin);
  const json = express.json({ limit: '16kb' });

  router.post(
    '/v1/webhooks',
    admin,
    json,
    route(async (req, res) => {
      const created = await notifier.create(req.body);
      logger.info('admin: webhook endpoint created', { principal: principalOf(res).id, endpointId: created.id });
      res.status(201).json(created);
    }),
  );
  router.get('/v1/webhooks', admin, (_req, res) => {
    res.json({ endpoints: notifier.list() });
  });
  router.get('/v1/webhooks/:id', admin, (req, res) => {
    res.json(notifier.get(String(req.params['id'])));
  });
  router.delete(
    '/v1/webhooks/:id',
    admin,
    route(async (req, res) => {
      const id = String(req.params['id']);
      await notifier.remove(id);
      logger.info('admin: webhook endpoint deleted', { principal: principalOf(res).id, endpointId: id });
      res.status(204).end();
    }),
  );
  router.get('/v1/webhooks/:id/deliveries', admin, (req, res) => {
    const limit = readLimit(req.query['limit']);
    res.json({ deliveries: notifier.deliveries(String(req.params['id']), limit) });
  });
  router.post(
    '/v1/webhooks/:id/replay',
    admin,
    json,
    route(async (req, res) => {
      const { fromMs, toMs } = parseReplayRequest(req.body);
      const accepted = await notifier.replay(String(req.params['id']), fromMs, toMs);
      logger.info('admin: webhook replay', { principal: principalOf(res).id, ...accepted, fromMs, toMs });
      res.status(202).json(accepted);
    }),
  );
  router.post(
    '/v1/webhooks/:id/enable',
    admin,
    route(async (req, res) => {
      const endpoint = await notifier.enable(String(req.params['id']));
      logger.info('admin: webhook endpoint enabled', { principal: principalOf(res).id, endpointId: endpoint.id });
      res.json(endpoint);
    }),
  );
  router.use(problemDetailsMiddleware(logger));
  return router;
}

function readLimit(raw: unknown): number {
  if (raw === undefined) return 100;
  const limit = typeof raw === 'string' && /^[0-9]{1,4}$/.test(raw) ? Number(raw) : NaN;
  if (!(limit >= 1 && limit <= MAX_DELIVERIES_LISTED))
    throw new ValidationError('invalid limit', [
      { path: '/query/limit', message: `must be an integer in [1, ${MAX_DELIVERIES_LISTED}]` },
    ]);
  return limit;
}

function parseReplayRequest(body: unknown): { fromMs: number; toMs: number } {
  const fields = (typeof body === 'object' && body !== null ? body : {}) as Partial<
    Record<keyof WebhookReplayRequest, unknown>
  >;
  const problems = [];
  const times: Record<'from' | 'to', number> = { from: NaN, to: NaN };
  for (const name of ['from', 'to'] as const) {
    const text = fields[name];
    const ms = typeof text === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
    if (Number.isNaN(ms)) problems.push({ path: `/${name}`, message: 'must be an ISO 8601 date-time' });
    times[name] = ms;
  }
  if (problems.length === 0 && times.from > times.to)
    problems.push({ path: '/to', message: 'must not be before from' });
  if (problems.length > 0) throw new ValidationError('invalid replay range', problems);
  return { fromMs: times.from, toMs: times.to };
}
