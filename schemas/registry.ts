import { readFileSync } from 'node:fs';
import { UnavailableError, VigilError, ErrorCategory } from '../platform/errors.js';
import { avroDir, loadSchemaSet } from './avro.js';

/**
 * The schema-registry port, shaped after Confluent's Schema Registry: a schema is registered under a subject
 * and gets a global integer id, which every record carries in its 5-byte header.
 */
export interface SchemaRegistry {
  /** Registers `schema` (self-contained Avro JSON) under `subject`; returns its id (the existing one if known). */
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

/**
 * The embedded registry: seeded from `schemas/avro/` with the permanent ids of `avro/ids.json`, so records on
 * the embedded log decode the same way after a restart or an upgrade. New schemas registered at run time get
 * ids above the seeded ones (kept in memory; the embedded default registers nothing new).
 */
export class EmbeddedSchemaRegistry implements SchemaRegistry {
  private readonly byId = new Map<number, string>();
  private readonly idByCanonical = new Map<string, number>();
  private nextId: number;

  constructor(dir = avroDir) {
    const ids = JSON.parse(readFileSync(dir + 'ids.json', 'utf8')) as Record<string, number | string>;
    const { expanded } = loadSchemaSet(dir);
    for (const [file, schema] of expanded) {
      const id = ids[file];
      if (typeof id !== 'number') throw new Error(`schemas/avro/ids.json has no id for ${file}; append one`);
      this.byId.set(id, schema);
      this.idByCanonical.set(canonical(schema), id);
    }
    this.nextId = Math.max(0, ...this.byId.keys()) + 1;
  }

  register(_subject: string, schema: string): Promise<number> {
    const key = canonical(schema);
    let id = this.idByCanonical.get(key);
    if (id === undefined) {
      id = this.nextId++;
      this.byId.set(id, schema);
      this.idByCanonical.set(key, id);
    }
    return Promise.resolve(id);
  }

  schemaById(id: number): Promise<string> {
    const schema = this.byId.get(id);
    return schema === undefined ? Promise.reject(new UnknownSchemaIdError(id)) : Promise.resolve(schema);
  }
}

/** A client for Confluent-compatible registries (Confluent, Apicurio's ccompat API, Redpanda, Karapace). */
export class HttpSchemaRegistry implements SchemaRegistry {
  private readonly cache = new Map<number, string>();

  constructor(
    private readonly baseUrl: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  async register(subject: string, schema: string): Promise<number> {
    const body = await this.call(`/subjects/${encodeURIComponent(subject)}/versions`, {
      method: 'POST',
      body: JSON.stringify({ schemaType: 'AVRO', schema }),
    });
    const id = (body as { id?: unknown }).id;
    if (typeof id !== 'number')
      throw new UnavailableError('REGISTRY_BAD_RESPONSE', `registry returned no id for ${subject}`);
    this.cache.set(id, schema);
    return id;
  }

  async schemaById(id: number): Promise<string> {
    const cached = this.cache.get(id);
    if (cached !== undefined) return cached;
    const body = await this.call(`/schemas/ids/${id}`, { method: 'GET' }, id);
    const schema = (body as { schema?: unknown }).schema;
    if (typeof schema !== 'string')
      throw new UnavailableError('REGISTRY_BAD_RESPONSE', `registry returned no schema for id ${id}`);
    this.cache.set(id, schema);
    return schema;
  }

  private async call(path: string, init: RequestInit, schemaId?: number): Promise<unknown> {
    let response: Response;
    try {
      response = await this.fetchImpl(this.baseUrl.replace(/\/$/, '') + path, {
        ...init,
        headers: {
          'content-type': 'application/vnd.schemaregistry.v1+json',
          accept: 'application/vnd.schemaregistry.v1+json',
        },
      });
    } catch (cause) {
      throw new UnavailableError('REGISTRY_UNAVAILABLE', `schema registry at ${this.baseUrl} is unreachable`, cause);
    }
    // Confluent error code 40403: schema not found.
    if (response.status === 404 && schemaId !== undefined) throw new UnknownSchemaIdError(schemaId);
    if (!response.ok)
      throw new UnavailableError(
        'REGISTRY_ERROR',
        `schema registry ${init.method} ${path} answered ${response.status}`,
      );
    return response.json();
  }
}
