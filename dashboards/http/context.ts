import type { ClickHouseClient } from '@clickhouse/client';
import type { RequestHandler, Response } from 'express';
import { type ApiKeyAuthenticator, Role } from '../../platform/auth.js';
import type { Clock } from '../../platform/clock.js';
import type { Producer } from '../../platform/bus.js';
import type { ErrorCode } from '../../platform/error-codes.js';
import { ErrorCategory, VigilError } from '../../platform/errors.js';
import { principalOf, requireRole } from '../../platform/http.js';
import type { Logger } from '../../platform/logger.js';
import { type CustomerKeyStore, PersonalDataCipher } from '../../platform/personal-data.js';
import type { Codec } from '../../schemas/codec.js';
import type { Account, AnalystLabel } from '../../schemas/generated/types.js';
import type { AccountTable } from '../app/account-table.js';
import type { DashboardsConfig } from '../config.js';
import type { AccessLog, ApiKeyDirectory, AuditSearch, CaseLog, RulesControl, ShadowControl } from '../ports.js';

/** What the dashboards' routes are built from (main.ts wires it). */
export interface RoutesDeps {
  readonly clickhouse: ClickHouseClient;
  readonly authenticator: ApiKeyAuthenticator;
  readonly accessLog: AccessLog;
  /** Audit search: ClickHouse in the embedded default, Elasticsearch in distributed mode. */
  readonly auditSearch: AuditSearch;
  readonly labels: { readonly producer: Producer; readonly codec: Codec<AnalystLabel> };
  /** The chart of accounts: `PUT /v1/accounts/:id` produces to Topics.accounts; reads come from `table`. */
  readonly accounts: {
    readonly producer: Producer;
    readonly codec: Codec<Account>;
    readonly table: AccountTable;
  };
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: DashboardsConfig;
  /** The rules in force; `PUT /v1/rules` and `GET /v1/rules/active` are served only with it. */
  readonly rules?: RulesControl | undefined;
  /** The champion-challenger setting; `/v1/shadow` is served only with it and {@link rules}. */
  readonly shadow?: ShadowControl | undefined;
  /** Analysts' cases; `/v1/cases` is served only with them. */
  readonly cases?: CaseLog | undefined;
  /** Managed API keys; `/v1/api-keys` is served only with it. */
  readonly apiKeys?: ApiKeyDirectory | undefined;
  /**
   * The per-customer key store ingest seals personal fields with: reads open them through it, erasure destroys
   * keys in it. Undefined where the deployment has none (personal data is then stored as sent).
   */
  readonly customerKeys: CustomerKeyStore | undefined;
}

/** The deps plus what every area's routes share: role guards and the access-log hook. */
export interface RouteContext extends RoutesDeps {
  /** Lets an analyst or a compliance officer through (401/403 problems otherwise). */
  readonly analystOrCompliance: RequestHandler;
  /** Lets only `role` through. */
  readonly only: (role: Role) => RequestHandler;
  /**
   * Records who read or did what in the access log and resolves once the row is durable; await it before the read
   * runs, so misses and failures count too. Rejects with ACCESS_LOG_UNAVAILABLE (503) when the row cannot be
   * written: the request then fails closed.
   */
  readonly audit: (res: Response, action: string, resource: string, query: Record<string, unknown>) => Promise<void>;
  /**
   * A copy of a response body with every sealed personal value opened, or `"[erased]"` where its customer's keys
   * are destroyed; the body itself when there is no key store.
   */
  readonly openPersonalData: <T>(body: T) => Promise<T>;
}

export function routeContext(deps: RoutesDeps): RouteContext {
  const cipher = deps.customerKeys === undefined ? undefined : new PersonalDataCipher(deps.customerKeys);
  return {
    ...deps,
    analystOrCompliance: requireRole(deps.authenticator, Role.analyst, Role.compliance),
    only: (role) => requireRole(deps.authenticator, role),
    audit: async (res, action, resource, query) =>
      deps.accessLog.record({ principal: principalOf(res), action, resource, query }),
    openPersonalData: (body) => (cipher === undefined ? Promise.resolve(body) : cipher.openDeep(body)),
  };
}

export const DAY_MS = 86_400_000;

/** A 404 problem with its own code (e.g. TRANSACTION_NOT_FOUND). */
export const notFound = (code: ErrorCode, message: string): VigilError =>
  new VigilError(code, message, { category: ErrorCategory.notFound });
