import type { LiveMessage } from '../../../schemas/api.js';

/** The connection as the header shows it. */
export type ConnectionState = 'offline' | 'connecting…' | 'live' | 'catching up…' | 'reconnecting…';

/** What the live stream tells the console; each handler gets the message of its type. */
export interface LiveHandlers {
  readonly onMessage: (message: LiveMessage) => void;
  readonly onConnection: (state: ConnectionState) => void;
  /** Before a reconnect: false when the token is no longer accepted (the console then signs out). */
  readonly stillSignedIn: () => Promise<boolean>;
}

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

/**
 * The live WebSocket (`/v1/alerts/live?cases=true`: alerts, case steps, stats), reconnecting with jittered backoff.
 * It presents the position after the last message that carried one as `?lastEventId=` on reconnect, so alerts raised
 * while the connection was down are replayed (then `caught-up`), or a `gap` says they could not all be.
 */
export class LiveStream {
  private socket: WebSocket | undefined;
  private retryMs = FIRST_RETRY_MS;
  private lastEventId: string | undefined;
  private closed = false;

  constructor(
    private readonly token: string,
    private readonly handlers: LiveHandlers,
  ) {}

  open(): void {
    const resume = this.lastEventId === undefined ? '' : `&lastEventId=${encodeURIComponent(this.lastEventId)}`;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const url = `${scheme}://${location.host}/v1/alerts/live?cases=true${resume}`;
    this.handlers.onConnection('connecting…');
    // Browsers cannot set headers on a WebSocket: the token travels as a subprotocol beside vigil.v1.
    const socket = new WebSocket(url, ['vigil.v1', `bearer.${this.token}`]);
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
      this.handlers.onMessage(message);
    });
    socket.addEventListener('close', () => {
      if (this.socket !== socket || this.closed) return;
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
