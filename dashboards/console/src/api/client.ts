import createClient, { type Client } from 'openapi-fetch';
import type { TokenKeeper } from '../token-keeper.js';
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
 * A client that sends the keeper's current token as `Authorization: Bearer` (an API key or an OpenID access token
 * serve alike). A call refused with 401 gets a renewed token from the keeper (one refresh for all the calls refused
 * meanwhile) and is sent once more with it; when none can be had, the keeper ends the sign-in and the 401 stands.
 */
export function createApi(keeper: TokenKeeper): Api {
  const api = createClient<paths>({ baseUrl: location.origin });
  // fetch consumes a request's body, so each call is copied before it goes out, to be sent again if it must be.
  const copies = new Map<string, { request: Request; token: string }>();
  api.use({
    onRequest({ request, id }) {
      const token = keeper.accessToken;
      request.headers.set('authorization', `Bearer ${token}`);
      copies.set(id, { request: request.clone(), token });
      return request;
    },
    async onResponse({ response, id }) {
      const copy = copies.get(id);
      copies.delete(id);
      if (response.status !== 401 || copy === undefined) return response;
      const renewed = await keeper.renew(copy.token);
      if (renewed === undefined) return response;
      copy.request.headers.set('authorization', `Bearer ${renewed}`);
      const again = await fetch(copy.request);
      if (again.status === 401) keeper.end('refused');
      return again;
    },
    onError({ id }) {
      copies.delete(id);
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
