import express from 'express';
import { Role } from '../../platform/auth.js';
import { VigilError } from '../../platform/errors.js';
import { route } from '../../platform/http.js';
import type { CustomerExport, PersonalDataErasure } from '../../schemas/api.js';
import {
  type CustomerExportCursor,
  customerTransactions,
  decodeCustomerExportCursor,
  encodeCustomerExportCursor,
} from '../queries/customers.js';
import { isoTime } from '../queries/select.js';
import type { RouteContext } from './context.js';
import { ParamReader } from './params.js';

/**
 * A data subject's rights (GDPR art. 15, 17, 20), role compliance, each recorded in the access log before it runs:
 *  - `DELETE /v1/customers/:id/personal-data` destroys the customer's data keys (crypto-shredding): every personal
 *    value sealed under them, in the log, ClickHouse and the audit index alike, reads as `"[erased]"` from then on.
 *    The ledger and the decisions — amounts, pseudonymous ids, features, reasons — are untouched. Idempotent.
 *  - `GET /v1/customers/:id/export` lists what Vigil holds about the customer: their decided transactions with
 *    personal values opened (or erased), oldest first (`limit` 1–1000, default 200, `cursor`), and their key state.
 */
export function customerRoutes(ctx: RouteContext): express.Router {
  const { clickhouse, clock, audit } = ctx;
  const router = express.Router();

  const keyStore = () => {
    if (ctx.customerKeys === undefined)
      throw new VigilError('PERSONAL_DATA_KEYS_OFF', 'this deployment has no per-customer key store');
    return ctx.customerKeys;
  };

  router.delete(
    '/v1/customers/:id/personal-data',
    ctx.only(Role.compliance),
    route(async (req, res) => {
      const params = new ParamReader(req.params, 'params');
      const customerId = params.id('id');
      params.done();
      await audit(res, 'customer.erase', `customer/${customerId}`, {});
      const nowMs = clock.nowMs();
      const { destroyedVersions } = await keyStore().destroy(customerId, nowMs);
      ctx.logger.info('personal data erased', { customerId, destroyedKeyVersions: destroyedVersions.length });
      const body: PersonalDataErasure = {
        customerId,
        erasedAt: isoTime(nowMs),
        destroyedKeyVersions: destroyedVersions,
      };
      res.json(body);
    }),
  );

  router.get(
    '/v1/customers/:id/export',
    ctx.only(Role.compliance),
    route(async (req, res) => {
      const params = new ParamReader(req.params, 'params');
      const customerId = params.id('id');
      params.done();
      const query = new ParamReader(req.query, 'query');
      const limit = query.limit('limit', 200, 1000);
      const cursor = readExportCursor(query, 'cursor');
      query.done();
      await audit(res, 'customer.export', `customer/${customerId}`, {
        limit,
        cursor: cursor ? encodeCustomerExportCursor(cursor) : null,
      });
      const keys = keyStore();
      const [status, page] = await Promise.all([
        keys.status(customerId),
        customerTransactions(clickhouse, customerId, { limit, after: cursor }),
      ]);
      const body: CustomerExport = {
        customerId,
        generatedAt: isoTime(clock.nowMs()),
        personalData: {
          status: status.heldVersions.length > 0 ? 'held' : status.destroyedVersions.length > 0 ? 'erased' : 'none',
          heldKeyVersions: status.heldVersions,
          destroyedKeyVersions: status.destroyedVersions,
          lastErasedAt: status.erasedAtMs === null ? null : isoTime(status.erasedAtMs),
        },
        transactions: await ctx.openPersonalData(page.transactions),
        nextCursor: page.next ? encodeCustomerExportCursor(page.next) : null,
      };
      res.json(body);
    }),
  );

  return router;
}

function readExportCursor(reader: ParamReader, name: string): CustomerExportCursor | undefined {
  const raw = reader.matching(name, /^[A-Za-z0-9_-]{1,400}$/, 'a cursor returned as nextCursor');
  if (raw === undefined) return undefined;
  const cursor = decodeCustomerExportCursor(raw);
  if (cursor === undefined) reader.fail(name, 'is not a cursor returned as nextCursor');
  return cursor;
}
