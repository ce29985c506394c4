import express from 'express';
import { Role } from '../../platform/auth.js';
import { route } from '../../platform/http.js';
import { rulesVersion } from '../queries/rules.js';
import { type RouteContext, notFound } from './context.js';
import { ParamReader } from './params.js';

/** `GET /v1/rules/:version`: the archived rules document a decision's `rulesVersion` names (compliance). */
export function rulesRoutes(ctx: RouteContext): express.Router {
  const { clickhouse, audit } = ctx;
  const router = express.Router();

  router.get(
    '/v1/rules/:version',
    ctx.only(Role.compliance),
    route(async (req, res) => {
      const params = new ParamReader(req.params, 'params');
      const version = params.id('version');
      params.done();
      await audit(res, 'rules.version', `rules/${version}`, {});
      const found = await rulesVersion(clickhouse, version);
      if (!found) throw notFound('RULES_VERSION_NOT_FOUND', `no archived rules have version ${version}`);
      res.json(found);
    }),
  );
  return router;
}
