import type { AnalystLabel, TransactionKind } from '../../schemas/generated/types.js';
import type { Hold, HoldResolutionRecord, TransactionLedger, Verdict } from '../domain/holds.js';
import type { StoredFingerprints } from '../domain/idempotency.js';
import type { ConflictRecord, DecisionRecord, LedgerStore, PostedEntry, StoredAccountBalance } from '../ports.js';

/**
 * Where a ledger-sink process dies within one batch (fault 4): before any of the batch's inserts reaches the store,
 * after the first insert with rows has landed and before the next one starts, or after the whole batch was handled
 * and before the bus commits it (fault 3: a consumer crash after processing, before commit).
 */
export const CrashWindows = ['before-insert', 'mid-insert', 'before-commit'] as const;
export type CrashWindow = (typeof CrashWindows)[number];

/** Which insert calls of the armed batch reached the store and which were held, by method and row count. */
export interface InsertCalls {
  readonly landed: ReadonlyArray<{ readonly method: InsertMethod; readonly rows: number }>;
  readonly held: ReadonlyArray<{ readonly method: InsertMethod; readonly rows: number }>;
}

type InsertMethod = Extract<keyof LedgerStore, `insert${string}`>;

/**
 * A {@link LedgerStore} decorator that ends the process inside a batch's inserts, so a test finds on restart exactly
 * what a real crash leaves there — no hook in production code. {@link arm} picks the window for the next insert:
 * `before-insert` calls `die` at the first insert call with rows, before it reaches the store; `mid-insert` lets that
 * first call land, holds every other insert call (they never reach the store) and calls `die` once the first one
 * resolved. ledger-writer.ts starts a batch's four inserts together, so "mid-insert" means: one table written, the
 * others not. Calls without rows write nothing and go through.
 */
export class CrashWindowStore implements LedgerStore {
  private armed: Exclude<CrashWindow, 'before-commit'> | undefined;
  private readonly landed: Array<{ method: InsertMethod; rows: number }> = [];
  private readonly held: Array<{ method: InsertMethod; rows: number }> = [];

  /**
   * `die` must not return (the entry script SIGKILLs its own process); it is handed what reached the store.
   * `forgetStored` is the negative control: every look-up answers that nothing is stored, so a redelivered batch is
   * written again — over a store with plain inserts (`insertOnce: false`), since the insert-once statements alone
   * would still skip the stored rows and hide the double posting.
   */
  constructor(
    private readonly inner: LedgerStore,
    private readonly die: (calls: InsertCalls) => never,
    private readonly forgetStored = false,
  ) {}

  /** The next insert call with rows starts the window. */
  arm(window: Exclude<CrashWindow, 'before-commit'>): void {
    this.armed = window;
  }

  ensureSchema(): Promise<void> {
    return this.inner.ensureSchema();
  }
  storedFingerprints(transactionIds: readonly string[]): Promise<StoredFingerprints> {
    if (this.forgetStored)
      return Promise.resolve({
        ledger: new Map(),
        decisions: new Map(),
        decidedAs: new Map(),
        held: new Set<string>(),
        labelled: new Set<string>(),
        unposted: new Set<string>(),
      });
    return this.inner.storedFingerprints(transactionIds);
  }
  recordedConflicts(transactionIds: readonly string[]): Promise<ReadonlySet<string>> {
    return this.inner.recordedConflicts(transactionIds);
  }
  storedLabels(transactionIds: readonly string[]): Promise<readonly Verdict[]> {
    return this.inner.storedLabels(transactionIds);
  }
  transactionLedgers(transactionIds: readonly string[]): Promise<ReadonlyMap<string, TransactionLedger>> {
    return this.inner.transactionLedgers(transactionIds);
  }
  accountBalances(accountIds: readonly string[]): Promise<readonly StoredAccountBalance[]> {
    return this.inner.accountBalances(accountIds);
  }
  transactionKinds(transactionIds: readonly string[]): Promise<ReadonlyMap<string, TransactionKind>> {
    return this.inner.transactionKinds(transactionIds);
  }
  expiredHolds(nowMs: number, limit: number): Promise<readonly string[]> {
    return this.inner.expiredHolds(nowMs, limit);
  }
  insertEntries(entries: readonly PostedEntry[]): Promise<void> {
    return this.insert('insertEntries', entries.length, () => this.inner.insertEntries(entries));
  }
  insertHolds(holds: readonly Hold[]): Promise<void> {
    // A hold's legs are its rows, as ledger_holds stores them.
    const rows = holds.reduce((sum, hold) => sum + hold.legs.length, 0);
    return this.insert('insertHolds', rows, () => this.inner.insertHolds(holds));
  }
  insertHoldResolutions(resolutions: readonly HoldResolutionRecord[]): Promise<void> {
    return this.insert('insertHoldResolutions', resolutions.length, () =>
      this.inner.insertHoldResolutions(resolutions),
    );
  }
  insertDecisions(records: readonly DecisionRecord[]): Promise<void> {
    return this.insert('insertDecisions', records.length, () => this.inner.insertDecisions(records));
  }
  insertConflicts(conflicts: readonly ConflictRecord[]): Promise<void> {
    return this.insert('insertConflicts', conflicts.length, () => this.inner.insertConflicts(conflicts));
  }
  insertLabels(labels: readonly AnalystLabel[]): Promise<void> {
    return this.insert('insertLabels', labels.length, () => this.inner.insertLabels(labels));
  }

  private async insert(method: InsertMethod, rows: number, write: () => Promise<void>): Promise<void> {
    if (this.armed === undefined || rows === 0) return write();
    if (this.armed === 'before-insert') this.die(this.calls({ method, rows }));
    if (this.landed.length > 0) {
      this.held.push({ method, rows });
      // Never settles: the process dies when the landing insert resolves, and this call must not reach the store.
      return new Promise<void>(() => undefined);
    }
    this.landed.push({ method, rows });
    await write();
    this.die(this.calls());
  }

  private calls(heldToo?: { method: InsertMethod; rows: number }): InsertCalls {
    return { landed: [...this.landed], held: heldToo === undefined ? [...this.held] : [...this.held, heldToo] };
  }
}
