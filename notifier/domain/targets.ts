/**
 * Which URLs a webhook may point at. A webhook makes Vigil's own network send requests to an address an admin
 * typed in, so an unchecked URL is a server-side request forgery: the metadata service at 169.254.169.254, a
 * database on 10.0.0.5, the process itself on 127.0.0.1. Only public unicast addresses are reachable, over https,
 * unless the operator's allow-list (VIGIL_WEBHOOK_ALLOWED_TARGETS) names the host and port. The same check runs
 * on every address a name resolves to at delivery time (so DNS cannot rebind a checked name to a private address).
 */
import ipaddr from 'ipaddr.js';
import type { FieldProblem } from '../../platform/errors.js';

/** One allow-list entry: a host (name or address literal, lower case) and a port, or any port. */
export interface AllowedTarget {
  readonly host: string;
  /** undefined = any port (`host:*`). */
  readonly port: number | undefined;
}

/**
 * Parses `host:port` / `host:*` entries (IPv6 literals in brackets: `[::1]:8080`). Returns the entries, or the
 * problems with their positions for the config error.
 */
export function parseAllowedTargets(entries: readonly string[]): { targets: AllowedTarget[]; problems: string[] } {
  const targets: AllowedTarget[] = [];
  const problems: string[] = [];
  entries.forEach((entry, i) => {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):(\*|[0-9]{1,5})$/.exec(entry);
    const port = match?.[2] === '*' ? undefined : Number(match?.[2]);
    if (!match || (port !== undefined && (port < 1 || port > 65_535))) {
      problems.push(`entry ${i} "${entry}" must be host:port or host:* (port 1–65535)`);
      return;
    }
    targets.push({ host: normaliseHost(match[1]!), port });
  });
  return { targets, problems };
}

function normaliseHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare.toLowerCase().replace(/\.$/, '');
}

/** The port a URL connects to (its explicit port, else the scheme's default). */
export function portOf(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** True when the allow-list names this host (as written in the URL) and port. */
export function isAllowListed(host: string, port: number, allowed: readonly AllowedTarget[]): boolean {
  const wanted = normaliseHost(host);
  return allowed.some((target) => target.host === wanted && (target.port === undefined || target.port === port));
}

/**
 * 'public' for a global unicast address; otherwise the range it falls in ('loopback', 'private', 'linkLocal',
 * 'uniqueLocal', 'carrierGradeNat', 'multicast', 'reserved', …, or 'invalid'). IPv4-mapped IPv6 addresses are
 * judged as the IPv4 address they carry; NAT64, 6to4 and Teredo addresses are not public (they embed an IPv4
 * address that may be anything).
 */
export function addressRange(address: string): string {
  if (!ipaddr.isValid(address)) return 'invalid';
  const range = ipaddr.process(address).range();
  return range === 'unicast' ? 'public' : range;
}

/** Every problem with a webhook URL, located under `path`; empty when Vigil may deliver to it. */
export function targetUrlProblems(text: unknown, allowed: readonly AllowedTarget[], path = '/url'): FieldProblem[] {
  if (typeof text !== 'string' || text.length === 0) return [{ path, message: 'must be a URL string' }];
  if (text.length > 2048) return [{ path, message: 'must be at most 2048 characters' }];
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return [{ path, message: 'must be an absolute http(s) URL' }];
  }
  const problems: FieldProblem[] = [];
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return [{ path, message: `scheme must be https (got ${url.protocol.replace(/:$/, '')})` }];
  if (url.username !== '' || url.password !== '')
    problems.push({ path, message: 'must not carry user info (credentials in URLs end up in logs)' });
  if (url.hash !== '') problems.push({ path, message: 'must not have a fragment' });
  const port = portOf(url);
  const listed = isAllowListed(url.hostname, port, allowed);
  if (!listed) {
    if (url.protocol !== 'https:')
      problems.push({ path, message: 'must use https (http only for targets on VIGIL_WEBHOOK_ALLOWED_TARGETS)' });
    const literal = normaliseHost(url.hostname);
    if (ipaddr.isValid(literal)) {
      const range = addressRange(literal);
      if (range !== 'public')
        problems.push({
          path,
          message: `${literal} is a ${range} address; only public addresses unless VIGIL_WEBHOOK_ALLOWED_TARGETS lists it`,
        });
    } else if (literal === 'localhost' || literal.endsWith('.localhost')) {
      problems.push({ path, message: 'localhost is not a public host unless VIGIL_WEBHOOK_ALLOWED_TARGETS lists it' });
    }
  }
  return problems;
}

/**
 * Whether a delivery to `host:port` may connect to `address` (one the name resolved to): allow-listed hosts may
 * resolve to anything; every other host only to public addresses. Returns the reason when not.
 */
export function connectRefusal(
  host: string,
  port: number,
  address: string,
  allowed: readonly AllowedTarget[],
): string | undefined {
  if (isAllowListed(host, port, allowed)) return undefined;
  const range = addressRange(address);
  return range === 'public' ? undefined : `${host} resolved to ${address}, a ${range} address`;
}
