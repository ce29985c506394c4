import type { ErrorCode } from '../../platform/error-codes.js';
import { currencyExponent } from '../../schemas/currencies.js';
import type { CaseAction, CaseAlert, CaseEvent, CaseResolution } from '../../schemas/generated/types.js';

/**
 * Analysts' cases, folded from their steps (Topics.caseEvents) — pure, so every dashboards process that folds the
 * same log in the same order holds the same cases, and the rules can be specified on plain data.
 *
 * A case moves `open → assigned → investigating → resolved`; once resolved it never moves again (notes may still be
 * added). Every REVIEW or DECLINE alert joins the unresolved case of its group (customer or card) whose last alert was
 * raised within the window the alert carries, or opens one. Resolving GENUINE releases held payments: when one is above
 * the four-eyes limit of its currency, the case waits for a second person's APPROVE_RELEASE and only then resolves.
 */

export const CaseState = {
  open: 'open',
  assigned: 'assigned',
  investigating: 'investigating',
  resolved: 'resolved',
} as const;
export type CaseState = (typeof CaseState)[keyof typeof CaseState];

/** One applied step, as the case's history shows it. */
export interface CaseHistoryEntry {
  readonly eventId: string;
  readonly action: CaseAction;
  /** The principal id that took the step; `system` for alerts. */
  readonly by: string;
  readonly byName: string | null;
  readonly atMs: number;
  readonly alertId: string | null;
  readonly assignee: string | null;
  readonly note: string | null;
  readonly resolution: CaseResolution | null;
  /** RESOLVE GENUINE: the release waits for a second person's approval. */
  readonly awaitsApproval: boolean;
  /** ALERT: a new alert withdrew a release that waited for approval (the approval covered fewer payments). */
  readonly withdrewRelease: boolean;
}

/** A release of held payments asked for and not yet approved. */
export interface PendingRelease {
  readonly requestedBy: string;
  readonly requestedByName: string | null;
  readonly requestedAtMs: number;
  readonly note: string | null;
}

export interface Case {
  readonly caseId: string;
  readonly groupKey: string;
  readonly state: CaseState;
  readonly resolution: CaseResolution | null;
  readonly assignee: string | null;
  readonly openedAtMs: number;
  readonly lastAlertRaisedAtMs: number;
  readonly updatedAtMs: number;
  readonly resolvedAtMs: number | null;
  /** Who resolved it; for a four-eyes release, the approver (the requester is in `history`). */
  readonly resolvedBy: string | null;
  readonly alerts: readonly CaseAlert[];
  readonly pendingRelease: PendingRelease | null;
  readonly history: readonly CaseHistoryEntry[];
  /** Sum over alerts of risk (basis points of the score) × amount (ten-thousandths of a major unit). */
  readonly priority: bigint;
}

/** Why a step changes nothing: a stable error code and a sentence for the person who asked. */
export interface CaseRefusal {
  readonly code: Extract<ErrorCode, 'CASE_NOT_FOUND' | 'CASE_ACTION_REFUSED' | 'CASE_FOUR_EYES_SAME_PERSON'>;
  readonly detail: string;
}

/** What folding one step did. */
export type StepOutcome =
  | { readonly kind: 'applied'; readonly caseId: string; readonly opened: boolean }
  /** An ALERT already in a case (a redelivered alert): nothing changes. */
  | { readonly kind: 'duplicate'; readonly caseId: string }
  | { readonly kind: 'refused'; readonly refusal: CaseRefusal };

const refused = (code: CaseRefusal['code'], detail: string): StepOutcome => ({
  kind: 'refused',
  refusal: { code, detail },
});

/** The scale amounts are brought to before they are compared across currencies: ten-thousandths of a major unit. */
const PRIORITY_AMOUNT_EXPONENT = 4;

/**
 * One alert's weight in its case's priority: risk × amount, exact. Risk is the score in basis points (0–10000);
 * the amount is brought to ten-thousandths of a major unit so a yen and a euro amount weigh by their major units
 * (no exchange rates: a case's priority orders a queue, it is not a value in any currency).
 */
export function alertPriority(alert: Pick<CaseAlert, 'score' | 'amountMinor' | 'currency'>): bigint {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(alert.score) ? alert.score : 0));
  const riskBasisPoints = BigInt(Math.round(clamped * 10_000));
  const exponent = currencyExponent(alert.currency) ?? 2;
  const amount = alert.amountMinor < 0n ? -alert.amountMinor : alert.amountMinor;
  return riskBasisPoints * amount * 10n ** BigInt(PRIORITY_AMOUNT_EXPONENT - exponent);
}

/**
 * Whether releasing `alerts` (resolving their case GENUINE, which books their holds) needs a second person: a REVIEW
 * (the decision that holds a payment) above the limit of its currency, or in a currency without a limit (fail safe).
 */
export function releaseNeedsApproval(
  alerts: readonly Pick<CaseAlert, 'decision' | 'amountMinor' | 'currency'>[],
  limits: ReadonlyMap<string, bigint>,
): boolean {
  return alerts.some((alert) => {
    if (alert.decision !== 'REVIEW') return false;
    const limit = limits.get(alert.currency);
    return limit === undefined || alert.amountMinor > limit;
  });
}

/**
 * The case through which a GENUINE verdict on `transactionId` must go, or undefined when a plain label may give it: a
 * label that books a held payment above the four-eyes limit would otherwise release it without a second analyst. Once
 * the case is resolved GENUINE (approved), a label repeats its verdict and may go directly.
 */
export function releaseGoesThroughCase(
  book: CaseBook,
  transactionId: string,
  limits: ReadonlyMap<string, bigint>,
): Case | undefined {
  const c = book.caseWithTransaction(transactionId);
  if (c === undefined || c.resolution === 'GENUINE') return undefined;
  const held = c.alerts.filter((a) => a.transactionId === transactionId);
  return releaseNeedsApproval(held, limits) ? c : undefined;
}

/** How long a case has been (or was) open, and whether it went past its SLA unresolved. */
export function caseTiming(
  c: Case,
  nowMs: number,
  slaMs: number,
): { ageMs: number; slaDueMs: number; breached: boolean } {
  const endMs = c.resolvedAtMs ?? nowMs;
  const slaDueMs = c.openedAtMs + slaMs;
  return { ageMs: Math.max(0, endMs - c.openedAtMs), slaDueMs, breached: endMs > slaDueMs };
}

/** The case id an alert opens when it joins none: derived from its alert id, so a redelivery names the same case. */
export function caseIdForAlert(alertId: string): string {
  return `case-${alertId}`;
}

/** What groups an alert into a case: its card when grouping by card and it has one, else its customer (payer). */
export function groupKeyOf(
  alert: Pick<CaseAlert, 'payerAccountId' | 'cardToken'>,
  groupBy: 'customer' | 'card',
): string {
  return groupBy === 'card' && alert.cardToken !== null
    ? `card:${alert.cardToken}`
    : `customer:${alert.payerAccountId}`;
}

/**
 * Every case, folded from the steps in log order. Deterministic: the same steps in the same order give the same
 * cases and the same outcomes. {@link check} runs the rules of {@link apply} without changing anything, so a writer can
 * refuse a step up front with the answer the fold would give.
 */
export class CaseBook {
  private readonly cases = new Map<string, Case>();
  /** The unresolved case of each group key. */
  private readonly openByGroup = new Map<string, string>();
  private readonly caseOfAlert = new Map<string, string>();
  private readonly caseOfTransaction = new Map<string, string>();

  get size(): number {
    return this.cases.size;
  }

  get(caseId: string): Case | undefined {
    return this.cases.get(caseId);
  }

  all(): IterableIterator<Case> {
    return this.cases.values();
  }

  /** The case an alert on `transactionId` joined, if any. */
  caseWithTransaction(transactionId: string): Case | undefined {
    const caseId = this.caseOfTransaction.get(transactionId);
    return caseId === undefined ? undefined : this.cases.get(caseId);
  }

  /** What {@link apply} would do with `event`, without doing it. */
  check(event: CaseEvent): StepOutcome {
    return this.step(event).outcome;
  }

  /** Folds one step; a refused or duplicate step changes nothing. */
  apply(event: CaseEvent): StepOutcome {
    const { outcome, next } = this.step(event);
    if (next === undefined) return outcome;
    const previous = this.cases.get(next.caseId);
    this.cases.set(next.caseId, next);
    if (event.action === 'ALERT' && event.alert !== null) {
      this.caseOfAlert.set(event.alert.alertId, next.caseId);
      this.caseOfTransaction.set(event.alert.transactionId, next.caseId);
    }
    if (next.state === CaseState.resolved) {
      if (this.openByGroup.get(next.groupKey) === next.caseId) this.openByGroup.delete(next.groupKey);
    } else if (previous === undefined) {
      this.openByGroup.set(next.groupKey, next.caseId);
    }
    return outcome;
  }

  private step(event: CaseEvent): { outcome: StepOutcome; next?: Case } {
    if (event.action === 'ALERT') return this.alertStep(event);
    const current = this.cases.get(event.caseId);
    if (current === undefined) return { outcome: refused('CASE_NOT_FOUND', `no case ${event.caseId}`) };
    const result = actionStep(current, event);
    if ('refusal' in result) return { outcome: { kind: 'refused', refusal: result.refusal } };
    return { outcome: { kind: 'applied', caseId: current.caseId, opened: false }, next: result.next };
  }

  private alertStep(event: CaseEvent): { outcome: StepOutcome; next?: Case } {
    const { alert, groupKey, joinWithinMs } = event;
    if (alert === null || groupKey === null)
      return { outcome: refused('CASE_ACTION_REFUSED', 'an ALERT step carries no alert or group key') };
    const known = this.caseOfAlert.get(alert.alertId);
    if (known !== undefined) return { outcome: { kind: 'duplicate', caseId: known } };
    const history = entry(event, { alertId: alert.alertId });
    const openId = this.openByGroup.get(groupKey);
    const open = openId === undefined ? undefined : this.cases.get(openId);
    const withinMs = joinWithinMs === null ? 0 : Number(joinWithinMs);
    if (open !== undefined && alert.raisedAtMs - open.lastAlertRaisedAtMs <= withinMs) {
      const alerts = [...open.alerts, alert];
      const withdrew = open.pendingRelease !== null;
      return {
        outcome: { kind: 'applied', caseId: open.caseId, opened: false },
        next: {
          ...open,
          alerts,
          lastAlertRaisedAtMs: Math.max(open.lastAlertRaisedAtMs, alert.raisedAtMs),
          updatedAtMs: event.atMs,
          pendingRelease: null,
          priority: open.priority + alertPriority(alert),
          history: [...open.history, { ...history, withdrewRelease: withdrew }],
        },
      };
    }
    if (this.cases.has(event.caseId))
      return { outcome: refused('CASE_ACTION_REFUSED', `case ${event.caseId} exists; an alert cannot open it again`) };
    return {
      outcome: { kind: 'applied', caseId: event.caseId, opened: true },
      next: {
        caseId: event.caseId,
        groupKey,
        state: CaseState.open,
        resolution: null,
        assignee: null,
        openedAtMs: event.atMs,
        lastAlertRaisedAtMs: alert.raisedAtMs,
        updatedAtMs: event.atMs,
        resolvedAtMs: null,
        resolvedBy: null,
        alerts: [alert],
        pendingRelease: null,
        history: [history],
        priority: alertPriority(alert),
      },
    };
  }
}

/** The rules of every action but ALERT: the next case, or why the action changes nothing. */
function actionStep(c: Case, event: CaseEvent): { next: Case } | { refusal: CaseRefusal } {
  const refuse = (code: CaseRefusal['code'], detail: string) => ({ refusal: { code, detail } });
  const touched = (changes: Partial<Case>, detail: Partial<CaseHistoryEntry> = {}): { next: Case } => ({
    next: { ...c, ...changes, updatedAtMs: event.atMs, history: [...c.history, entry(event, detail)] },
  });
  if (event.action === 'NOTE') {
    if (event.note === null || event.note === '') return refuse('CASE_ACTION_REFUSED', 'a note needs text');
    return touched({}, { note: event.note });
  }
  if (c.state === CaseState.resolved)
    return refuse('CASE_ACTION_REFUSED', `case ${c.caseId} is resolved (${c.resolution}); it takes notes only`);
  switch (event.action) {
    case 'ASSIGN': {
      if (event.assignee === null || event.assignee === '')
        return refuse('CASE_ACTION_REFUSED', 'an assignment names the analyst');
      // Whoever takes a case over starts from `assigned`: investigating is the assignee's own declaration.
      return touched({ assignee: event.assignee, state: CaseState.assigned }, { assignee: event.assignee });
    }
    case 'INVESTIGATE': {
      if (c.state !== CaseState.assigned)
        return refuse(
          'CASE_ACTION_REFUSED',
          `case ${c.caseId} is ${c.state}; only an assigned case can be investigated`,
        );
      if (c.assignee !== event.actor)
        return refuse('CASE_ACTION_REFUSED', `case ${c.caseId} is assigned to ${c.assignee}; only they investigate it`);
      return touched({ state: CaseState.investigating });
    }
    case 'RESOLVE': {
      if (c.state === CaseState.open)
        return refuse('CASE_ACTION_REFUSED', `case ${c.caseId} is open; assign it before resolving it`);
      if (event.resolution === null) return refuse('CASE_ACTION_REFUSED', 'a resolution names its outcome');
      // A release waiting for approval is approved or withdrawn (by an alert, or a fraud or escalated resolution),
      // never overtaken by another release, whatever that one's own limit check said.
      if (event.resolution === 'GENUINE' && c.pendingRelease !== null)
        return refuse('CASE_ACTION_REFUSED', `the release of case ${c.caseId} already waits for approval`);
      if (event.resolution === 'GENUINE' && event.releaseNeedsApproval === true) {
        return touched(
          {
            pendingRelease: {
              requestedBy: event.actor,
              requestedByName: event.actorName,
              requestedAtMs: event.atMs,
              note: event.note,
            },
          },
          { resolution: event.resolution, note: event.note, awaitsApproval: true },
        );
      }
      return touched(
        {
          state: CaseState.resolved,
          resolution: event.resolution,
          resolvedAtMs: event.atMs,
          resolvedBy: event.actor,
          pendingRelease: null,
        },
        { resolution: event.resolution, note: event.note },
      );
    }
    case 'APPROVE_RELEASE': {
      const pending = c.pendingRelease;
      if (pending === null)
        return refuse('CASE_ACTION_REFUSED', `case ${c.caseId} has no release waiting for approval`);
      if (pending.requestedBy === event.actor)
        return refuse(
          'CASE_FOUR_EYES_SAME_PERSON',
          `${event.actor} asked for the release of case ${c.caseId}; a second analyst must approve it`,
        );
      return touched(
        {
          state: CaseState.resolved,
          resolution: 'GENUINE',
          resolvedAtMs: event.atMs,
          resolvedBy: event.actor,
          pendingRelease: null,
        },
        { resolution: 'GENUINE', note: event.note },
      );
    }
    default:
      return refuse('CASE_ACTION_REFUSED', `unknown action ${event.action}`);
  }
}

function entry(event: CaseEvent, detail: Partial<CaseHistoryEntry>): CaseHistoryEntry {
  return {
    eventId: event.eventId,
    action: event.action,
    by: event.actor,
    byName: event.actorName,
    atMs: event.atMs,
    alertId: null,
    assignee: null,
    note: null,
    resolution: null,
    awaitsApproval: false,
    withdrewRelease: false,
    ...detail,
  };
}

export type CaseSort = 'priority' | 'age';

export interface CaseListQuery {
  /** One state, or `unresolved` for open, assigned and investigating together. */
  readonly state?: CaseState | 'unresolved' | undefined;
  /** A principal id; `none` lists unassigned cases. */
  readonly assignee?: string | undefined;
  readonly sort: CaseSort;
  readonly limit: number;
  /** The `next` of the page before. */
  readonly after?: string | undefined;
}

/**
 * One page of cases, filtered and sorted: by priority (highest first) or by age (oldest first), ties by case id.
 * Keyset-paged: `next` names the last case's sort key, so a case that changes between pages is not listed twice
 * unless its key moved past the cursor.
 */
export function listCases(book: CaseBook, query: CaseListQuery): { cases: Case[]; next: string | null } {
  const keyOf = (c: Case): string =>
    query.sort === 'priority' ? `${c.priority}/${c.caseId}` : `${c.openedAtMs}/${c.caseId}`;
  const compare = (a: SortKey, b: SortKey): number => {
    if (query.sort === 'priority') {
      if (a.priority !== b.priority) return a.priority > b.priority ? -1 : 1;
    } else if (a.openedAtMs !== b.openedAtMs) return a.openedAtMs - b.openedAtMs;
    return a.caseId < b.caseId ? -1 : a.caseId > b.caseId ? 1 : 0;
  };
  const matching = [...book.all()].filter(
    (c) =>
      (query.state === undefined ||
        c.state === query.state ||
        (query.state === 'unresolved' && c.state !== CaseState.resolved)) &&
      (query.assignee === undefined ||
        (query.assignee === 'none' ? c.assignee === null : c.assignee === query.assignee)),
  );
  matching.sort(compare);
  let start = 0;
  if (query.after !== undefined) {
    const cursor = parseListCursor(query.after, query.sort);
    start = matching.findIndex((c) => compare(c, cursor) > 0);
    if (start < 0) start = matching.length;
  }
  const page = matching.slice(start, start + query.limit);
  const last = page.at(-1);
  return { cases: page, next: last !== undefined && start + query.limit < matching.length ? keyOf(last) : null };
}

/** What cases are sorted by. */
type SortKey = Pick<Case, 'caseId' | 'priority' | 'openedAtMs'>;

/** The sort key a cursor names; throws RangeError on a malformed cursor. */
function parseListCursor(cursor: string, sort: CaseSort): SortKey {
  const slash = cursor.indexOf('/');
  const key = cursor.slice(0, slash);
  if (slash < 1 || !/^\d+$/.test(key)) throw new RangeError(`cursor ${cursor} is not one this list gave`);
  const caseId = cursor.slice(slash + 1);
  return {
    caseId,
    priority: sort === 'priority' ? BigInt(key) : 0n,
    openedAtMs: sort === 'age' ? Number(key) : 0,
  };
}
