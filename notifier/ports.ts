import type { SmtpResult } from './domain/email.js';

/**
 * The ports the notifier stage owns. Deliveries leave through a `WebhookTransport` (HTTP in production; the
 * tests use the same adapter against real local receivers); mails through a `MailTransport` (SMTP). The outbox
 * itself is a `Bus` from platform/.
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

/** One mail to one recipient, fully rendered. */
export interface OutgoingMail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** RFC 5322 Message-ID, angle brackets included: stable per alert or digest, so a resent mail is recognisable. */
  readonly messageId: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface MailTransport {
  /**
   * Hands `mail` to the mail relay once. Resolves with what the relay did, never rejects for an SMTP problem: a
   * reply code (4xx deferred, 5xx refused) or no reply at all (connection, timeout, authentication).
   */
  send(mail: OutgoingMail): Promise<SmtpResult>;
  close(): void;
}
