import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { VigilError } from '../../platform/errors.js';
import { parseAllowedTargets } from '../domain/targets.js';
import { HttpWebhookTransport } from './http-transport.js';

/**
 * The HTTP transport against a real server on 127.0.0.1: the address check runs inside the socket's own DNS
 * lookup (a name that resolves to loopback is refused unless the name itself is allow-listed), redirects are
 * not followed, and only the first bytes of a large answer are read.
 */
describe('HttpWebhookTransport', () => {
  let server: Server;
  let port: number;
  const paths: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      paths.push(req.url ?? '');
      req.resume();
      if (req.url === '/redirect') res.writeHead(302, { location: '/landing' }).end();
      else if (req.url === '/large') res.writeHead(200).end('x'.repeat(1_000_000));
      else res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const transport = (allowed: string[]) =>
    new HttpWebhookTransport({
      allowedTargets: parseAllowedTargets(allowed).targets,
      timeoutMs: 5000,
      maxResponseBytes: 64,
      userAgent: 'test',
    });
  const body = Buffer.from('{}');

  it('refuses a name that resolves to loopback, before any byte is sent', async () => {
    paths.length = 0;
    const t = transport([`127.0.0.1:${port}`]);
    const error = await t.send({ url: `http://localhost:${port}/sneaky`, headers: {}, body }).catch((e: unknown) => e);
    t.close();
    expect(error).toBeInstanceOf(VigilError);
    expect((error as VigilError).code).toBe('WEBHOOK_TARGET_BLOCKED');
    expect((error as VigilError).message).toMatch(/^localhost resolved to (127\.0\.0\.1|::1), a loopback address$/);
    expect(paths).toEqual([]);
  });

  it('negative control: the same name on the allow-list is delivered', async () => {
    paths.length = 0;
    const t = transport([`localhost:${port}`]);
    const response = await t.send({ url: `http://localhost:${port}/allowed`, headers: {}, body });
    t.close();
    expect(response.status).toBe(204);
    expect(paths).toEqual(['/allowed']);
  });

  it('does not follow redirects and reads at most maxResponseBytes', async () => {
    paths.length = 0;
    const t = transport([`127.0.0.1:${port}`]);
    expect((await t.send({ url: `http://127.0.0.1:${port}/redirect`, headers: {}, body })).status).toBe(302);
    const large = await t.send({ url: `http://127.0.0.1:${port}/large`, headers: {}, body });
    t.close();
    expect(large).toEqual({ status: 200, bodyExcerpt: 'x'.repeat(64) });
    expect(paths).toEqual(['/redirect', '/large']);
  });

  it('reports a refused connection as a retriable delivery failure', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const t = transport([`127.0.0.1:${deadPort}`]);
    const error = await t.send({ url: `http://127.0.0.1:${deadPort}/`, headers: {}, body }).catch((e: unknown) => e);
    t.close();
    expect((error as VigilError).code).toBe('WEBHOOK_DELIVERY_FAILED');
    expect((error as VigilError).retriable).toBe(true);
    expect((error as VigilError).message).toMatch(/^ECONNREFUSED/);
  });
});
