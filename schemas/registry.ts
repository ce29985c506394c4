import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type avro from 'avsc';
import { UnavailableError, VigilError, ErrorCategory, isRetriable } from '../platform/errors.js';
import { avroDir, loadSchemaFiles, loadSchemaSet, parseSchema } from './avro.js';
import { CompatibilityLevel, type CompatibilityProblem, compatibilityProblems } from './compatibility.js';
import { TopicValueSchema, type Topic, valueSubject } from './topics.js';

/**
 * The schema-registry port, shaped after Confluent's Schema Registry: a schema is registered under a subject
 * and gets a global integer id, which every record carries in its 5-byte header.
 */
export interface SchemaRegistry {
  /**
   * Registers `schema` (self-contained Avro JSON) under `subject`; returns its id (the existing one if known).
   * Rejects with SchemaIncompatibleError (code SCHEMA_INCOMPATIBLE, not retriable) when the subject's
   * compatibility level refuses it, so a codec for an incompatible writer is never created and nothing is produced.
   */
  register(subject: string, schema: string): Promise<number>;
  /** The schema with `id`; rejects with code UNKNOWN_SCHEMA_ID when there is none. */
  schemaById(id: number): Promise<string>;
}

export class UnknownSchemaIdError extends VigilError {
  constructor(id: number) {
    super('UNKNOWN_SCHEMA_ID', `no schema with id ${id} in the registry`, {
      category: ErrorCategory.invalidInput,
      details: { schemaId: id },
    });
  }
}

/**
 * The registry refused a request as unprocessable (HTTP 422: Confluent 42201 invalid schema, 42202 invalid version,
 * 42203 invalid compatibility level). Sending it again gets the same answer, so unlike other error statuses it is
 * not retriable.
 */
export class RegistryRefusedError extends VigilError {
  constructor(method: string, path: string, registryErrorCode: unknown, message: string) {
    super('REGISTRY_REFUSED', `schema registry ${method} ${path} refused the request (422): ${message}`, {
      category: ErrorCategory.invalidInput,
      retriable: false,
      details: { method, path, registryErrorCode },
    });
  }
}

/** A writer schema refused for a subject; names the subject, the level and every problem found. */
export class SchemaIncompatibleError extends VigilError {
  constructor(subject: string, level: string, reasons: readonly string[]) {
    super(
      'SCHEMA_INCOMPATIBLE',
      `schema refused for subject ${subject} (compatibility ${level}): ${reasons.join('; ')}`,
      { category: ErrorCategory.conflict, retriable: false, details: { subject, level, reasons } },
    );
  }
}

/** One line per problem, e.g. `forward vs version 2 /amountMinor: cannot read "string" as "long"`. */
function describeProblems(problems: readonly CompatibilityProblem[], versions: readonly number[]): string[] {
  return problems.map(
    (p) => `${p.direction} vs version ${versions[p.versionIndex] ?? p.versionIndex + 1} ${p.path}: ${p.message}`,
  );
}

/** Canonical form for comparing schemas: key order and whitespace do not matter. */
function canonical(schema: string): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([k]) => k !== 'doc')
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, x]) => [k, sort(x)]),
          )
        : v;
  return JSON.stringify(sort(JSON.parse(schema)));
}

export interface EmbeddedSchemaRegistryOptions {
  /** Directory of the `.avsc` contracts and `ids.json` (default `schemas/avro/`). */
  readonly dir?: string;
  /**
   * Level for every subject (default FULL_TRANSITIVE: the embedded log keeps records of every past version for
   * good, and a stage of any registered version may read them or write next to them).
   */
  readonly compatibility?: CompatibilityLevel;
  /**
   * File that keeps the schemas registered at run time, so records a newer writer put on the log still decode after
   * a restart: JSON Lines, one `{ subject, id, schema }` per registration, fsync'd before `register` resolves and
   * replayed at construction. Unset: run-time registrations live in memory only.
   */
  readonly registrationsFile?: string;
}

/** One line of the registrations file. */
interface Registration {
  readonly subject: string;
  readonly id: number;
  readonly schema: string;
}

/**
 * The embedded registry: seeded from `schemas/avro/` with the permanent ids of `avro/ids.json`, so records on
 * the embedded log decode the same way after a restart or an upgrade. Each topic's subject starts with the
 * versions of its record, oldest first. New schemas registered at run time get ids above the seeded ones after
 * the compatibility check against the subject, kept in `registrationsFile` when one is given (the embedded default
 * gives `<dataDir>/schemas/registrations.jsonl`, though it registers nothing new itself).
 */
export class EmbeddedSchemaRegistry implements SchemaRegistry {
  private readonly byId = new Map<number, string>();
  private readonly typeById = new Map<number, avro.Type>();
  private readonly idByCanonical = new Map<string, number>();
  /** Schema ids per subject in version order (version n = index n - 1). */
  private readonly versionsBySubject = new Map<string, number[]>();
  private readonly compatibility: CompatibilityLevel;
  private readonly registrationsFile: string | undefined;
  private nextId: number;

  constructor(options: EmbeddedSchemaRegistryOptions = {}) {
    const dir = options.dir ?? avroDir;
    this.compatibility = options.compatibility ?? CompatibilityLevel.fullTransitive;
    const ids = JSON.parse(readFileSync(dir + 'ids.json', 'utf8')) as Record<string, number | string>;
    const { expanded } = loadSchemaSet(dir);
    const recordNameByFile = new Map(loadSchemaFiles(dir).map((f) => [f.file, f.name]));
    for (const [file, schema] of expanded) {
      const id = ids[file];
      if (typeof id !== 'number') throw new Error(`schemas/avro/ids.json has no id for ${file}; append one`);
      this.byId.set(id, schema);
      this.idByCanonical.set(canonical(schema), id);
      for (const [topic, recordName] of Object.entries(TopicValueSchema))
        if (recordName === recordNameByFile.get(file)) this.subjectVersions(valueSubject(topic as Topic)).push(id);
    }
    this.nextId = Math.max(0, ...this.byId.keys()) + 1;
    this.registrationsFile = options.registrationsFile;
    if (this.registrationsFile !== undefined) this.replay(this.registrationsFile, dir);
  }

  register(subject: string, schema: string): Promise<number> {
    const key = canonical(schema);
    const versions = this.subjectVersions(subject);
    const known = this.idByCanonical.get(key);
    // Confluent semantics: a schema already under the subject returns its id without a check.
    if (known !== undefined && versions.includes(known)) return Promise.resolve(known);
    const problems = compatibilityProblems(
      parseSchema(schema),
      versions.map((id) => this.typeOf(id)),
      this.compatibility,
    );
    if (problems.length > 0)
      return Promise.reject(
        new SchemaIncompatibleError(
          subject,
          this.compatibility,
          describeProblems(
            problems,
            versions.map((_, i) => i + 1),
          ),
        ),
      );
    const id = known ?? this.nextId;
    try {
      if (this.registrationsFile !== undefined) appendRegistration(this.registrationsFile, { subject, id, schema });
    } catch (cause) {
      return Promise.reject(
        new UnavailableError(
          'REGISTRY_UNAVAILABLE',
          `could not keep the registration in ${this.registrationsFile}`,
          cause,
        ),
      );
    }
    this.apply({ subject, id, schema });
    return Promise.resolve(id);
  }

  schemaById(id: number): Promise<string> {
    const schema = this.byId.get(id);
    return schema === undefined ? Promise.reject(new UnknownSchemaIdError(id)) : Promise.resolve(schema);
  }

  /** Adds a registration (new or replayed) to the in-memory maps. */
  private apply({ subject, id, schema }: Registration): void {
    if (!this.byId.has(id)) {
      this.byId.set(id, schema);
      this.idByCanonical.set(canonical(schema), id);
    }
    const versions = this.subjectVersions(subject);
    if (!versions.includes(id)) versions.push(id);
    this.nextId = Math.max(this.nextId, id + 1);
  }

  /**
   * Replays the registrations file. A last line without its newline is a registration cut by a crash before its
   * fsync, so never acknowledged: it is cut off. Anything else unreadable, or an id that the seeded contracts now
   * give another schema (a later build took it for a new `.avsc`), throws: records under that id would be misread.
   */
  private replay(file: string, seedDir: string): void {
    if (!existsSync(file)) return;
    const text = readFileSync(file, 'utf8');
    const complete = text.lastIndexOf('\n') + 1;
    if (complete < text.length) truncateSync(file, Buffer.byteLength(text.slice(0, complete)));
    const lines = text.slice(0, complete).split('\n').slice(0, -1);
    for (const [index, line] of lines.entries()) {
      const registration = parseRegistration(line);
      if (registration === undefined) throw new Error(`${file} line ${index + 1} is not a schema registration`);
      const seeded = this.byId.get(registration.id);
      if (seeded !== undefined && canonical(seeded) !== canonical(registration.schema))
        throw new Error(
          `${file} line ${index + 1}: schema id ${registration.id} was registered at run time for ${registration.subject}, ` +
            `but ${seedDir}ids.json now gives that id to another schema; records written under it would be misread`,
        );
      this.apply(registration);
    }
  }

  private subjectVersions(subject: string): number[] {
    let versions = this.versionsBySubject.get(subject);
    if (versions === undefined) this.versionsBySubject.set(subject, (versions = []));
    return versions;
  }

  private typeOf(id: number): avro.Type {
    let type = this.typeById.get(id);
    if (type === undefined) this.typeById.set(id, (type = parseSchema(this.byId.get(id)!)));
    return type;
  }
}

function parseRegistration(line: string): Registration | undefined {
  try {
    const value = JSON.parse(line) as Partial<Registration>;
    return typeof value.subject === 'string' && Number.isSafeInteger(value.id) && typeof value.schema === 'string'
      ? (value as Registration)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Appends one registration and fsyncs it, so `register` resolves only once a restart will find it. */
function appendRegistration(file: string, registration: Registration): void {
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(file, 'a', 0o600);
  try {
    writeSync(fd, JSON.stringify(registration) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface HttpSchemaRegistryOptions {
  /**
   * Level the client itself checks before registering, against the subject's versions it reads from the
   * registry (default FULL_TRANSITIVE, as embedded). The registry also enforces its own level and may refuse
   * what passes here (409); NONE leaves the decision to the registry alone.
   */
  readonly compatibility?: CompatibilityLevel;
  /**
   * Tries per call while the registry is unreachable or answers a retriable error (default 5), waiting
   * `retryBackoffMs` (default 200) doubled after each try. Refusals (409, 422, an unknown id) are never retried.
   * Registering again is safe: a schema already under the subject gets its id back, so a POST that landed before
   * its answer was lost changes nothing. (Apicurio Registry 2.4 with in-memory storage answers 500 to concurrent
   * registrations of new schemas, as a stage's codecs at start are: the next try finds the schema stored.)
   */
  readonly attempts?: number;
  readonly retryBackoffMs?: number;
}

/** A Confluent error body: `{ "error_code": 40401, "message": "Subject 'x' not found." }`. */
interface RegistryErrorBody {
  readonly error_code?: unknown;
  readonly message?: unknown;
}

/** A client for Confluent-compatible registries (Confluent, Apicurio's ccompat API, Redpanda, Karapace). */
export class HttpSchemaRegistry implements SchemaRegistry {
  private readonly cache = new Map<number, string>();
  private readonly compatibility: CompatibilityLevel;
  private readonly attempts: number;
  private readonly retryBackoffMs: number;

  constructor(
    private readonly baseUrl: string,
    private readonly fetchImpl: typeof fetch = fetch,
    options: HttpSchemaRegistryOptions = {},
  ) {
    this.compatibility = options.compatibility ?? CompatibilityLevel.fullTransitive;
    this.attempts = Math.max(1, options.attempts ?? 5);
    this.retryBackoffMs = options.retryBackoffMs ?? 200;
  }

  /**
   * Checks `schema` against the subject's registered versions at this client's level, then registers it. Rejects
   * with SchemaIncompatibleError when either this check or the registry (HTTP 409) refuses it; with
   * RegistryRefusedError (not retriable) when the registry finds the schema invalid (HTTP 422); with a retriable
   * REGISTRY_* error when the registry is still unreachable or answering otherwise after every try.
   */
  register(subject: string, schema: string): Promise<number> {
    return this.withRetries(() => this.registerOnce(subject, schema));
  }

  /** The schema with `id`, cached for good (ids never change); retried as `register` is. */
  schemaById(id: number): Promise<string> {
    return this.withRetries(() => this.schemaByIdOnce(id));
  }

  private async withRetries<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (attempt >= this.attempts || !isRetriable(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, this.retryBackoffMs * 2 ** (attempt - 1)));
      }
    }
  }

  private async registerOnce(subject: string, schema: string): Promise<number> {
    const subjectPath = `/subjects/${encodeURIComponent(subject)}`;
    if (this.compatibility !== CompatibilityLevel.none) await this.checkLocally(subject, subjectPath, schema);
    const response = await this.request(`${subjectPath}/versions`, {
      method: 'POST',
      body: JSON.stringify({ schemaType: 'AVRO', schema }),
    });
    if (response.status === 409) {
      // Confluent: 409 = incompatible with an earlier schema of the subject (its own level decided).
      const body = await errorBody(response);
      throw new SchemaIncompatibleError(subject, 'the registry level', [
        typeof body.message === 'string' ? body.message : 'the registry answered 409 Conflict',
      ]);
    }
    const body = await this.json(response, 'POST', `${subjectPath}/versions`);
    const id = (body as { id?: unknown }).id;
    if (typeof id !== 'number')
      throw new UnavailableError('REGISTRY_BAD_RESPONSE', `registry returned no id for ${subject}`);
    this.cache.set(id, schema);
    return id;
  }

  private async schemaByIdOnce(id: number): Promise<string> {
    const cached = this.cache.get(id);
    if (cached !== undefined) return cached;
    const path = `/schemas/ids/${id}`;
    const response = await this.request(path, { method: 'GET' });
    // Confluent error code 40403: schema not found.
    if (response.status === 404) throw new UnknownSchemaIdError(id);
    const schema = ((await this.json(response, 'GET', path)) as { schema?: unknown }).schema;
    if (typeof schema !== 'string')
      throw new UnavailableError('REGISTRY_BAD_RESPONSE', `registry returned no schema for id ${id}`);
    this.cache.set(id, schema);
    return schema;
  }

  /** Reads every version of the subject (few per subject) and refuses `schema` if the level does. */
  private async checkLocally(subject: string, subjectPath: string, schema: string): Promise<void> {
    const listPath = `${subjectPath}/versions`;
    const listed = await this.request(listPath, { method: 'GET' });
    // 40401: no such subject yet, so this is its first version and anything goes.
    if (listed.status === 404) return;
    const versions = await this.json(listed, 'GET', listPath);
    if (!Array.isArray(versions) || !versions.every((v) => typeof v === 'number'))
      throw new UnavailableError('REGISTRY_BAD_RESPONSE', `registry listed no versions for ${subject}`);
    const sorted = [...versions].sort((a, b) => a - b);
    const schemas: string[] = [];
    for (const version of sorted) {
      const path = `${subjectPath}/versions/${version}`;
      const body = (await this.json(await this.request(path, { method: 'GET' }), 'GET', path)) as {
        schema?: unknown;
      };
      if (typeof body.schema !== 'string')
        throw new UnavailableError('REGISTRY_BAD_RESPONSE', `registry returned no schema for ${subject} v${version}`);
      schemas.push(body.schema);
    }
    // Already registered: the registry answers with its id and no check (Confluent semantics).
    if (schemas.some((s) => canonical(s) === canonical(schema))) return;
    const problems = compatibilityProblems(
      parseSchema(schema),
      schemas.map((s) => parseSchema(s)),
      this.compatibility,
    );
    if (problems.length > 0)
      throw new SchemaIncompatibleError(subject, this.compatibility, describeProblems(problems, sorted));
  }

  private async request(path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchImpl(this.baseUrl.replace(/\/$/, '') + path, {
        ...init,
        headers: {
          'content-type': 'application/vnd.schemaregistry.v1+json',
          accept: 'application/vnd.schemaregistry.v1+json',
        },
      });
    } catch (cause) {
      throw new UnavailableError('REGISTRY_UNAVAILABLE', `schema registry at ${this.baseUrl} is unreachable`, cause);
    }
  }

  private async json(response: Response, method: string, path: string): Promise<unknown> {
    if (!response.ok) {
      const body = await errorBody(response);
      if (response.status === 422)
        throw new RegistryRefusedError(
          method,
          path,
          body.error_code,
          typeof body.message === 'string' ? body.message : 'Unprocessable Entity',
        );
      const said = typeof body.message === 'string' ? `: ${body.message}` : '';
      throw new UnavailableError(
        'REGISTRY_ERROR',
        `schema registry ${method} ${path} answered ${response.status}${said}`,
      );
    }
    return response.json();
  }
}

async function errorBody(response: Response): Promise<RegistryErrorBody> {
  try {
    return (await response.json()) as RegistryErrorBody;
  } catch {
    return {};
  }
}
