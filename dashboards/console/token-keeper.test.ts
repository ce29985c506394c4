import {
  REFRESH_RETRY_MS,
  RefreshFailed,
  type SignInEnd,
  TokenKeeper,
  type Tokens,
  refreshDelayMs,
} from './src/token-keeper.js';

/**
 * The console's token refresh, in Node with a hand-driven clock: when it refreshes, that concurrent refusals refresh
 * once, and how a sign-in ends. The fake provider rotates refresh tokens as the built-in one does — a refresh token
 * presented twice is refused and ends the chain — so a keeper that refreshed twice at once would be caught.
 */

const T0 = 1_700_000_000_000;

/** Timers run by hand: `advance` moves the clock and fires what fell due, in order. */
class ManualTime {
  nowMs = T0;
  private timers = new Map<number, { atMs: number; run: () => void }>();
  private nextId = 0;
  setTimer = (run: () => void, delayMs: number): unknown => {
    const id = ++this.nextId;
    this.timers.set(id, { atMs: this.nowMs + delayMs, run });
    return id;
  };
  clearTimer = (handle: unknown): void => {
    this.timers.delete(handle as number);
  };
  /** When the earliest pending timer fires, or undefined when none is pending. */
  nextDueMs(): number | undefined {
    const due = [...this.timers.values()].map((t) => t.atMs);
    return due.length === 0 ? undefined : Math.min(...due);
  }
  async advance(ms: number): Promise<void> {
    const until = this.nowMs + ms;
    for (;;) {
      const next = [...this.timers].sort(([, a], [, b]) => a.atMs - b.atMs)[0];
      if (next === undefined || next[1].atMs > until) break;
      this.timers.delete(next[0]);
      this.nowMs = next[1].atMs;
      next[1].run();
      await settle();
    }
    this.nowMs = until;
  }
}

/** Lets every pending promise callback run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A provider that rotates: each refresh token serves once; one presented again is refused and ends the chain. */
class RotatingProvider {
  exchanges = 0;
  down = false;
  private issued = 0;
  private live = new Set<string>(['refresh-0']);
  private revoked = false;
  constructor(
    private readonly time: ManualTime,
    private readonly lifetimeS: number,
  ) {}
  exchange = async (refreshToken: string): Promise<Tokens> => {
    this.exchanges++;
    await Promise.resolve();
    if (this.down) throw new RefreshFailed('unreachable', false);
    if (this.revoked || !this.live.has(refreshToken)) {
      this.revoked = true;
      throw new RefreshFailed('grant request is invalid', true);
    }
    this.live.delete(refreshToken);
    const n = ++this.issued;
    this.live.add(`refresh-${n}`);
    return {
      accessToken: `access-${n}`,
      refreshToken: `refresh-${n}`,
      expiresAtMs: this.time.nowMs + this.lifetimeS * 1000,
      receivedAtMs: this.time.nowMs,
    };
  };
}

/** The sign-in's first tokens; `null`: no refresh token (an API key). */
const first = (lifetimeS: number, refreshToken: string | null = 'refresh-0'): Tokens => ({
  accessToken: 'access-0',
  refreshToken: refreshToken ?? undefined,
  expiresAtMs: T0 + lifetimeS * 1000,
  receivedAtMs: T0,
});

function keeperWith(lifetimeS: number, refreshToken?: string | null) {
  const time = new ManualTime();
  const provider = new RotatingProvider(time, lifetimeS);
  const keeper = new TokenKeeper(first(lifetimeS, refreshToken), {
    exchange: provider.exchange,
    nowMs: () => time.nowMs,
    setTimer: time.setTimer,
    clearTimer: time.clearTimer,
  });
  const renewed: string[] = [];
  const ends: SignInEnd[] = [];
  keeper.onRenewed((token) => renewed.push(token));
  keeper.onEnded((why) => ends.push(why));
  return { time, provider, keeper, renewed, ends };
}

describe('refreshDelayMs: when to refresh', () => {
  it.each([
    ['a 15-minute token: a minute before it expires', first(900), T0, 840_000],
    ['a 5-second token: at four fifths of its life', first(5), T0, 4_000],
    ['asked later: the time left until then', first(900), T0 + 800_000, 40_000],
    ['asked past that moment: now', first(900), T0 + 850_000, 0],
    ['asked after expiry: now', first(900), T0 + 901_000, 0],
    ['no refresh token (an API key): never', first(900, null), T0, undefined],
    ['no expiry said: never', { accessToken: 'a', refreshToken: 'r', receivedAtMs: T0 }, T0, undefined],
  ] as const)('%s', (_case, tokens, nowMs, expected) => {
    expect(refreshDelayMs(tokens, nowMs)).toBe(expected);
  });
});

describe('TokenKeeper', () => {
  it('refreshes before each expiry, and tells listeners the new token', async () => {
    const { time, provider, keeper, renewed, ends } = keeperWith(900);
    keeper.start();
    expect(time.nextDueMs()).toBe(T0 + 840_000);
    await time.advance(839_999);
    expect([provider.exchanges, keeper.accessToken]).toEqual([0, 'access-0']);
    await time.advance(1);
    expect([provider.exchanges, keeper.accessToken, keeper.refreshToken]).toEqual([1, 'access-1', 'refresh-1']);
    // The next refresh is scheduled from the new token's own expiry.
    expect(time.nextDueMs()).toBe(T0 + 840_000 + 840_000);
    await time.advance(840_000);
    expect([provider.exchanges, renewed, ends]).toEqual([2, ['access-1', 'access-2'], []]);
  });

  it('refreshes once for two calls refused at the same time; both retry with the new token', async () => {
    const { provider, keeper, renewed, ends } = keeperWith(900);
    keeper.start();
    const [a, b] = await Promise.all([keeper.renew('access-0'), keeper.renew('access-0')]);
    expect([a, b, provider.exchanges, renewed, ends]).toEqual(['access-1', 'access-1', 1, ['access-1'], []]);
    // A call refused with a token already replaced retries with the current one, without a refresh.
    expect([await keeper.renew('access-0'), provider.exchanges]).toEqual(['access-1', 1]);
  });

  it('negative control: the fake provider refuses a refresh token presented twice, as a keeper without single-flight would', async () => {
    const { provider } = keeperWith(900);
    const [once, twice] = await Promise.allSettled([provider.exchange('refresh-0'), provider.exchange('refresh-0')]);
    expect([once.status, twice.status]).toEqual(['fulfilled', 'rejected']);
    expect((twice as PromiseRejectedResult).reason).toMatchObject({ refused: true });
  });

  it('ends the sign-in once when the provider refuses, and refreshes no more', async () => {
    const { time, provider, keeper, ends } = keeperWith(900, 'revoked-elsewhere');
    keeper.start();
    await time.advance(840_000);
    expect([provider.exchanges, ends, keeper.ended, time.nextDueMs()]).toEqual([1, ['refused'], true, undefined]);
    expect([await keeper.renew('access-0'), provider.exchanges, ends]).toEqual([undefined, 1, ['refused']]);
  });

  it('retries while the provider is unreachable and the token still serves, and carries on when it is back', async () => {
    const { time, provider, keeper, renewed, ends } = keeperWith(900);
    keeper.start();
    provider.down = true;
    await time.advance(840_000);
    expect([provider.exchanges, time.nextDueMs()]).toEqual([1, T0 + 840_000 + REFRESH_RETRY_MS]);
    provider.down = false;
    await time.advance(REFRESH_RETRY_MS);
    expect([provider.exchanges, renewed, ends]).toEqual([2, ['access-1'], []]);
  });

  it('ends the sign-in as unreachable when the provider stays down until the token expires', async () => {
    const { time, provider, keeper, ends } = keeperWith(900);
    keeper.start();
    provider.down = true;
    await time.advance(900_000);
    // 840 s, then every 5 s while more than 5 s are left: 845 … 895, where 5 s are left and the keeper gives up.
    expect([provider.exchanges, ends, time.nextDueMs()]).toEqual([12, ['unreachable'], undefined]);
  });

  it('ends a sign-in without a refresh token (an API key) at its first refusal, without asking the provider', async () => {
    const { time, provider, keeper, ends } = keeperWith(900, null);
    keeper.start();
    expect(time.nextDueMs()).toBeUndefined();
    expect([await keeper.renew('access-0'), provider.exchanges, ends]).toEqual([undefined, 0, ['expired']]);
  });

  it('ends a refusal-triggered refresh at once when the provider is unreachable (the token is already refused)', async () => {
    const { provider, keeper, ends } = keeperWith(900);
    keeper.start();
    provider.down = true;
    expect([await keeper.renew('access-0'), provider.exchanges, ends]).toEqual([undefined, 1, ['unreachable']]);
  });

  it('refreshes nothing and says nothing once stopped (signed out)', async () => {
    const { time, provider, keeper, ends } = keeperWith(900);
    keeper.start();
    keeper.stop();
    await time.advance(900_000);
    expect([provider.exchanges, ends, time.nextDueMs(), await keeper.renew('access-0')]).toEqual([
      0,
      [],
      undefined,
      undefined,
    ]);
  });
});
