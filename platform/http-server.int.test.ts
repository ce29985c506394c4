/**
 * The problem `type` of a real error response resolves, on the same server, to the page of its code (RFC 9457
 * §3.1.1). Integration tier because it listens on a loopback port; it needs no Kafka or Elasticsearch.
 */
import express from 'express';
import { ApiKeyAuthenticator, Role, parseApiKeys } from './auth.js';
import { errorCatalogue } from './error-codes.js';
import { UnavailableError, ValidationError } from './errors.js';
import { type ProblemDetails, type ProblemTypePage, requireRole, route } from './http.js';
import { type HttpServer, startHttpServer } from './http-server.js';
import { silentLogger } from './logger.js';
import { MetricsRegistry } from './metrics.js';
import { readRateLimitConfig } from './rate-limit.js';

const authenticator = new ApiKeyAuthenticator(parseApiKeys('analyst:analyst-key-0123456789'));

let http: HttpServer;

beforeAll(async () => {
  const failing = express.Router();
  failing.get(
    '/v1/fails/validation',
    route(() => Promise.reject(new ValidationError('bad', [{ path: '/x', message: 'must be y' }], 'RULES_INVALID'))),
  );
  failing.get(
    '/v1/fails/unavailable',
    route(() => Promise.reject(new UnavailableError('REPORT_STORE_UNAVAILABLE', 'down'))),
  );
  // A router that authenticates every request it sees, as a stage's may: the problem pages must stay reachable.
  const guarded = express.Router();
  guarded.use(requireRole(authenticator, Role.analyst));
  http = await startHttpServer({
    api: [],
    port: 0,
    host: '127.0.0.1',
    routers: [failing, guarded],
    checks: [],
    metrics: new MetricsRegistry(),
    authenticator,
    logger: silentLogger,
    rateLimit: readRateLimitConfig({}),
  });
}, 30_000);

afterAll(() => http.close());

async function problemAt(path: string, headers: Record<string, string> = {}): Promise<ProblemDetails> {
  const response = await fetch(new URL(path, http.url), { headers });
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  return (await response.json()) as ProblemDetails;
}

/** Fetches `problem.type` resolved against the URL that answered, as RFC 9457 says a client resolves it. */
async function followType(problem: ProblemDetails, answeredAt: string, accept: string): Promise<Response> {
  return fetch(new URL(problem.type, new URL(answeredAt, http.url)), { headers: { accept } });
}

describe('problem types resolve to the page of their code', () => {
  const key = { authorization: 'Bearer analyst-key-0123456789' };
  it.each([
    ['/v1/fails/validation', {}, 'RULES_INVALID', 400],
    ['/v1/fails/unavailable', {}, 'REPORT_STORE_UNAVAILABLE', 503],
    ['/v1/no-such-route', {}, 'UNAUTHENTICATED', 401],
    ['/no-such-route', key, 'ROUTE_NOT_FOUND', 404],
  ] as const)(
    'GET %s %j → %s, and its type (fetched without a key) documents that code',
    async (path, headers, code, status) => {
      const problem = await problemAt(path, headers);
      expect(problem).toMatchObject({ code, status });

      const json = await followType(problem, path, 'application/json');
      expect(json.status).toBe(200);
      expect((await json.json()) as ProblemTypePage).toEqual({
        code,
        category: errorCatalogue[code].category,
        status,
        meaning: errorCatalogue[code].meaning,
      });

      const html = await followType(problem, path, 'text/html');
      expect(html.status).toBe(200);
      expect(html.headers.get('content-type')).toMatch(/^text\/html/);
      const page = await html.text();
      expect(page).toContain(`<h1>${code}</h1>`);
      // Meanings hold quotes and angle brackets, which the page escapes as numeric references: read it decoded.
      const text = page.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
      expect(text).toContain(errorCatalogue[code].meaning);
    },
  );

  it('answers an unknown code with 404 UNKNOWN_PROBLEM_TYPE, whose own type resolves', async () => {
    const problem = await problemAt('/problems/NOT_A_CODE');
    expect(problem).toMatchObject({
      code: 'UNKNOWN_PROBLEM_TYPE',
      status: 404,
      type: '/problems/UNKNOWN_PROBLEM_TYPE',
    });
    const page = await followType(problem, '/problems/NOT_A_CODE', 'application/json');
    expect(page.status).toBe(200);
    expect(await page.json()).toMatchObject({ code: 'UNKNOWN_PROBLEM_TYPE', status: 404 });
  });

  it('negative control: inherited object keys are not codes', async () => {
    expect(await problemAt('/problems/constructor')).toMatchObject({ code: 'UNKNOWN_PROBLEM_TYPE', status: 404 });
  });

  it('serves every catalogue code without a key', async () => {
    const codes = Object.keys(errorCatalogue);
    const statuses = await Promise.all(
      codes.map(async (code) => (await fetch(new URL(`/problems/${code}`, http.url))).status),
    );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(statuses).toHaveLength(codes.length);
  });
});
