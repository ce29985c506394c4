import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';

/** What the sink does with one message for one recipient: accept it, or answer with an SMTP reply code. */
export type SinkBehaviour = (request: { readonly to: string; readonly n: number }) => 'accept' | number;

/** One DATA transaction as the sink saw it, accepted or not. */
export interface ReceivedMail {
  readonly to: string;
  readonly accepted: boolean;
  readonly raw: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The text/plain part, decoded. */
  readonly text: string;
}

/**
 * A real SMTP server on 127.0.0.1 (smtp-server) for tests: authentication required, every message recorded with
 * its headers and decoded text part, and per recipient an answer the behaviour picks (accept, 451, 550, …) —
 * refusals at RCPT for 5xx, as real relays refuse unknown users, and at end of DATA for 4xx.
 */
export class SmtpSink {
  readonly mails: ReceivedMail[] = [];
  private readonly counts = new Map<string, number>();

  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  static async start(credentials: { user: string; pass: string }, behaviour: SinkBehaviour): Promise<SmtpSink> {
    // The server's callbacks need the sink, which needs the server's port: filled in once it listens.
    const self: { sink?: SmtpSink } = {};
    const server = new SMTPServer({
      authOptional: false,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth(auth, _session, callback) {
        if (auth.username === credentials.user && auth.password === credentials.pass)
          callback(null, { user: auth.username });
        else callback(new Error('invalid credentials'));
      },
      onRcptTo(address: SMTPServerAddress, _session, callback) {
        const answer = behaviour({ to: address.address, n: self.sink!.peek(address.address) });
        if (typeof answer === 'number' && answer >= 500) {
          self.sink!.count(address.address);
          self.sink!.mails.push({ to: address.address, accepted: false, raw: '', headers: {}, text: '' });
          callback(Object.assign(new Error('refused by the test sink'), { responseCode: answer }));
        } else callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const to = session.envelope.rcptTo[0]?.address ?? '';
          const answer = behaviour({ to, n: self.sink!.count(to) });
          const raw = Buffer.concat(chunks).toString('utf8');
          self.sink!.mails.push({
            to,
            accepted: answer === 'accept',
            raw,
            headers: headersOf(raw),
            text: textPartOf(raw),
          });
          if (answer === 'accept') callback();
          else callback(Object.assign(new Error('deferred by the test sink'), { responseCode: answer }));
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self.sink = new SmtpSink(server, (server.server.address() as AddressInfo).port);
    return self.sink;
  }

  /** Accepted mails to `to`, in arrival order. */
  accepted(to: string): ReceivedMail[] {
    return this.mails.filter((m) => m.to === to && m.accepted);
  }

  /** Every attempt to `to`, accepted or not. */
  attempts(to: string): ReceivedMail[] {
    return this.mails.filter((m) => m.to === to);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private peek(to: string): number {
    return (this.counts.get(to) ?? 0) + 1;
  }

  private count(to: string): number {
    const n = this.peek(to);
    this.counts.set(to, n);
    return n;
  }
}

/** Top-level headers, names lower-cased, folded lines joined. */
function headersOf(raw: string): Record<string, string> {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** The text/plain part, quoted-printable or base64 decoded. */
function textPartOf(raw: string): string {
  const match = /Content-Type: text\/plain[^\r]*\r\n(?:([^\r]+)\r\n)*?\r\n([\s\S]*?)\r\n--/i.exec(raw);
  if (match === null) return '';
  const part = raw.slice(match.index, match.index + match[0].length);
  const body = match[2]!;
  if (/Content-Transfer-Encoding: quoted-printable/i.test(part)) {
    const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => `%${hex}`);
    return decodeURIComponent(bytes.replace(/%(?![0-9A-F]{2})/g, '%25'));
  }
  if (/Content-Transfer-Encoding: base64/i.test(part)) return Buffer.from(body, 'base64').toString('utf8');
  return body;
}
