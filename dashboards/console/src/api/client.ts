import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './openapi.js';

/** The console's typed API client: every path, parameter and body checked against the served OpenAPI document. */
export type Api = Client<paths>;

/** A refused call: the problem's `detail` (and each field problem) as the message, its stable `code` kept. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface Problem {
  readonly detail?: string;
  readonly code?: string;
  readonly problems?: ReadonlyArray<{ readonly path: string; readonly message: string }>;
}

/**
 * A client that sends `token` as `Authorization: Bearer` (an API key or an OpenID access token serve alike) and
 * calls `onUnauthorised` when the server no longer accepts it.
 */
export function createApi(token: string, onUnauthorised: () => void): Api {
  const api = createClient<paths>({ baseUrl: location.origin });
  api.use({
    onRequest({ request }) {
      request.headers.set('authorization', `Bearer ${token}`);
      return request;
    },
    onResponse({ response }) {
      if (response.status === 401) onUnauthorised();
      return response;
    },
  });
  return api;
}

/**
 * The body of a successful call; throws ApiError naming what the server refused and why. Takes openapi-fetch's
 * answer, so every call site keeps the route's own response type.
 */
export async function must<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<NonNullable<T>> {
  const { data, error, response } = await call;
  if (response.ok && data !== undefined && data !== null) return data;
  const problem = (error ?? {}) as Problem;
  const fields = problem.problems?.map((p) => `${p.path}: ${p.message}`).join('; ');
  throw new ApiError(
    problem.detail === undefined ? `HTTP ${response.status}` : `${problem.detail}${fields ? ` (${fields})` : ''}`,
    response.status,
    problem.code,
  );
}
