import { HttpSchemaRegistry, type HttpSchemaRegistryOptions, RegistryRefusedError } from './registry.js';

/**
 * How HttpSchemaRegistry treats a registry's error answers, without a network: a 422 is a refusal (the same request
 * is refused again), not retried; other error statuses are retriable and retried a bounded number of times. The
 * real registry's answers are in http-registry.int.test.ts.
 */
interface FakeRegistry {
  readonly fetch: typeof fetch;
  /** Every request as `METHOD path`, in order. */
  readonly requests: string[];
}

/**
 * A registry whose subject has no versions yet (so register goes straight to its POST) and that answers the
 * other requests with `answers` in turn, the last one for good.
 */
function fakeRegistry(...answers: Array<{ status: number; body: unknown }>): FakeRegistry {
  const requests: string[] = [];
  let next = 0;
  return {
    requests,
    fetch: (input, init) => {
      const path = new URL(input).pathname;
      requests.push(`${init?.method} ${path}`);
      if (init?.method === 'GET' && path.endsWith('/versions'))
        return Promise.resolve(Response.json({ error_code: 40401, message: 'Subject not found.' }, { status: 404 }));
      const answer = answers[Math.min(next++, answers.length - 1)]!;
      return Promise.resolve(Response.json(answer.body, { status: answer.status }));
    },
  };
}

const schema = '{"type":"record","name":"R","fields":[]}';
const noWait: HttpSchemaRegistryOptions = { retryBackoffMs: 0 };
const unavailable = { status: 503, body: { error_code: 50003, message: 'Error while forwarding the request' } };
const posts = (registry: FakeRegistry): number => registry.requests.filter((r) => r.startsWith('POST')).length;

describe('HttpSchemaRegistry error statuses', () => {
  it.each([
    ['register', (c: HttpSchemaRegistry) => c.register('s-value', schema), 'POST /subjects/s-value/versions'],
    ['schemaById', (c: HttpSchemaRegistry) => c.schemaById(7), 'GET /schemas/ids/7'],
  ])('%s: a 422 is a REGISTRY_REFUSED with the registry’s reason and code, sent once', async (_n, call, request) => {
    const registry = fakeRegistry({ status: 422, body: { error_code: 42201, message: 'Invalid schema' } });
    const refused = await call(new HttpSchemaRegistry('http://registry.test', registry.fetch, noWait)).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(RegistryRefusedError);
    expect(refused).toMatchObject({
      code: 'REGISTRY_REFUSED',
      retriable: false,
      details: { registryErrorCode: 42201 },
    });
    expect((refused as Error).message).toBe(`schema registry ${request} refused the request (422): Invalid schema`);
    expect(registry.requests.filter((r) => r === request)).toHaveLength(1);
  });

  it('negative control: a 503 stays a retriable REGISTRY_ERROR, given up after the 5 tries', async () => {
    const registry = fakeRegistry(unavailable);
    const client = new HttpSchemaRegistry('http://registry.test', registry.fetch, noWait);
    await expect(client.register('s-value', schema)).rejects.toMatchObject({ code: 'REGISTRY_ERROR', retriable: true });
    expect(posts(registry)).toBe(5);
    await expect(client.schemaById(7)).rejects.toMatchObject({ code: 'REGISTRY_ERROR', retriable: true });
    expect(registry.requests.filter((r) => r === 'GET /schemas/ids/7')).toHaveLength(5);
  });

  it('a registration answered 500 once is sent again and gets its id', async () => {
    const registry = fakeRegistry(
      { status: 500, body: { error_code: 50001, message: 'Unique index or primary key violation' } },
      { status: 200, body: { id: 46 } },
    );
    expect(
      await new HttpSchemaRegistry('http://registry.test', registry.fetch, noWait).register('s-value', schema),
    ).toBe(46);
    expect(posts(registry)).toBe(2);
  });

  it('negative control: with one try, the same 500 fails the registration', async () => {
    const registry = fakeRegistry(unavailable, { status: 200, body: { id: 46 } });
    const client = new HttpSchemaRegistry('http://registry.test', registry.fetch, { ...noWait, attempts: 1 });
    await expect(client.register('s-value', schema)).rejects.toMatchObject({ code: 'REGISTRY_ERROR' });
    expect(posts(registry)).toBe(1);
  });
});
