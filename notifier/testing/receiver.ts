import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { WebhookHeaders, type WebhookEvent } from '../../schemas/webhooks.js';

/** What a receiver path does with one request: answer with a status, or never answer (a hung receiver). */
export type ReceiverBehaviour = (request: { readonly path: string; readonly n: number }) => number | 'hang';

/** One request as the receiver saw it. */
export interface ReceivedRequest {
  readonly path: string;
  readonly status: number | 'hang';
  readonly event: WebhookEvent;
  readonly attempt: number;
  /** Stripe's verifier accepted the signature with the path's secret (undefined when no secret is known). */
  readonly verified: boolean | undefined;
  readonly signature: string;
}

const stripe = new Stripe('sk_test_unused_no_network');

/**
 * A real HTTP webhook receiver on 127.0.0.1 for tests: records every request, verifies its signature with Stripe's
 * own verifier (an independent implementation of the scheme) once told the path's secret, and answers as the
 * behaviour says — including never (the socket is held open until close).
 */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly secrets = new Map<string, string>();
  private readonly counts = new Map<string, number>();
  private readonly hung: ServerResponse[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private behaviour: ReceiverBehaviour,
  ) {}

  static async start(behaviour: ReceiverBehaviour = () => 200): Promise<WebhookReceiver> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const receiver = new WebhookReceiver(server, `http://127.0.0.1:${port}`, behaviour);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => receiver.handle(req, res));
    return receiver;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  setBehaviour(behaviour: ReceiverBehaviour): void {
    this.behaviour = behaviour;
  }

  /** The secret deliveries to `path` are signed with (from the 201 of POST /v1/webhooks). */
  trust(path: string, secret: string): void {
    this.secrets.set(path, secret);
  }

  /** Requests to `path` answered with a 2xx. */
  delivered(path: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.path === path && typeof r.status === 'number' && r.status < 300);
  }

  async close(): Promise<void> {
    for (const res of this.hung) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = req.url ?? '/';
      const n = (this.counts.get(path) ?? 0) + 1;
      this.counts.set(path, n);
      const status = this.behaviour({ path, n });
      const signature = String(req.headers[WebhookHeaders.signature.toLowerCase()] ?? '');
      const secret = this.secrets.get(path);
      let verified: boolean | undefined;
      if (secret !== undefined) {
        try {
          stripe.webhooks.constructEvent(body, signature, secret, 300);
          verified = true;
        } catch {
          verified = false;
        }
      }
      this.requests.push({
        path,
        status,
        event: JSON.parse(body.toString('utf8')) as WebhookEvent,
        attempt: Number(req.headers[WebhookHeaders.attempt.toLowerCase()]),
        verified,
        signature,
      });
      if (status === 'hang') {
        this.hung.push(res);
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
    });
  }
}
