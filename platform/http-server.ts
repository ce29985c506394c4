import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Router } from 'express';
import { type ApiKeyAuthenticator, Role } from './auth.js';
import { type Clock, systemClock } from './clock.js';
import {
  type ReadinessCheck,
  mountOperationalRoutes,
  mountProblemTypePages,
  notFoundHandler,
  problemDetailsMiddleware,
  requireRole,
} from './http.js';
import type { Logger } from './logger.js';
import type { MetricsRegistry } from './metrics.js';
import { type ApiDocumentPart, mountOpenApiDocument, openApiDocument } from './openapi.js';
import { type RateLimitConfig, rateLimit } from './rate-limit.js';

/**
 * The one HTTP server of a Vigil process: health probes, `/metrics`, the problem-type pages (`/problems/<code>`),
 * the OpenAPI document of everything it serves (`/openapi.json`), the routers of the stages it runs, then 404 and RFC 9457 problems for everything else. Used by the embedded
 * default (all stages) and by each stage's own service in distributed mode.
 */
export interface HttpServerOptions {
  readonly port: number;
  readonly host: string;
  readonly routers: readonly Router[];
  /**
   * What the routers serve, as OpenAPI parts (one per stage, from `<stage>/http/openapi.ts`): merged with the
   * platform's own routes into the document served at `/openapi.json`.
   */
  readonly api: readonly ApiDocumentPart[];
  readonly checks: readonly ReadinessCheck[];
  readonly metrics: MetricsRegistry;
  readonly authenticator: ApiKeyAuthenticator;
  readonly logger: Logger;
  /** Per key and per client address (readRateLimitConfig); applies to every route but the health probes and /metrics. */
  readonly rateLimit: RateLimitConfig;
  /** The rate limiter's time; the system clock unless a test moves its own. */
  readonly clock?: Clock;
}

export interface HttpServer {
  readonly server: Server;
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** Stops accepting connections and closes the open ones. */
  close(): Promise<void>;
}

/** The version of the HTTP API the document states: the package's, as the API ships with it. */
const API_VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const app = express();
  app.disable('x-powered-by');
  mountOperationalRoutes(
    app,
    options.checks,
    () => options.metrics.render(),
    requireRole(options.authenticator, Role.admin),
  );
  // Health and metrics are mounted before the limiter on purpose: an orchestrator's probe refused during a flood
  // would restart a healthy process (turning a flood into an outage), and the scrape is how operators see the flood.
  app.use(rateLimit(options.rateLimit, options.authenticator, options.clock ?? systemClock));
  // Before the stage routers, so a router that authenticates everything it sees cannot hide the problem pages.
  mountProblemTypePages(app);
  mountOpenApiDocument(app, openApiDocument(options.api, API_VERSION));
  for (const router of options.routers) app.use(router);
  app.use(notFoundHandler);
  app.use(problemDetailsMiddleware(options.logger));

  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(options.port, options.host, (error?: Error) =>
      error ? reject(error) : resolve(listening),
    );
    listening.once('error', reject);
  });
  // Longer than the idle timeouts of common clients and load balancers (60 s), so a pooled keep-alive
  // connection is never closed by the server just as a client reuses it (seen as ECONNRESET by the client).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
