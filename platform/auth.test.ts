import {
  ApiKeyAuthenticator,
  type ManagedKey,
  ManagedKeyTable,
  Role,
  authorize,
  generateDemoKeys,
  generateKeySecret,
  keyDigestHex,
  parseApiKeys,
  principalIdOf,
} from './auth.js';

describe('API keys and roles', () => {
  const keys = parseApiKeys('ingest:ingest-key-0123456789,analyst:analyst-key-0123456789,admin:admin-key-01234567890');
  const auth = new ApiKeyAuthenticator(keys);

  it('authenticates a bearer key to its role with a non-secret principal id', async () => {
    const principal = await auth.authenticate('Bearer analyst-key-0123456789');
    expect(principal.role).toBe(Role.analyst);
    expect(principal.id).toMatch(/^analyst:[0-9a-f]{8}$/);
    expect(principal.id).not.toContain('analyst-key');
  });

  it.each([undefined, '', 'Basic abc', 'Bearer', 'Bearer wrong-key-0123456789'])(
    'rejects %j as unauthenticated',
    async (header) => {
      await expect(auth.authenticate(header)).rejects.toThrow(
        expect.objectContaining({ code: 'UNAUTHENTICATED' }) as Error,
      );
    },
  );

  it('authorises by role, admin everywhere', async () => {
    const analyst = await auth.authenticate('Bearer analyst-key-0123456789');
    const admin = await auth.authenticate('Bearer admin-key-01234567890');
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

describe('managed API keys', () => {
  const secret = generateKeySecret();
  const base: ManagedKey = {
    keyId: 'key_000000000001',
    role: Role.ingest,
    digestHex: keyDigestHex(secret),
    principalId: principalIdOf(Role.ingest, keyDigestHex(secret)),
    expiresAtMs: null,
    revokedAtMs: null,
    updatedAtMs: 1_000,
  };
  const setUp = (key: ManagedKey) => {
    const table = new ManagedKeyTable();
    table.apply(key);
    let nowMs = 2_000;
    const auth = new ApiKeyAuthenticator(parseApiKeys('admin:configured-admin-key-0123'), {
      table,
      nowMs: () => nowMs,
    });
    return { table, auth, at: (ms: number) => (nowMs = ms) };
  };

  it('accepts a managed key under its principal id until it expires or is revoked, whichever comes first', async () => {
    const { table, auth, at } = setUp({ ...base, expiresAtMs: 5_000 });
    expect(await auth.authenticate(`Bearer ${secret}`)).toEqual({ role: Role.ingest, id: base.principalId });
    at(4_999);
    expect((await auth.authenticate(`Bearer ${secret}`)).role).toBe(Role.ingest);
    at(5_000);
    await expect(auth.authenticate(`Bearer ${secret}`)).rejects.toThrow('unknown, expired or revoked API key');
    at(3_000);
    table.apply({ ...base, expiresAtMs: 5_000, revokedAtMs: 2_500, updatedAtMs: 2_500 });
    await expect(auth.authenticate(`Bearer ${secret}`)).rejects.toThrow('unknown, expired or revoked API key');
    // Configured keys are unaffected by the managed table.
    expect((await auth.authenticate('Bearer configured-admin-key-0123')).role).toBe(Role.admin);
  });

  it('keeps the newest record of a key: an older one applied late does not un-revoke it', async () => {
    const { table, auth } = setUp({ ...base, revokedAtMs: 1_500, updatedAtMs: 1_500 });
    expect(table.apply({ ...base, updatedAtMs: 1_000 })).toBe(false);
    await expect(auth.authenticate(`Bearer ${secret}`)).rejects.toThrow('unknown, expired or revoked API key');
    // Negative control: the same older record on a fresh table is accepted, so the refusal above is the ordering.
    expect((await setUp(base).auth.authenticate(`Bearer ${secret}`)).role).toBe(Role.ingest);
  });

  it('refuses a key whose digest matches no record, and one of another key', async () => {
    const { auth } = setUp(base);
    await expect(auth.authenticate(`Bearer ${generateKeySecret()}`)).rejects.toThrow(
      'unknown, expired or revoked API key',
    );
    expect(keyDigestHex(secret)).toHaveLength(64);
    expect(secret).toMatch(/^vk_[A-Za-z0-9_-]{32}$/);
  });
});

describe('access tokens beside API keys', () => {
  const jwtShaped = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbm5hIn0.c2lnbmF0dXJl';
  const person = { id: 'user:anna', role: Role.analyst, name: 'anna' } as const;
  const presented: string[] = [];
  const tokens = {
    verify: (token: string) => {
      presented.push(token);
      return Promise.resolve(person);
    },
  };

  it('hands a JWT-shaped credential to the token verifier and keys to the key tables', async () => {
    const auth = new ApiKeyAuthenticator(parseApiKeys('analyst:analyst-key-0123456789'), undefined, tokens);
    expect(await auth.authenticate(`Bearer ${jwtShaped}`)).toBe(person);
    expect((await auth.authenticate('Bearer analyst-key-0123456789')).id).toMatch(/^analyst:[0-9a-f]{8}$/);
    expect(presented).toEqual([jwtShaped]);
  });

  it('refuses a token when no provider is configured, saying so', async () => {
    const auth = new ApiKeyAuthenticator(parseApiKeys('analyst:analyst-key-0123456789'));
    await expect(auth.authenticate(`Bearer ${jwtShaped}`)).rejects.toThrow(/no OpenID provider is configured/);
  });
});
