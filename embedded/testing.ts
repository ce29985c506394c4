import type { AuditTrail, LedgerIntegrity } from '../schemas/api.js';

/**
 * Helpers for tests that drive a running pipeline over HTTP: bounded waits on conditions, an API client, and the
 * ledger invariants every run must keep.
 */

/** Polls `probe` until it returns a value other than undefined; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
      );
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
}

export function apiClient(baseUrl: string, key: string) {
  const call = async <T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<ApiResponse<T>> => {
    const response = await fetch(baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': contentType }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  };
  return {
    get: <T>(path: string) => call<T>('GET', path),
    post: <T>(path: string, body: unknown, contentType?: string) => call<T>('POST', path, body, contentType),
  };
}

/** What a run of the pipeline must have left in the ledger. */
export interface LedgerExpectation {
  /** Distinct transactions accepted; each must be decided exactly once. */
  readonly transactions: number;
  /** The ids the alert list shows as DECLINE: exactly these are unpostable. */
  readonly declined: ReadonlySet<string>;
}

const OUTCOMES: ReadonlySet<unknown> = new Set(['APPROVE', 'REVIEW', 'DECLINE']);

/**
 * The invariants of a pipeline run, checked on the ledger-integrity report and on audit trails as the API served
 * them (untrusted JSON: a renamed field is a violation, not a skipped check). Returns one line per violation, empty
 * when the ledger is exact: every transaction decided once; every APPROVE/REVIEW posted, each entry once, balanced
 * per currency; no DECLINE posted; and every declined id among `trails`. Pure, so each check can be shown to fail
 * on planted input (testing.test.ts).
 */
export function ledgerInvariantViolations(
  integrity: LedgerIntegrity,
  trails: readonly AuditTrail[],
  expected: LedgerExpectation,
): string[] {
  const violations: string[] = [];
  const postable = expected.transactions - expected.declined.size;
  const counters: Array<[Exclude<keyof LedgerIntegrity, 'totalsByCurrency'>, number]> = [
    ['decisionRows', expected.transactions],
    ['distinctDecisions', expected.transactions],
    ['postableDecisions', postable],
    ['postedTransactions', postable],
    ['duplicateEntries', 0],
    ['unbalancedTransactions', 0],
    ['declinedWithEntries', 0],
    ['decisionsWithoutEntries', 0],
    ['entriesWithoutDecisions', 0],
    ['conflicts', 0],
  ];
  for (const [name, want] of counters)
    if (integrity[name] !== want) violations.push(`integrity.${name} is ${integrity[name]}, expected ${want}`);
  for (const total of integrity.totalsByCurrency)
    if (total.sumMinor !== '0')
      violations.push(`the ledger's ${total.currency} entries sum to ${total.sumMinor}, not 0`);

  const declinedSeen = new Set<string>();
  for (const trail of trails) {
    const id = trail.transactionId;
    const outcome: unknown = (trail.decision as Partial<AuditTrail['decision']> | undefined)?.outcome;
    if (!OUTCOMES.has(outcome)) {
      violations.push(`${id}: decision.outcome is ${JSON.stringify(outcome)}, not APPROVE, REVIEW or DECLINE`);
      continue;
    }
    if (trail.decisionRecords !== 1) violations.push(`${id}: ${trail.decisionRecords} decision records, expected 1`);
    const entries = trail.ledgerEntries;
    const entryIds = new Set(entries.map((e) => e.entryId));
    if (entryIds.size !== entries.length) violations.push(`${id}: an entry is stored more than once`);
    const sums = new Map<string, bigint>();
    for (const e of entries)
      sums.set(e.amount.currency, (sums.get(e.amount.currency) ?? 0n) + BigInt(e.amount.amountMinor));
    for (const [currency, sum] of sums) if (sum !== 0n) violations.push(`${id}: ${currency} legs sum to ${sum}, not 0`);
    const isDeclined = outcome === 'DECLINE';
    if (isDeclined !== expected.declined.has(id))
      violations.push(`${id}: outcome ${String(outcome)} disagrees with the alert list`);
    if (isDeclined) {
      declinedSeen.add(id);
      if (entries.length > 0) violations.push(`${id}: declined but posted ${entries.length} entries`);
    } else if (entries.length === 0) violations.push(`${id}: ${String(outcome)} but posted nothing`);
  }
  for (const id of expected.declined)
    if (!declinedSeen.has(id)) violations.push(`${id}: declined, but its audit trail was not checked`);
  return violations;
}
