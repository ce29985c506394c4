import { UnavailableError } from '../../platform/errors.js';
import type { AnalystLabel, TransactionKind } from '../../schemas/generated/types.js';
import type { Hold, HoldResolutionRecord, TransactionLedger, Verdict } from '../domain/holds.js';
import type { StoredFingerprints } from '../domain/idempotency.js';
import type { ConflictRecord, DecisionRecord, LedgerStore, PostedEntry, StoredAccountBalance } from '../ports.js';

/**
 * A {@link LedgerStore} decorator that turns a real store into one that is down on command (fault 8 of the
 * suite: "ClickHouse errors for 60 s"). While the outage is on, every call is refused before it reaches the
 * inner store, with the retriable error the real adapter raises when ClickHouse does not answer; otherwise
 * every call goes through unchanged. The test drives the switch, so how long the outage lasts is the test's
 * choice and nothing here depends on a clock.
 *
 * Each refused call is recorded with the time it was refused (epoch ms from `nowMs`), which is what the
 * backoff check counts.
 */
export class OutageLedgerStore implements LedgerStore {
  private down = false;
  private readonly refused: number[] = [];

  constructor(
    private readonly inner: LedgerStore,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Every later call is refused until {@link endOutage}. */
  startOutage(): void {
    this.down = true;
  }

  endOutage(): void {
    this.down = false;
  }

  get isDown(): boolean {
    return this.down;
  }

  /** When each refused call came in (epoch ms), in order. */
  refusedCallTimes(): readonly number[] {
    return this.refused;
  }

  ensureSchema(): Promise<void> {
    return this.guard(() => this.inner.ensureSchema());
  }
  storedFingerprints(transactionIds: readonly string[]): Promise<StoredFingerprints> {
    return this.guard(() => this.inner.storedFingerprints(transactionIds));
  }
  recordedConflicts(transactionIds: readonly string[]): Promise<ReadonlySet<string>> {
    return this.guard(() => this.inner.recordedConflicts(transactionIds));
  }
  storedLabels(transactionIds: readonly string[]): Promise<readonly Verdict[]> {
    return this.guard(() => this.inner.storedLabels(transactionIds));
  }
  transactionLedgers(transactionIds: readonly string[]): Promise<ReadonlyMap<string, TransactionLedger>> {
    return this.guard(() => this.inner.transactionLedgers(transactionIds));
  }
  transactionKinds(transactionIds: readonly string[]): Promise<ReadonlyMap<string, TransactionKind>> {
    return this.guard(() => this.inner.transactionKinds(transactionIds));
  }
  accountBalances(accountIds: readonly string[]): Promise<readonly StoredAccountBalance[]> {
    return this.guard(() => this.inner.accountBalances(accountIds));
  }
  expiredHolds(nowMs: number, limit: number): Promise<readonly string[]> {
    return this.guard(() => this.inner.expiredHolds(nowMs, limit));
  }
  insertHolds(holds: readonly Hold[]): Promise<void> {
    return this.guard(() => this.inner.insertHolds(holds));
  }
  insertHoldResolutions(resolutions: readonly HoldResolutionRecord[]): Promise<void> {
    return this.guard(() => this.inner.insertHoldResolutions(resolutions));
  }
  insertEntries(entries: readonly PostedEntry[]): Promise<void> {
    return this.guard(() => this.inner.insertEntries(entries));
  }
  insertDecisions(records: readonly DecisionRecord[]): Promise<void> {
    return this.guard(() => this.inner.insertDecisions(records));
  }
  insertConflicts(conflicts: readonly ConflictRecord[]): Promise<void> {
    return this.guard(() => this.inner.insertConflicts(conflicts));
  }
  insertLabels(labels: readonly AnalystLabel[]): Promise<void> {
    return this.guard(() => this.inner.insertLabels(labels));
  }

  private guard<T>(call: () => Promise<T>): Promise<T> {
    if (!this.down) return call();
    this.refused.push(this.nowMs());
    // The same code and retriability as ClickHouseLedgerStore's own failures, so the handler and the bus
    // cannot tell this outage from a real one.
    return Promise.reject(
      new UnavailableError('LEDGER_STORE_UNAVAILABLE', 'ClickHouse failed to answer: planted outage (fault 8)'),
    );
  }
}
