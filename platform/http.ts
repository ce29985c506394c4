import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { type ApiKeyAuthenticator, type Principal, type Role, authorize } from './auth.js';
import { type ErrorCode, errorCatalogue, isErrorCode } from './error-codes.js';
import { ErrorCategory, VigilError } from './errors.js';
import type { Logger } from './logger.js';

/** HTTP lives only at the edge: these map error categories to RFC 9457 (ex-7807) problem responses. */
const statusByCategory: Record<ErrorCategory, number> = {
  [ErrorCategory.invalidInput]: 400,
  [ErrorCategory.unauthenticated]: 401,
  [ErrorCategory.forbidden]: 403,
  [ErrorCategory.notFound]: 404,
  [ErrorCategory.conflict]: 409,
  [ErrorCategory.tooLarge]: 413,
  [ErrorCategory.rateLimited]: 429,
  [ErrorCategory.unavailable]: 503,
  [ErrorCategory.internal]: 500,
};

export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: string;
  readonly problems?: ReadonlyArray<{ path: string; message: string }>;
  readonly [extension: string]: unknown;
}

/**
 * The `type` of a problem with `code`: the page this server serves for it (mountProblemTypePages).
 *
 * Why a served page and not `about:blank`: RFC 9457 §3.1.1 lets `type` be a relative reference, resolved against
 * the response's URL, and every Vigil HTTP server (startHttpServer, embedded or one stage in distributed mode)
 * serves the whole catalogue at this path. So the reference resolves on whichever server answered, behind any
 * proxy or port, without the server having to know its public base URL — and an operator who follows it reads what
 * the code means and what to do. `about:blank` would resolve too but carries nothing per code. Clients match on the
 * `code` member, which is the same everywhere; the resolved `type` differs only by host.
 */
export function problemTypeFor(code: ErrorCode): string {
  return `/problems/${code}`;
}

export function problemFor(error: VigilError): ProblemDetails {
  const status = statusByCategory[error.category];
  return {
    type: problemTypeFor(error.code),
    title: error.code,
    status,
    detail: status === 500 ? 'internal error' : error.message,
    code: error.code,
    ...(error.problems.length > 0 ? { problems: error.problems } : {}),
  };
}

export function sendProblem(res: Response, error: VigilError): void {
  const problem = problemFor(error);
  // A route with its own scheme (an Adyen webhook's basic auth) names it before refusing; the rest take a bearer.
  if (problem.status === 401 && !res.hasHeader('WWW-Authenticate')) res.setHeader('WWW-Authenticate', 'Bearer');
  if (problem.status === 503) res.setHeader('Retry-After', '1');
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
}

/** Maps body-parser's errors (too large, bad JSON) onto Vigil errors. */
function fromExpressError(error: unknown): VigilError | undefined {
  const e = error as { type?: string; status?: number; message?: string };
  if (e.type === 'entity.too.large')
    return new VigilError('BODY_TOO_LARGE', e.message ?? 'request body too large', {
      category: ErrorCategory.tooLarge,
    });
  if (e.type === 'entity.parse.failed')
    return new VigilError('MALFORMED_JSON', `request body is not valid JSON: ${e.message ?? ''}`, {
      category: ErrorCategory.invalidInput,
    });
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500)
    return new VigilError('BAD_REQUEST', e.message ?? 'bad request', { category: ErrorCategory.invalidInput });
  return undefined;
}

/** The one error middleware: every error becomes a problem response; internal ones are logged. */
export function problemDetailsMiddleware(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const vigilError = error instanceof VigilError ? error : fromExpressError(error);
    if (!vigilError || vigilError.category === ErrorCategory.internal) {
      logger.error('request failed', {
        method: req.method,
        path: req.path,
        error: error instanceof Error ? error.stack : String(error),
      });
    }
    sendProblem(res, vigilError ?? new VigilError('INTERNAL', 'internal error'));
  };
}

/** 404 as a problem response, for routes nobody serves. */
export const notFoundHandler: RequestHandler = (req, res) =>
  sendProblem(
    res,
    new VigilError('ROUTE_NOT_FOUND', `no route ${req.method} ${req.path}`, { category: ErrorCategory.notFound }),
  );

/** Authenticates the request and checks its role; the principal is then at `principalOf(res)`. */
export function requireRole(authenticator: ApiKeyAuthenticator, ...allowed: Role[]): RequestHandler {
  return (req, res, next) => {
    authenticator.authenticate(req.headers.authorization).then(
      (principal) => {
        try {
          authorize(principal, allowed);
        } catch (error) {
          next(error);
          return;
        }
        res.locals['principal'] = principal;
        next();
      },
      (error: unknown) => next(error),
    );
  };
}

export function principalOf(res: Response): Principal {
  const principal = res.locals['principal'] as Principal | undefined;
  if (!principal) throw new VigilError('NO_PRINCIPAL', 'route is missing requireRole()');
  return principal;
}

/** Wraps an async route so a rejection reaches the error middleware (express 5 does this too; explicit here). */
export function route(handler: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req, res, next) => {
    handler(req, res).catch(next);
  };
}

/** What `GET /problems/<code>` answers: one catalogue entry, documentation only. */
export interface ProblemTypePage {
  readonly code: ErrorCode;
  readonly category: ErrorCategory;
  /** The HTTP status a problem with this code is sent with (unless the throw site overrides the category). */
  readonly status: number;
  readonly meaning: string;
}

export function problemTypePage(code: ErrorCode): ProblemTypePage {
  const { category, meaning } = errorCatalogue[code];
  return { code, category, status: statusByCategory[category], meaning };
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function problemTypeHtml(page: ProblemTypePage): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${page.code} — Vigil problem type</title></head>`,
    `<body><h1>${page.code}</h1>`,
    `<p>${escapeHtml(page.meaning)}</p>`,
    `<dl><dt>Category</dt><dd>${page.category}</dd><dt>HTTP status</dt><dd>${page.status}</dd></dl>`,
    '</body></html>',
    '',
  ].join('\n');
}

/**
 * `GET /problems/<code>`: the page a problem's `type` points at (problemTypeFor), as HTML or, when the client
 * asks for it, JSON (ProblemTypePage). Open to everyone: it is documentation from the catalogue and shows no data.
 * An unknown code answers 404 UNKNOWN_PROBLEM_TYPE.
 */
export function mountProblemTypePages(app: { get(path: string, ...handlers: RequestHandler[]): unknown }): void {
  app.get('/problems/:code', (req, res) => {
    const raw: unknown = req.params['code'];
    const code = typeof raw === 'string' ? raw : '';
    if (!isErrorCode(code)) {
      sendProblem(res, new VigilError('UNKNOWN_PROBLEM_TYPE', `no problem type ${JSON.stringify(code)}`));
      return;
    }
    const page = problemTypePage(code);
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.vary('Accept');
    if (req.accepts(['text/html', 'application/json']) === 'application/json') res.json(page);
    else res.type('text/html; charset=utf-8').send(problemTypeHtml(page));
  });
}

export interface ReadinessCheck {
  readonly name: string;
  isReady(): boolean;
}

/**
 * `/health/live` (the process answers), `/health/ready` (every check passes; 503 with the failing names
 * otherwise) and `/metrics` (Prometheus text). The health probes are open, since orchestrators probe without
 * keys and they reveal nothing but up/down; `/metrics` sits behind `metricsGuard` (Prometheus sends a bearer key).
 */
export function mountOperationalRoutes(
  app: { get(path: string, ...handlers: RequestHandler[]): unknown },
  checks: readonly ReadinessCheck[],
  renderMetrics: () => string,
  metricsGuard: RequestHandler,
): void {
  app.get('/health/live', (_req, res) => {
    res.json({ status: 'live' });
  });
  app.get('/health/ready', (_req, res) => {
    const failing = checks.filter((c) => !c.isReady()).map((c) => c.name);
    res
      .status(failing.length === 0 ? 200 : 503)
      .json({ status: failing.length === 0 ? 'ready' : 'not_ready', failing });
  });
  app.get('/metrics', metricsGuard, (_req, res) => {
    res.type('text/plain; version=0.0.4').send(renderMetrics());
  });
}
