import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { VigilError } from '../../platform/errors.js';
import { type AllowedTarget, connectRefusal, portOf } from '../domain/targets.js';
import type { WebhookRequest, WebhookResponse, WebhookTransport } from '../ports.js';

export interface HttpTransportOptions {
  readonly allowedTargets: readonly AllowedTarget[];
  /** Whole attempt (connect, send, first bytes of the answer), ms. */
  readonly timeoutMs: number;
  /** Bytes of the response body kept for the delivery log; the rest is not read. */
  readonly maxResponseBytes: number;
  readonly userAgent: string;
}

/**
 * Webhook deliveries over node:http(s). Three things a plain `fetch` would not do for us:
 *  - every address the target's name resolves to is checked (targets.ts) inside the socket's own DNS lookup,
 *    so the address connected to is the address checked — a name cannot pass at registration and rebind later;
 *  - redirects are never followed (a 3xx is just a failed attempt), so a receiver cannot bounce us inward;
 *  - only `maxResponseBytes` of the answer are read, then the socket is dropped: a hostile receiver cannot make
 *    us buffer a large body, and a slow one is cut off by the timeout.
 */
export class HttpWebhookTransport implements WebhookTransport {
  // Keep-alive pools: a busy endpoint gets one TLS handshake per socket, not per event. Each new socket still
  // goes through the guarded lookup.
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 32 });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 32 });

  constructor(private readonly options: HttpTransportOptions) {}

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  send(request: WebhookRequest, signal?: AbortSignal): Promise<WebhookResponse> {
    const url = new URL(request.url);
    const port = portOf(url);
    const lookup = this.guardedLookup(url.hostname, port);
    const https = url.protocol === 'https:';
    const send = https ? httpsRequest : httpRequest;
    return new Promise<WebhookResponse>((resolve, reject) => {
      let settled = false;
      const fail = (message: string, code: 'WEBHOOK_DELIVERY_FAILED' | 'WEBHOOK_TARGET_BLOCKED', cause?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(new VigilError(code, message, { cause, retriable: true }));
      };
      const req = send(
        url,
        {
          method: 'POST',
          lookup,
          agent: https ? this.httpsAgent : this.httpAgent,
          headers: {
            ...request.headers,
            'Content-Type': 'application/json',
            'Content-Length': String(request.body.length),
            'User-Agent': this.options.userAgent,
          },
          ...(signal === undefined ? {} : { signal }),
        },
        (res) => {
          void this.readExcerpt(res).then(
            (bodyExcerpt) => {
              if (settled) return;
              settled = true;
              clearTimeout(timer);
              resolve({ status: res.statusCode ?? 0, bodyExcerpt });
            },
            (error: unknown) =>
              fail(`reading the answer failed: ${messageOf(error)}`, 'WEBHOOK_DELIVERY_FAILED', error),
          );
        },
      );
      const timer = setTimeout(
        () => fail(`no answer within ${this.options.timeoutMs} ms`, 'WEBHOOK_DELIVERY_FAILED'),
        this.options.timeoutMs,
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error instanceof BlockedTargetError) fail(error.message, 'WEBHOOK_TARGET_BLOCKED', error);
        else fail(`${error.code ?? 'error'}: ${error.message}`, 'WEBHOOK_DELIVERY_FAILED', error);
      });
      req.end(request.body);
    });
  }

  /** A DNS lookup for one target that refuses (as a socket error) any address the policy forbids. */
  private guardedLookup(host: string, port: number): LookupFunction {
    const allowed = this.options.allowedTargets;
    return (hostname, options, callback) => {
      dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
        if (error) return callback(error, '', 0);
        for (const { address } of addresses) {
          const refusal = connectRefusal(host, port, address, allowed);
          if (refusal !== undefined) return callback(new BlockedTargetError(refusal), '', 0);
        }
        const first = addresses[0];
        if (first === undefined) return callback(new BlockedTargetError(`${host} resolved to no address`), '', 0);
        // node ≥ 20 asks for `all` when it wants to try every address (happy eyeballs); hand over what was checked.
        if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
        return callback(null, first.address, first.family);
      });
    };
  }

  /** At most maxResponseBytes of the body as UTF-8 text; stops reading (and drops the socket) beyond that. */
  private readExcerpt(res: IncomingMessage): Promise<string> {
    const limit = this.options.maxResponseBytes;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      const finish = (): void => resolve(Buffer.concat(chunks).subarray(0, limit).toString('utf8'));
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        bytes += chunk.length;
        if (bytes >= limit) {
          res.destroy();
          finish();
        }
      });
      res.on('end', finish);
      res.on('error', reject);
    });
  }
}

class BlockedTargetError extends Error {}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
