import express from 'express';
import { Role } from '../../platform/auth.js';
import { principalOf, requireRole } from '../../platform/http.js';
import type { Caller } from '../../schemas/api.js';
import type { RouteContext } from './context.js';

/**
 * `GET /v1/me` (any role): who the presented key or token is — its principal id, role and display name — so the
 * console opens the views of the person's role instead of probing the API until something answers. It reads nothing
 * but the caller's own credentials, so it is not an access-log entry.
 */
export function callerRoutes(ctx: RouteContext): express.Router {
  const router = express.Router();
  router.get('/v1/me', requireRole(ctx.authenticator, ...Object.values(Role)), (_req, res) => {
    const principal = principalOf(res);
    const caller: Caller = { id: principal.id, role: principal.role, name: principal.name ?? null };
    res.json(caller);
  });
  return router;
}
