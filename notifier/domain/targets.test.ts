import { addressRange, connectRefusal, parseAllowedTargets, targetUrlProblems } from './targets.js';

const none = [] as const;
const messages = (url: unknown, allowed = parseAllowedTargets(['127.0.0.1:8080', 'hooks.internal:*']).targets) =>
  targetUrlProblems(url, allowed).map((p) => `${p.path}: ${p.message}`);

describe('webhook target policy', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['::1', 'loopback'],
    ['fe80::1', 'linkLocal'],
    ['fd00::1', 'uniqueLocal'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::a00:1', 'rfc6052'],
    ['8.8.8.8', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['not-an-ip', 'invalid'],
  ])('%s is %s', (address, range) => {
    expect(addressRange(address)).toBe(range);
  });

  it('accepts a public https URL', () => {
    expect(targetUrlProblems('https://hooks.example.com/vigil', none)).toEqual([]);
    expect(targetUrlProblems('https://8.8.8.8:8443/x', none)).toEqual([]);
  });

  it('refuses non-public literals, localhost, plain http, credentials, fragments and other schemes', () => {
    expect(messages('https://169.254.169.254/latest/meta-data')).toEqual([
      '/url: 169.254.169.254 is a linkLocal address; only public addresses unless VIGIL_WEBHOOK_ALLOWED_TARGETS lists it',
    ]);
    expect(messages('https://[::1]:9000/')).toEqual([
      '/url: ::1 is a loopback address; only public addresses unless VIGIL_WEBHOOK_ALLOWED_TARGETS lists it',
    ]);
    expect(messages('https://localhost/')).toEqual([
      '/url: localhost is not a public host unless VIGIL_WEBHOOK_ALLOWED_TARGETS lists it',
    ]);
    expect(messages('http://hooks.example.com/')).toEqual([
      '/url: must use https (http only for targets on VIGIL_WEBHOOK_ALLOWED_TARGETS)',
    ]);
    expect(messages('https://user:pw@hooks.example.com/#x')).toEqual([
      '/url: must not carry user info (credentials in URLs end up in logs)',
      '/url: must not have a fragment',
    ]);
    expect(messages('ftp://hooks.example.com/')).toEqual(['/url: scheme must be https (got ftp)']);
    expect(messages('not a url')).toEqual(['/url: must be an absolute http(s) URL']);
    expect(messages(42)).toEqual(['/url: must be a URL string']);
  });

  it('lets the allow-list through, on its port only', () => {
    expect(messages('http://127.0.0.1:8080/hook')).toEqual([]);
    expect(messages('http://hooks.internal:9999/hook')).toEqual([]);
    expect(messages('http://127.0.0.1:8081/hook')).toEqual([
      '/url: must use https (http only for targets on VIGIL_WEBHOOK_ALLOWED_TARGETS)',
      '/url: 127.0.0.1 is a loopback address; only public addresses unless VIGIL_WEBHOOK_ALLOWED_TARGETS lists it',
    ]);
  });

  it('checks every resolved address at connect time (DNS rebinding)', () => {
    const allowed = parseAllowedTargets(['hooks.internal:443']).targets;
    expect(connectRefusal('hooks.example.com', 443, '93.184.216.34', allowed)).toBeUndefined();
    expect(connectRefusal('hooks.example.com', 443, '10.0.0.7', allowed)).toBe(
      'hooks.example.com resolved to 10.0.0.7, a private address',
    );
    expect(connectRefusal('hooks.internal', 443, '10.0.0.7', allowed)).toBeUndefined();
    expect(connectRefusal('hooks.internal', 8443, '10.0.0.7', allowed)).toBe(
      'hooks.internal resolved to 10.0.0.7, a private address',
    );
  });

  it('parses the allow-list and reports bad entries by position', () => {
    expect(parseAllowedTargets(['127.0.0.1:8080', '[::1]:*', 'Example.COM.:443']).targets).toEqual([
      { host: '127.0.0.1', port: 8080 },
      { host: '::1', port: undefined },
      { host: 'example.com', port: 443 },
    ]);
    expect(parseAllowedTargets(['127.0.0.1', 'h:0', 'h:70000', 'h:80']).problems).toEqual([
      'entry 0 "127.0.0.1" must be host:port or host:* (port 1–65535)',
      'entry 1 "h:0" must be host:port or host:* (port 1–65535)',
      'entry 2 "h:70000" must be host:port or host:* (port 1–65535)',
    ]);
  });
});
