import type { RequestHandler } from 'express';
import { Role } from './auth.js';

/**
 * The OpenAPI 3.1 document of a Vigil HTTP server, assembled from parts: each stage describes the routes it serves
 * next to them (`<stage>/http/openapi.ts`), the platform describes its own (health, metrics, problem pages, this
 * document), and startHttpServer merges the parts of the stages it runs and serves the result at `/openapi.json`.
 * So the embedded default documents every route of every stage, and a distributed service exactly the routes it
 * answers. Schemas are JSON Schema 2020-12, OpenAPI 3.1's own dialect.
 */

/** A JSON Schema 2020-12 object (OpenAPI 3.1 Schema Object). */
export type JsonSchema = Readonly<Record<string, unknown>>;

export interface ParameterObject {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required?: boolean;
  readonly description?: string;
  readonly schema: JsonSchema;
  /** The value the example request sends (the document's test sends every operation's example). */
  readonly example?: unknown;
}

export interface MediaTypeObject {
  readonly schema?: JsonSchema;
  readonly example?: unknown;
}

/**
 * A value a later operation takes from this response (OpenAPI's Link Object): e.g. the id of a created webhook
 * endpoint, which its GET and DELETE name in their path. The example requests follow these links.
 */
export interface LinkObject {
  readonly operationId: string;
  /** Parameter name → runtime expression, e.g. `$response.body#/id`. */
  readonly parameters: Readonly<Record<string, string>>;
  readonly description?: string;
}

export interface ResponseObject {
  readonly description: string;
  readonly content?: Readonly<Record<string, MediaTypeObject>>;
  readonly links?: Readonly<Record<string, LinkObject>>;
  readonly headers?: Readonly<Record<string, { readonly description: string; readonly schema: JsonSchema }>>;
}

export interface OperationObject {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  /** Alternatives: any one requirement suffices; `[]` is open to everyone. */
  readonly security: ReadonlyArray<Readonly<Record<string, readonly string[]>>>;
  readonly parameters?: readonly ParameterObject[];
  readonly requestBody?: {
    readonly required: boolean;
    readonly description?: string;
    readonly content: Readonly<Record<string, MediaTypeObject>>;
  };
  readonly responses: Readonly<Record<string, ResponseObject>>;
}

export type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'patch';
export const HTTP_METHODS: readonly HttpMethod[] = ['get', 'put', 'post', 'delete', 'patch'];

/** OpenAPI path template (`/v1/webhooks/{id}`) → method → operation. */
export type ApiPaths = Readonly<Record<string, Partial<Record<HttpMethod, OperationObject>>>>;

/** What one stage (or the platform) contributes to the document. */
export interface ApiDocumentPart {
  readonly paths: ApiPaths;
  /** Named schemas the part's operations refer to as `#/components/schemas/<name>`. */
  readonly schemas?: Readonly<Record<string, JsonSchema>>;
  /** Tag name → description. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Schemes besides the bearer one, for routes a caller without an API key authenticates to (gateway webhooks). */
  readonly securitySchemes?: Readonly<Record<string, unknown>>;
}

export interface OpenApiDocument {
  readonly openapi: string;
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly tags: ReadonlyArray<{ readonly name: string; readonly description: string }>;
  readonly paths: ApiPaths;
  readonly components: {
    readonly schemas: Readonly<Record<string, JsonSchema>>;
    readonly securitySchemes: Readonly<Record<string, unknown>>;
  };
}

/** The one security scheme: `Authorization: Bearer <API key or OpenID Connect access token>`. */
export const SECURITY_SCHEME = 'bearer';

/**
 * The security requirements of a route that `roles` may call (requireRole). OpenAPI 3.1 lets a non-OAuth scheme
 * list role names; each role is its own alternative, and admin, who passes every guard (auth.ts authorize), is
 * always one. `'public'`: no key, by design (the route says why).
 */
export function rolesMayCall(...roles: readonly Role[]): OperationObject['security'] {
  const allowed = roles.includes(Role.admin) ? roles : [...roles, Role.admin];
  return allowed.map((role) => ({ [SECURITY_SCHEME]: [role] }));
}
export const PUBLIC: OperationObject['security'] = [];

export const ref = (schema: string): JsonSchema => ({ $ref: `#/components/schemas/${schema}` });

/** A JSON response whose body follows `schema`. */
export function jsonResponse(description: string, schema: JsonSchema, extra: Partial<ResponseObject> = {}) {
  return { description, content: { 'application/json': { schema } }, ...extra } satisfies ResponseObject;
}

/** A JSON request body with the example the document's test sends. */
export function jsonBody(schema: JsonSchema, example: unknown, description?: string): OperationObject['requestBody'] {
  return {
    required: true,
    ...(description === undefined ? {} : { description }),
    content: { 'application/json': { schema, example } },
  };
}

/** What a problem response with each status means on any route (its `code` says which one exactly). */
const problemMeanings: Readonly<Record<number, string>> = {
  400: 'the request is invalid: `problems` lists each with its location',
  401: 'no key or token, or one that is unknown, expired or revoked',
  403: "the caller's role may not call this route",
  404: 'the resource does not exist',
  409: 'conflicts with what exists',
  413: 'the body is larger than the limit',
  429: 'rate limited: too many requests for this key or address',
  503: 'a dependency is unavailable (retriable)',
};

/** RFC 9457 problem responses with these statuses, each pointing at the Problem schema. */
export function problems(...statuses: readonly number[]): Record<string, ResponseObject> {
  return Object.fromEntries(
    statuses.map((status) => [
      String(status),
      {
        description: `Problem: ${problemMeanings[status] ?? 'see the code'}`,
        content: { 'application/problem+json': { schema: ref('Problem') } },
      },
    ]),
  );
}

/** The problems every guarded route may answer besides its own: 401, 403 and 429 (the rate limiter). */
export const GUARDED = [401, 403, 429] as const;

const platformSchemas: Record<string, JsonSchema> = {
  Readiness: {
    type: 'object',
    required: ['status', 'failing'],
    properties: {
      status: { enum: ['ready', 'not_ready'] },
      failing: { type: 'array', items: { type: 'string' } },
    },
  },
  Problem: {
    type: 'object',
    description:
      'RFC 9457 problem details. Match on `code` (stable); `type` is the page that explains it (`/problems/{code}`).',
    required: ['type', 'title', 'status', 'detail', 'code'],
    properties: {
      type: { type: 'string' },
      title: { type: 'string' },
      status: { type: 'integer', minimum: 400, maximum: 599 },
      detail: { type: 'string' },
      code: { type: 'string', pattern: '^[A-Z][A-Z0-9_]*$' },
      problems: {
        type: 'array',
        items: {
          type: 'object',
          required: ['path', 'message'],
          properties: { path: { type: 'string' }, message: { type: 'string' } },
        },
      },
    },
  },
  Money: {
    type: 'object',
    description:
      'An amount as a decimal string in the major unit (at most the currency’s ISO 4217 exponent of fraction digits), never a JSON number.',
    required: ['value', 'currency'],
    additionalProperties: false,
    properties: {
      value: { type: 'string', pattern: '^-?[0-9]{1,18}(\\.[0-9]{1,4})?$', examples: ['12.34'] },
      currency: { type: 'string', pattern: '^[A-Z]{3}$', examples: ['EUR'] },
    },
  },
};

/** The routes startHttpServer mounts itself (platform/http.ts), this document's included. */
export const platformApi: ApiDocumentPart = {
  tags: { operations: 'Health probes, metrics, the problem-type pages and this document.' },
  schemas: platformSchemas,
  paths: {
    '/health/live': {
      get: {
        operationId: 'getLiveness',
        summary: 'The process answers',
        description: 'Open: orchestrators probe without keys, and it says nothing but up.',
        tags: ['operations'],
        security: PUBLIC,
        responses: {
          '200': jsonResponse('Live', {
            type: 'object',
            required: ['status'],
            properties: { status: { const: 'live' } },
          }),
        },
      },
    },
    '/health/ready': {
      get: {
        operationId: 'getReadiness',
        summary: 'Every stage of this process is ready',
        description: 'Open, like liveness. 503 names the checks that fail.',
        tags: ['operations'],
        security: PUBLIC,
        responses: {
          '200': jsonResponse('Ready', ref('Readiness')),
          '503': jsonResponse('Not ready: `failing` names the checks that fail', ref('Readiness')),
        },
      },
    },
    '/metrics': {
      get: {
        operationId: 'getMetrics',
        summary: 'Prometheus metrics (text exposition format 0.0.4)',
        tags: ['operations'],
        security: rolesMayCall(Role.admin),
        responses: {
          '200': { description: 'The metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
          ...problems(401, 403),
        },
      },
    },
    '/problems/{code}': {
      get: {
        operationId: 'getProblemType',
        summary: 'What a problem code means: the page every problem’s `type` points at',
        description: 'HTML, or JSON with `Accept: application/json`. Open: documentation from the error catalogue.',
        tags: ['operations'],
        security: PUBLIC,
        parameters: [
          {
            name: 'code',
            in: 'path',
            required: true,
            schema: { type: 'string', pattern: '^[A-Z][A-Z0-9_]*$' },
            example: 'FORBIDDEN',
          },
        ],
        responses: {
          '200': {
            description: 'The catalogue entry',
            content: {
              'text/html': { schema: { type: 'string' } },
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['code', 'category', 'status', 'meaning'],
                  properties: {
                    code: { type: 'string' },
                    category: { type: 'string' },
                    status: { type: 'integer' },
                    meaning: { type: 'string' },
                  },
                },
              },
            },
          },
          ...problems(404, 429),
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'getOpenApiDocument',
        summary: 'This document: every route this server answers',
        description: 'Open: it describes the API and holds no data.',
        tags: ['operations'],
        security: PUBLIC,
        responses: {
          '200': jsonResponse('The OpenAPI 3.1 document', {
            type: 'object',
            required: ['openapi', 'info', 'paths'],
          }),
          ...problems(429),
        },
      },
    },
  },
};

/**
 * Merges the platform's part and the stages' parts into one document. Throws when two parts describe the same
 * operation or give one schema name two meanings: each route is documented once, by whoever serves it.
 */
export function openApiDocument(parts: readonly ApiDocumentPart[], version: string): OpenApiDocument {
  const paths: Record<string, Partial<Record<HttpMethod, OperationObject>>> = {};
  const schemas: Record<string, JsonSchema> = {};
  const tags = new Map<string, string>();
  const otherSchemes: Record<string, unknown> = {};
  for (const part of [platformApi, ...parts]) {
    Object.assign(otherSchemes, part.securitySchemes);
    for (const [path, item] of Object.entries(part.paths)) {
      const merged = (paths[path] ??= {});
      for (const method of HTTP_METHODS) {
        const operation = item[method];
        if (operation === undefined) continue;
        if (merged[method] !== undefined) throw new Error(`${method.toUpperCase()} ${path} is documented twice`);
        merged[method] = operation;
      }
    }
    for (const [name, schema] of Object.entries(part.schemas ?? {})) {
      if (name in schemas && JSON.stringify(schemas[name]) !== JSON.stringify(schema))
        throw new Error(`schema ${name} is defined twice, differently`);
      schemas[name] = schema;
    }
    for (const [name, description] of Object.entries(part.tags ?? {})) tags.set(name, description);
  }
  return {
    openapi: '3.1.1',
    info: {
      title: 'Vigil',
      version,
      description:
        'Real-time fraud detection and double-entry ledger. Every `/v1` route takes `Authorization: Bearer <key>` ' +
        '(an API key of a role, or an OpenID Connect access token whose roles claim maps to one); errors are ' +
        'RFC 9457 problems (`application/problem+json`) with a stable `code`.',
    },
    tags: [...tags].map(([name, description]) => ({ name, description })),
    paths,
    components: {
      schemas,
      securitySchemes: {
        [SECURITY_SCHEME]: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API key (one role each) or an OpenID Connect access token. The requirement lists the role the ' +
            'caller must have; admin passes every guard.',
        },
        ...otherSchemes,
      },
    },
  };
}

/** `GET /openapi.json`: the document, open to everyone (it describes the API and holds no data). */
export function mountOpenApiDocument(
  app: { get(path: string, ...handlers: RequestHandler[]): unknown },
  document: OpenApiDocument,
): void {
  const body = JSON.stringify(document);
  app.get('/openapi.json', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.type('application/json').send(body);
  });
}
