import { ManualClock } from '../platform/clock.js';
import { createLogger } from '../platform/logger.js';
import type { AlertListItem, AuditTrail } from '../schemas/api.js';
import { ManualScheduler } from './testing/manual-scheduler.js';
import { type AnalystApi, GroundTruth, startVerdictDesk } from './verdict-desk.js';

const START = Date.UTC(2026, 11, 3, 9);

/** The API as the desk sees it: alerts and trails from the test, every label recorded. */
function fakeApi(
  alerts: Array<Partial<AlertListItem>>,
  trails: Record<string, Partial<AuditTrail>>,
  fourEyes: ReadonlySet<string> = new Set(),
) {
  const labels: unknown[] = [];
  const refused: string[] = [];
  let failNext = false;
  const api: AnalystApi = {
    get: <T>(path: string) => {
      if (failNext) {
        failNext = false;
        return Promise.resolve({ status: 503, body: undefined as T });
      }
      if (path.startsWith('/v1/alerts'))
        return Promise.resolve({ status: 200, body: { alerts, nextCursor: null } as T });
      const id = decodeURIComponent(path.slice('/v1/transactions/'.length));
      const trail = trails[id];
      return Promise.resolve(trail ? { status: 200, body: trail as T } : { status: 404, body: undefined as T });
    },
    post: <T>(_path: string, body: unknown) => {
      const request = body as { transactionId: string; label: string };
      // Above the four-eyes limit a GENUINE label is refused: only the case, with a second analyst, releases it.
      if (request.label === 'genuine' && fourEyes.has(request.transactionId)) {
        refused.push(request.transactionId);
        return Promise.resolve({ status: 409, body: { code: 'CASE_RELEASE_NEEDS_APPROVAL' } as T });
      }
      labels.push(body);
      return Promise.resolve({ status: 202, body: undefined as T });
    },
  };
  return { api, labels, refused, failOnce: () => (failNext = true) };
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('GroundTruth', () => {
  it('remembers the last `capacity` transactions and queues fraud oldest first', () => {
    const truth = new GroundTruth(2);
    truth.record('a', true, 1);
    truth.record('b', false, 2);
    truth.record('c', true, 3);
    expect([truth.isFraud('a'), truth.isFraud('b'), truth.isFraud('c')]).toEqual([undefined, false, true]);
    expect(truth.takeFraudSentBefore(2, 10)).toEqual(['a']);
    expect(truth.takeFraudSentBefore(5, 10)).toEqual(['c']);
    expect(truth.takeFraudSentBefore(5, 10)).toEqual([]);
  });
});

describe('the simulated verdict desk', () => {
  it('labels due, unlabelled reviews by ground truth and files chargebacks for booked fraud only', async () => {
    const clock = new ManualClock(START);
    const scheduler = new ManualScheduler(clock);
    const truth = new GroundTruth();
    for (const [id, fraud] of [
      ['r-fraud', true],
      ['r-genuine', false],
      ['r-labelled', false],
      ['r-fresh', true],
      ['approved-fraud', true],
      ['declined-fraud', true],
    ] as const)
      truth.record(id, fraud, START);
    const old = new Date(START - 60_000).toISOString();
    const { api, labels } = fakeApi(
      [
        { transactionId: 'r-fraud', scoredAt: old, label: null },
        { transactionId: 'r-genuine', scoredAt: old, label: null },
        {
          transactionId: 'r-labelled',
          scoredAt: old,
          label: { label: 'GENUINE', labelledBy: 'x', labelledAt: old, note: null },
        },
        { transactionId: 'r-fresh', scoredAt: new Date(START + 4_000).toISOString(), label: null },
        { transactionId: 'unknown', scoredAt: old, label: null },
      ],
      {
        'approved-fraud': { ledgerEntries: [{}] as unknown as AuditTrail['ledgerEntries'], labels: [] },
        'declined-fraud': { ledgerEntries: [], labels: [] },
        'r-fraud': { ledgerEntries: [], labels: [] },
      },
    );
    const desk = startVerdictDesk({
      api,
      truth,
      clock,
      logger: createLogger({ write: () => undefined }),
      scheduler,
      intervalMs: 5_000,
      reviewAfterMs: 15_000,
      chargebackAfterMs: 60_000,
    });
    await scheduler.advance(5_000);
    await settle();
    // The reviews are due; the chargebacks are not (sent 5 s ago).
    expect(labels).toEqual([
      { transactionId: 'r-fraud', label: 'fraud', note: 'simulated analyst' },
      { transactionId: 'r-genuine', label: 'genuine', note: 'simulated analyst' },
    ]);
    await scheduler.advance(60_000);
    await settle();
    expect(labels).toContainEqual({ transactionId: 'approved-fraud', label: 'fraud', note: 'chargeback (simulated)' });
    expect(labels.filter((l) => (l as { note: string }).note.startsWith('chargeback'))).toHaveLength(1);
    expect(desk.counts().chargebacks).toBe(1);
    await desk.stop();
    expect(scheduler.waiting).toBe(0);
  });

  it('leaves a genuine release above the four-eyes limit to its case, and goes on with the others in the same round', async () => {
    const clock = new ManualClock(START);
    const scheduler = new ManualScheduler(clock);
    const truth = new GroundTruth();
    for (const id of ['r-large', 'r-small']) truth.record(id, false, START);
    const old = new Date(START - 60_000).toISOString();
    const { api, labels, refused } = fakeApi(
      [
        { transactionId: 'r-large', scoredAt: old, label: null },
        { transactionId: 'r-small', scoredAt: old, label: null },
      ],
      {},
      new Set(['r-large']),
    );
    const desk = startVerdictDesk({ api, truth, clock, logger: createLogger({ write: () => undefined }), scheduler });
    await scheduler.advance(5_000);
    await settle();
    expect(labels).toEqual([{ transactionId: 'r-small', label: 'genuine', note: 'simulated analyst' }]);
    expect(desk.counts().reviews).toBe(1);
    expect(refused).toEqual(['r-large']);
    // The next round does not ask again: the release is the case's now.
    await scheduler.advance(5_000);
    await settle();
    expect(refused).toEqual(['r-large']);
    await desk.stop();
  });

  it('given a failing API, then the round is logged and the next one starts over', async () => {
    const clock = new ManualClock(START);
    const scheduler = new ManualScheduler(clock);
    const truth = new GroundTruth();
    truth.record('r', false, START);
    const lines: string[] = [];
    const { api, labels, failOnce } = fakeApi(
      [{ transactionId: 'r', scoredAt: new Date(START - 60_000).toISOString(), label: null }],
      {},
    );
    failOnce();
    const desk = startVerdictDesk({
      api,
      truth,
      clock,
      scheduler,
      logger: createLogger({ write: (l) => lines.push(l) }),
    });
    await scheduler.advance(5_000);
    await settle();
    expect(labels).toEqual([]);
    expect(lines.join('\n')).toContain('simulated verdict round failed');
    await scheduler.advance(5_000);
    await settle();
    expect(labels).toHaveLength(1);
    await desk.stop();
  });
});
