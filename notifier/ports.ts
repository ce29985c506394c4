/**
 * The ports the notifier stage owns. Deliveries leave through a `WebhookTransport` (HTTP in production; the
 * tests use the same adapter against real local receivers). The outbox itself is a `Bus` from platform/.
 */

/** One signed request to a receiver. */
export interface WebhookRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** The receiver's answer: its status and at most the transport's limit of its body, as text. */
export interface WebhookResponse {
  readonly status: number;
  readonly bodyExcerpt: string;
}

export interface WebhookTransport {
  /**
   * POSTs `request` once, never following redirects. Resolves with any HTTP answer (2xx or not); rejects with a
   * VigilError for no answer: timeout, refused or reset connection, or a target address the policy forbids.
   */
  send(request: WebhookRequest, signal?: AbortSignal): Promise<WebhookResponse>;
}
