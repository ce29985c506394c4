import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { Role } from '../auth.js';
import {
  HTTP_METHODS,
  type HttpMethod,
  type OpenApiDocument,
  type OperationObject,
  type ParameterObject,
  SECURITY_SCHEME,
} from '../openapi.js';

export { servedRoutes } from './served-routes.js';

/**
 * The checks that keep `/openapi.json` true, for the document's test: every route the server's express app answers
 * is documented and every documented route is answered; the document is well formed (unique operation ids, defined
 * security scheme, path parameters declared, links that name real operations, schemas that compile as JSON Schema
 * 2020-12 with every `$ref` resolved); and every operation's example request validates against its schemas and,
 * sent with a key of the documented role, succeeds with a documented status and a body its schema accepts. Each
 * check returns one line per violation, so a test can show it catching a planted fault.
 */

/** One documented operation with where it lives. */
export interface DocumentedOperation {
  readonly method: HttpMethod;
  readonly path: string;
  readonly operation: OperationObject;
}

export function operationsOf(document: OpenApiDocument): DocumentedOperation[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    HTTP_METHODS.flatMap((method) => {
      const operation = item[method];
      return operation === undefined ? [] : [{ method, path, operation }];
    }),
  );
}

/** `GET /v1/webhooks/{id}` → `GET /v1/webhooks/:id`, the way express names the route. */
export const expressRouteOf = (method: string, path: string): string =>
  `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`;

/** Served but undocumented, and documented but not served: one line each. */
export function coverageViolations(served: readonly string[], document: OpenApiDocument): string[] {
  const documented = new Set(operationsOf(document).map(({ method, path }) => expressRouteOf(method, path)));
  const servedSet = new Set(served);
  return [
    ...[...servedSet].filter((r) => !documented.has(r)).map((r) => `${r}: served but not documented`),
    ...[...documented].filter((r) => !servedSet.has(r)).map((r) => `${r}: documented but not served`),
  ].sort();
}

const isoDateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const pointer = (...tokens: string[]): string =>
  tokens.map((t) => t.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/**
 * JSON Schema 2020-12 validation of values against schemas inside the document, with the document's own `$ref`s
 * (`#/components/schemas/…`) resolved against it. Strict: an unknown keyword in a schema is an error, not ignored.
 */
export class DocumentSchemas {
  private readonly ajv = new Ajv2020({
    strict: true,
    // `required` may name a member the schema leaves undescribed (response schemas describe what clients rely on).
    strictRequired: false,
    allowUnionTypes: true,
    allErrors: true,
    // OpenAPI's `example` beside a schema's keywords is documentation, not validation.
    keywords: ['example'],
    formats: { 'date-time': (text: string) => isoDateTime.test(text) && !Number.isNaN(Date.parse(text)) },
  });
  private readonly compiled = new Map<string, ValidateFunction>();
  private static readonly id = 'https://vigil.invalid/openapi.json';

  constructor(document: OpenApiDocument) {
    // The document is registered whole so `$ref`s resolve against it; its top-level members are not schema keywords.
    this.ajv.addVocabulary(Object.keys(document));
    this.ajv.addSchema({ ...document, $id: DocumentSchemas.id }, undefined, undefined, false);
  }

  /** Problems of `value` against the schema at JSON pointer `at` in the document (`/paths/…/schema`); [] if valid. */
  problems(at: string, value: unknown): string[] {
    let validate = this.compiled.get(at);
    if (validate === undefined) {
      validate = this.ajv.compile({ $ref: `${DocumentSchemas.id}#${at}` });
      this.compiled.set(at, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`);
  }

  /** Compiles the schema at `at`; the error's message when it does not compile (unknown keyword, bad `$ref`, …). */
  compileProblem(at: string): string | undefined {
    try {
      this.problems(at, undefined);
      return undefined;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }
}

/** Every JSON pointer at which the document holds a Schema Object. */
function schemaPointers(document: OpenApiDocument): string[] {
  const pointers = Object.keys(document.components.schemas).map((name) => `/${pointer('components', 'schemas', name)}`);
  for (const { method, path, operation } of operationsOf(document)) {
    const base = `/${pointer('paths', path, method)}`;
    (operation.parameters ?? []).forEach((_p, i) => pointers.push(`${base}/parameters/${i}/schema`));
    for (const mediaType of Object.keys(operation.requestBody?.content ?? {}))
      pointers.push(`${base}/${pointer('requestBody', 'content', mediaType, 'schema')}`);
    for (const [status, response] of Object.entries(operation.responses))
      for (const mediaType of Object.keys(response.content ?? {}))
        pointers.push(`${base}/${pointer('responses', status, 'content', mediaType, 'schema')}`);
  }
  return pointers;
}

/**
 * The document's own consistency, as OpenAPI 3.1 requires it and as the example runner relies on: version 3.1.x;
 * operation ids unique; at least one 2xx response per operation; every security requirement names the defined
 * scheme with known roles; every `{param}` of a path declared as a required path parameter (and no other); every
 * link names an existing operation and its parameters; every schema compiles under JSON Schema 2020-12.
 */
export function documentViolations(document: OpenApiDocument, roles: readonly Role[]): string[] {
  const violations: string[] = [];
  if (!/^3\.1\.\d+$/.test(document.openapi)) violations.push(`openapi is ${document.openapi}, not 3.1.x`);
  if (document.info.title === '' || document.info.version === '') violations.push('info needs a title and a version');
  const operations = operationsOf(document);
  const byId = new Map<string, OperationObject>();
  for (const { method, path, operation } of operations) {
    const where = `${method.toUpperCase()} ${path}`;
    if (byId.has(operation.operationId))
      violations.push(`${where}: operationId ${operation.operationId} is not unique`);
    byId.set(operation.operationId, operation);
    if (!Object.keys(operation.responses).some((s) => /^2\d\d$/.test(s))) violations.push(`${where}: no 2xx response`);
    for (const requirement of operation.security)
      for (const [scheme, names] of Object.entries(requirement)) {
        if (!(scheme in document.components.securitySchemes))
          violations.push(`${where}: security scheme ${scheme} is not defined`);
        if (scheme !== SECURITY_SCHEME) {
          if (names.length > 0) violations.push(`${where}: scheme ${scheme} takes no roles`);
          continue;
        }
        for (const name of names) if (!roles.includes(name as Role)) violations.push(`${where}: ${name} is not a role`);
      }
    const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
    const declared = (operation.parameters ?? []).filter((p) => p.in === 'path');
    if (declared.some((p) => p.required !== true)) violations.push(`${where}: a path parameter is not required`);
    if (JSON.stringify(declared.map((p) => p.name).sort()) !== JSON.stringify(templated))
      violations.push(
        `${where}: path parameters ${declared.map((p) => p.name).join(',')} ≠ {${templated.join('},{')}}`,
      );
  }
  for (const { method, path, operation } of operations)
    for (const response of Object.values(operation.responses))
      for (const [name, link] of Object.entries(response.links ?? {})) {
        const target = byId.get(link.operationId);
        if (target === undefined)
          violations.push(`${method.toUpperCase()} ${path}: link ${name} names no operation ${link.operationId}`);
        else
          for (const parameter of Object.keys(link.parameters))
            if (!(target.parameters ?? []).some((p) => p.name === parameter))
              violations.push(`${method.toUpperCase()} ${path}: link ${name}: ${link.operationId} has no ${parameter}`);
      }
  const schemas = new DocumentSchemas(document);
  for (const at of schemaPointers(document)) {
    const problem = schemas.compileProblem(at);
    if (problem !== undefined) violations.push(`schema ${at} does not compile: ${problem}`);
  }
  return violations;
}

/** A key per role, for sending each example as the role its operation documents. */
export type KeysByRole = Readonly<Record<Role, string>>;

export interface ExampleRunOptions {
  readonly baseUrl: string;
  readonly keys: KeysByRole;
  /**
   * Values no response carries and no example can know in advance, by operation id and parameter name — e.g. the
   * unsubscribe token, which reaches its holder only by mail.
   */
  readonly outOfBand?: (operationId: string, parameter: string, linked: ReadonlyMap<string, string>) => unknown;
  /**
   * What only the caller of a route outside the bearer scheme holds: its credentials (headers) and the body as it
   * signs it (a gateway signs each notification's items), by operation id.
   */
  readonly gatewayCaller?: (
    operationId: string,
    example: unknown,
  ) => { readonly headers: Readonly<Record<string, string>>; readonly body?: unknown } | undefined;
  /**
   * How long one example may keep answering 404, or a read without the value its link takes, for data still on its
   * way (a decision being made, a case being opened).
   */
  readonly settleTimeoutMs: number;
}

/** What one example request came to. */
export interface ExampleOutcome {
  readonly operation: string;
  readonly status: number;
}

/**
 * The order examples run in: what submits data first (ingest), then what creates or changes (POST, PUT), reads,
 * and deletions last, each group by path — so a read finds what an earlier example sent and a link's value exists
 * before the operation that takes it runs.
 */
function exampleOrder(a: DocumentedOperation, b: DocumentedOperation): number {
  const rank = (o: DocumentedOperation): number =>
    o.operation.tags.includes('ingest') ? 0 : ({ post: 1, put: 1, patch: 1, get: 2, delete: 3 } as const)[o.method];
  return rank(a) - rank(b) || a.path.localeCompare(b.path);
}

/**
 * exampleOrder, except that an operation a link names runs after every operation whose response holds that link, so
 * the linked value exists when it runs (a case's actions take the id the case list shows). Where links form a cycle,
 * exampleOrder decides.
 */
function runOrder(operations: readonly DocumentedOperation[]): DocumentedOperation[] {
  const pending = [...operations].sort(exampleOrder);
  const ids = new Set(pending.map((o) => o.operation.operationId));
  const sourcesOf = new Map<string, Set<string>>();
  for (const { operation } of pending)
    for (const response of Object.values(operation.responses))
      for (const link of Object.values(response.links ?? {}))
        if (link.operationId !== operation.operationId && ids.has(link.operationId))
          sourcesOf.set(link.operationId, (sourcesOf.get(link.operationId) ?? new Set()).add(operation.operationId));
  const done = new Set<string>();
  const order: DocumentedOperation[] = [];
  while (pending.length > 0) {
    const ready = pending.findIndex((o) =>
      [...(sourcesOf.get(o.operation.operationId) ?? [])].every((source) => done.has(source)),
    );
    const [next] = pending.splice(Math.max(ready, 0), 1);
    order.push(next!);
    done.add(next!.operation.operationId);
  }
  return order;
}

/**
 * A read answered before what it lists arrived: a documented 2xx whose links find no value in its body yet (the case
 * list, empty until the example's alert has opened a case).
 */
function awaitsLinkedValue(operation: OperationObject, status: number, text: string): boolean {
  const links = Object.values(operation.responses[String(status)]?.links ?? {});
  if (links.length === 0) return false;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return false;
  }
  return links.some((link) => Object.values(link.parameters).some((e) => fromBody(json, e) === undefined));
}

const mediaTypeOf = (contentType: string | null): string => (contentType ?? '').split(';')[0]!.trim().toLowerCase();

/** A value from a response body by a JSON pointer (`$response.body#/id`). */
function fromBody(body: unknown, expression: string): string | undefined {
  const match = /^\$response\.body#(.*)$/.exec(expression);
  if (match === null) return undefined;
  let value: unknown = body;
  for (const token of match[1]!.split('/').slice(1))
    value = (value as Record<string, unknown> | undefined)?.[token.replace(/~1/g, '/').replace(/~0/g, '~')];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Sends every operation's example request, in runOrder, and returns one line per violation: a parameter or body
 * example its schema refuses, a status that is not a documented 2xx, a body its documented schema refuses, or a
 * content type the operation does not document. A path parameter takes a linked value (a Link Object on an earlier
 * response) before its own example. An example answering 404 with a known problem code (data on its way), and a
 * read whose links find no value in its answer yet, is sent again until it answers otherwise or `settleTimeoutMs`
 * passes.
 */
export async function exampleViolations(
  document: OpenApiDocument,
  options: ExampleRunOptions,
): Promise<{ violations: string[]; outcomes: ExampleOutcome[] }> {
  const schemas = new DocumentSchemas(document);
  const violations: string[] = [];
  const outcomes: ExampleOutcome[] = [];
  const linked = new Map<string, string>();
  for (const { method, path, operation } of runOrder(operationsOf(document))) {
    const where = `${method.toUpperCase()} ${path}`;
    const base = `/${pointer('paths', path, method)}`;
    const valueOf = (p: ParameterObject): unknown =>
      linked.get(`${operation.operationId} ${p.name}`) ??
      options.outOfBand?.(operation.operationId, p.name, linked) ??
      p.example;

    let url = path;
    const search = new URLSearchParams();
    const headers: Record<string, string> = {};
    (operation.parameters ?? []).forEach((parameter, i) => {
      const value = valueOf(parameter);
      if (value === undefined) {
        if (parameter.required === true) violations.push(`${where}: no example for ${parameter.in} ${parameter.name}`);
        return;
      }
      const bad = schemas.problems(`${base}/parameters/${i}/schema`, value);
      if (bad.length > 0)
        violations.push(`${where}: example ${parameter.name} ${JSON.stringify(value)}: ${bad.join('; ')}`);
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      if (parameter.in === 'path') url = url.replace(`{${parameter.name}}`, encodeURIComponent(text));
      else if (parameter.in === 'query') search.set(parameter.name, text);
      else headers[parameter.name] = text;
    });

    let body: string | undefined;
    const requestContent = Object.entries(operation.requestBody?.content ?? {}).find(
      ([, m]) => m.example !== undefined,
    );
    if (operation.requestBody?.required === true && requestContent === undefined)
      violations.push(`${where}: no example request body`);
    if (requestContent !== undefined) {
      const [mediaType, media] = requestContent;
      const isJson = mediaType === 'application/json';
      const bad = isJson
        ? schemas.problems(`${base}/${pointer('requestBody', 'content', mediaType, 'schema')}`, media.example)
        : [];
      if (bad.length > 0) violations.push(`${where}: example body: ${bad.join('; ')}`);
      body = isJson ? JSON.stringify(media.example) : String(media.example);
      headers['content-type'] = mediaType;
    }
    const role = operation.security[0]?.[SECURITY_SCHEME]?.[0] as Role | undefined;
    if (role !== undefined) headers['authorization'] = `Bearer ${options.keys[role]}`;
    const gateway = options.gatewayCaller?.(operation.operationId, requestContent?.[1].example);
    if (gateway !== undefined) {
      Object.assign(headers, gateway.headers);
      if (gateway.body !== undefined) body = JSON.stringify(gateway.body);
    }

    const target = `${options.baseUrl}${url}${search.size > 0 ? `?${search.toString()}` : ''}`;
    const deadline = Date.now() + options.settleTimeoutMs;
    let response: Response;
    let text: string;
    for (;;) {
      response = await fetch(target, { method: method.toUpperCase(), headers, body });
      text = await response.text();
      const settling =
        (response.status === 404 &&
          /"code":"[A-Z_]+_NOT_(FOUND|PUBLISHED)"/.test(text) &&
          !text.includes('ROUTE_NOT_FOUND')) ||
        (method === 'get' && awaitsLinkedValue(operation, response.status, text));
      // `>=`: a settle time of 0 sends once however fast the answer came (`>` sent again within the same millisecond).
      if (!settling || Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    outcomes.push({ operation: operation.operationId, status: response.status });
    const documented = operation.responses[String(response.status)];
    if (!/^2\d\d$/.test(String(response.status)) || documented === undefined) {
      violations.push(
        `${where} as ${role ?? 'no key'} → ${response.status}${documented ? '' : ' (undocumented)'}: ${text.slice(0, 300)}`,
      );
      continue;
    }
    const mediaType = mediaTypeOf(response.headers.get('content-type'));
    if (documented.content === undefined) {
      if (text !== '') violations.push(`${where} → ${response.status}: a body where none is documented`);
      continue;
    }
    if (!(mediaType in documented.content)) {
      violations.push(`${where} → ${response.status}: content type ${mediaType} is not documented`);
      continue;
    }
    if (mediaType !== 'application/json') continue;
    const json = JSON.parse(text) as unknown;
    const bad = schemas.problems(
      `${base}/${pointer('responses', String(response.status), 'content', mediaType, 'schema')}`,
      json,
    );
    if (bad.length > 0) violations.push(`${where} → ${response.status}: body: ${bad.join('; ')}`);
    for (const link of Object.values(documented.links ?? {}))
      for (const [parameter, expression] of Object.entries(link.parameters)) {
        const value = fromBody(json, expression);
        if (value === undefined) violations.push(`${where}: link to ${link.operationId} finds no ${expression}`);
        else linked.set(`${link.operationId} ${parameter}`, value);
      }
  }
  return { violations, outcomes };
}

/**
 * The documented security against the guards: each operation is called with no key and with a key of each role
 * (path parameters `x-1`, a JSON body `{}`); exactly the roles its security requirements list may pass the guard
 * (any status but 401 and 403) — everyone for `security: []` — and every other caller gets 401 (no key) or 403;
 * and whatever the status, the operation documents it (the refusals, and the problems an empty request earns).
 * One line per caller whose outcome differs.
 */
export async function securityViolations(
  document: OpenApiDocument,
  baseUrl: string,
  keys: KeysByRole,
): Promise<string[]> {
  const violations: string[] = [];
  for (const { method, path, operation } of operationsOf(document)) {
    const open = operation.security.length === 0;
    const allowed = new Set(operation.security.flatMap((r) => r[SECURITY_SCHEME] ?? []));
    // A route under another scheme (a gateway's basic auth) does not know API keys: every key is unauthenticated.
    const bearerGuarded = operation.security.some((r) => SECURITY_SCHEME in r);
    const hasBody = method !== 'get' && method !== 'delete';
    for (const caller of [undefined, ...(Object.keys(keys) as Role[])]) {
      const response = await fetch(`${baseUrl}${path.replace(/\{(\w+)\}/g, 'x-1')}`, {
        method: method.toUpperCase(),
        headers: {
          ...(caller === undefined ? {} : { authorization: `Bearer ${keys[caller]}` }),
          ...(hasBody ? { 'content-type': 'application/json' } : {}),
        },
        body: hasBody ? '{}' : undefined,
      });
      await response.arrayBuffer();
      const refused = response.status === 401 || response.status === 403;
      const mayPass = open || (caller !== undefined && allowed.has(caller));
      const where = `${method.toUpperCase()} ${path} as ${caller ?? 'no key'} → ${response.status}`;
      const refusal = caller === undefined || !bearerGuarded ? 401 : 403;
      if (mayPass ? refused : response.status !== refusal) violations.push(where);
      else if (!(String(response.status) in operation.responses)) violations.push(`${where} (undocumented)`);
    }
  }
  return violations;
}

/**
 * Every documented operation that no route answers: sent without a key and an empty body, a route that exists
 * answers anything but 404 ROUTE_NOT_FOUND and 405 (its guard refuses, or its validation does).
 */
export async function unansweredViolations(document: OpenApiDocument, baseUrl: string): Promise<string[]> {
  const violations: string[] = [];
  for (const { method, path } of operationsOf(document)) {
    const response = await fetch(`${baseUrl}${path.replace(/\{(\w+)\}/g, 'x-1')}`, { method: method.toUpperCase() });
    const text = await response.text();
    if (response.status === 405 || (response.status === 404 && text.includes('"ROUTE_NOT_FOUND"')))
      violations.push(`${method.toUpperCase()} ${path}: no route answers (${response.status})`);
  }
  return violations;
}
