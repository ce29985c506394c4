import { randomBytes } from 'node:crypto';
import express from 'express';
import { Role, generateKeySecret, isRole, isValidAt, keyDigestHex, principalIdOf } from '../../platform/auth.js';
import { type FieldProblem, ValidationError } from '../../platform/errors.js';
import { principalOf, route } from '../../platform/http.js';
import type { ApiKeyCreated, ApiKeyList } from '../../schemas/api.js';
import { managedKeyOf } from '../../schemas/api-keys.js';
import type { ApiKey } from '../../schemas/generated/types.js';
import { managedKeyViewOf } from '../domain/api-keys.js';
import type { ApiKeyDirectory } from '../ports.js';
import { type RouteContext, notFound } from './context.js';
import { ParamReader } from './params.js';

/** The longest a managed key may live: keys are rotated, not kept forever. */
const MAX_LIFETIME_MS = 2 * 366 * 86_400_000;
/** How long a rotated key keeps working beside its successor unless the request says otherwise: one day. */
const DEFAULT_OVERLAP_MS = 86_400_000;
const MAX_OVERLAP_MS = 30 * 86_400_000;
const keyName = /^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,99}$/;

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Managed API keys for machine feeds (admin only): `POST /v1/api-keys` creates one and shows its secret once,
 * `GET /v1/api-keys` lists them (never a secret: only the digest is stored), `DELETE /v1/api-keys/:id` revokes one,
 * and `POST /v1/api-keys/:id/rotate` issues a successor while the old key keeps working for an overlap, so a feed
 * can switch without a gap. Every change is a record on Topics.apiKeys naming who made it, and an access-log row.
 */
export function apiKeyRoutes(ctx: RouteContext, directory: ApiKeyDirectory): express.Router {
  const { clock, audit } = ctx;
  const router = express.Router();

  const newKey = (role: Role, name: string, expiresAtMs: number | null, createdBy: string) => {
    const secret = generateKeySecret();
    const digest = keyDigestHex(secret);
    const nowMs = clock.nowMs();
    const record: ApiKey = {
      keyId: `key_${randomBytes(6).toString('hex')}`,
      role,
      name,
      digest,
      principalId: principalIdOf(role, digest),
      createdBy,
      createdAtMs: nowMs,
      expiresAtMs,
      rotatedTo: null,
      revokedAtMs: null,
      revokedBy: null,
      updatedAtMs: nowMs,
    };
    return { record, secret };
  };
  const created = (record: ApiKey, secret: string): ApiKeyCreated => ({
    ...managedKeyViewOf(record, clock.nowMs()),
    key: secret,
  });

  router.get(
    '/v1/api-keys',
    ctx.only(Role.admin),
    route(async (_req, res) => {
      await audit(res, 'api-keys.list', 'api-keys', {});
      const nowMs = clock.nowMs();
      const list: ApiKeyList = {
        keys: [...directory.records.values()]
          .sort((a, b) => a.keyId.localeCompare(b.keyId))
          .map((r) => managedKeyViewOf(r, nowMs)),
      };
      res.json(list);
    }),
  );

  router.post(
    '/v1/api-keys',
    ctx.only(Role.admin),
    express.json({ limit: '4kb' }),
    route(async (req, res) => {
      const { role, name, expiresAtMs } = parseCreateRequest(req.body, clock.nowMs());
      await audit(res, 'api-key.create', 'api-keys', { role, name, expiresAtMs });
      const { record, secret } = newKey(role, name, expiresAtMs, principalOf(res).id);
      await directory.publish(record);
      res.status(201).json(created(record, secret));
    }),
  );

  router.delete(
    '/v1/api-keys/:id',
    ctx.only(Role.admin),
    route(async (req, res) => {
      const id = readKeyId(req.params);
      await audit(res, 'api-key.revoke', `api-key/${id}`, {});
      const current = known(directory, id);
      const nowMs = clock.nowMs();
      // Revoking twice keeps the first revocation's time and author.
      const record: ApiKey =
        current.revokedAtMs !== null
          ? current
          : { ...current, revokedAtMs: nowMs, revokedBy: principalOf(res).id, updatedAtMs: nowMs };
      if (record !== current) await directory.publish(record);
      res.json(managedKeyViewOf(record, nowMs));
    }),
  );

  router.post(
    '/v1/api-keys/:id/rotate',
    ctx.only(Role.admin),
    express.json({ limit: '1kb' }),
    route(async (req, res) => {
      const id = readKeyId(req.params);
      const overlapMs = parseRotateRequest(req.body);
      await audit(res, 'api-key.rotate', `api-key/${id}`, { overlapMs });
      const current = known(directory, id);
      const nowMs = clock.nowMs();
      const problems: FieldProblem[] = [];
      if (!isValidAt(managedKeyOf(current), nowMs))
        problems.push({ path: '/params/id', message: 'is expired or revoked: create a new key instead' });
      if (current.rotatedTo !== null)
        problems.push({ path: '/params/id', message: `was already rotated to ${current.rotatedTo}` });
      if (problems.length > 0) throw new ValidationError('this key cannot be rotated', problems);
      // The successor inherits the role, name and remaining lifetime; the old key works until the overlap ends.
      const { record: successor, secret } = newKey(
        current.role as Role,
        current.name,
        current.expiresAtMs,
        principalOf(res).id,
      );
      const endOfOverlap = nowMs + overlapMs;
      const retiring: ApiKey = {
        ...current,
        expiresAtMs: current.expiresAtMs === null ? endOfOverlap : Math.min(current.expiresAtMs, endOfOverlap),
        rotatedTo: successor.keyId,
        updatedAtMs: nowMs,
      };
      // The successor first: if the second write fails, both keys work and the rotation can be repeated.
      await directory.publish(successor);
      await directory.publish(retiring);
      res.status(201).json({ ...created(successor, secret), replaces: managedKeyViewOf(retiring, nowMs) });
    }),
  );

  return router;
}

function readKeyId(params: unknown): string {
  const reader = new ParamReader(params as Record<string, unknown>, 'params');
  const id = reader.matching('id', /^key_[0-9a-f]{12}$/, 'a key id such as key_3f9a1c2b7d4e');
  reader.done();
  return id!;
}

function known(directory: ApiKeyDirectory, id: string): ApiKey {
  const record = directory.records.get(id);
  if (record === undefined) throw notFound('API_KEY_NOT_FOUND', `no managed API key ${id}`);
  return record;
}

/** `{ role, name, expiresAt? }`: every problem with its JSON pointer. */
function parseCreateRequest(body: unknown, nowMs: number): { role: Role; name: string; expiresAtMs: number | null } {
  if (!isObject(body))
    throw new ValidationError('API key request must be a JSON object', [
      { path: '', message: 'must be a JSON object' },
    ]);
  const problems: FieldProblem[] = [];
  const { role, name, expiresAt } = body;
  if (typeof role !== 'string' || !isRole(role))
    problems.push({ path: '/role', message: `must be one of ${Object.values(Role).join(', ')}` });
  if (typeof name !== 'string' || !keyName.test(name))
    problems.push({
      path: '/name',
      message: 'must be 1–100 characters: letters, digits, space and . _ : - (what the key is for)',
    });
  let expiresAtMs: number | null = null;
  if (expiresAt !== undefined) {
    const parsed = typeof expiresAt === 'string' && /^\d{4}-\d\d-\d\dT/.test(expiresAt) ? Date.parse(expiresAt) : NaN;
    if (!Number.isFinite(parsed) || parsed <= nowMs || parsed > nowMs + MAX_LIFETIME_MS)
      problems.push({
        path: '/expiresAt',
        message: 'must be an ISO 8601 instant in the future, at most two years ahead',
      });
    else expiresAtMs = parsed;
  }
  for (const key of Object.keys(body))
    if (!['role', 'name', 'expiresAt'].includes(key))
      problems.push({ path: `/${key}`, message: 'is not a known field' });
  if (problems.length > 0) throw new ValidationError('invalid API key request', problems);
  return { role: role as Role, name: name as string, expiresAtMs };
}

/** `{ overlapSeconds? }` (default one day, at most 30 days); an empty body takes the default. */
function parseRotateRequest(body: unknown): number {
  if (body === undefined || (isObject(body) && Object.keys(body).length === 0)) return DEFAULT_OVERLAP_MS;
  const problems: FieldProblem[] = [];
  if (!isObject(body))
    throw new ValidationError('rotate request must be a JSON object', [{ path: '', message: 'must be a JSON object' }]);
  const seconds = body['overlapSeconds'];
  if (typeof seconds !== 'number' || !Number.isSafeInteger(seconds) || seconds < 0 || seconds * 1000 > MAX_OVERLAP_MS)
    problems.push({
      path: '/overlapSeconds',
      message: 'must be a whole number of seconds from 0 to 2592000 (30 days)',
    });
  for (const key of Object.keys(body))
    if (key !== 'overlapSeconds') problems.push({ path: `/${key}`, message: 'is not a known field' });
  if (problems.length > 0) throw new ValidationError('invalid rotate request', problems);
  return (seconds as number) * 1000;
}
