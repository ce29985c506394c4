import {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  createServer,
  request,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A fault proxy between an Elasticsearch client and a real Elasticsearch (fault 9 of the suite: "Elasticsearch
 * stopped, then a storm of 429s"), so the shared cluster itself is never stopped. It listens on 127.0.0.1 on
 * a random port and is in one of three phases, switched by the test:
 *
 * - `down`: every connection is reset as soon as it is accepted (open keep-alive sockets too, on entry) — what
 *   a client sees of a stopped node.
 * - `storm`: every `wholeRequestRejectEvery`-th request is answered 429 as a whole (as a node whose write queue
 *   is full does); of each other `_bulk`, every `itemRejectEvery`-th item is answered with a per-item 429
 *   (`es_rejected_execution_exception`) made up here, and only the rest is forwarded to the real cluster, whose
 *   per-item results are merged back in order. So per-item handling meets real results for the forwarded items.
 * - `hang`: connections are accepted and requests read, but never answered (a node that stopped responding
 *   without closing its sockets); leaving the phase resets them.
 * - `transparent`: everything is forwarded unchanged.
 *
 * Rejections follow counters, not chance, so a run is reproducible. The proxy records what it did, so a test
 * can bound retries and know exactly which documents were never forwarded.
 */
export type FaultPhase = 'down' | 'hang' | 'storm' | 'transparent';

export interface StormPolicy {
  /** Every n-th request in the storm is a whole-request 429 (n ≥ 2). */
  readonly wholeRequestRejectEvery: number;
  /** Every n-th bulk item of the forwarded requests gets a made-up 429 (n ≥ 1; 1 rejects every item). */
  readonly itemRejectEvery: number;
}

export interface FaultProxyStats {
  /** Connections reset in the `down` phase, with when (epoch ms), in order. */
  readonly resetConnectionTimes: readonly number[];
  readonly wholeRequestsRejected: number;
  readonly itemsRejected: number;
  readonly itemsForwarded: number;
  readonly requestsForwarded: number;
  /** Requests received in the `hang` phase and never answered. */
  readonly requestsLeftHanging: number;
}

interface BulkAction {
  readonly op: string;
  readonly index: string;
  readonly id: string;
}

const REJECTED_TYPE = 'es_rejected_execution_exception';

export class ElasticsearchFaultProxy {
  private phase: FaultPhase = 'transparent';
  private readonly sockets = new Set<Socket>();
  private readonly resets: number[] = [];
  private readonly hung: Socket[] = [];
  private hungRequestCount = 0;
  private stormRequests = 0;
  private stormItems = 0;
  private wholeRejected = 0;
  private itemsRejectedCount = 0;
  private itemsForwardedCount = 0;
  private forwardedRequests = 0;
  /** Ids given a made-up 429, and ids the real cluster answered 201/200/409 for (the document is there). */
  private readonly rejectedIds = new Set<string>();
  private readonly landedIds = new Set<string>();

  private constructor(
    private readonly server: Server,
    private readonly target: URL,
    private readonly policy: StormPolicy,
  ) {}

  /** Starts a proxy in front of `targetUrl` (e.g. http://127.0.0.1:9200), transparent until told otherwise. */
  static async start(targetUrl: string, policy: StormPolicy): Promise<ElasticsearchFaultProxy> {
    if (!(policy.wholeRequestRejectEvery >= 2) || !(policy.itemRejectEvery >= 1))
      throw new RangeError(`storm policy out of range: ${JSON.stringify(policy)}`);
    const server = createServer();
    const proxy = new ElasticsearchFaultProxy(server, new URL(targetUrl), policy);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void proxy.onRequest(req, res));
    server.on('connection', (socket) => proxy.onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  /** The URL a client should use instead of the real cluster's. */
  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  setPhase(phase: FaultPhase): void {
    this.phase = phase;
    if (phase !== 'hang') for (const socket of this.hung.splice(0)) socket.resetAndDestroy();
    if (phase === 'down') for (const socket of this.sockets) socket.resetAndDestroy();
  }

  stats(): FaultProxyStats {
    return {
      resetConnectionTimes: [...this.resets],
      wholeRequestsRejected: this.wholeRejected,
      itemsRejected: this.itemsRejectedCount,
      itemsForwarded: this.itemsForwardedCount,
      requestsForwarded: this.forwardedRequests,
      requestsLeftHanging: this.hungRequestCount,
    };
  }

  /** Ids that got a made-up per-item 429 and were never stored by the real cluster afterwards. */
  neverForwardedIds(): Set<string> {
    return new Set([...this.rejectedIds].filter((id) => !this.landedIds.has(id)));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(socket: Socket): void {
    if (this.phase === 'down') {
      this.resets.push(Date.now());
      socket.resetAndDestroy();
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await readBody(req);
      if (this.phase === 'down') {
        // A keep-alive socket that slipped through the phase switch: reset it like the others.
        this.resets.push(Date.now());
        req.socket.resetAndDestroy();
        return;
      }
      if (this.phase === 'hang') {
        this.hungRequestCount += 1;
        this.hung.push(req.socket);
        return;
      }
      if (this.phase === 'storm') {
        this.stormRequests += 1;
        if (this.stormRequests % this.policy.wholeRequestRejectEvery === 0) {
          this.wholeRejected += 1;
          return sendJson(res, 429, {
            error: { type: REJECTED_TYPE, reason: 'rejected by the fault proxy (whole request)' },
            status: 429,
          });
        }
        if (new URL(req.url ?? '/', 'http://x').pathname.endsWith('/_bulk'))
          return await this.stormBulk(req, body, res);
      }
      const upstream = await this.forward(req, body);
      this.noteLanded(req, body, upstream.body);
      res.writeHead(upstream.status, upstream.headers);
      res.end(upstream.body);
    } catch (error) {
      if (!res.headersSent) sendJson(res, 502, { error: { type: 'proxy_error', reason: String(error) }, status: 502 });
      else res.destroy();
    }
  }

  /** Splits a bulk: made-up 429s for every n-th item, the rest forwarded, results merged in request order. */
  private async stormBulk(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const pairs = bulkPairs(body);
    const forwarded: Array<{ at: number; lines: string[] }> = [];
    const items: unknown[] = new Array(pairs.length);
    pairs.forEach((pair, at) => {
      this.stormItems += 1;
      if (this.stormItems % this.policy.itemRejectEvery === 0) {
        this.itemsRejectedCount += 1;
        this.rejectedIds.add(pair.action.id);
        items[at] = {
          [pair.action.op]: {
            _index: pair.action.index,
            _id: pair.action.id,
            status: 429,
            error: { type: REJECTED_TYPE, reason: 'rejected by the fault proxy (this item)' },
          },
        };
      } else forwarded.push({ at, lines: pair.lines });
    });
    if (forwarded.length > 0) {
      this.itemsForwardedCount += forwarded.length;
      const upstream = await this.forward(req, Buffer.from(forwarded.map((f) => f.lines.join('\n')).join('\n') + '\n'));
      if (upstream.status !== 200) {
        res.writeHead(upstream.status, upstream.headers);
        res.end(upstream.body);
        return;
      }
      const answer = JSON.parse(upstream.body.toString('utf8')) as {
        items: Array<Record<string, { _id: string; status: number }>>;
      };
      answer.items.forEach((item, i) => {
        items[forwarded[i]!.at] = item;
        for (const result of Object.values(item)) if (landedStatus(result.status)) this.landedIds.add(result._id);
      });
    }
    sendJson(res, 200, { took: 1, errors: true, items });
  }

  /** For requests forwarded whole: remember which bulk items the real cluster stored. */
  private noteLanded(req: IncomingMessage, _body: Buffer, answer: Buffer): void {
    if (!new URL(req.url ?? '/', 'http://x').pathname.endsWith('/_bulk')) return;
    try {
      const parsed = JSON.parse(answer.toString('utf8')) as {
        items?: Array<Record<string, { _id: string; status: number }>>;
      };
      for (const item of parsed.items ?? [])
        for (const result of Object.values(item)) if (landedStatus(result.status)) this.landedIds.add(result._id);
    } catch {
      // Not a bulk answer (an error page): nothing landed.
    }
  }

  private forward(
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
    this.forwardedRequests += 1;
    const headers: IncomingHttpHeaders = {
      ...req.headers,
      host: this.target.host,
      'content-length': String(body.length),
    };
    delete headers['transfer-encoding'];
    return new Promise((resolve, reject) => {
      const upstream = request(
        { host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers },
        (answer) => {
          readBody(answer).then((data) => {
            const out: IncomingHttpHeaders = { ...answer.headers, 'content-length': String(data.length) };
            delete out['transfer-encoding'];
            resolve({ status: answer.statusCode ?? 502, headers: out, body: data });
          }, reject);
        },
      );
      upstream.once('error', reject);
      upstream.end(body);
    });
  }
}

const landedStatus = (status: number): boolean => status === 200 || status === 201 || status === 409;

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body));
  // The Elasticsearch client refuses answers without its product header.
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(data.length),
    'x-elastic-product': 'Elasticsearch',
  });
  res.end(data);
}

/** A bulk body's operations: each action line with its source line (delete has none; Vigil only creates). */
function bulkPairs(body: Buffer): Array<{ action: BulkAction; lines: string[] }> {
  const lines = body
    .toString('utf8')
    .split('\n')
    .filter((line) => line.length > 0);
  const pairs: Array<{ action: BulkAction; lines: string[] }> = [];
  for (let i = 0; i < lines.length;) {
    const actionLine = lines[i]!;
    const parsed = JSON.parse(actionLine) as Record<string, { _index?: string; _id?: string }>;
    const [op, meta] = Object.entries(parsed)[0]!;
    const withSource = op !== 'delete';
    pairs.push({
      action: { op, index: meta._index ?? '', id: meta._id ?? '' },
      lines: withSource ? [actionLine, lines[i + 1]!] : [actionLine],
    });
    i += withSource ? 2 : 1;
  }
  return pairs;
}
