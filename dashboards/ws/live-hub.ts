import { type IncomingMessage, STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { type ApiKeyAuthenticator, AuthError, type Principal, Role, authorize } from '../../platform/auth.js';
import type { Clock } from '../../platform/clock.js';
import { ErrorCategory, VigilError, describeError } from '../../platform/errors.js';
import { problemFor } from '../../platform/http.js';
import type { Logger } from '../../platform/logger.js';
import type { MetricsRegistry } from '../../platform/metrics.js';
import type { LiveHelloMessage, LiveMessage } from '../../schemas/api.js';
import type { FraudAlert } from '../../schemas/generated/types.js';
import type { LiveStats } from '../domain/live-stats.js';
import { RecentIds } from '../domain/lru.js';
import { ClientOutbox, type OutboxCounters, type OutboxPolicy } from '../domain/outbox.js';

/**
 * The live alert stream, `GET /v1/alerts/live` upgraded to a WebSocket (subprotocol `vigil.v1`).
 *
 * Authentication happens before the upgrade; a missing, unknown or under-privileged key gets a plain HTTP
 * 401/403 problem response and no socket. Browsers cannot set headers on a WebSocket, so the key travels as
 * a second subprotocol `bearer.<key>` (`new WebSocket(url, ['vigil.v1', 'bearer.' + key])`; the server
 * answers with `vigil.v1` only, never echoing the key). Tools may use `?access_token=<key>` (it may end up
 * in proxy logs; prefer the subprotocol) or an `Authorization: Bearer` header.
 *
 * Server → client messages (JSON text; bigints as decimal strings; typed as LiveMessage in schemas/api.ts):
 *   {type:'hello', protocol, principal, statsIntervalMs}   once, on connect
 *   {type:'alert', alert}                                  each new FraudAlert (deduplicated by alertId)
 *   {type:'stats', ...StatsSnapshot, clients}              every statsIntervalMs
 *   {type:'dropped', count}                                alerts dropped while this client was too slow
 * Slow clients follow ClientOutbox's policy (server memory per client bounded by heldBytesBound); dead ones are
 * found by ping/pong every heartbeatMs.
 */
export const LIVE_PATH = '/v1/alerts/live';
export const SUBPROTOCOL = 'vigil.v1';
const BEARER_PROTOCOL_PREFIX = 'bearer.';

export interface LiveHubOptions {
  readonly policy: OutboxPolicy;
  readonly heartbeatMs: number;
  readonly statsIntervalMs: number;
  /** How often congested clients are re-checked for room (and for being stalled too long). */
  readonly pumpIntervalMs?: number;
  readonly maxClients: number;
  readonly dedupeCapacity: number;
}

/** One client's outbox counters, its socket's buffered bytes and who it is. */
export type LiveClientCounters = OutboxCounters & { readonly bufferedBytes: number; readonly principal: string };

interface LiveClient {
  readonly ws: WebSocket;
  readonly principal: Principal;
  readonly outbox: ClientOutbox;
  alive: boolean;
}

const bigintAsString = (_key: string, value: unknown): unknown =>
  typeof value === 'bigint' ? value.toString() : value;

/** The API key presented on an upgrade request: subprotocol `bearer.<key>`, `?access_token=`, or the header. */
export function presentedAuthorization(req: IncomingMessage, url: URL): string | undefined {
  const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const fromProtocol = protocols.find((p) => p.startsWith(BEARER_PROTOCOL_PREFIX));
  if (fromProtocol) return `Bearer ${fromProtocol.slice(BEARER_PROTOCOL_PREFIX.length)}`;
  const token = url.searchParams.get('access_token');
  if (token) return `Bearer ${token}`;
  return req.headers.authorization;
}

export class LiveAlertHub {
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<LiveClient>();
  private readonly recent: RecentIds;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly servers: Array<{
    server: Server;
    listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  }> = [];
  private readonly metrics;

  constructor(
    private readonly authenticator: ApiKeyAuthenticator,
    private readonly clock: Clock,
    private readonly logger: Logger,
    metrics: MetricsRegistry,
    private readonly stats: LiveStats,
    private readonly options: LiveHubOptions,
  ) {
    this.recent = new RecentIds(options.dedupeCapacity);
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      // Clients only ever send pongs; anything bigger is not ours.
      maxPayload: 4096,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    this.metrics = {
      clients: metrics.gauge(
        'vigil_dashboards_ws_clients',
        'Live WebSocket clients connected',
        () => this.clients.size,
      ),
      received: metrics.counter(
        'vigil_dashboards_alerts_received_total',
        'Distinct fraud alerts received from fraud.alerts',
      ),
      duplicates: metrics.counter(
        'vigil_dashboards_alerts_duplicate_total',
        'Redelivered fraud alerts not pushed again',
      ),
      pushed: metrics.counter('vigil_dashboards_alerts_pushed_total', 'Alert messages written to WebSocket clients'),
      dropped: metrics.counter('vigil_dashboards_alerts_dropped_total', 'Alerts dropped for slow WebSocket clients'),
      terminated: metrics.counter(
        'vigil_dashboards_ws_terminated_total',
        'WebSocket clients disconnected by the server, by reason',
      ),
      rejected: metrics.counter('vigil_dashboards_ws_rejected_total', 'WebSocket upgrades refused, by HTTP status'),
    };
    const every = (ms: number, fn: () => void): void => {
      const timer = setInterval(fn, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(options.statsIntervalMs, () => this.broadcastStats());
    every(options.heartbeatMs, () => this.heartbeat());
    every(options.pumpIntervalMs ?? 100, () => {
      for (const client of this.clients)
        if (client.outbox.hasPending || client.outbox.stats.congested) this.pump(client);
    });
  }

  /** Handles upgrades to LIVE_PATH on `server`; other paths are left to other upgrade listeners. */
  attach(server: Server): void {
    const listener = (req: IncomingMessage, socket: Duplex, head: Buffer): void =>
      this.onUpgrade(server, req, socket, head);
    server.on('upgrade', listener);
    this.servers.push({ server, listener });
  }

  /** Pushes a new alert to every client; returns false (and pushes nothing) for one already pushed. */
  publishAlert(alert: FraudAlert): boolean {
    if (!this.recent.firstSight(alert.alertId)) {
      this.metrics.duplicates.inc();
      return false;
    }
    this.metrics.received.inc();
    const nowMs = this.clock.nowMs();
    this.stats.recordAlertLatency(nowMs - alert.receivedAtMs, nowMs);
    // Encoded once: every client's queue and socket buffer then share these bytes (ws writes a Buffer as is).
    const message = Buffer.from(JSON.stringify({ type: 'alert', alert }, bigintAsString));
    for (const client of this.clients) {
      const dropped = client.outbox.enqueue(message);
      if (dropped > 0) this.metrics.dropped.inc({}, dropped);
      this.pump(client);
    }
    return true;
  }

  /**
   * Per-client send counters (queue length and bytes, drops) and the bytes in the client's socket buffer
   * (`ws.bufferedAmount`: written, not yet taken by the kernel), for tests and diagnostics.
   */
  clientCounters(): Array<LiveClientCounters> {
    return [...this.clients].map((c) => ({
      ...c.outbox.stats,
      bufferedBytes: c.ws.bufferedAmount,
      principal: c.principal.id,
    }));
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Closes every client (1001 going away) and stops listening for upgrades. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    for (const { server, listener } of this.servers) server.off('upgrade', listener);
    for (const client of this.clients) client.ws.close(1001, 'server shutting down');
    await new Promise<void>((resolve) => {
      const deadline = setTimeout(() => {
        for (const client of this.clients) client.ws.terminate();
        resolve();
      }, 1000);
      deadline.unref();
      const check = (): void => {
        if (this.clients.size === 0) {
          clearTimeout(deadline);
          resolve();
        } else setTimeout(check, 10).unref();
      };
      check();
    });
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private onUpgrade(server: Server, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== LIVE_PATH) {
      // Another upgrade listener may own that path; if there is none, answer rather than leave the socket hanging.
      if (server.listenerCount('upgrade') === 1)
        this.refuse(
          socket,
          new VigilError('ROUTE_NOT_FOUND', `no WebSocket endpoint at ${url.pathname}`, {
            category: ErrorCategory.notFound,
          }),
        );
      return;
    }
    let principal: Principal;
    try {
      principal = this.authenticator.authenticate(presentedAuthorization(req, url));
      authorize(principal, [Role.analyst]);
    } catch (error) {
      this.refuse(
        socket,
        error instanceof AuthError ? error : new AuthError('UNAUTHENTICATED', 'authentication failed'),
      );
      return;
    }
    if (this.clients.size >= this.options.maxClients) {
      this.refuse(
        socket,
        new VigilError('TOO_MANY_LIVE_CLIENTS', `at most ${this.options.maxClients} live clients`, {
          category: ErrorCategory.unavailable,
        }),
      );
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, principal));
  }

  /** Answers the upgrade request with a plain HTTP problem response and closes the connection. */
  private refuse(socket: Duplex, error: VigilError): void {
    const problem = problemFor(error);
    this.metrics.rejected.inc({ status: String(problem.status) });
    const body = JSON.stringify(problem);
    const extra =
      problem.status === 401 ? 'WWW-Authenticate: Bearer\r\n' : problem.status === 503 ? 'Retry-After: 5\r\n' : '';
    socket.end(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`,
    );
  }

  private onConnection(ws: WebSocket, principal: Principal): void {
    const client: LiveClient = { ws, principal, outbox: new ClientOutbox(this.options.policy), alive: true };
    this.clients.add(client);
    this.logger.info('live client connected', { principal: principal.id, clients: this.clients.size });
    ws.on('pong', () => (client.alive = true));
    ws.on('error', (error) =>
      this.logger.warn('live client error', { principal: principal.id, error: describeError(error) }),
    );
    ws.on('close', () => {
      this.clients.delete(client);
      this.logger.info('live client disconnected', {
        principal: principal.id,
        clients: this.clients.size,
        ...client.outbox.stats,
      });
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        protocol: SUBPROTOCOL,
        principal: principal.id,
        statsIntervalMs: this.options.statsIntervalMs,
      } satisfies LiveHelloMessage),
    );
  }

  /** Writes what the client's outbox allows right now. */
  private pump(client: LiveClient): void {
    if (client.ws.readyState !== client.ws.OPEN) return;
    for (;;) {
      const step = client.outbox.next(client.ws.bufferedAmount, this.clock.nowMs());
      if (step.kind === 'idle') return;
      if (step.kind === 'terminate') {
        this.metrics.terminated.inc({ reason: 'slow' });
        this.logger.warn('terminating slow live client', {
          principal: client.principal.id,
          congestedForMs: step.congestedForMs,
          ...client.outbox.stats,
        });
        client.ws.terminate();
        return;
      }
      // Text frames: the bytes are UTF-8 JSON.
      client.ws.send(step.message, { binary: false });
      if (step.alert) this.metrics.pushed.inc();
    }
  }

  private broadcastStats(): void {
    if (this.clients.size === 0) return;
    const snapshot: LiveMessage = { ...this.stats.snapshot(this.clock.nowMs()), clients: this.clients.size };
    const message = Buffer.from(JSON.stringify(snapshot));
    for (const client of this.clients) {
      client.outbox.offerStats(message);
      this.pump(client);
    }
  }

  private heartbeat(): void {
    for (const client of this.clients) {
      if (!client.alive) {
        this.metrics.terminated.inc({ reason: 'heartbeat' });
        client.ws.terminate();
        continue;
      }
      client.alive = false;
      client.ws.ping();
    }
  }
}
