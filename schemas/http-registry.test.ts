import { HttpSchemaRegistry, RegistryRefusedError } from './registry.js';

/**
 * How HttpSchemaRegistry classifies a registry's error answers, without a network: a 422 is a refusal (the same
 * request is refused again), any other error status may pass and stays retriable. The real registry's answers are
 * in http-registry.int.test.ts.
 */
function answering(status: number, body: unknown): typeof fetch {
  return (input, init) => {
    // The client passes its URL as a string.
    const url = input as string;
    // A subject with no versions yet, so register goes straight to its POST.
    if (init?.method === 'GET' && url.endsWith('/versions'))
      return Promise.resolve(Response.json({ error_code: 40401, message: 'Subject not found.' }, { status: 404 }));
    return Promise.resolve(Response.json(body, { status }));
  };
}

const schema = '{"type":"record","name":"R","fields":[]}';

describe('HttpSchemaRegistry error statuses', () => {
  it.each([
    ['register', (c: HttpSchemaRegistry) => c.register('s-value', schema), 'POST /subjects/s-value/versions'],
    ['schemaById', (c: HttpSchemaRegistry) => c.schemaById(7), 'GET /schemas/ids/7'],
  ])('%s: a 422 is a non-retriable REGISTRY_REFUSED with the registry’s reason and code', async (_n, call, request) => {
    const client = new HttpSchemaRegistry(
      'http://registry.test',
      answering(422, { error_code: 42201, message: 'Invalid schema' }),
    );
    const refused = await call(client).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RegistryRefusedError);
    expect(refused).toMatchObject({
      code: 'REGISTRY_REFUSED',
      retriable: false,
      details: { registryErrorCode: 42201 },
    });
    expect((refused as Error).message).toBe(`schema registry ${request} refused the request (422): Invalid schema`);
  });

  it('negative control: a 503 from the same calls stays a retriable REGISTRY_ERROR', async () => {
    const client = new HttpSchemaRegistry(
      'http://registry.test',
      answering(503, { error_code: 50003, message: 'Error while forwarding the request to the master' }),
    );
    await expect(client.register('s-value', schema)).rejects.toMatchObject({ code: 'REGISTRY_ERROR', retriable: true });
    await expect(client.schemaById(7)).rejects.toMatchObject({ code: 'REGISTRY_ERROR', retriable: true });
  });
});
