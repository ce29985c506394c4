import nodemailer, { type Transporter } from 'nodemailer';
import type { SmtpResult } from '../domain/email.js';
import type { MailTransport, OutgoingMail } from '../ports.js';

export interface SmtpTransportOptions {
  /** `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://…:465` (TLS from the start). */
  readonly url: string;
  /** RFC 5322 From, e.g. `Vigil alerts <alerts@bank.example>`. */
  readonly from: string;
  /** Connect, greeting and idle-socket timeout, ms. */
  readonly timeoutMs: number;
  /** Connections kept open to the relay. */
  readonly maxConnections: number;
}

/** Error codes nodemailer gives when no reply to the message itself came back (see smtp-connection). */
const NO_REPLY_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EAUTH', 'ENOAUTH', 'EPROXY']);

/**
 * The SMTP `MailTransport` over nodemailer's pooled connections. Every SMTP failure comes back as a result, not a
 * rejection: a reply code when the relay answered the message or one of its envelope commands (MAIL, RCPT,
 * DATA), otherwise "no reply" — authentication failures included, although they carry a 535: they are Vigil's
 * configuration, not the recipient's address, so they are retried and must not count as refusals.
 */
export class SmtpMailTransport implements MailTransport {
  private readonly transporter: Transporter;

  constructor(private readonly options: SmtpTransportOptions) {
    this.transporter = nodemailer.createTransport({
      url: options.url,
      pool: true,
      maxConnections: options.maxConnections,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
    } as Parameters<typeof nodemailer.createTransport>[0]);
  }

  async send(mail: OutgoingMail): Promise<SmtpResult> {
    try {
      const info = (await this.transporter.sendMail({
        from: this.options.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: mail.messageId,
        headers: mail.headers,
      })) as { rejected?: unknown[]; response?: string };
      if ((info.rejected ?? []).length > 0)
        return { kind: 'reply', code: replyCode(info.response) ?? 550, message: info.response ?? 'recipient rejected' };
      return { kind: 'accepted' };
    } catch (error) {
      const failure = error as { code?: string; responseCode?: number; message?: string };
      const message = failure.message ?? String(error);
      if (failure.code !== undefined && NO_REPLY_CODES.has(failure.code)) return { kind: 'error', message };
      if (typeof failure.responseCode === 'number') return { kind: 'reply', code: failure.responseCode, message };
      return { kind: 'error', message };
    }
  }

  close(): void {
    this.transporter.close();
  }
}

function replyCode(response: string | undefined): number | undefined {
  const match = /^([2-5][0-9]{2})/.exec(response ?? '');
  return match === null ? undefined : Number(match[1]);
}
