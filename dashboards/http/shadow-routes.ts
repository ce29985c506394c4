import express from 'express';
import { Role } from '../../platform/auth.js';
import { type FieldProblem, ValidationError } from '../../platform/errors.js';
import { principalOf, route } from '../../platform/http.js';
import type { ShadowRequest, ShadowSettingView } from '../../schemas/api.js';
import type { RulesVersion, ShadowSetting } from '../../schemas/generated/types.js';
import { shadowReport } from '../queries/shadow.js';
import type { PreparedRules, RulesControl, ShadowControl } from '../ports.js';
import { DAY_MS, type RouteContext, notFound } from './context.js';
import { ParamReader, checkTimeRange } from './params.js';

/** Rules documents are a few kilobytes; this leaves room for long lists (as `PUT /v1/rules`). */
const MAX_SHADOW_BYTES = '1mb';

/** Candidate versions are what `npm run train` writes: a prefix and a short hash, with dashes and dots. */
const MODEL_VERSION = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

const hasChallenger = (s: ShadowSetting | undefined): s is ShadowSetting =>
  s !== undefined && (s.challengerRulesJson !== null || s.challengerModelVersion !== null);

/** What `GET /v1/shadow` and the 202s show of a setting. */
export function shadowSettingView(s: ShadowSetting): ShadowSettingView {
  return {
    change: s.change,
    challenger: hasChallenger(s)
      ? {
          rulesVersion: s.challengerRulesVersion,
          rulesLabel: s.challengerRulesLabel,
          modelVersion: s.challengerModelVersion,
        }
      : null,
    championModelVersion: s.championModelVersion,
    changedBy: s.changedBy,
    changedAt: new Date(s.changedAtMs).toISOString(),
  };
}

/**
 * Champion-challenger ("shadow"): `PUT /v1/shadow` (admin) sets a challenger — a rules document and/or a candidate
 * model by version — that every scoring member runs beside the champion, recording its decisions and acting on none;
 * `DELETE /v1/shadow` stops it; `POST /v1/shadow/promote` makes its rules the rules in force (through
 * Topics.rulesVersions, as `PUT /v1/rules`) and its model the champion, and empties the slot; `GET /v1/shadow`
 * shows the setting; `GET /v1/shadow/report` compares the two sides' decisions (compliance). Every change is in the
 * access log under the admin, and the setting record names who made it and when.
 */
export function shadowRoutes(ctx: RouteContext, shadow: ShadowControl, rules: RulesControl): express.Router {
  const { clickhouse, audit, clock } = ctx;
  const router = express.Router();

  router.get(
    '/v1/shadow',
    ctx.analystOrCompliance,
    route(async (_req, res) => {
      await audit(res, 'shadow.setting', 'shadow', {});
      await shadow.loaded();
      const latest = shadow.latest();
      if (latest === undefined) throw notFound('SHADOW_NOT_SET', 'no challenger was ever set');
      res.json(shadowSettingView(latest));
    }),
  );

  router.put(
    '/v1/shadow',
    ctx.only(Role.admin),
    express.json({ limit: MAX_SHADOW_BYTES }),
    route(async (req, res) => {
      // Recorded before validation, so refused attempts are in the access log too.
      await audit(res, 'shadow.put', 'shadow', {});
      const { prepared, modelVersion } = await validRequest(req.body as unknown, rules, shadow);
      // A change is made on the setting in force: never on one read before the topic is (a promoted model kept).
      await shadow.loaded();
      const record: ShadowSetting = {
        change: 'PUT',
        challengerRulesVersion: prepared?.version ?? null,
        challengerRulesLabel: prepared?.label ?? null,
        challengerRulesJson: prepared?.canonicalDocument ?? null,
        challengerModelVersion: modelVersion ?? null,
        championModelVersion: shadow.latest()?.championModelVersion ?? null,
        changedBy: principalOf(res).id,
        changedAtMs: clock.nowMs(),
      };
      await audit(res, 'shadow.publish', 'shadow', {
        rulesVersion: record.challengerRulesVersion,
        modelVersion: record.challengerModelVersion,
      });
      await shadow.publish(record);
      // Accepted, not yet applied: each scoring member sets it between two batches once it reads it.
      res.status(202).json(shadowSettingView(record));
    }),
  );

  router.delete(
    '/v1/shadow',
    ctx.only(Role.admin),
    route(async (_req, res) => {
      await audit(res, 'shadow.delete', 'shadow', {});
      // A change is made on the setting in force: never on one read before the topic is (a promoted model kept).
      await shadow.loaded();
      // Idempotent: with no challenger set, the slot is written empty again (and the access log has the attempt).
      const latest = shadow.latest();
      const record: ShadowSetting = {
        ...cleared(latest ?? emptySetting),
        change: 'DELETE',
        changedBy: principalOf(res).id,
        changedAtMs: clock.nowMs(),
      };
      await shadow.publish(record);
      res.status(202).json(shadowSettingView(record));
    }),
  );

  router.post(
    '/v1/shadow/promote',
    ctx.only(Role.admin),
    route(async (_req, res) => {
      await shadow.loaded();
      const latest = shadow.latest();
      await audit(res, 'shadow.promote', 'shadow/promote', {
        rulesVersion: latest?.challengerRulesVersion ?? null,
        modelVersion: latest?.challengerModelVersion ?? null,
      });
      if (!hasChallenger(latest)) throw notFound('SHADOW_NOT_SET', 'no challenger is set: nothing to promote');
      const by = principalOf(res).id;
      const now = clock.nowMs();
      // The rules first: while the setting still names the challenger, a scoring member that read the rules but not
      // yet the setting decides with them and shadows with the same rules — never the reverse order's gap, where the
      // slot is empty and the old rules still decide.
      if (latest.challengerRulesJson !== null && latest.challengerRulesVersion !== null) {
        const promoted: RulesVersion = {
          version: latest.challengerRulesVersion,
          label: latest.challengerRulesLabel ?? '',
          rulesJson: latest.challengerRulesJson,
          publishedBy: by,
          publishedAtMs: now,
        };
        await audit(res, 'rules.publish', `rules/${promoted.version}`, {
          label: promoted.label,
          promotedFrom: 'shadow',
        });
        await rules.publish(promoted);
      }
      const record: ShadowSetting = {
        ...cleared(latest),
        change: 'PROMOTE',
        championModelVersion: latest.challengerModelVersion ?? latest.championModelVersion,
        changedBy: by,
        changedAtMs: now,
      };
      await shadow.publish(record);
      res.status(202).json({
        promoted: {
          rulesVersion: latest.challengerRulesVersion,
          rulesLabel: latest.challengerRulesLabel,
          modelVersion: latest.challengerModelVersion,
        },
        setting: shadowSettingView(record),
      });
    }),
  );

  router.get(
    '/v1/shadow/report',
    ctx.only(Role.compliance),
    route(async (req, res) => {
      const query = new ParamReader(req.query, 'query');
      const toMs = query.time('to', clock.nowMs());
      const fromMs = query.time('from', toMs - 7 * DAY_MS);
      checkTimeRange(query, fromMs, toMs, 400);
      query.done();
      await audit(res, 'shadow.report', 'shadow/report', { fromMs, toMs });
      res.json(await shadowReport(clickhouse, { fromMs, toMs }));
    }),
  );

  return router;
}

/** The setting before any was written: no challenger, the configured champion model. */
const emptySetting: ShadowSetting = {
  change: 'DELETE',
  challengerRulesVersion: null,
  challengerRulesLabel: null,
  challengerRulesJson: null,
  challengerModelVersion: null,
  championModelVersion: null,
  changedBy: '',
  changedAtMs: 0,
};

/** The setting without a challenger. */
const cleared = (s: ShadowSetting): ShadowSetting => ({
  ...s,
  challengerRulesVersion: null,
  challengerRulesLabel: null,
  challengerRulesJson: null,
  challengerModelVersion: null,
});

/**
 * Validates a `PUT /v1/shadow` body whole: every problem with its path (rules problems under `/rules`), in one
 * SHADOW_INVALID refusal. Throws ValidationError.
 */
async function validRequest(
  body: unknown,
  rules: RulesControl,
  shadow: ShadowControl,
): Promise<{ prepared: PreparedRules | undefined; modelVersion: string | undefined }> {
  const problems: FieldProblem[] = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ValidationError(
      'the body must be a JSON object',
      [{ path: '', message: 'must be an object' }],
      'SHADOW_INVALID',
    );
  const request = body as ShadowRequest & Record<string, unknown>;
  for (const key of Object.keys(request))
    if (key !== 'rules' && key !== 'modelVersion') problems.push({ path: `/${key}`, message: 'is not a field' });
  if (request.rules === undefined && request.modelVersion === undefined)
    problems.push({ path: '', message: 'needs rules, modelVersion or both' });
  let prepared: PreparedRules | undefined;
  if (request.rules !== undefined)
    try {
      prepared = rules.prepare(request.rules);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      problems.push(...error.problems.map((p) => ({ path: `/rules${p.path}`, message: p.message })));
    }
  const modelVersion = request.modelVersion;
  if (modelVersion !== undefined) {
    if (typeof modelVersion !== 'string' || !MODEL_VERSION.test(modelVersion))
      problems.push({ path: '/modelVersion', message: `must match ${MODEL_VERSION.source}` });
    else
      try {
        await shadow.checkModel(modelVersion);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        problems.push(...error.problems);
      }
  }
  if (problems.length > 0)
    throw new ValidationError('the challenger cannot be put in place', problems, 'SHADOW_INVALID');
  return { prepared, modelVersion };
}
