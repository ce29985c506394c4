/**
 * Keeping a sign-in's access token fresh: when to refresh it (before it expires), and one refresh at a time however
 * many callers find the token refused at once. Pure — the clock, the timers and the token endpoint are injected — so
 * the scheduling is tested in Node (dashboards/console/token-keeper.test.ts); session.ts supplies the real ones.
 *
 * One refresh at a time matters beyond saving a round trip: the provider rotates refresh tokens (each serves once),
 * and one presented twice is taken for a stolen one — the provider then ends the whole sign-in (RFC 9700 §4.14.2).
 */

/** What the token endpoint gave, as the console keeps it (in memory: the refresh token is never stored). */
export interface Tokens {
  readonly accessToken: string;
  /** Absent for an API key, or when the provider issues none: the sign-in then ends with its access token. */
  readonly refreshToken?: string | undefined;
  /** The id token, kept for the provider's end-session endpoint (`id_token_hint`); absent for an API key. */
  readonly idToken?: string | undefined;
  /** When the access token expires by this browser's clock (receipt + `expires_in`), ms since the epoch. */
  readonly expiresAtMs?: number | undefined;
  /** When the token endpoint's answer arrived, ms since the epoch. */
  readonly receivedAtMs: number;
}

/** A refresh that did not give a new token: `refused` when the provider said no (revoked, expired, used twice). */
export class RefreshFailed extends Error {
  constructor(
    message: string,
    readonly refused: boolean,
  ) {
    super(message);
    this.name = 'RefreshFailed';
  }
}

/** Why a sign-in ended without the person signing out. */
export type SignInEnd = 'refused' | 'unreachable' | 'expired';

/** The longest lead, in ms, a refresh takes on its access token's expiry: time for a slow provider to answer. */
export const REFRESH_LEAD_MAX_MS = 60_000;
/** For short-lived tokens the lead is this share of the lifetime instead, so a refresh never comes right after issue. */
export const REFRESH_LEAD_SHARE = 0.2;
/** How soon, in ms, a refresh the provider did not answer is tried again (while the access token still serves). */
export const REFRESH_RETRY_MS = 5_000;

/**
 * How many ms from `nowMs` to refresh `tokens`: the lead before expiry (at most REFRESH_LEAD_MAX_MS, at most a fifth
 * of the lifetime), 0 when that moment has passed; undefined when there is nothing to refresh with or no expiry to
 * refresh before.
 */
export function refreshDelayMs(tokens: Tokens, nowMs: number): number | undefined {
  if (tokens.refreshToken === undefined || tokens.expiresAtMs === undefined) return undefined;
  const lifetimeMs = Math.max(0, tokens.expiresAtMs - tokens.receivedAtMs);
  const leadMs = Math.min(REFRESH_LEAD_MAX_MS, lifetimeMs * REFRESH_LEAD_SHARE);
  return Math.max(0, tokens.expiresAtMs - leadMs - nowMs);
}

/** What the keeper needs from the world. */
export interface TokenKeeperDeps {
  /** Exchanges a refresh token at the provider; rejects with RefreshFailed. */
  readonly exchange: (refreshToken: string) => Promise<Tokens>;
  readonly nowMs: () => number;
  readonly setTimer: (run: () => void, delayMs: number) => unknown;
  readonly clearTimer: (handle: unknown) => void;
}

/**
 * The current tokens of one sign-in. `start` schedules the refresh before expiry; `renew` refreshes now (for a call
 * refused with 401), joining a refresh already under way. Listeners hear of each new access token and of the end of
 * the sign-in (a refusal, or the provider unreachable until the access token expired); after the end, or `stop`,
 * nothing is refreshed any more.
 */
export class TokenKeeper {
  private tokens: Tokens;
  private inFlight: Promise<Tokens | RefreshFailed> | undefined;
  private timer: unknown;
  private over = false;
  private readonly renewedListeners = new Set<(accessToken: string) => void>();
  private readonly endedListeners = new Set<(why: SignInEnd) => void>();

  constructor(
    initial: Tokens,
    private readonly deps: TokenKeeperDeps,
  ) {
    this.tokens = initial;
  }

  get accessToken(): string {
    return this.tokens.accessToken;
  }
  get refreshToken(): string | undefined {
    return this.tokens.refreshToken;
  }
  get idToken(): string | undefined {
    return this.tokens.idToken;
  }
  /** Whether the sign-in has ended or was stopped. */
  get ended(): boolean {
    return this.over;
  }

  /** Calls `listener` with each new access token; returns the unsubscribe. */
  onRenewed(listener: (accessToken: string) => void): () => void {
    this.renewedListeners.add(listener);
    return () => this.renewedListeners.delete(listener);
  }
  /** Calls `listener` once when the sign-in ends (not on `stop`); returns the unsubscribe. */
  onEnded(listener: (why: SignInEnd) => void): () => void {
    this.endedListeners.add(listener);
    return () => this.endedListeners.delete(listener);
  }

  /** Schedules the refresh before the access token expires. */
  start(): void {
    this.schedule(refreshDelayMs(this.tokens, this.deps.nowMs()));
  }

  /** No more refreshes and no more events (the person signed out, or the page let go of this sign-in). */
  stop(): void {
    this.over = true;
    this.deps.clearTimer(this.timer);
  }

  /** Ends the sign-in: listeners hear `why` once. */
  end(why: SignInEnd): void {
    if (this.over) return;
    this.stop();
    for (const listener of this.endedListeners) listener(why);
  }

  /**
   * An access token to use instead of `stale` (the one a call was refused with): the current one if it is already
   * newer, else a refreshed one — one exchange however many callers ask meanwhile. Resolves undefined when no new
   * token can be had (no refresh token, refused, provider unreachable): the sign-in has then ended.
   */
  async renew(stale: string): Promise<string | undefined> {
    if (this.over) return undefined;
    if (stale !== this.tokens.accessToken) return this.tokens.accessToken;
    if (this.tokens.refreshToken === undefined) {
      this.end('expired');
      return undefined;
    }
    const outcome = await this.refresh();
    if (!(outcome instanceof RefreshFailed)) return outcome.accessToken;
    // The token was refused, so waiting for the provider to come back is no use here.
    this.end(outcome.refused ? 'refused' : 'unreachable');
    return undefined;
  }

  private refresh(): Promise<Tokens | RefreshFailed> {
    const refreshToken = this.tokens.refreshToken!;
    this.inFlight ??= this.deps
      .exchange(refreshToken)
      .then(
        (tokens) => {
          if (this.over) return tokens;
          this.tokens = { ...tokens, refreshToken: tokens.refreshToken ?? refreshToken };
          this.schedule(refreshDelayMs(this.tokens, this.deps.nowMs()));
          for (const listener of this.renewedListeners) listener(this.tokens.accessToken);
          return this.tokens;
        },
        (error: unknown) =>
          error instanceof RefreshFailed
            ? error
            : new RefreshFailed(error instanceof Error ? error.message : '', false),
      )
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  private schedule(delayMs: number | undefined): void {
    this.deps.clearTimer(this.timer);
    this.timer = undefined;
    if (delayMs === undefined || this.over) return;
    this.timer = this.deps.setTimer(() => void this.onTimer(), delayMs);
  }

  private async onTimer(): Promise<void> {
    if (this.over) return;
    const outcome = await this.refresh();
    if (!(outcome instanceof RefreshFailed) || this.over) return;
    if (outcome.refused) return this.end('refused');
    // Unreachable: the access token still serves until it expires, so try again while it does.
    const left = (this.tokens.expiresAtMs ?? 0) - this.deps.nowMs();
    if (left > REFRESH_RETRY_MS) this.schedule(REFRESH_RETRY_MS);
    else this.end('unreachable');
  }
}
