import express from 'express';
import { Role } from '../../platform/auth.js';
import { principalOf, route } from '../../platform/http.js';
import type { ActiveRulesView } from '../../schemas/api.js';
import type { RulesVersion } from '../../schemas/generated/types.js';
import { rulesVersion } from '../queries/rules.js';
import type { RulesControl } from '../ports.js';
import { type RouteContext, notFound } from './context.js';
import { ParamReader } from './params.js';

/** Rules documents are a few kilobytes; this leaves room for long lists. */
const MAX_RULES_BYTES = '1mb';

const activeView = (record: RulesVersion): ActiveRulesView => ({
  version: record.version,
  label: record.label,
  publishedBy: record.publishedBy,
  publishedAt: new Date(record.publishedAtMs).toISOString(),
  rules: JSON.parse(record.rulesJson) as unknown,
});

/**
 * `GET /v1/rules/:version`: the archived rules document a decision's `rulesVersion` names (compliance). With the rules
 * control: `PUT /v1/rules` (admin) validates a rules document whole and puts it in force on every scoring member
 * without a restart, and `GET /v1/rules/active` shows what is in force.
 */
export function rulesRoutes(ctx: RouteContext): express.Router {
  const { clickhouse, audit, clock } = ctx;
  const router = express.Router();
  const control = ctx.rules;

  // Before `/v1/rules/:version`, which would otherwise take `active` for a version.
  if (control !== undefined) routesOfControl(router, ctx, control);

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

  function routesOfControl(into: express.Router, context: RouteContext, rules: RulesControl): void {
    into.get(
      '/v1/rules/active',
      context.analystOrCompliance,
      route(async (_req, res) => {
        await audit(res, 'rules.active', 'rules/active', {});
        const latest = rules.latest();
        if (latest === undefined)
          throw notFound('RULES_NOT_PUBLISHED', 'no rules were put in force through the API; scoring uses its file');
        res.json(activeView(latest));
      }),
    );

    into.put(
      '/v1/rules',
      context.only(Role.admin),
      express.json({ limit: MAX_RULES_BYTES }),
      route(async (req, res) => {
        // Recorded before validation, so refused attempts are in the access log too.
        await audit(res, 'rules.put', 'rules', {});
        const prepared = rules.prepare(req.body);
        const record: RulesVersion = {
          version: prepared.version,
          label: prepared.label,
          rulesJson: prepared.canonicalDocument,
          publishedBy: principalOf(res).id,
          publishedAtMs: clock.nowMs(),
        };
        await audit(res, 'rules.publish', `rules/${record.version}`, { label: record.label });
        await rules.publish(record);
        // Accepted, not yet applied: each scoring member puts it in force between two batches once it reads it.
        res.status(202).json(activeView(record));
      }),
    );
  }
}
