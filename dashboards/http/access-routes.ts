import express from 'express';
import { Role } from '../../platform/auth.js';
import { route } from '../../platform/http.js';
import { decodeAccessLogCursor, encodeAccessLogCursor, listAccessLog } from '../queries/access-log.js';
import type { RouteContext } from './context.js';
import { ParamReader } from './params.js';

const resourcePattern = /^[A-Za-z0-9._:/-]{1,200}$/;
/** A key's id (`analyst:1a2b3c4d`) or a person's (`user:<sub>`; OpenID Connect Core §2 allows any ASCII `sub` to 255). */
const principalPattern = /^(?:[a-z]{1,32}:[0-9a-f]{8}|user:[\x21-\x7e]{1,255})$/;
const actionPattern = /^[a-z][a-z.-]{0,63}$/;

/**
 * `GET /v1/audit/access` (role compliance): the access log itself — who read, searched, exported, labelled or
 * watched what — newest first. Filters (all optional, ANDed): `resource` (exact, e.g. `transaction/tx-1`: who
 * looked at this transaction), `principal` (e.g. `analyst:1a2b3c4d`), `action` (e.g. `label.create`), `from`
 * (inclusive) and `to` (exclusive, default now) as ISO 8601 or epoch ms; `limit` (1–1000, default 100) and
 * `cursor` (the previous page's `nextCursor`). Reading the log is itself logged, before the query runs.
 */
export function accessRoutes(ctx: RouteContext): express.Router {
  const { clickhouse, clock, audit } = ctx;
  const router = express.Router();

  router.get(
    '/v1/audit/access',
    ctx.only(Role.compliance),
    route(async (req, res) => {
      const query = new ParamReader(req.query, 'query');
      const resource = query.matching('resource', resourcePattern, 'a resource such as transaction/tx-1');
      const principal = query.matching(
        'principal',
        principalPattern,
        'a principal id such as analyst:1a2b3c4d or user:<sub>',
      );
      const action = query.matching('action', actionPattern, 'an action such as transaction.audit-trail');
      const fromMs = query.time('from');
      const toGiven = query.time('to');
      const limit = query.limit('limit', 100, 1000);
      const cursor = readAccessCursor(query, 'cursor');
      if (fromMs !== undefined && fromMs >= (toGiven ?? clock.nowMs() + 1)) query.fail('from', 'must be before to');
      query.done();
      const filters = { resource, principal, action, fromMs, limit };
      await audit(res, 'audit.access-log', 'audit/access', {
        ...filters,
        toMs: toGiven ?? null,
        cursor: cursor ? encodeAccessLogCursor(cursor) : null,
      });
      // With no `to`, the bound is taken once this read's own row is durable, so a read of the log lists itself
      // whatever the clock did while the row was being written (a bound taken before could miss it by a millisecond).
      const toMs = toGiven ?? clock.nowMs() + 1;
      res.json(await listAccessLog(clickhouse, { ...filters, toMs, cursor }));
    }),
  );

  return router;
}

function readAccessCursor(reader: ParamReader, name: string): ReturnType<typeof decodeAccessLogCursor> {
  const raw = reader.matching(name, /^[A-Za-z0-9_-]{1,200}$/, 'a cursor returned as nextCursor');
  if (raw === undefined) return undefined;
  const cursor = decodeAccessLogCursor(raw);
  if (cursor === undefined) reader.fail(name, 'is not a cursor returned as nextCursor');
  return cursor;
}
