import { type RetryPolicy, backoffMs, nextStep, outcomeOf } from './delivery-policy.js';

const policy: RetryPolicy = {
  initialBackoffMs: 1000,
  maxBackoffMs: 3_600_000,
  retryPeriodMs: 86_400_000,
  maxConsecutiveFailures: 20,
};

describe('webhook delivery policy', () => {
  it('classifies answers: 2xx delivered, 410 gone, everything else failed', () => {
    expect(outcomeOf({ kind: 'response', status: 200 })).toBe('delivered');
    expect(outcomeOf({ kind: 'response', status: 204 })).toBe('delivered');
    expect(outcomeOf({ kind: 'response', status: 410 })).toBe('gone');
    for (const status of [301, 302, 400, 404, 429, 500, 503])
      expect(outcomeOf({ kind: 'response', status })).toBe('failed');
    expect(outcomeOf({ kind: 'error', message: 'ECONNREFUSED' })).toBe('failed');
  });

  it('backs off exponentially with equal jitter, capped', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(policy, n, 0))).toEqual([500, 1000, 2000, 4000]);
    expect([1, 2, 3, 4].map((n) => backoffMs(policy, n, 0.999999))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffMs(policy, 30, 0)).toBe(1_800_000);
    expect(backoffMs(policy, 1000, 0.5)).toBe(2_700_000);
  });

  it('gives an event up once the next wait would end past the retry period', () => {
    const start = 0;
    expect(nextStep(policy, 'failed', 3, start, 86_398_000, 3, 0)).toEqual({ kind: 'retry', afterMs: 2000 });
    expect(nextStep(policy, 'failed', 3, start, 86_398_001, 3, 0)).toEqual({ kind: 'give-up' });
  });

  it('disables on 410 and after too many failures in a row; stops when delivered', () => {
    expect(nextStep(policy, 'gone', 1, 0, 0, 0, 0)).toEqual({ kind: 'disable', reason: 'gone' });
    expect(nextStep(policy, 'failed', 1, 0, 0, 19, 0)).toEqual({ kind: 'retry', afterMs: 500 });
    expect(nextStep(policy, 'failed', 1, 0, 0, 20, 0)).toEqual({ kind: 'disable', reason: 'failing' });
    expect(nextStep(policy, 'delivered', 7, 0, 0, 0, 0)).toEqual({ kind: 'done' });
  });

  it('with the defaults, an endpoint that never answers is disabled after about six hours', () => {
    let elapsed = 0;
    for (let attempt = 1; attempt < policy.maxConsecutiveFailures; attempt++)
      elapsed += backoffMs(policy, attempt, 0.5);
    expect(Math.round(elapsed / 60_000)).toBe(366);
  });
});
