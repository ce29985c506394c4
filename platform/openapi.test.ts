import { Role } from './auth.js';
import { type ApiDocumentPart, PUBLIC, jsonResponse, openApiDocument, rolesMayCall } from './openapi.js';

const part = (path: string, schemas: ApiDocumentPart['schemas'] = {}): ApiDocumentPart => ({
  schemas,
  paths: {
    [path]: {
      get: {
        operationId: `get${path}`,
        summary: path,
        tags: ['test'],
        security: PUBLIC,
        responses: { '200': jsonResponse('ok', { type: 'object' }) },
      },
    },
  },
});

describe('openApiDocument', () => {
  test('merges the platform’s routes and every part’s, each path once', () => {
    const document = openApiDocument([part('/v1/a'), part('/v1/b')], '1.2.3');
    expect(document.openapi).toBe('3.1.1');
    expect(document.info.version).toBe('1.2.3');
    expect(Object.keys(document.paths)).toEqual([
      '/health/live',
      '/health/ready',
      '/metrics',
      '/problems/{code}',
      '/openapi.json',
      '/v1/a',
      '/v1/b',
    ]);
  });

  test('refuses a route two parts document, and a schema name two parts define differently', () => {
    expect(() => openApiDocument([part('/v1/a'), part('/v1/a')], '1')).toThrow('GET /v1/a is documented twice');
    expect(() =>
      openApiDocument([part('/v1/a', { X: { type: 'string' } }), part('/v1/b', { X: { type: 'integer' } })], '1'),
    ).toThrow('schema X is defined twice, differently');
  });

  test('takes a schema two parts share when they define it alike', () => {
    const document = openApiDocument(
      [part('/v1/a', { X: { type: 'string' } }), part('/v1/b', { X: { type: 'string' } })],
      '1',
    );
    expect(document.components.schemas['X']).toEqual({ type: 'string' });
  });
});

describe('rolesMayCall', () => {
  test('lists each role as its own alternative, admin once and always', () => {
    expect(rolesMayCall(Role.analyst, Role.compliance)).toEqual([
      { bearer: ['analyst'] },
      { bearer: ['compliance'] },
      { bearer: ['admin'] },
    ]);
    expect(rolesMayCall(Role.admin)).toEqual([{ bearer: ['admin'] }]);
  });
});
