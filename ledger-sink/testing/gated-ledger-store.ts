import type { AnalystLabel, TransactionKind } from '../../schemas/generated/types.js';
import type { Hold, HoldResolutionRecord, TransactionLedger, Verdict } from '../domain/holds.js';
import type { StoredFingerprints } from '../domain/idempotency.js';
import type { ConflictRecord, DecisionRecord, LedgerStore, PostedEntry, StoredAccountBalance } from '../ports.js';

/** Where a gate stops a call: before it reaches the store, or after the store answered and before the caller sees it. */
export type GatePoint = 'before' | 'after';

/** One armed stop: `reached` resolves when the call gets there; the call goes on once `open()` is called. */
export interface Gate {
  readonly reached: Promise<void>;
  open(): void;
}

interface ArmedGate extends Gate {
  readonly point: GatePoint;
  arrive(): Promise<void>;
}

/**
 * A {@link LedgerStore} decorator that stops a handler at a chosen call, so a test orders two handlers' calls exactly
 * with promises instead of sleeps (fault 10: a member that stalls past its session timeout, after it looked at what is
 * stored, and wakes when the partition has moved to another member). {@link pause} arms a gate on the next call of one
 * method; every other call goes through unchanged.
 */
export class GatedLedgerStore implements LedgerStore {
  private readonly gates = new Map<keyof LedgerStore, ArmedGate>();

  constructor(private readonly inner: LedgerStore) {}

  /** Arms a gate on the next call of `method` (one gate per method at a time). */
  pause(method: keyof LedgerStore, point: GatePoint): Gate {
    let arrived!: () => void;
    let opened!: () => void;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const open = new Promise<void>((resolve) => (opened = resolve));
    const gate: ArmedGate = {
      point,
      reached,
      open: () => opened(),
      arrive: () => {
        arrived();
        return open;
      },
    };
    this.gates.set(method, gate);
    return gate;
  }

  ensureSchema(): Promise<void> {
    return this.call('ensureSchema', () => this.inner.ensureSchema());
  }
  storedFingerprints(transactionIds: readonly string[]): Promise<StoredFingerprints> {
    return this.call('storedFingerprints', () => this.inner.storedFingerprints(transactionIds));
  }
  recordedConflicts(transactionIds: readonly string[]): Promise<ReadonlySet<string>> {
    return this.call('recordedConflicts', () => this.inner.recordedConflicts(transactionIds));
  }
  storedLabels(transactionIds: readonly string[]): Promise<readonly Verdict[]> {
    return this.call('storedLabels', () => this.inner.storedLabels(transactionIds));
  }
  transactionLedgers(transactionIds: readonly string[]): Promise<ReadonlyMap<string, TransactionLedger>> {
    return this.call('transactionLedgers', () => this.inner.transactionLedgers(transactionIds));
  }
  transactionKinds(transactionIds: readonly string[]): Promise<ReadonlyMap<string, TransactionKind>> {
    return this.call('transactionKinds', () => this.inner.transactionKinds(transactionIds));
  }
  accountBalances(accountIds: readonly string[]): Promise<readonly StoredAccountBalance[]> {
    return this.call('accountBalances', () => this.inner.accountBalances(accountIds));
  }
  expiredHolds(nowMs: number, limit: number): Promise<readonly string[]> {
    return this.call('expiredHolds', () => this.inner.expiredHolds(nowMs, limit));
  }
  insertHolds(holds: readonly Hold[]): Promise<void> {
    return this.call('insertHolds', () => this.inner.insertHolds(holds));
  }
  insertHoldResolutions(resolutions: readonly HoldResolutionRecord[]): Promise<void> {
    return this.call('insertHoldResolutions', () => this.inner.insertHoldResolutions(resolutions));
  }
  insertEntries(entries: readonly PostedEntry[]): Promise<void> {
    return this.call('insertEntries', () => this.inner.insertEntries(entries));
  }
  insertDecisions(records: readonly DecisionRecord[]): Promise<void> {
    return this.call('insertDecisions', () => this.inner.insertDecisions(records));
  }
  insertConflicts(conflicts: readonly ConflictRecord[]): Promise<void> {
    return this.call('insertConflicts', () => this.inner.insertConflicts(conflicts));
  }
  insertLabels(labels: readonly AnalystLabel[]): Promise<void> {
    return this.call('insertLabels', () => this.inner.insertLabels(labels));
  }

  private async call<T>(method: keyof LedgerStore, run: () => Promise<T>): Promise<T> {
    const gate = this.gates.get(method);
    if (gate === undefined) return run();
    this.gates.delete(method);
    if (gate.point === 'before') await gate.arrive();
    const value = await run();
    if (gate.point === 'after') await gate.arrive();
    return value;
  }
}
