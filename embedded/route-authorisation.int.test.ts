/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return --
   The stages' dependencies are stood in for by one inert proxy: authorisation runs before any of them is used. */
import { tmpdir } from 'node:os';
import express, { type Router } from 'express';
import { dashboardsRouter } from '../dashboards/http/routes.js';
import { readDashboardsConfig } from '../dashboards/config.js';
import { createIngestRouter } from '../ingest/http/routes.js';
import { emailRouter } from '../notifier/http/email-routes.js';
import { notifierRouter } from '../notifier/http/routes.js';
import { ApiKeyAuthenticator, Role } from '../platform/auth.js';
import { systemClock } from '../platform/clock.js';
import { type HttpServer, startHttpServer } from '../platform/http-server.js';
import { silentLogger } from '../platform/logger.js';
import { MetricsRegistry } from '../platform/metrics.js';
import { readRateLimitConfig } from '../platform/rate-limit.js';
import { servedRoutes } from '../platform/testing/served-routes.js';

/**
 * The role × route matrix (OWASP API1/API5): every route every stage serves, read from express's own router stack
 * so a new route cannot be left out, is called with no key and with a key of each role. Exactly the roles the policy
 * below allows may pass authorisation (any status but 401/403); every other caller gets 401 (no key) or 403.
 * A route missing from the policy fails the test, so adding one forces a decision here.
 */
const keys: Record<Role, string> = {
  ingest: 'ingest-key-0123456789abcdef',
  analyst: 'analyst-key-0123456789abcdef',
  compliance: 'compliance-key-0123456789abcdef',
  admin: 'admin-key-0123456789abcdef',
};
const authenticator = new ApiKeyAuthenticator(Object.entries(keys).map(([role, key]) => ({ role: role as Role, key })));

/** Who may pass each route's guard. `public`: no key needed, by design (reason beside it). */
type Allowed = readonly Role[] | 'public';
const { ingest, analyst, compliance, admin } = Role;
const policy: Record<string, Allowed> = {
  // Orchestrator probes carry no key and say only up/down; problem pages are the error catalogue (documentation).
  'GET /health/live': 'public',
  'GET /health/ready': 'public',
  'GET /metrics': [admin],
  'GET /problems/:code': 'public',
  // The OpenAPI document describes the API and holds no data.
  'GET /openapi.json': 'public',
  // The console page and its static assets hold no data; the page asks for a key.
  'GET /': 'public',
  'GET /index.html': 'public',
  'GET /assets/currencies.json': 'public',
  'GET /assets/sign-in.json': 'public',
  'POST /v1/transactions': [ingest, admin],
  'POST /v1/transactions/batch': [ingest, admin],
  'POST /v1/decisions': [ingest, admin],
  'POST /v1/channels/iso20022': [ingest, admin],
  'POST /v1/channels/csv': [ingest, admin],
  'POST /v1/channels/nacha': [ingest, admin],
  // A gateway cannot hold our API key: the event's signature authenticates it (400 without one, never 401/403).
  'POST /v1/channels/stripe': 'public',
  // Nor Adyen: basic auth with the webhook's own credentials and each item's HMAC authenticate it (its 401 answers
  // those credentials, never a Vigil role; unconfigured here, so 503 for every caller).
  'POST /v1/channels/adyen': 'public',
  'GET /v1/decisions/:id': [ingest, admin],
  'GET /v1/transactions/:id': [analyst, compliance, admin],
  // Who the caller is: their own credentials, nothing else.
  'GET /v1/me': [ingest, analyst, compliance, admin],
  'GET /v1/audit/search': [compliance, admin],
  'GET /v1/audit/access': [compliance, admin],
  'GET /v1/alerts': [analyst, admin],
  'POST /v1/labels': [analyst, admin],
  // Compliance reads cases (who decided what, and who approved which release) but never acts on them.
  'GET /v1/cases': [analyst, compliance, admin],
  'GET /v1/cases/:id': [analyst, compliance, admin],
  'GET /v1/cases/:id/timeline': [analyst, compliance, admin],
  'POST /v1/cases/:id/actions': [analyst, admin],
  'GET /v1/accounts': [compliance, admin],
  'GET /v1/accounts/:id': [analyst, compliance, admin],
  'PUT /v1/accounts/:id': [admin],
  'GET /v1/accounts/:id/balance': [analyst, compliance, admin],
  'GET /v1/accounts/:id/statement': [compliance, admin],
  'GET /v1/reports/summary': [analyst, compliance, admin],
  'GET /v1/reports/trial-balance': [compliance, admin],
  'GET /v1/rules/:version': [compliance, admin],
  'GET /v1/rules/active': [analyst, compliance, admin],
  'PUT /v1/rules': [admin],
  // Champion-challenger: only admins change what scores or decides; the report is governance (compliance, admin),
  // not casework — it scores analysts' own verdicts against rules and models not in force.
  'GET /v1/shadow': [analyst, compliance, admin],
  'PUT /v1/shadow': [admin],
  'DELETE /v1/shadow': [admin],
  'POST /v1/shadow/promote': [admin],
  'GET /v1/shadow/report': [compliance, admin],
  'GET /v1/reports/ledger-integrity': [compliance, admin],
  'GET /v1/reports/large-cash': [compliance, admin],
  'GET /v1/api-keys': [admin],
  'POST /v1/api-keys': [admin],
  'DELETE /v1/api-keys/:id': [admin],
  'POST /v1/api-keys/:id/rotate': [admin],
  // A data subject's rights (GDPR art. 15, 17, 20): compliance acts on them, never the analysts who work cases.
  'DELETE /v1/customers/:id/personal-data': [compliance, admin],
  'GET /v1/customers/:id/export': [compliance, admin],
  'POST /v1/webhooks': [admin],
  'GET /v1/webhooks': [admin],
  'GET /v1/webhooks/:id': [admin],
  'DELETE /v1/webhooks/:id': [admin],
  'GET /v1/webhooks/:id/deliveries': [admin],
  'POST /v1/webhooks/:id/replay': [admin],
  'POST /v1/webhooks/:id/enable': [admin],
  'POST /v1/notifications/email': [admin],
  'GET /v1/notifications/email': [admin],
  'GET /v1/notifications/email/:id': [admin],
  'DELETE /v1/notifications/email/:id': [admin],
  // The unsubscribe link in a mail: the signed token in the URL is the authority (RFC 8058), not an API key.
  'GET /v1/notifications/unsubscribe': 'public',
  'POST /v1/notifications/unsubscribe': 'public',
};

/** Stands in for every dependency: any property is the proxy again, calling it too; never a thenable. */
const inert: any = new Proxy(function inert() {}, {
  get: (_target, property) => (property === 'then' ? undefined : inert),
  apply: () => inert,
});

function stageRouters(): Router[] {
  return [
    createIngestRouter({
      ingestor: inert,
      authenticator,
      logger: silentLogger,
      metrics: inert,
      maxBodyBytes: 1024,
      maxBatchBodyBytes: 4096,
      maxBatchItems: 10,
      decisions: inert,
      decisionDeadlineMs: 100,
      clock: systemClock,
      channels: { intake: inert, hasher: inert, maxFileBytes: 4096, spoolDir: tmpdir() },
    }),
    dashboardsRouter({
      clickhouse: inert,
      authenticator,
      accessLog: inert,
      auditSearch: inert,
      labels: inert,
      accounts: inert,
      clock: systemClock,
      logger: silentLogger,
      config: readDashboardsConfig({}),
      apiKeys: inert,
      customerKeys: inert,
      rules: inert,
      shadow: inert,
      cases: inert,
    }),
    notifierRouter({ notifier: inert, authenticator, logger: silentLogger }),
    emailRouter({ email: undefined, authenticator, logger: silentLogger }),
  ];
}

async function serve(extra: Router[] = []): Promise<HttpServer> {
  return startHttpServer({
    api: [],
    port: 0,
    host: '127.0.0.1',
    routers: [...stageRouters(), ...extra],
    checks: [],
    metrics: new MetricsRegistry(),
    authenticator,
    logger: silentLogger,
    rateLimit: readRateLimitConfig({ VIGIL_RATE_LIMIT_KEY_PER_SECOND: '0', VIGIL_RATE_LIMIT_ADDRESS_PER_SECOND: '0' }),
  });
}

const callers = [undefined, ...Object.values(Role)] as const;
type Caller = (typeof callers)[number];

/** Every (route, caller) whose outcome breaks the policy, as `METHOD path as caller → status`. */
async function violations(http: HttpServer): Promise<string[]> {
  const found: string[] = [];
  for (const route of servedRoutes(http.server)) {
    const allowed = policy[route];
    if (allowed === undefined) {
      found.push(`${route}: not in the policy`);
      continue;
    }
    const [method, path] = route.split(' ') as [string, string];
    const url = new URL(
      path.replace(/:(\w+)/g, (_m, name: string) => (name === 'code' ? 'FORBIDDEN' : 'x-1')),
      http.url,
    );
    for (const caller of callers as readonly Caller[]) {
      const response = await fetch(url, {
        method,
        headers: {
          ...(caller ? { authorization: `Bearer ${keys[caller]}` } : {}),
          ...(method === 'GET' || method === 'DELETE' ? {} : { 'content-type': 'application/json' }),
        },
        body: method === 'GET' || method === 'DELETE' ? undefined : '{}',
      });
      await response.arrayBuffer();
      const refused = response.status === 401 || response.status === 403;
      const mayPass = allowed === 'public' || (caller !== undefined && allowed.includes(caller));
      const expectedRefusal = caller === undefined ? 401 : 403;
      if (mayPass ? refused : response.status !== expectedRefusal)
        found.push(`${route} as ${caller ?? 'no key'} → ${response.status}`);
    }
  }
  return found;
}

describe('role × route matrix', () => {
  let http: HttpServer;
  beforeAll(async () => {
    http = await serve();
  }, 30_000);
  afterAll(() => http.close());

  it('finds every route of every stage in the policy, and the policy in the routes', () => {
    expect([...new Set(servedRoutes(http.server))].sort()).toEqual(Object.keys(policy).sort());
  });

  it('lets exactly the allowed roles through each route; everyone else gets 401 (no key) or 403', async () => {
    expect(await violations(http)).toEqual([]);
  }, 60_000);
});

describe('negative control', () => {
  let http: HttpServer;
  beforeAll(async () => {
    const planted = express.Router();
    // Forgot its guard, and claims a policy it does not enforce.
    planted.get('/v1/planted', (_req, res) => {
      res.json({ secret: true });
    });
    policy['GET /v1/planted'] = [compliance, admin];
    // And a policy that says the opposite of the real guard: compliance, not analysts, on the alert list.
    policy['GET /v1/alerts'] = [compliance, admin];
    const unlisted = express.Router();
    unlisted.get('/v1/unlisted', (_req, res) => {
      res.json({});
    });
    http = await serve([planted, unlisted]);
  }, 30_000);
  afterAll(async () => {
    delete policy['GET /v1/planted'];
    policy['GET /v1/alerts'] = [analyst, admin];
    await http.close();
  });

  it('catches a route without a guard, a route nobody put in the policy, and a guard that differs from the policy', async () => {
    expect(await violations(http)).toEqual([
      'GET /v1/alerts as analyst → 500',
      'GET /v1/alerts as compliance → 403',
      'GET /v1/planted as no key → 200',
      'GET /v1/planted as ingest → 200',
      'GET /v1/planted as analyst → 200',
      'GET /v1/unlisted: not in the policy',
    ]);
  }, 60_000);
});
