import { type IncomingMessage, STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { type ApiKeyAuthenticator, AuthError, type Principal, Role, authorize } from '../../platform/auth.js';
import type { Clock } from '../../platform/clock.js';
import { ErrorCategory, VigilError, describeError } from '../../platform/errors.js';
import { problemFor } from '../../platform/http.js';
import type { Logger } from '../../platform/logger.js';
import type { MetricsRegistry } from '../../platform/metrics.js';
import type {
  LiveCaseMessage,
  LiveCaughtUpMessage,
  LiveGapMessage,
  LiveGapReason,
  LiveHelloMessage,
  LiveMessage,
} from '../../schemas/api.js';
import type { FraudAlert } from '../../schemas/generated/types.js';
import {
  type FeedPosition,
  type ParsedEventId,
  covers,
  formatEventId,
  laterOf,
  parseEventId,
  planResume,
  positionAfter,
  rangesBetween,
  recordsBetween,
} from '../domain/event-id.js';
import type { LiveStats } from '../domain/live-stats.js';
import { RecentIds } from '../domain/lru.js';
import { ClientOutbox, type OutboxCounters, type OutboxPolicy, queueBudgetBytes } from '../domain/outbox.js';
import { ReplayMerge } from '../domain/replay-merge.js';
import type { AccessLog, AlertLog, LoggedAlert } from '../ports.js';

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
 *   {type:'hello', protocol, principal, statsIntervalMs, eventId, resuming}   once, on connect
 *   {type:'alert', eventId, alert}             each new FraudAlert (deduplicated by alertId)
 *   {type:'caught-up', replayed, eventId}      a resuming client has everything it missed; live alerts follow
 *   {type:'gap', reason, missedAtMost, detail, eventId}   a resuming client did not get all it missed
 *   {type:'stats', ...StatsSnapshot, clients}  every statsIntervalMs
 *   {type:'dropped', count}                    alerts dropped while this client was too slow
 *   {type:'case', action, by, at, case}        a step on a case, to clients that connected with `?cases=true`
 * Slow clients follow ClientOutbox's policy (server memory per client bounded by heldBytesBound); dead ones are
 * found by ping/pong every heartbeatMs.
 *
 * Resuming (domain/event-id.ts). An event id is the feed position just after an alert: for every partition of
 * `fraud.alerts`, the next offset not yet covered (`v1-12.0.7`). A client reconnects with
 * `?lastEventId=<the last eventId it saw>` (hello's eventId if no alert came). The hub then
 *  1. notes what it has published so far (`published`) and from then on holds this client's live alerts aside;
 *  2. replays from the durable log every alert in [presented, published), partitions merged by log timestamp
 *     (each partition in offset order; ReplayMerge), each with its own eventId, skipping undecodable records and
 *     alert ids already replayed or suppressed live as duplicates — queued only while the outbox has room, so a
 *     replay never drops (a client that stops reading is terminated at the stall limit as usual);
 *  3. once its outbox has drained: `caught-up`, then the held live alerts, then live. If more live alerts
 *     arrived than an outbox holds, they are dropped from the side buffer and replayed from the log instead
 *     (another round), so a busy feed costs rounds, not alerts.
 * At most maxCatchUpAlerts records (counted as offsets) are replayed per connection; past that, or for an id
 * that is malformed or past the log's end, or when the log cannot be read, the client gets an explicit `gap`
 * (reason, an upper bound on what was missed) with the eventId to carry on from, then live alerts: the console
 * reloads from `GET /v1/alerts`. Nothing is dropped silently. A presented id past what this replica has
 * published (it lags the replica the client came from) is a floor: live alerts below it are not sent again.
 */
export const LIVE_PATH = '/v1/alerts/live';
export const SUBPROTOCOL = 'vigil.v1';
/** The access log's resource for a live session: what it subscribes to (every fraud alert). */
const LIVE_RESOURCE = 'alerts/live';
const BEARER_PROTOCOL_PREFIX = 'bearer.';

export interface LiveHubOptions {
  readonly policy: OutboxPolicy;
  readonly heartbeatMs: number;
  readonly statsIntervalMs: number;
  /** How often congested clients are re-checked for room (and for being stalled too long). */
  readonly pumpIntervalMs?: number;
  readonly maxClients: number;
  readonly dedupeCapacity: number;
  /** Most records (log offsets) one reconnecting client is replayed; past that it gets a `gap` (0: never replay). */
  readonly maxCatchUpAlerts: number;
  /** Records per log read during a catch-up, per partition (default 32): bounds what a catch-up buffers. */
  readonly catchUpReadRecords?: number;
}

/** One client's outbox counters, its socket's buffered bytes and who it is. */
export type LiveClientCounters = OutboxCounters & { readonly bufferedBytes: number; readonly principal: string };

/** A live alert as the hub published it, kept aside for a client that is still catching up. */
interface PublishedAlert {
  readonly partition: number;
  readonly offset: number;
  /** The feed position just after this alert. */
  readonly position: FeedPosition;
  readonly alertJson: string;
  /** `{type:'alert', eventId, alert}` with the hub's position, shared by every client at or past its floor. */
  readonly message: Buffer;
}

/** A resuming client's live alerts while its replay runs; `overflowed` once more came than an outbox holds. */
interface CatchUp {
  held: PublishedAlert[];
  heldBytes: number;
  overflowed: boolean;
}

interface LiveClient {
  readonly ws: WebSocket;
  readonly principal: Principal;
  readonly outbox: ClientOutbox;
  alive: boolean;
  closed: boolean;
  /** Set while the client is replayed what it missed: live alerts are held aside, not queued. */
  catchUp: CatchUp | undefined;
  /** The presented position where it is past what the hub has published; cleared once the hub covers it. */
  floor: FeedPosition | undefined;
  /** Resolved (and cleared) by pump once the queue is empty and the socket is under the mark, or on close. */
  onIdle: (() => void) | undefined;
  /** Connected with `?cases=true`: it also gets every step on a case (queued like alerts, and counted with them). */
  readonly cases: boolean;
}

interface Feed {
  readonly log: AlertLog;
  /** Everything below this on each partition has been published (or was a duplicate) by this hub. */
  position: FeedPosition;
}

const DEFAULT_CATCH_UP_READ_RECORDS = 32;

function alertMessage(eventId: string, alertJson: string): Buffer {
  // The id's characters ([v0-9.-]) need no JSON escaping.
  return Buffer.from(`{"type":"alert","eventId":"${eventId}","alert":${alertJson}}`);
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
  /** Log positions (`partition:offset`) of alerts not pushed because their id was a duplicate; replays skip them. */
  private readonly suppressed: RecentIds;
  private feed: Feed | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly servers: Array<{
    server: Server;
    listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  }> = [];
  private readonly metrics;

  constructor(
    private readonly authenticator: ApiKeyAuthenticator,
    private readonly accessLog: AccessLog,
    private readonly clock: Clock,
    private readonly logger: Logger,
    metrics: MetricsRegistry,
    private readonly stats: LiveStats,
    private readonly options: LiveHubOptions,
  ) {
    this.recent = new RecentIds(options.dedupeCapacity);
    this.suppressed = new RecentIds(options.dedupeCapacity);
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
      resumes: metrics.counter(
        'vigil_dashboards_ws_resumes_total',
        'Reconnecting live clients, by outcome (caught-up, or the gap reason)',
      ),
      replayed: metrics.counter(
        'vigil_dashboards_alerts_replayed_total',
        'Alerts replayed from fraud.alerts to reconnecting clients',
      ),
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
        if (client.outbox.hasPending || client.outbox.stats.congested || client.onIdle) this.pump(client);
    });
  }

  /**
   * Connects the hub to the durable alert log: `start` is the position its first published alert follows (the
   * feed's group offsets, or the log end for a new group). Call once, before publishing or attaching.
   */
  startFeed(log: AlertLog, start: FeedPosition): void {
    if (this.feed !== undefined) throw new Error('the live feed is already started');
    if (start.length !== log.partitions)
      throw new RangeError(`start has ${start.length} offsets for ${log.partitions} partitions`);
    this.feed = { log, position: [...start] };
  }

  /** Handles upgrades to LIVE_PATH on `server`; other paths are left to other upgrade listeners. */
  attach(server: Server): void {
    if (this.feed === undefined) throw new Error('startFeed before attach: event ids need the feed position');
    const listener = (req: IncomingMessage, socket: Duplex, head: Buffer): void =>
      this.onUpgrade(server, req, socket, head);
    server.on('upgrade', listener);
    this.servers.push({ server, listener });
  }

  /**
   * Pushes a new alert, read from `at` (its partition and offset on fraud.alerts, delivered in offset order per
   * partition), to every client; returns false (and pushes nothing) for one already pushed — a redelivery of an
   * offset already passed, or an alert id seen recently. Throws Error before startFeed.
   */
  publishAlert(alert: FraudAlert, at: { readonly partition: number; readonly offset: number }): boolean {
    const feed = this.requireFeed();
    const fresh = at.offset >= feed.position[at.partition]!;
    if (!fresh || !this.recent.firstSight(alert.alertId)) {
      this.metrics.duplicates.inc();
      if (fresh) {
        feed.position = positionAfter(feed.position, at.partition, at.offset);
        this.suppressed.firstSight(`${at.partition}:${at.offset}`);
      }
      return false;
    }
    feed.position = positionAfter(feed.position, at.partition, at.offset);
    this.metrics.received.inc();
    const nowMs = this.clock.nowMs();
    this.stats.recordAlertLatency(nowMs - alert.receivedAtMs, nowMs);
    // Encoded once: every client's queue and socket buffer then share these bytes (ws writes a Buffer as is).
    const alertJson = JSON.stringify(alert, bigintAsString);
    const published: PublishedAlert = {
      partition: at.partition,
      offset: at.offset,
      position: feed.position,
      alertJson,
      message: alertMessage(formatEventId(feed.position), alertJson),
    };
    for (const client of this.clients) {
      if (client.catchUp !== undefined) this.holdAside(client.catchUp, published);
      else this.deliverLive(client, published);
    }
    return true;
  }

  /**
   * Pushes a step on a case to every client connected with `?cases=true`, in the order this process folded the
   * steps. Queued like an alert (a slow client loses the oldest first and is told how many); a client that reconnects
   * reloads the case over REST, which the fold serves.
   */
  publishCase(message: LiveCaseMessage): void {
    if (this.clients.size === 0) return;
    const bytes = Buffer.from(JSON.stringify(message, bigintAsString));
    for (const client of this.clients) {
      if (!client.cases) continue;
      const dropped = client.outbox.enqueue(bytes);
      if (dropped > 0) this.metrics.dropped.inc({}, dropped);
      this.pump(client);
    }
  }

  /** The position everything below which has been published; throws Error before startFeed. */
  get position(): FeedPosition {
    return this.requireFeed().position;
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

  private requireFeed(): Feed {
    if (this.feed === undefined) throw new Error('the live feed is not started (startFeed)');
    return this.feed;
  }

  /** Queues a live alert for a client past its catch-up, unless it is below the client's floor. */
  private deliverLive(client: LiveClient, published: PublishedAlert): void {
    let message = published.message;
    if (client.floor !== undefined) {
      if (published.offset < client.floor[published.partition]!) return;
      if (covers(published.position, client.floor)) client.floor = undefined;
      else message = alertMessage(formatEventId(laterOf(published.position, client.floor)), published.alertJson);
    }
    const dropped = client.outbox.enqueue(message);
    if (dropped > 0) this.metrics.dropped.inc({}, dropped);
    this.pump(client);
  }

  /** Keeps a live alert for a client still catching up, within one outbox's worth; past that, the log has it. */
  private holdAside(catchUp: CatchUp, published: PublishedAlert): void {
    if (catchUp.overflowed) return;
    catchUp.held.push(published);
    catchUp.heldBytes += published.message.byteLength;
    if (
      catchUp.held.length > this.options.policy.capacity ||
      catchUp.heldBytes > queueBudgetBytes(this.options.policy)
    ) {
      catchUp.held = [];
      catchUp.heldBytes = 0;
      catchUp.overflowed = true;
    }
  }

  /** Resolves once the client's queue is empty and its socket under the mark (at once if so), or it closed. */
  private untilIdle(client: LiveClient): Promise<void> {
    return new Promise((resolve) => {
      client.onIdle = resolve;
      this.pump(client);
      if (client.closed) this.settleIdle(client);
    });
  }

  private settleIdle(client: LiveClient): void {
    const resolve = client.onIdle;
    client.onIdle = undefined;
    resolve?.();
  }

  /**
   * Replays to a resuming client what it missed since `presented`, then switches it to live (see the header).
   * Never rejects: a failure becomes a `gap` message.
   */
  private async catchUp(client: LiveClient, presented: ParsedEventId): Promise<void> {
    const feed = this.requireFeed();
    const started = feed.position;
    client.catchUp = { held: [], heldBytes: 0, overflowed: false };
    if (!presented.ok) {
      await this.endCatchUpWithGap(client, 'unknown-event-id', null, `lastEventId ${presented.problem}`);
      return;
    }
    let cursor = presented.position;
    let replayed = 0;
    try {
      const plan = planResume(cursor, started, await feed.log.endOffsets(), this.options.maxCatchUpAlerts);
      if (client.closed) return;
      if (plan.kind === 'gap') {
        const detail =
          plan.reason === 'unknown-event-id'
            ? `lastEventId ${plan.problem}`
            : `at most ${plan.missedAtMost} alerts missed, more than the ${this.options.maxCatchUpAlerts} replayed`;
        client.floor = plan.reason === 'too-many-missed' ? presented.position : undefined;
        await this.endCatchUpWithGap(client, plan.reason, cursor, detail);
        return;
      }
      client.floor = plan.floor;
      let budget = this.options.maxCatchUpAlerts - plan.records;
      let ranges = plan.ranges;
      let target = started;
      const replayedIds = new Set<string>();
      const readRecords = this.options.catchUpReadRecords ?? DEFAULT_CATCH_UP_READ_RECORDS;
      for (;;) {
        const merge = new ReplayMerge<LoggedAlert>(ranges);
        for (;;) {
          const due = merge.needs();
          if (due !== undefined) {
            const records = await feed.log.read(
              due.partition,
              due.fromOffset,
              Math.min(readRecords, due.toOffset - due.fromOffset),
            );
            if (client.closed) return;
            merge.supply(due.partition, records);
            continue;
          }
          const record = merge.next();
          if (record === undefined) break;
          cursor = positionAfter(cursor, record.partition, record.offset);
          const alert = record.alert;
          if (
            alert === undefined ||
            replayedIds.has(alert.alertId) ||
            this.suppressed.has(`${record.partition}:${record.offset}`)
          )
            continue;
          replayedIds.add(alert.alertId);
          const message = alertMessage(formatEventId(cursor), JSON.stringify(alert, bigintAsString));
          while (!client.outbox.hasRoomFor(message.byteLength)) {
            await this.untilIdle(client);
            if (client.closed) return;
          }
          client.outbox.enqueue(message);
          replayed += 1;
          this.metrics.replayed.inc();
          this.pump(client);
        }
        // Everything below the round's target is replayed (records past the last alert were not alerts).
        cursor = laterOf(cursor, target);
        await this.untilIdle(client);
        if (client.closed) return;
        const catchUp = client.catchUp;
        if (!catchUp.overflowed) {
          // Synchronous from here: no live alert can slip between the notice and the held ones.
          this.sendNow(client, { type: 'caught-up', replayed, eventId: formatEventId(cursor) });
          client.catchUp = undefined;
          this.metrics.resumes.inc({ outcome: 'caught-up' });
          for (const published of catchUp.held) this.deliverLive(client, published);
          this.logger.info('live client caught up', { principal: client.principal.id, replayed });
          return;
        }
        // More live alerts came than a side buffer holds: replay them from the log in another round.
        target = feed.position;
        const more = recordsBetween(cursor, target);
        if (more > budget) {
          await this.endCatchUpWithGap(
            client,
            'too-many-missed',
            cursor,
            `replayed ${replayed}; alerts kept arriving faster than this connection took them`,
          );
          return;
        }
        budget -= more;
        ranges = rangesBetween(cursor, target);
        client.catchUp = { held: [], heldBytes: 0, overflowed: false };
      }
    } catch (error) {
      if (client.closed) return;
      this.logger.warn('live catch-up failed', { principal: client.principal.id, error: describeError(error) });
      await this.endCatchUpWithGap(client, 'replay-failed', cursor, `replayed ${replayed}; ${describeError(error)}`);
    }
  }

  /**
   * Ends a catch-up with a `gap` once the client's queue has drained: alerts from `from` (unknown when
   * undefined) up to the current position were not all sent; the held live alerts are part of the gap.
   */
  private async endCatchUpWithGap(
    client: LiveClient,
    reason: LiveGapReason,
    from: FeedPosition | null,
    detail: string,
  ): Promise<void> {
    await this.untilIdle(client);
    if (client.closed) return;
    const now = this.requireFeed().position;
    const resumeAt = laterOf(now, client.floor ?? now);
    this.sendNow(client, {
      type: 'gap',
      reason,
      missedAtMost: from === null ? null : recordsBetween(from, now),
      detail,
      eventId: formatEventId(resumeAt),
    });
    client.catchUp = undefined;
    this.metrics.resumes.inc({ outcome: reason });
    this.logger.warn('live client resumed with a gap', { principal: client.principal.id, reason, detail });
  }

  /** Writes a notice straight to the socket; only called when the queue is empty and the socket under the mark. */
  private sendNow(client: LiveClient, message: LiveCaughtUpMessage | LiveGapMessage): void {
    client.ws.send(JSON.stringify(message), { binary: false });
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
    this.authenticator
      .authenticate(presentedAuthorization(req, url))
      .then((principal) => {
        authorize(principal, [Role.analyst]);
        return principal;
      })
      .then(
        (principal) => this.admit(req, socket, head, url, principal),
        (error: unknown) =>
          this.refuse(
            socket,
            error instanceof VigilError ? error : new AuthError('UNAUTHENTICATED', 'authentication failed'),
          ),
      );
  }

  /** Opens the socket of an authenticated, authorised client, unless the hub is full or the access log fails. */
  private admit(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, principal: Principal): void {
    if (this.clients.size >= this.options.maxClients) {
      this.refuse(
        socket,
        new VigilError('TOO_MANY_LIVE_CLIENTS', `at most ${this.options.maxClients} live clients`, {
          category: ErrorCategory.unavailable,
        }),
      );
      return;
    }
    // `?lastEventId=`: browsers cannot set headers on a WebSocket, and a query parameter needs no extra round trip.
    const lastEventId = url.searchParams.get('lastEventId') || undefined;
    // Opt-in, so a client that knows only alerts (and its counts of them) sees nothing new.
    const cases = url.searchParams.get('cases') === 'true';
    // The session is on the access log before the socket opens; if it cannot be logged, no socket (fail closed).
    this.accessLog
      .record({
        principal,
        action: 'live.open',
        resource: LIVE_RESOURCE,
        query: { lastEventId: lastEventId ?? null, ...(cases ? { cases } : {}) },
      })
      .then(
        () => this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, principal, lastEventId, cases)),
        (error: unknown) =>
          this.refuse(
            socket,
            error instanceof VigilError ? error : new VigilError('ACCESS_LOG_UNAVAILABLE', 'access log failed'),
          ),
      );
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

  private onConnection(ws: WebSocket, principal: Principal, lastEventId: string | undefined, cases: boolean): void {
    const feed = this.requireFeed();
    const client: LiveClient = {
      ws,
      principal,
      cases,
      outbox: new ClientOutbox(this.options.policy),
      alive: true,
      closed: false,
      catchUp: undefined,
      floor: undefined,
      onIdle: undefined,
    };
    this.clients.add(client);
    this.logger.info('live client connected', { principal: principal.id, clients: this.clients.size });
    ws.on('pong', () => (client.alive = true));
    ws.on('error', (error) =>
      this.logger.warn('live client error', { principal: principal.id, error: describeError(error) }),
    );
    ws.on('close', (code) => {
      client.closed = true;
      this.settleIdle(client);
      this.clients.delete(client);
      const { alertsSent, dropped } = client.outbox.stats;
      this.logger.info('live client disconnected', {
        principal: principal.id,
        clients: this.clients.size,
        ...client.outbox.stats,
      });
      // What the session was shown. The socket is gone, so there is nothing left to refuse: a failed row is
      // logged as an error (and counted by the writer) instead.
      this.accessLog
        .record({ principal, action: 'live.close', resource: LIVE_RESOURCE, query: { code, alertsSent, dropped } })
        .catch((error: unknown) =>
          this.logger.error('live session close not on the access log', {
            principal: principal.id,
            error: describeError(error),
          }),
        );
    });
    const presented = lastEventId === undefined ? undefined : parseEventId(lastEventId, feed.log.partitions);
    ws.send(
      JSON.stringify({
        type: 'hello',
        protocol: SUBPROTOCOL,
        principal: principal.id,
        statsIntervalMs: this.options.statsIntervalMs,
        eventId: formatEventId(presented?.ok ? presented.position : feed.position),
        resuming: presented !== undefined,
      } satisfies LiveHelloMessage),
    );
    // Synchronous with the hello: live alerts published from now on are held aside until the replay is done.
    if (presented !== undefined) void this.catchUp(client, presented);
  }

  /** Writes what the client's outbox allows right now. */
  private pump(client: LiveClient): void {
    if (client.ws.readyState !== client.ws.OPEN) return;
    for (;;) {
      const step = client.outbox.next(client.ws.bufferedAmount, this.clock.nowMs());
      if (step.kind === 'idle') {
        if (client.onIdle && client.outbox.stats.queued === 0 && !client.outbox.stats.congested)
          this.settleIdle(client);
        return;
      }
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
