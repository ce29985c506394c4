import { ValidationError } from '../../platform/errors.js';
import { encodeCursor } from '../queries/alerts.js';
import { parseLabelRequest } from './labels.js';
import { ParamReader, checkTimeRange, readCursor } from './params.js';

function problemsOf(fn: () => void): Array<{ path: string; message: string }> {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return [...error.problems];
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('query parameter validation', () => {
  it('accepts good values and falls back when absent', () => {
    const q = new ParamReader(
      { limit: '25', since: '2026-11-24T09:00:00Z', from: '2026-11-01', to: '1767225600000' },
      'query',
    );
    expect(q.limit('limit', 50, 500)).toBe(25);
    expect(q.limit('absent', 50, 500)).toBe(50);
    expect(q.time('since')).toBe(Date.UTC(2026, 10, 24, 9));
    expect(q.time('from')).toBe(Date.UTC(2026, 10, 1));
    expect(q.time('to')).toBe(1_767_225_600_000);
    expect(q.time('absent', 7)).toBe(7);
    q.done();
  });

  it.each(['0', '-1', '501', '1.5', 'ten', '1e2'])('rejects limit=%p with a problem at /query/limit', (limit) => {
    const q = new ParamReader({ limit }, 'query');
    q.limit('limit', 50, 500);
    expect(problemsOf(() => q.done())).toEqual([
      { path: '/query/limit', message: expect.stringContaining('from 1 to 500') as string },
    ]);
  });

  it.each(['yesterday', '2026-13-01', '2026-11-24T09:00:00', '24/11/2026', '99999999999999999'])(
    'rejects the time %p',
    (since) => {
      const q = new ParamReader({ since }, 'query');
      q.time('since');
      expect(problemsOf(() => q.done()).map((p) => p.path)).toEqual(['/query/since']);
    },
  );

  it('collects every problem, not just the first', () => {
    const q = new ParamReader({ limit: 'x', since: 'nope', decision: 'APPROVE', cursor: '!!' }, 'query');
    q.limit('limit', 50, 500);
    q.time('since');
    q.oneOf('decision', ['REVIEW', 'DECLINE']);
    readCursor(q, 'cursor');
    expect(problemsOf(() => q.done()).map((p) => p.path)).toEqual([
      '/query/limit',
      '/query/since',
      '/query/decision',
      '/query/cursor',
    ]);
  });

  it('rejects a repeated parameter', () => {
    const q = new ParamReader({ limit: ['1', '2'] }, 'query');
    q.limit('limit', 50, 500);
    expect(problemsOf(() => q.done())).toEqual([
      { path: '/query/limit', message: 'must be given once, as a plain value' },
    ]);
  });

  it('checks time ranges: from before to, bounded span', () => {
    const q = new ParamReader({}, 'query');
    checkTimeRange(q, 2000, 1000, 10);
    expect(problemsOf(() => q.done())).toEqual([{ path: '/query/from', message: 'must be before to' }]);
    const r = new ParamReader({}, 'query');
    checkTimeRange(r, 0, 11 * 86_400_000, 10);
    expect(problemsOf(() => r.done())[0]?.message).toMatch(/at most 10 days/);
  });

  it('round-trips cursors and rejects forged ones', () => {
    const cursor = { scoredAtMs: 1_767_225_600_123, transactionId: 'tx-9' };
    const q = new ParamReader(
      { cursor: encodeCursor(cursor), bad: Buffer.from('{"x":1}').toString('base64url') },
      'query',
    );
    expect(readCursor(q, 'cursor')).toEqual(cursor);
    expect(readCursor(q, 'bad')).toBeUndefined();
    expect(problemsOf(() => q.done()).map((p) => p.path)).toEqual(['/query/bad']);
  });

  it('validates path ids', () => {
    const p = new ParamReader({ id: 'has space' }, 'params');
    p.id('id');
    expect(problemsOf(() => p.done()).map((x) => x.path)).toEqual(['/params/id']);
  });
});

describe('label request validation', () => {
  it('accepts a good request', () => {
    expect(parseLabelRequest({ transactionId: 'tx-1', label: 'fraud', note: 'called the customer' })).toEqual({
      transactionId: 'tx-1',
      label: 'fraud',
      note: 'called the customer',
    });
  });

  it('reports every bad field by JSON pointer', () => {
    expect(
      problemsOf(() => parseLabelRequest({ transactionId: '', label: 'FRAUD', note: 7, extra: true })).map(
        (p) => p.path,
      ),
    ).toEqual(['/transactionId', '/label', '/note', '/extra']);
    expect(problemsOf(() => parseLabelRequest([])).map((p) => p.path)).toEqual(['']);
  });
});
