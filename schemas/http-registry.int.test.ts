import { jest } from '@jest/globals';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readerType } from './codec.js';
import { CompatibilityLevel } from './compatibility.js';
import { evolvedTransaction } from './evolution-fixtures.js';
import { HttpSchemaRegistry, SchemaIncompatibleError } from './registry.js';

jest.setTimeout(60_000);

/**
 * HttpSchemaRegistry against a real local HTTP server speaking the few Confluent Schema Registry endpoints the
 * client uses (no Confluent-compatible registry runs on this machine: Apicurio Registry's Maven Central artifact
 * does not resolve here). The server keeps subjects and global ids as Confluent does and, when told to, refuses a
 * new version with Confluent's 409 body — the way a registry whose own level refuses it answers.
 */
interface CcompatServer {
  readonly url: string;
  /** Every request as `METHOD path`, in arrival order. */
  readonly requests: string[];
  /** When true, a POST of a schema not yet under the subject answers 409 (the registry's own check refused it). */
  refuseNewVersions: boolean;
  close(): Promise<void>;
}

async function startCcompatServer(): Promise<CcompatServer> {
  const schemas: string[] = [];
  const subjects = new Map<string, number[]>();
  const requests: string[] = [];
  const state = { refuseNewVersions: false };
  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
    res.end(JSON.stringify(body));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(`${req.method} ${path}`);
    let m: RegExpExecArray | null;
    if (req.method === 'GET' && (m = /^\/schemas\/ids\/(\d+)$/.exec(path))) {
      const schema = schemas[Number(m[1]) - 1];
      return schema === undefined
        ? send(res, 404, { error_code: 40403, message: 'Schema not found' })
        : send(res, 200, { schema });
    }
    if ((m = /^\/subjects\/([^/]+)\/versions(?:\/(\d+))?$/.exec(path))) {
      const subject = m[1]!;
      const versions = subjects.get(subject);
      if (req.method === 'GET' && m[2] === undefined)
        return versions
          ? send(
              res,
              200,
              versions.map((_, i) => i + 1),
            )
          : send(res, 404, { error_code: 40401, message: `Subject '${subject}' not found.` });
      if (req.method === 'GET') {
        const id = versions?.[Number(m[2]) - 1];
        return id === undefined
          ? send(res, 404, { error_code: 40402, message: 'Version not found.' })
          : send(res, 200, { subject, version: Number(m[2]), id, schema: schemas[id - 1] });
      }
      if (req.method === 'POST') {
        let text = '';
        for await (const chunk of req) text += String(chunk);
        const { schema } = JSON.parse(text) as { schema: string };
        const known = schemas.indexOf(schema) + 1;
        if (known > 0 && versions?.includes(known)) return send(res, 200, { id: known });
        if (state.refuseNewVersions && versions)
          return send(res, 409, {
            error_code: 409,
            message: `Schema being registered is incompatible with an earlier schema for subject "${subject}"`,
          });
        const id = known > 0 ? known : schemas.push(schema);
        subjects.set(subject, [...(versions ?? []), id]);
        return send(res, 200, { id });
      }
    }
    send(res, 404, { error_code: 404, message: 'HTTP 404 Not Found' });
  };
  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  });
}

const subject = 'tx.raw-value';
const current = JSON.stringify(readerType('vigil.Transaction').schema({ exportAttrs: true }));
const posts = (server: CcompatServer): number => server.requests.filter((r) => r.startsWith('POST')).length;

describe('HttpSchemaRegistry against a local Confluent-API server', () => {
  let server: CcompatServer;
  beforeEach(async () => {
    server = await startCcompatServer();
  });
  afterEach(() => server.close());

  it('registers a compatible newer writer and every id resolves from a fresh client', async () => {
    const client = new HttpSchemaRegistry(server.url);
    const first = await client.register(subject, current);
    const newer = await client.register(subject, evolvedTransaction.addedOptionalField());
    expect([first, newer]).toEqual([1, 2]);
    expect(await client.register(subject, current)).toBe(1);
    const fresh = new HttpSchemaRegistry(server.url);
    expect(await fresh.schemaById(1)).toBe(current);
    expect(await fresh.schemaById(2)).toBe(evolvedTransaction.addedOptionalField());
    await expect(fresh.schemaById(3)).rejects.toMatchObject({ code: 'UNKNOWN_SCHEMA_ID', retriable: false });
    expect(posts(server)).toBe(3);
  });

  it.each([
    ['amountMinor long → string', evolvedTransaction.amountAsString(), '/amountMinor'],
    ['a required field removed', evolvedTransaction.removedRequiredField(), '/payeeAccountId'],
  ])('refuses an incompatible writer (%s) itself, before it reaches the registry', async (_n, schema, path) => {
    const client = new HttpSchemaRegistry(server.url);
    await client.register(subject, current);
    const refused = await client.register(subject, schema).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SchemaIncompatibleError);
    expect(refused).toMatchObject({ code: 'SCHEMA_INCOMPATIBLE', retriable: false });
    expect((refused as Error).message).toContain(`subject ${subject} (compatibility FULL_TRANSITIVE)`);
    expect((refused as Error).message).toContain(`forward vs version 1 ${path}`);
    expect(posts(server)).toBe(1);
  });

  it("surfaces the registry's own 409 refusal as a non-retriable SCHEMA_INCOMPATIBLE naming the subject", async () => {
    const client = new HttpSchemaRegistry(server.url);
    await client.register(subject, current);
    server.refuseNewVersions = true;
    const refused = await client.register(subject, evolvedTransaction.addedOptionalField()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SchemaIncompatibleError);
    expect(refused).toMatchObject({ code: 'SCHEMA_INCOMPATIBLE', retriable: false });
    expect((refused as Error).message).toContain(
      `schema refused for subject ${subject} (compatibility the registry level): Schema being registered is incompatible`,
    );
    expect(posts(server)).toBe(2);
  });

  it('negative control: with the client check off (NONE) and a lax registry, the incompatible writer is registered', async () => {
    const unchecked = new HttpSchemaRegistry(server.url, fetch, { compatibility: CompatibilityLevel.none });
    await unchecked.register(subject, current);
    expect(await unchecked.register(subject, evolvedTransaction.amountAsString())).toBe(2);
    expect(posts(server)).toBe(2);
  });

  it('an unreachable registry is a retriable REGISTRY_UNAVAILABLE, not a refusal', async () => {
    const stopped = await startCcompatServer();
    const url = stopped.url;
    await stopped.close();
    const client = new HttpSchemaRegistry(url);
    await expect(client.register(subject, current)).rejects.toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
      retriable: true,
    });
  });
});
