import fc from 'fast-check';
import type { CaseAction, CaseAlert, CaseEvent, CaseResolution } from '../../schemas/generated/types.js';
import {
  type Case,
  CaseBook,
  alertPriority,
  caseIdForAlert,
  caseTiming,
  groupKeyOf,
  listCases,
  releaseGoesThroughCase,
  releaseNeedsApproval,
} from './cases.js';

const MINUTE = 60_000;
const WINDOW_MS = 60 * MINUTE;

function alert(id: string, payer: string, raisedAtMs: number, overrides: Partial<CaseAlert> = {}): CaseAlert {
  return {
    alertId: id,
    transactionId: `tx-${id}`,
    decision: 'REVIEW',
    score: 0.5,
    amountMinor: 1234n,
    currency: 'EUR',
    payerAccountId: payer,
    cardToken: null,
    eventTimeMs: raisedAtMs,
    raisedAtMs,
    ...overrides,
  };
}

const blank = {
  actorName: null,
  alert: null,
  groupKey: null,
  joinWithinMs: null,
  assignee: null,
  note: null,
  resolution: null,
  releaseNeedsApproval: null,
} as const;

let sequence = 0;
const alertEvent = (a: CaseAlert, groupBy: 'customer' | 'card' = 'customer'): CaseEvent => ({
  ...blank,
  eventId: `alert-${a.alertId}`,
  caseId: caseIdForAlert(a.alertId),
  action: 'ALERT',
  actor: 'system',
  atMs: a.raisedAtMs,
  alert: a,
  groupKey: groupKeyOf(a, groupBy),
  joinWithinMs: BigInt(WINDOW_MS),
});
const step = (caseId: string, action: CaseAction, actor: string, fields: Partial<CaseEvent> = {}): CaseEvent => ({
  ...blank,
  eventId: `e-${++sequence}`,
  caseId,
  action,
  actor,
  atMs: 1_000_000 + sequence,
  ...fields,
});
const resolve = (caseId: string, actor: string, resolution: CaseResolution, needsApproval = false): CaseEvent =>
  step(caseId, 'RESOLVE', actor, { resolution, releaseNeedsApproval: resolution === 'GENUINE' ? needsApproval : null });

/** A book holding one open case of one REVIEW alert; returns the book and the case id. */
function oneCase(): { book: CaseBook; caseId: string } {
  const book = new CaseBook();
  const a = alert('a1', 'acct-1', 0);
  book.apply(alertEvent(a));
  return { book, caseId: caseIdForAlert('a1') };
}

describe('cases: grouping alerts', () => {
  it('given an open case of a customer, when their next alert comes within the window, then it joins; later or of another customer, it opens a new case', () => {
    const book = new CaseBook();
    expect(book.apply(alertEvent(alert('a1', 'acct-1', 0)))).toEqual({
      kind: 'applied',
      caseId: 'case-a1',
      opened: true,
    });
    expect(book.apply(alertEvent(alert('a2', 'acct-1', WINDOW_MS)))).toEqual({
      kind: 'applied',
      caseId: 'case-a1',
      opened: false,
    });
    // The window runs from the case's last alert (a2), not its first.
    expect(book.apply(alertEvent(alert('a3', 'acct-1', 2 * WINDOW_MS))).kind).toBe('applied');
    expect(book.get('case-a1')!.alerts.map((a) => a.alertId)).toEqual(['a1', 'a2', 'a3']);
    expect(book.apply(alertEvent(alert('a4', 'acct-1', 3 * WINDOW_MS + 1)))).toEqual({
      kind: 'applied',
      caseId: 'case-a4',
      opened: true,
    });
    expect(book.apply(alertEvent(alert('a5', 'acct-2', 3 * WINDOW_MS + 1)))).toMatchObject({ caseId: 'case-a5' });
    expect(book.size).toBe(3);
  });

  it('given grouping by card, when two accounts alert on the same card, then one case holds both; without a card, the customer groups', () => {
    const book = new CaseBook();
    book.apply(alertEvent(alert('c1', 'acct-1', 0, { cardToken: 'tok-9' }), 'card'));
    book.apply(alertEvent(alert('c2', 'acct-2', 1, { cardToken: 'tok-9' }), 'card'));
    book.apply(alertEvent(alert('c3', 'acct-2', 2), 'card'));
    expect([...book.all()].map((c) => [c.groupKey, c.alerts.length])).toEqual([
      ['card:tok-9', 2],
      ['customer:acct-2', 1],
    ]);
  });

  it('given an alert already in a case, when it is delivered again, then nothing changes', () => {
    const { book } = oneCase();
    const before = book.get('case-a1');
    expect(book.apply(alertEvent(alert('a1', 'acct-1', 0)))).toEqual({ kind: 'duplicate', caseId: 'case-a1' });
    expect(book.get('case-a1')).toBe(before);
  });

  it('given a resolved case, when the customer alerts again within the window, then a new case opens', () => {
    const { book, caseId } = oneCase();
    book.apply(step(caseId, 'ASSIGN', 'user:ann', { assignee: 'user:ann' }));
    book.apply(resolve(caseId, 'user:ann', 'FRAUD'));
    expect(book.apply(alertEvent(alert('a2', 'acct-1', 1)))).toMatchObject({ caseId: 'case-a2', opened: true });
  });
});

describe('cases: states', () => {
  it('given an open case, when assigned, investigated by the assignee and resolved, then each step is in its history with the person', () => {
    const { book, caseId } = oneCase();
    expect(book.apply(step(caseId, 'ASSIGN', 'user:ann', { assignee: 'user:bob' })).kind).toBe('applied');
    expect(book.get(caseId)).toMatchObject({ state: 'assigned', assignee: 'user:bob' });
    // Only the assignee declares they investigate.
    expect(book.apply(step(caseId, 'INVESTIGATE', 'user:ann'))).toMatchObject({
      kind: 'refused',
      refusal: { code: 'CASE_ACTION_REFUSED' },
    });
    expect(book.apply(step(caseId, 'INVESTIGATE', 'user:bob')).kind).toBe('applied');
    expect(book.apply(step(caseId, 'NOTE', 'user:bob', { note: 'card used abroad' })).kind).toBe('applied');
    expect(book.apply(resolve(caseId, 'user:bob', 'FRAUD')).kind).toBe('applied');
    const c = book.get(caseId)!;
    expect([c.state, c.resolution, c.resolvedBy]).toEqual(['resolved', 'FRAUD', 'user:bob']);
    expect(c.history.map((h) => [h.action, h.by])).toEqual([
      ['ALERT', 'system'],
      ['ASSIGN', 'user:ann'],
      ['INVESTIGATE', 'user:bob'],
      ['NOTE', 'user:bob'],
      ['RESOLVE', 'user:bob'],
    ]);
  });

  it('given an open case, when resolved before anyone takes it, then it is refused', () => {
    const { book, caseId } = oneCase();
    expect(book.apply(resolve(caseId, 'user:ann', 'GENUINE'))).toMatchObject({ kind: 'refused' });
    expect(book.get(caseId)!.state).toBe('open');
  });

  it('given a step on an unknown case, then it is refused as not found', () => {
    expect(new CaseBook().apply(step('case-x', 'NOTE', 'user:ann', { note: 'x' }))).toMatchObject({
      refusal: { code: 'CASE_NOT_FOUND' },
    });
  });

  it('check answers what apply would, and changes nothing', () => {
    const { book, caseId } = oneCase();
    const assign = step(caseId, 'ASSIGN', 'user:ann', { assignee: 'user:ann' });
    expect(book.check(assign).kind).toBe('applied');
    expect(book.get(caseId)!.state).toBe('open');
  });
});

describe('cases: four-eyes release', () => {
  function pendingRelease(): { book: CaseBook; caseId: string } {
    const { book, caseId } = oneCase();
    book.apply(step(caseId, 'ASSIGN', 'user:ann', { assignee: 'user:ann' }));
    expect(book.apply(resolve(caseId, 'user:ann', 'GENUINE', true)).kind).toBe('applied');
    return { book, caseId };
  }

  it('given a release above the limit, when its requester approves it, then it is refused; when a second analyst does, it resolves genuine', () => {
    const { book, caseId } = pendingRelease();
    expect(book.get(caseId)).toMatchObject({ state: 'assigned', pendingRelease: { requestedBy: 'user:ann' } });
    expect(book.apply(step(caseId, 'APPROVE_RELEASE', 'user:ann'))).toEqual({
      kind: 'refused',
      refusal: {
        code: 'CASE_FOUR_EYES_SAME_PERSON',
        detail: 'user:ann asked for the release of case case-a1; a second analyst must approve it',
      },
    });
    expect(book.get(caseId)!.state).toBe('assigned');
    expect(book.apply(step(caseId, 'APPROVE_RELEASE', 'user:bob')).kind).toBe('applied');
    expect(book.get(caseId)).toMatchObject({
      state: 'resolved',
      resolution: 'GENUINE',
      resolvedBy: 'user:bob',
      pendingRelease: null,
    });
  });

  it('given a release waiting for approval, when a new alert joins, then the release is withdrawn and the approval refused', () => {
    const { book, caseId } = pendingRelease();
    book.apply(alertEvent(alert('a2', 'acct-1', 10)));
    expect(book.get(caseId)!.pendingRelease).toBeNull();
    expect(book.get(caseId)!.history.at(-1)).toMatchObject({ action: 'ALERT', withdrewRelease: true });
    expect(book.apply(step(caseId, 'APPROVE_RELEASE', 'user:bob'))).toMatchObject({ kind: 'refused' });
  });

  it('given a release waiting for approval, when its requester resolves genuine again with no limit crossed, then it is refused', () => {
    const { book, caseId } = pendingRelease();
    expect(book.apply(resolve(caseId, 'user:ann', 'GENUINE', false))).toMatchObject({
      refusal: { code: 'CASE_ACTION_REFUSED' },
    });
    expect(book.apply(resolve(caseId, 'user:ann', 'FRAUD')).kind).toBe('applied');
  });

  it('a GENUINE label on a held payment above the limit goes through its case until the case is resolved genuine', () => {
    const limits = new Map([['EUR', 1000n]]);
    const book = new CaseBook();
    book.apply(alertEvent(alert('big', 'acct-1', 0, { amountMinor: 5000n })));
    book.apply(alertEvent(alert('small', 'acct-1', 1, { amountMinor: 500n })));
    expect(releaseGoesThroughCase(book, 'tx-big', limits)?.caseId).toBe('case-big');
    // Below the limit, or not in any case: a plain label may release it.
    expect(releaseGoesThroughCase(book, 'tx-small', limits)).toBeUndefined();
    expect(releaseGoesThroughCase(book, 'tx-elsewhere', limits)).toBeUndefined();
    book.apply(step('case-big', 'ASSIGN', 'user:ann', { assignee: 'user:ann' }));
    book.apply(resolve('case-big', 'user:ann', 'GENUINE', true));
    expect(releaseGoesThroughCase(book, 'tx-big', limits)?.caseId).toBe('case-big');
    book.apply(step('case-big', 'APPROVE_RELEASE', 'user:bob'));
    expect(releaseGoesThroughCase(book, 'tx-big', limits)).toBeUndefined();
  });

  it('releaseNeedsApproval: a REVIEW strictly above its currency’s limit, or in a currency without one; DECLINEs hold nothing', () => {
    const limits = new Map([['EUR', 100_000n]]);
    const review = (amountMinor: bigint, currency = 'EUR') => ({ decision: 'REVIEW' as const, amountMinor, currency });
    expect(releaseNeedsApproval([review(100_000n)], limits)).toBe(false);
    expect(releaseNeedsApproval([review(100_001n)], limits)).toBe(true);
    expect(releaseNeedsApproval([review(1n, 'USD')], limits)).toBe(true);
    expect(releaseNeedsApproval([{ ...review(900_000n), decision: 'DECLINE' }], limits)).toBe(false);
  });
});

describe('cases: priority, age and SLA', () => {
  it('priority is risk (basis points) × amount (ten-thousandths of a major unit), exact beyond 2^53', () => {
    expect(alertPriority({ score: 0.5, amountMinor: 1234n, currency: 'EUR' })).toBe(5000n * 1234n * 100n);
    expect(alertPriority({ score: 0.5, amountMinor: 1234n, currency: 'JPY' })).toBe(5000n * 1234n * 10_000n);
    expect(alertPriority({ score: 1, amountMinor: 2n ** 62n, currency: 'EUR' })).toBe(10_000n * 2n ** 62n * 100n);
    const book = new CaseBook();
    book.apply(alertEvent(alert('p1', 'acct-1', 0, { score: 0.25, amountMinor: 400n })));
    book.apply(alertEvent(alert('p2', 'acct-1', 1, { score: 0.75, amountMinor: 100n })));
    expect(book.get('case-p1')!.priority).toBe((2500n * 400n + 7500n * 100n) * 100n);
  });

  it('a case is past its SLA once unresolved beyond it, and stays so if resolved late', () => {
    const { book, caseId } = oneCase();
    const c = book.get(caseId)!;
    expect(caseTiming(c, 10 * MINUTE, 10 * MINUTE)).toEqual({
      ageMs: 10 * MINUTE,
      slaDueMs: 10 * MINUTE,
      breached: false,
    });
    expect(caseTiming(c, 10 * MINUTE + 1, 10 * MINUTE).breached).toBe(true);
    const resolvedEarly: Case = { ...c, state: 'resolved', resolvedAtMs: 5 * MINUTE };
    expect(caseTiming(resolvedEarly, 60 * MINUTE, 10 * MINUTE)).toMatchObject({ ageMs: 5 * MINUTE, breached: false });
  });

  it('lists by priority or by age, filtered, in pages that together name every case once', () => {
    const book = new CaseBook();
    for (let i = 0; i < 7; i++)
      book.apply(alertEvent(alert(`l${i}`, `acct-${i}`, 100 - i, { amountMinor: BigInt(((i * 3) % 7) + 1) * 100n })));
    book.apply(step('case-l2', 'ASSIGN', 'user:ann', { assignee: 'user:ann' }));
    const pages = (sort: 'priority' | 'age'): string[][] => {
      const out: string[][] = [];
      let after: string | undefined;
      for (;;) {
        const page = listCases(book, { sort, limit: 3, after });
        out.push(page.cases.map((c) => c.caseId));
        if (page.next === null) return out;
        after = page.next;
      }
    };
    const byPriority = [...book.all()].sort((a, b) => (a.priority > b.priority ? -1 : 1)).map((c) => c.caseId);
    expect(pages('priority').flat()).toEqual(byPriority);
    expect(pages('priority').map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages('age').flat()).toEqual(['case-l6', 'case-l5', 'case-l4', 'case-l3', 'case-l2', 'case-l1', 'case-l0']);
    expect(listCases(book, { sort: 'age', limit: 10, assignee: 'user:ann' }).cases.map((c) => c.caseId)).toEqual([
      'case-l2',
    ]);
    expect(listCases(book, { sort: 'age', limit: 10, state: 'open' }).cases).toHaveLength(6);
    book.apply(resolve('case-l2', 'user:ann', 'ESCALATED'));
    expect(listCases(book, { sort: 'age', limit: 10, state: 'unresolved' }).cases).toHaveLength(6);
    expect(listCases(book, { sort: 'age', limit: 10, state: 'resolved' }).cases.map((c) => c.caseId)).toEqual([
      'case-l2',
    ]);
  });
});

// ---- Properties: random steps by a few people on a few cases.

const people = ['user:ann', 'user:bob', 'user:cy'] as const;
const caseIds = ['case-a1', 'case-a2'] as const;

const arbitraryStep: fc.Arbitrary<CaseEvent> = fc
  .record({
    caseId: fc.constantFrom(...caseIds),
    actor: fc.constantFrom(...people),
    kind: fc.constantFrom('ASSIGN', 'NOTE', 'INVESTIGATE', 'RESOLVE', 'APPROVE_RELEASE', 'ALERT'),
    assignee: fc.constantFrom(...people),
    resolution: fc.constantFrom('FRAUD', 'GENUINE', 'ESCALATED'),
    needsApproval: fc.boolean(),
    alertNo: fc.integer({ min: 1, max: 6 }),
  })
  .map((s): CaseEvent => {
    if (s.kind === 'ALERT') return alertEvent(alert(`a${s.alertNo}`, `acct-${s.caseId.slice(-1)}`, s.alertNo));
    if (s.kind === 'RESOLVE') return resolve(s.caseId, s.actor, s.resolution, s.needsApproval);
    return step(s.caseId, s.kind, s.actor, { assignee: s.assignee, note: 'n' });
  });

/** Every case of `book` after each step, in order. */
function snapshots(steps: readonly CaseEvent[]): Array<Map<string, Case>> {
  const book = new CaseBook();
  book.apply(alertEvent(alert('a1', 'acct-1', 0)));
  book.apply(alertEvent(alert('a2', 'acct-2', 0)));
  return steps.map((event) => {
    book.apply(event);
    return new Map([...book.all()].map((c) => [c.caseId, c]));
  });
}

/** Cases that left `resolved` or changed their resolution between two consecutive snapshots. */
function resolvedIsFinalViolations(history: ReadonlyArray<ReadonlyMap<string, Case>>): string[] {
  const violations: string[] = [];
  for (let i = 1; i < history.length; i++) {
    for (const [id, before] of history[i - 1]!) {
      const after = history[i]!.get(id);
      if (before.state !== 'resolved') continue;
      if (after?.state !== 'resolved' || after.resolution !== before.resolution || after.alerts !== before.alerts)
        violations.push(`${id} moved out of resolved at step ${i}`);
    }
  }
  return violations;
}

/** GENUINE resolutions whose four-eyes release was approved by the person who asked for it. */
function fourEyesViolations(cases: Iterable<Case>): string[] {
  const violations: string[] = [];
  for (const c of cases) {
    if (c.resolution !== 'GENUINE') continue;
    const approval = c.history.findLast((h) => h.action === 'APPROVE_RELEASE');
    if (approval === undefined) continue;
    const asked = c.history.slice(0, c.history.indexOf(approval)).findLast((h) => h.awaitsApproval);
    if (asked === undefined || asked.by === approval.by)
      violations.push(`${c.caseId} released by ${approval.by} alone`);
  }
  return violations;
}

/** Cases resolved GENUINE by an approval of their release (with one person acting, there must be none). */
function releasedByApproval(cases: Iterable<Case>): string[] {
  return [...cases]
    .filter(
      (c) =>
        c.resolution === 'GENUINE' && c.history.findLast((h) => h.resolution !== null)?.action === 'APPROVE_RELEASE',
    )
    .map((c) => c.caseId);
}

describe('cases: properties over random steps', () => {
  it('no step takes a case out of resolved (and the check catches a planted one)', () => {
    fc.assert(
      fc.property(fc.array(arbitraryStep, { maxLength: 40 }), (steps) => {
        expect(resolvedIsFinalViolations(snapshots(steps))).toEqual([]);
      }),
      { numRuns: 300 },
    );
    // Negative control: a fold that reopened a resolved case.
    const { book, caseId } = oneCase();
    book.apply(step(caseId, 'ASSIGN', 'user:ann', { assignee: 'user:ann' }));
    book.apply(resolve(caseId, 'user:ann', 'FRAUD'));
    const resolved = book.get(caseId)!;
    const reopened: Case = { ...resolved, state: 'assigned', resolution: null };
    expect(resolvedIsFinalViolations([new Map([[caseId, resolved]]), new Map([[caseId, reopened]])])).toEqual([
      'case-a1 moved out of resolved at step 1',
    ]);
  });

  it('four-eyes is never satisfied by one person (and the check catches a planted self-approval)', () => {
    fc.assert(
      fc.property(fc.array(arbitraryStep, { maxLength: 40 }), (steps) => {
        const last = snapshots(steps).at(-1) ?? new Map<string, Case>();
        expect(fourEyesViolations(last.values())).toEqual([]);
      }),
      { numRuns: 300 },
    );
    // And when every step is one person's, no release is ever approved.
    fc.assert(
      fc.property(fc.array(arbitraryStep, { maxLength: 40 }), (steps) => {
        const alone = steps.map((s) => (s.action === 'ALERT' ? s : { ...s, actor: 'user:ann' }));
        const last = snapshots(alone).at(-1) ?? new Map<string, Case>();
        expect(releasedByApproval(last.values())).toEqual([]);
      }),
      { numRuns: 300 },
    );
    // Negative control: a case whose history shows the requester approving their own release.
    const { book, caseId } = oneCase();
    book.apply(step(caseId, 'ASSIGN', 'user:ann', { assignee: 'user:ann' }));
    book.apply(resolve(caseId, 'user:ann', 'GENUINE', true));
    const pending = book.get(caseId)!;
    const selfApproved: Case = {
      ...pending,
      state: 'resolved',
      resolution: 'GENUINE',
      history: [...pending.history, { ...pending.history.at(-1)!, action: 'APPROVE_RELEASE', awaitsApproval: false }],
    };
    expect(fourEyesViolations([selfApproved])).toEqual(['case-a1 released by user:ann alone']);
    expect(releasedByApproval([selfApproved])).toEqual(['case-a1']);
  });
});
