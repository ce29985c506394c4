import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { ApiKeyAuthenticator, Role } from '../platform/auth.js';
import { type HttpServer, startHttpServer } from '../platform/http-server.js';
import { silentLogger } from '../platform/logger.js';
import { MetricsRegistry } from '../platform/metrics.js';
import { type ApiDocumentPart, type OpenApiDocument, PUBLIC, jsonResponse } from '../platform/openapi.js';
import type { CasePage, CaseView } from '../schemas/api.js';
import { readRateLimitConfig } from '../platform/rate-limit.js';
import {
  coverageViolations,
  documentViolations,
  exampleViolations,
  operationsOf,
  securityViolations,
  servedRoutes,
  unansweredViolations,
} from '../platform/testing/openapi-check.js';
import { ADYEN_TEST_ENV, adyenBasicAuth, signedAdyenItem } from '../ingest/testing/adyen.js';
import { STRIPE_TEST_SECRET, stripeSignature } from '../ingest/testing/stripe.js';
import { type EmbeddedPipeline, startEmbeddedPipeline } from './pipeline.js';

/**
 * `/openapi.json` on the embedded default's real HTTP server is true: every route the server answers is documented
 * and every documented route is answered; the document is well formed and its schemas compile as JSON Schema
 * 2020-12; every example request validates against its schemas and, sent with a key of the documented role,
 * succeeds with a documented status and a body its schema accepts. Negative controls plant an undocumented route,
 * a documented route nobody serves, an example its schema refuses and a role the guard refuses, and see each
 * reported.
 */
const keys: Record<Role, string> = {
  ingest: 'openapi-ingest-key-0123456789abcdef',
  analyst: 'openapi-analyst-key-0123456789abcdef',
  compliance: 'openapi-compliance-key-0123456789abc',
  admin: 'openapi-admin-key-0123456789abcdef01',
};
const webhookSecretKey = 'openapi-test-webhook-secret-key-0123456789';

/**
 * The unsubscribe token reaches its holder only in an alert mail, so the example cannot carry it: it is what the
 * mail's link holds for the subscription the document's example created (notifier's EmailNotifier.unsubscribeToken).
 */
/**
 * Values only their holder can make: the Stripe signature over the documented event (signed now, as Stripe signs
 * each delivery) and the mailed unsubscribe token.
 */
function outOfBandFor(document: OpenApiDocument) {
  return (operationId: string, parameter: string, linked: ReadonlyMap<string, string>): string | undefined => {
    if (operationId === 'receiveStripeEvent' && parameter === 'Stripe-Signature') {
      const example = document.paths['/v1/channels/stripe']?.post?.requestBody?.content['application/json']?.example;
      return stripeSignature(JSON.stringify(example), Math.floor(Date.now() / 1000));
    }
    return mailedToken(operationId, parameter, linked);
  };
}

/** Adyen's side of its webhook: basic auth, and each item of the documented notification signed with the key. */
function gatewayCaller(operationId: string, example: unknown) {
  if (operationId !== 'receiveAdyenNotification') return undefined;
  const notification = example as { notificationItems: Array<{ NotificationRequestItem: Record<string, unknown> }> };
  return {
    headers: { authorization: adyenBasicAuth() },
    body: {
      ...notification,
      notificationItems: notification.notificationItems.map((entry) => ({
        NotificationRequestItem: signedAdyenItem(entry.NotificationRequestItem),
      })),
    },
  };
}

function mailedToken(operationId: string, parameter: string, linked: ReadonlyMap<string, string>): string | undefined {
  if (parameter !== 'token' || !['showUnsubscribe', 'unsubscribe'].includes(operationId)) return undefined;
  const id = linked.get('getEmailSubscription id');
  if (id === undefined) return undefined;
  return `${id}.${createHmac('sha256', webhookSecretKey).update(`vigil-unsubscribe\u0000${id}`).digest('base64url')}`;
}

/** The document as plain data a negative control can plant faults in. */
interface Planted {
  components: { schemas: Record<string, unknown> };
  paths: Record<
    string,
    Record<
      string,
      {
        security: unknown;
        requestBody: { content: Record<string, { example: Record<string, unknown> }> };
        responses: Record<
          string,
          {
            links: Record<string, { operationId: string }>;
            content: Record<string, { schema: { properties: Record<string, unknown> } }>;
          }
        >;
      }
    >
  >;
}

describe('the OpenAPI document of the embedded default', () => {
  let dataDir: string;
  let pipeline: EmbeddedPipeline;
  let document: OpenApiDocument;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-openapi-'));
    pipeline = await startEmbeddedPipeline({
      env: {
        VIGIL_DATA_DIR: dataDir,
        VIGIL_HTTP_PORT: '0',
        VIGIL_SIMULATOR_TPS: '0',
        VIGIL_API_KEYS: Object.entries(keys)
          .map(([role, key]) => `${role}:${key}`)
          .join(','),
        VIGIL_WEBHOOK_SECRET_KEY: webhookSecretKey,
        // E-mail on, so its routes answer; nothing listens here, and no mail is due within the test.
        VIGIL_SMTP_URL: 'smtp://127.0.0.1:9',
        VIGIL_SMTP_FROM: 'Vigil <alerts@bank.example>',
        VIGIL_PUBLIC_URL: 'http://127.0.0.1:8080',
        // Generous: the example decision must come back synchronously on a loaded machine.
        VIGIL_DECISION_DEADLINE_MS: '20000',
        // Off: the role check below sends five requests per route at once.
        VIGIL_STRIPE_WEBHOOK_SECRET: STRIPE_TEST_SECRET,
        ...ADYEN_TEST_ENV,
        VIGIL_RATE_LIMIT_KEY_PER_SECOND: '0',
        VIGIL_RATE_LIMIT_ADDRESS_PER_SECOND: '0',
      },
      logger: silentLogger,
    });
    const response = await fetch(`${pipeline.url}/openapi.json`);
    expect(response.status).toBe(200);
    document = (await response.json()) as OpenApiDocument;
  }, 180_000);

  afterAll(async () => {
    await pipeline?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('documents every route the server answers, and nothing else', () => {
    expect(coverageViolations(servedRoutes(pipeline.server), document)).toEqual([]);
    expect(operationsOf(document)).toHaveLength(servedRoutes(pipeline.server).length);
  });

  it('is answered on every documented route (no 404 ROUTE_NOT_FOUND, no 405)', async () => {
    expect(await unansweredViolations(document, pipeline.url)).toEqual([]);
  }, 60_000);

  it('is a well-formed OpenAPI 3.1 document whose schemas compile as JSON Schema 2020-12', () => {
    expect(documentViolations(document, Object.values(Role))).toEqual([]);
  });

  it('has examples that validate and succeed with a documented status, sent as the documented role', async () => {
    const { violations, outcomes } = await exampleViolations(document, {
      baseUrl: pipeline.url,
      keys,
      outOfBand: outOfBandFor(document),
      gatewayCaller,
      settleTimeoutMs: 90_000,
    });
    expect(violations).toEqual([]);
    expect(outcomes).toHaveLength(operationsOf(document).length);
  }, 300_000);

  it('acts on a real case: the declined example opened one, and the case the list linked to is assigned to the analyst', async () => {
    const asAnalyst = async <T>(path: string): Promise<T> => {
      const response = await fetch(`${pipeline.url}${path}`, { headers: { authorization: `Bearer ${keys.analyst}` } });
      expect(response.status).toBe(200);
      return (await response.json()) as T;
    };
    const { cases } = await asAnalyst<CasePage>('/v1/cases?state=unresolved&limit=500');
    const views = await Promise.all(cases.map((c) => asAnalyst<CaseView>(`/v1/cases/${encodeURIComponent(c.caseId)}`)));
    // tx-example-0004's card is from a BIN the shipped rules decline, whatever the model scores.
    expect(views.filter((v) => v.alerts.some((a) => a.transactionId === 'tx-example-0004'))).toHaveLength(1);
    // The document's one action example assigned the linked case to its caller; no other case was touched.
    const assigned = views.filter((v) => v.state === 'assigned');
    expect(assigned).toHaveLength(1);
    expect(assigned[0]!.assignee).toMatch(/^analyst:/);
    expect(assigned[0]!.history.filter((h) => h.action !== 'ALERT').map((h) => [h.action, h.by, h.assignee])).toEqual([
      ['ASSIGN', assigned[0]!.assignee, assigned[0]!.assignee],
    ]);
  }, 60_000);

  it('lets exactly the documented roles through each route; everyone else gets 401 (no key) or 403', async () => {
    expect(await securityViolations(document, pipeline.url, keys)).toEqual([]);
  }, 120_000);

  describe('negative controls', () => {
    it('reports an example its schema refuses, an answer its schema refuses, and an operation documented for a role its guard refuses', async () => {
      const planted = structuredClone(document) as unknown as Planted;
      // The account example with a currency its schema refuses, and the audit search claimed for analysts.
      planted.paths['/v1/accounts/{id}']!['put']!.requestBody.content['application/json']!.example.currency = 'euro';
      planted.paths['/v1/audit/search']!['get']!.security = [{ bearer: ['analyst'] }];
      // And a liveness answer its response schema refuses.
      planted.paths['/health/live']!['get']!.responses['200']!.content['application/json']!.schema.properties[
        'status'
      ] = {
        const: 'dead',
      };
      const only = (paths: readonly string[]) =>
        ({
          ...planted,
          paths: Object.fromEntries(paths.map((p) => [p, planted.paths[p]])),
        }) as unknown as OpenApiDocument;
      const { violations } = await exampleViolations(only(['/v1/accounts/{id}', '/v1/audit/search', '/health/live']), {
        baseUrl: pipeline.url,
        keys,
        settleTimeoutMs: 0,
      });
      expect(violations.map((v) => v.replace(/: \{.*$/s, ''))).toEqual([
        'PUT /v1/accounts/{id}: example body: /currency must match pattern "^[A-Z]{3}$"',
        'PUT /v1/accounts/{id} as admin → 400',
        'GET /health/live → 200: body: /status must be equal to constant',
        'GET /v1/audit/search as analyst → 403',
      ]);
    }, 60_000);

    it('reports a route documented for a role its guard refuses, one whose guard lets in a role not documented, and an undocumented status', async () => {
      const planted = structuredClone(document) as unknown as Planted;
      planted.paths['/v1/alerts']!['get']!.security = [{ bearer: ['compliance'] }, { bearer: ['admin'] }];
      // And the rules route without the 400 its validation answers an empty document with.
      delete planted.paths['/v1/rules']!['put']!.responses['400'];
      const only = {
        ...planted,
        paths: { '/v1/alerts': planted.paths['/v1/alerts'], '/v1/rules': planted.paths['/v1/rules'] },
      } as unknown as OpenApiDocument;
      expect(await securityViolations(only, pipeline.url, keys)).toEqual([
        'GET /v1/alerts as analyst → 200',
        'GET /v1/alerts as compliance → 403',
        'PUT /v1/rules as admin → 400 (undocumented)',
      ]);
    }, 60_000);

    it('reports the case examples as failing without the link that carries a real case id from the list', async () => {
      const planted = structuredClone(document) as unknown as Planted;
      delete (planted.paths['/v1/cases']!['get']!.responses['200'] as { links?: unknown }).links;
      const only = {
        ...planted,
        paths: Object.fromEntries(
          ['/v1/cases', '/v1/cases/{id}', '/v1/cases/{id}/actions', '/v1/cases/{id}/timeline'].map((p) => [
            p,
            planted.paths[p],
          ]),
        ),
      } as unknown as OpenApiDocument;
      const { violations } = await exampleViolations(only, { baseUrl: pipeline.url, keys, settleTimeoutMs: 0 });
      // Without it, the operations take their own example id, which names no case.
      expect(violations.map((v) => v.replace(/: \{.*$/s, ''))).toEqual([
        'POST /v1/cases/{id}/actions as analyst → 404',
        'GET /v1/cases/{id} as analyst → 404',
        'GET /v1/cases/{id}/timeline as analyst → 404',
      ]);
    }, 60_000);

    it('reports a schema that does not compile and a link to no operation', () => {
      const planted = structuredClone(document) as unknown as Planted;
      planted.components.schemas['Money'] = { type: 'object', require: ['value'] };
      planted.paths['/v1/webhooks']!['post']!.responses['201']!.links['getWebhook']!.operationId = 'getWebhookTypo';
      const found = documentViolations(planted as unknown as OpenApiDocument, Object.values(Role));
      expect(found[0]).toBe('POST /v1/webhooks: link getWebhook names no operation getWebhookTypo');
      expect(found).toContain(
        'schema /components/schemas/Money does not compile: strict mode: unknown keyword: "require"',
      );
      // The rest are the schemas that refer to Money, which cannot compile either.
      expect(found.slice(1).every((line) => line.endsWith('unknown keyword: "require"'))).toBe(true);
    });
  });
});

describe('negative control: a route planted without documentation, and a documented route removed', () => {
  let http: HttpServer;
  let document: OpenApiDocument;
  const authenticator = new ApiKeyAuthenticator([]);

  beforeAll(async () => {
    const router = express.Router();
    router.get('/v1/kept', (_req, res) => res.json({ kept: true }));
    router.get('/v1/planted', (_req, res) => res.json({ planted: true }));
    const documented = (operationId: string) => ({
      get: {
        operationId,
        summary: operationId,
        tags: ['planted'],
        security: PUBLIC,
        responses: { '200': jsonResponse('ok', { type: 'object' }) },
      },
    });
    // `/v1/removed` is documented, but its route was taken out of the router.
    const part: ApiDocumentPart = { paths: { '/v1/kept': documented('kept'), '/v1/removed': documented('removed') } };
    http = await startHttpServer({
      api: [part],
      port: 0,
      host: '127.0.0.1',
      routers: [router],
      checks: [],
      metrics: new MetricsRegistry(),
      authenticator,
      logger: silentLogger,
      rateLimit: readRateLimitConfig({
        VIGIL_RATE_LIMIT_KEY_PER_SECOND: '0',
        VIGIL_RATE_LIMIT_ADDRESS_PER_SECOND: '0',
      }),
    });
    document = (await (await fetch(`${http.url}/openapi.json`)).json()) as OpenApiDocument;
  }, 30_000);
  afterAll(() => http.close());

  it('reports the planted route as undocumented and the removed one as documented but not served', () => {
    expect(coverageViolations(servedRoutes(http.server), document)).toEqual([
      'GET /v1/planted: served but not documented',
      'GET /v1/removed: documented but not served',
    ]);
  });

  it('reports the removed route as answered by no route', async () => {
    expect(await unansweredViolations(document, http.url)).toEqual(['GET /v1/removed: no route answers (404)']);
  }, 30_000);
});

describe('links: a value a list shows only once its data arrives, taken by an operation that would otherwise run first', () => {
  let http: HttpServer;
  let document: OpenApiDocument;
  /** The queue answers empty twice, as a list does while what it lists is on its way, then holds one item. */
  let reads = 0;

  beforeAll(async () => {
    const router = express.Router();
    router.get('/v1/queue', (_req, res) => {
      reads += 1;
      res.json({ items: reads < 3 ? [] : [{ id: 'item-1' }] });
    });
    router.post('/v1/queue/:id/take', (req, res) => {
      if (req.params.id === 'item-1') res.json({ taken: req.params.id });
      else res.status(404).json({ code: 'UNKNOWN_ITEM' });
    });
    const part: ApiDocumentPart = {
      paths: {
        '/v1/queue': {
          get: {
            operationId: 'listQueue',
            summary: 'The queue',
            tags: ['planted'],
            security: PUBLIC,
            responses: {
              '200': jsonResponse(
                'ok',
                { type: 'object' },
                {
                  links: { take: { operationId: 'takeItem', parameters: { id: '$response.body#/items/0/id' } } },
                },
              ),
            },
          },
        },
        '/v1/queue/{id}/take': {
          post: {
            operationId: 'takeItem',
            summary: 'Take an item',
            tags: ['planted'],
            security: PUBLIC,
            parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, example: 'no-item' }],
            responses: { '200': jsonResponse('ok', { type: 'object' }) },
          },
        },
      },
    };
    http = await startHttpServer({
      api: [part],
      port: 0,
      host: '127.0.0.1',
      routers: [router],
      checks: [],
      metrics: new MetricsRegistry(),
      authenticator: new ApiKeyAuthenticator([]),
      logger: silentLogger,
      rateLimit: readRateLimitConfig({
        VIGIL_RATE_LIMIT_KEY_PER_SECOND: '0',
        VIGIL_RATE_LIMIT_ADDRESS_PER_SECOND: '0',
      }),
    });
    const served = (await (await fetch(`${http.url}/openapi.json`)).json()) as OpenApiDocument;
    document = {
      ...served,
      paths: { '/v1/queue': served.paths['/v1/queue']!, '/v1/queue/{id}/take': served.paths['/v1/queue/{id}/take']! },
    };
  }, 30_000);
  afterAll(() => http.close());

  it('reads the list again until its link finds the value, and only then runs the operation that takes it', async () => {
    reads = 0;
    const { violations, outcomes } = await exampleViolations(document, {
      baseUrl: http.url,
      keys,
      settleTimeoutMs: 30_000,
    });
    expect(violations).toEqual([]);
    // A POST before a GET, had the link not put the list first.
    expect(outcomes).toEqual([
      { operation: 'listQueue', status: 200 },
      { operation: 'takeItem', status: 200 },
    ]);
    expect(reads).toBe(3);
  }, 60_000);

  it('negative control: with no time to settle, the empty list is reported and the take runs with its own example id', async () => {
    reads = 0;
    const { violations } = await exampleViolations(document, { baseUrl: http.url, keys, settleTimeoutMs: 0 });
    expect(violations.map((v) => v.replace(/: \{.*$/s, ''))).toEqual([
      'GET /v1/queue: link to takeItem finds no $response.body#/items/0/id',
      'POST /v1/queue/{id}/take as no key → 404 (undocumented)',
    ]);
    expect(reads).toBe(1);
  }, 60_000);
});
