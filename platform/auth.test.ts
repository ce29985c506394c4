import { ApiKeyAuthenticator, Role, authorize, generateDemoKeys, parseApiKeys } from './auth.js';

describe('API keys and roles', () => {
  const keys = parseApiKeys('ingest:ingest-key-0123456789,analyst:analyst-key-0123456789,admin:admin-key-01234567890');
  const auth = new ApiKeyAuthenticator(keys);

  it('authenticates a bearer key to its role with a non-secret principal id', () => {
    const principal = auth.authenticate('Bearer analyst-key-0123456789');
    expect(principal.role).toBe(Role.analyst);
    expect(principal.id).toMatch(/^analyst:[0-9a-f]{8}$/);
    expect(principal.id).not.toContain('analyst-key');
  });

  it.each([undefined, '', 'Basic abc', 'Bearer', 'Bearer wrong-key-0123456789'])(
    'rejects %j as unauthenticated',
    (header) => {
      expect(() => auth.authenticate(header)).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }) as Error);
    },
  );

  it('authorises by role, admin everywhere', () => {
    const analyst = auth.authenticate('Bearer analyst-key-0123456789');
    const admin = auth.authenticate('Bearer admin-key-01234567890');
    expect(() => authorize(analyst, [Role.analyst])).not.toThrow();
    expect(() => authorize(analyst, [Role.ingest])).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }) as Error);
    expect(() => authorize(admin, [Role.ingest])).not.toThrow();
  });

  it('rejects malformed key configuration naming the entry but not the secret', () => {
    expect(() => parseApiKeys('ingest:short')).toThrow(/VIGIL_API_KEYS\[0\].*at least 16/);
    expect(() => parseApiKeys('ingest:ok-key-0123456789,boss:another-key-012345')).toThrow(
      /VIGIL_API_KEYS\[1\]="boss"/,
    );
    try {
      parseApiKeys('ingest:short');
    } catch (error) {
      expect(String(error)).not.toContain('short');
    }
  });

  it('generates one distinct demo key per role', () => {
    const demo = generateDemoKeys();
    expect(demo.map((k) => k.role).sort()).toEqual(Object.values(Role).sort());
    expect(new Set(demo.map((k) => k.key)).size).toBe(demo.length);
    expect(() => parseApiKeys(demo.map((k) => `${k.role}:${k.key}`).join(','))).not.toThrow();
  });
});
