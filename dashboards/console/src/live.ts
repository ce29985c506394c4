import type { LiveMessage } from '../../../schemas/api.js';

/** The connection as the header shows it. */
export type ConnectionState = 'offline' | 'connecting…' | 'live' | 'catching up…' | 'reconnecting…';

/** What the live stream tells the console; each handler gets the message of its type. */
export interface LiveHandlers {
  readonly onMessage: (message: LiveMessage) => void;
  readonly onConnection: (state: ConnectionState) => void;
  /** Before a reconnect: false when the token is no longer accepted and none can be had (the sign-in ended). */
  readonly stillSignedIn: () => Promise<boolean>;
}

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

/**
 * The live WebSocket (`/v1/alerts/live?cases=true`: alerts, case steps, stats), reconnecting with jittered backoff.
 * It presents the position after the last message that carried one as `?lastEventId=` on reconnect, so alerts raised
 * while the connection was down are replayed (then `caught-up`), or a `gap` says they could not all be. Each
 * connection presents the token `token()` gives at that moment; `renew` moves the stream to a new one the same way.
 */
export class LiveStream {
  private socket: WebSocket | undefined;
  private retryMs = FIRST_RETRY_MS;
  private lastEventId: string | undefined;
  private closed = false;
  /** Set by `renew` until the new connection has caught up: a planned reconnect that missed nothing goes unsaid. */
  private renewing = false;

  constructor(
    private readonly token: () => string,
    private readonly handlers: LiveHandlers,
  ) {}

  /**
   * Reconnects now with the current token (the server checks a token when the connection opens, so a refreshed one
   * reaches it only this way), resuming after the last message: alerts raised in between are replayed, none lost.
   */
  renew(): void {
    // A connection still opening presents a token that was good a moment ago; one waiting to reconnect will present
    // the new one anyway. Only an open one is moved.
    if (this.closed || this.socket?.readyState !== WebSocket.OPEN) return;
    const old = this.socket;
    this.socket = undefined;
    this.renewing = true;
    old.close();
    this.open();
  }

  open(): void {
    const resume = this.lastEventId === undefined ? '' : `&lastEventId=${encodeURIComponent(this.lastEventId)}`;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const url = `${scheme}://${location.host}/v1/alerts/live?cases=true${resume}`;
    this.handlers.onConnection('connecting…');
    // Browsers cannot set headers on a WebSocket: the token travels as a subprotocol beside vigil.v1.
    const socket = new WebSocket(url, ['vigil.v1', `bearer.${this.token()}`]);
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.retryMs = FIRST_RETRY_MS;
      this.handlers.onConnection('live');
    });
    socket.addEventListener('message', (event: MessageEvent<string>) => {
      const message = JSON.parse(event.data) as LiveMessage;
      if ('eventId' in message && typeof message.eventId === 'string') this.lastEventId = message.eventId;
      if (message.type === 'hello' && message.resuming) this.handlers.onConnection('catching up…');
      if (message.type === 'caught-up' || message.type === 'gap') this.handlers.onConnection('live');
      const unremarkable = this.renewing && message.type === 'caught-up' && message.replayed === 0;
      if (message.type === 'caught-up' || message.type === 'gap' || (message.type === 'hello' && !message.resuming))
        this.renewing = false;
      if (!unremarkable) this.handlers.onMessage(message);
    });
    socket.addEventListener('close', () => {
      if (this.socket !== socket || this.closed) return;
      this.renewing = false;
      this.handlers.onConnection('reconnecting…');
      // Jittered, so consoles dropped by one blip do not all reconnect in the same instant. A refused upgrade (a bad
      // token) also lands here: a REST call first finds out whether the token is still accepted.
      const delayMs = this.retryMs * (0.5 + Math.random() / 2);
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
      setTimeout(() => {
        if (this.closed) return;
        void this.handlers.stillSignedIn().then((signedIn) => {
          if (signedIn && !this.closed) this.open();
        });
      }, delayMs);
    });
  }

  close(): void {
    this.closed = true;
    this.socket?.close();
    this.socket = undefined;
    this.handlers.onConnection('offline');
  }
}
