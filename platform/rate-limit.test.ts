import { ManualClock } from './clock.js';
import { ConfigError } from './errors.js';
import { TokenBuckets, readRateLimitConfig } from './rate-limit.js';

describe('TokenBuckets', () => {
  it('allows a burst, refuses the next with the seconds until a token is back, and refills with the clock', () => {
    const clock = new ManualClock(1_000_000);
    const buckets = new TokenBuckets({ perSecond: 2, burst: 3 }, clock, 100);
    const taken = [1, 2, 3, 4].map(() => buckets.take('k'));
    expect(taken).toEqual([
      { allowed: true },
      { allowed: true },
      { allowed: true },
      { allowed: false, retryAfterSeconds: 1 },
    ]);
    clock.advance(499); // 0.998 tokens: still short of one
    expect(buckets.take('k')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    clock.advance(1); // 500 ms since the last take at 2/s: exactly one token
    expect(buckets.take('k')).toEqual({ allowed: true });
    expect(buckets.take('k')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    clock.advance(60_000); // a long quiet spell refills to the burst, never past it
    expect([1, 2, 3, 4].map(() => buckets.take('k').allowed)).toEqual([true, true, true, false]);
  });

  it('says how many whole seconds a slow bucket needs (rounded up)', () => {
    const clock = new ManualClock(0);
    const buckets = new TokenBuckets({ perSecond: 0.25, burst: 1 }, clock, 100);
    expect(buckets.take('k')).toEqual({ allowed: true });
    expect(buckets.take('k')).toEqual({ allowed: false, retryAfterSeconds: 4 });
    clock.advance(1000);
    expect(buckets.take('k')).toEqual({ allowed: false, retryAfterSeconds: 3 });
    clock.advance(3000);
    expect(buckets.take('k')).toEqual({ allowed: true });
  });

  it('keeps keys apart, and a clock stepping back mints no tokens', () => {
    const clock = new ManualClock(10_000);
    const buckets = new TokenBuckets({ perSecond: 1, burst: 1 }, clock, 100);
    expect(buckets.take('a').allowed).toBe(true);
    expect(buckets.take('b').allowed).toBe(true);
    expect(buckets.take('a').allowed).toBe(false);
    clock.set(5_000);
    expect(buckets.take('a').allowed).toBe(false);
    clock.set(6_000); // one second after the step back: one token
    expect(buckets.take('a').allowed).toBe(true);
  });

  it('forgets the least recently used bucket past maxTracked (a forgotten key starts full again)', () => {
    const clock = new ManualClock(0);
    const buckets = new TokenBuckets({ perSecond: 1, burst: 1 }, clock, 2);
    buckets.take('a');
    buckets.take('b');
    buckets.take('a'); // a is now the most recently used
    buckets.take('c'); // evicts b
    expect(buckets.size).toBe(2);
    expect(buckets.take('a').allowed).toBe(false);
    expect(buckets.take('b').allowed).toBe(true);
  });
});

describe('readRateLimitConfig', () => {
  it('reads both limits, turns one off with 0, and names a bad key', () => {
    expect(
      readRateLimitConfig({
        VIGIL_RATE_LIMIT_KEY_PER_SECOND: '5',
        VIGIL_RATE_LIMIT_KEY_BURST: '10',
        VIGIL_RATE_LIMIT_ADDRESS_PER_SECOND: '0',
      }),
    ).toEqual({ perKey: { perSecond: 5, burst: 10 }, perAddress: undefined, maxTracked: 100_000 });
    expect(() => readRateLimitConfig({ VIGIL_RATE_LIMIT_KEY_BURST: '-1' })).toThrow(ConfigError);
    expect(() => readRateLimitConfig({ VIGIL_RATE_LIMIT_KEY_BURST: '-1' })).toThrow(/VIGIL_RATE_LIMIT_KEY_BURST/);
  });
});
