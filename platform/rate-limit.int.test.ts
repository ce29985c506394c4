import express from 'express';
import { ApiKeyAuthenticator, Role, parseApiKeys } from './auth.js';
import { ManualClock } from './clock.js';
import { requireRole } from './http.js';
import { type HttpServer, startHttpServer } from './http-server.js';
import { silentLogger } from './logger.js';
import { MetricsRegistry } from './metrics.js';
import { readRateLimitConfig } from './rate-limit.js';

/** The limiter at the shared edge, over real HTTP on 127.0.0.1, with a clock only the test moves. */
const analyst = { authorization: 'Bearer analyst-key-0123456789' };
const admin = { authorization: 'Bearer admin-key-01234567890' };
const authenticator = new ApiKeyAuthenticator(
  parseApiKeys('analyst:analyst-key-0123456789,admin:admin-key-01234567890'),
);

async function startWith(env: Record<string, string>, clock: ManualClock): Promise<HttpServer> {
  const router = express.Router();
  router.get('/v1/ping', requireRole(authenticator, Role.analyst), (_req, res) => {
    res.json({ ok: true });
  });
  return startHttpServer({
    api: [],
    port: 0,
    host: '127.0.0.1',
    routers: [router],
    checks: [],
    metrics: new MetricsRegistry(),
    authenticator,
    logger: silentLogger,
    rateLimit: readRateLimitConfig(env),
    clock,
  });
}

const tight = {
  VIGIL_RATE_LIMIT_KEY_PER_SECOND: '1',
  VIGIL_RATE_LIMIT_KEY_BURST: '2',
  VIGIL_RATE_LIMIT_ADDRESS_PER_SECOND: '1',
  VIGIL_RATE_LIMIT_ADDRESS_BURST: '5',
};

async function get(http: HttpServer, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(new URL(path, http.url), { headers });
  const text = await response.text();
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    type: response.headers.get('content-type') ?? '',
    body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : text,
  };
}

describe('rate limits at the edge', () => {
  let http: HttpServer;
  const clock = new ManualClock(1_700_000_000_000);
  beforeAll(async () => {
    http = await startWith(tight, clock);
  }, 30_000);
  afterAll(() => http.close());

  it('refuses a key past its burst with 429, Retry-After and a problem body; the address limit catches keyless floods; the clock moving lets them back', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await get(http, '/v1/ping', analyst)).status);
    expect(statuses).toEqual([200, 200, 429]);
    const refused = await get(http, '/v1/ping', analyst);
    expect(refused).toEqual({
      status: 429,
      retryAfter: '1',
      type: expect.stringMatching(/^application\/problem\+json/) as string,
      body: expect.objectContaining({ code: 'RATE_LIMITED', status: 429, type: '/problems/RATE_LIMITED' }) as object,
    });
    // The address bucket (5) has paid for all four: one more request passes the limiter (and is refused by the
    // route's guard for having no key), the next is refused by the address limit.
    expect((await get(http, '/v1/ping')).status).toBe(401);
    const flood = await get(http, '/v1/ping', admin);
    expect({ status: flood.status, retryAfter: flood.retryAfter }).toEqual({ status: 429, retryAfter: '1' });
    // Health probes and the metrics scrape are never limited.
    const exempt = [];
    for (let i = 0; i < 6; i++) exempt.push((await get(http, '/health/live')).status);
    exempt.push((await get(http, '/metrics', admin)).status);
    expect(exempt).toEqual([200, 200, 200, 200, 200, 200, 200]);

    clock.advance(1000);
    expect((await get(http, '/v1/ping', analyst)).status).toBe(200);
    expect((await get(http, '/v1/ping', analyst)).status).toBe(429);
  });
});

describe('negative control', () => {
  let http: HttpServer;
  beforeAll(async () => {
    http = await startWith(
      { VIGIL_RATE_LIMIT_KEY_PER_SECOND: '0', VIGIL_RATE_LIMIT_ADDRESS_PER_SECOND: '0' },
      new ManualClock(0),
    );
  }, 30_000);
  afterAll(() => http.close());

  it('with the limits off, the same requests all pass: the 429s above come from the limiter', async () => {
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await get(http, '/v1/ping', analyst)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200]);
  });
});
