import type { AnalystLabel, TransactionKind } from '../../schemas/generated/types.js';
import {
  EMPTY_LEDGER,
  type Hold,
  type HoldResolutionRecord,
  type TransactionLedger,
  type Verdict,
  isOpen,
  ledgersOf,
  remainingLegs,
} from '../domain/holds.js';
import type { StoredFingerprints } from '../domain/idempotency.js';
import {
  type ConflictRecord,
  type DecisionRecord,
  type LedgerStore,
  type PostedEntry,
  type StoredAccountBalance,
  conflictKey,
  labelKey,
} from '../ports.js';

/**
 * The ledger store port over plain arrays, one per table, for the unit tests and the fault simulation. Each insert
 * is one atomic push of the rows whose key is not stored yet, as the ClickHouse adapter promises of one insert
 * (`insertOnce` false pushes every row, as a plain insert would). How a call reaches the arrays (always, or through
 * a fault injector) is the subclass's {@link run}.
 */
export abstract class MemoryLedgerStore implements LedgerStore {
  readonly entries: PostedEntry[] = [];
  readonly decisions: DecisionRecord[] = [];
  readonly conflicts: ConflictRecord[] = [];
  readonly labels: AnalystLabel[] = [];
  readonly holds: Hold[] = [];
  readonly resolutions: HoldResolutionRecord[] = [];

  /** Whether inserts skip rows whose key is stored already (the port's promise); false only for negative controls. */
  protected insertOnce = true;

  /** Performs one store call: `effect` reads or writes the arrays. */
  protected abstract run<T>(effect: () => T): Promise<T>;

  ensureSchema(): Promise<void> {
    return this.run(() => undefined);
  }

  storedFingerprints(ids: readonly string[]): Promise<StoredFingerprints> {
    const wanted = new Set(ids);
    return this.run(() => {
      const decided = this.decisions.filter((d) => wanted.has(d.scored.transaction.transactionId));
      return {
        ledger: new Map(this.entriesOf(wanted).map((e) => [e.transactionId, e.fingerprint])),
        decisions: new Map(decided.map((d) => [d.scored.transaction.transactionId, d.scored.transaction.fingerprint])),
        decidedAs: new Map(decided.map((d) => [d.scored.transaction.transactionId, d.scored.decision])),
        held: new Set(this.holds.filter((h) => wanted.has(h.transactionId)).map((h) => h.transactionId)),
        labelled: new Set(this.labels.filter((l) => wanted.has(l.transactionId)).map((l) => l.transactionId)),
        unposted: new Set(
          decided.filter((d) => (d.unpostedReason ?? '') !== '').map((d) => d.scored.transaction.transactionId),
        ),
      };
    });
  }

  recordedConflicts(): Promise<ReadonlySet<string>> {
    return this.run(() => new Set(this.conflicts.map((c) => conflictKey(c.transactionId, c.conflictingFingerprint))));
  }

  storedLabels(ids: readonly string[]): Promise<readonly Verdict[]> {
    const wanted = new Set(ids);
    return this.run(() =>
      this.labels.filter((l) => wanted.has(l.transactionId)).sort((a, b) => a.labelledAtMs - b.labelledAtMs),
    );
  }

  transactionLedgers(ids: readonly string[]): Promise<ReadonlyMap<string, TransactionLedger>> {
    const wanted = new Set(ids);
    return this.run(() =>
      ledgersOf(
        this.entriesOf(wanted),
        this.holds.filter((h) => wanted.has(h.transactionId)),
        this.resolutions.filter((r) => wanted.has(r.transactionId)),
        uniqueEntries(this.entries.filter((e) => wanted.has(e.capturesTransactionId))),
        uniqueEntries(this.entries.filter((e) => e.refundsTransactionId !== '')),
      ),
    );
  }

  transactionKinds(ids: readonly string[]): Promise<ReadonlyMap<string, TransactionKind>> {
    const wanted = new Set(ids);
    return this.run(
      () =>
        new Map(
          this.decisions
            .filter((d) => wanted.has(d.scored.transaction.transactionId))
            .map((d) => [d.scored.transaction.transactionId, d.scored.transaction.kind]),
        ),
    );
  }

  accountBalances(accountIds: readonly string[]): Promise<readonly StoredAccountBalance[]> {
    return this.run(() =>
      [...new Set(accountIds)].sort().flatMap((accountId): StoredAccountBalance[] => {
        const sums = new Map<string, { postedMinor: bigint; pendingDebitsMinor: bigint }>();
        const sumOf = (currency: string): { postedMinor: bigint; pendingDebitsMinor: bigint } => {
          const sum = sums.get(currency) ?? { postedMinor: 0n, pendingDebitsMinor: 0n };
          sums.set(currency, sum);
          return sum;
        };
        let rows = 0n;
        for (const e of this.entries.filter((x) => x.accountId === accountId)) {
          sumOf(e.currency).postedMinor += e.amountMinor;
          rows += 1n;
        }
        const resolved = new Set(this.resolutions.map((r) => r.transactionId));
        const captures = uniqueEntries(this.entries.filter((e) => e.capturesTransactionId !== ''));
        for (const hold of this.holds) {
          // What an open hold still reserves: an authorisation less what its captures booked.
          const remaining = remainingLegs({
            ...EMPTY_LEDGER,
            hold,
            captures: captures.filter((c) => c.capturesTransactionId === hold.transactionId),
          });
          for (const leg of remaining.filter((l) => l.accountId === accountId)) {
            const sum = sumOf(leg.currency);
            rows += resolved.has(hold.transactionId) ? 2n : 1n;
            if (leg.amountMinor < 0n && !resolved.has(hold.transactionId)) sum.pendingDebitsMinor -= leg.amountMinor;
          }
        }
        if (sums.size === 0) return [];
        const balances = [...sums]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([currency, sum]) => ({ currency, ...sum }));
        return [{ accountId, rows, balances }];
      }),
    );
  }

  expiredHolds(nowMs: number, limit: number): Promise<readonly string[]> {
    return this.run(() => {
      const ledgers = ledgersOf([], this.holds, this.resolutions);
      return [...ledgers.values()]
        .filter((l) => isOpen(l) && l.hold!.expiresAtMs <= nowMs)
        .map((l) => l.hold!)
        .sort((a, b) => a.expiresAtMs - b.expiresAtMs || a.transactionId.localeCompare(b.transactionId))
        .slice(0, limit)
        .map((h) => h.transactionId);
    });
  }

  insertEntries(rows: readonly PostedEntry[]): Promise<void> {
    return this.insert(this.entries, rows, (e) => e.entryId);
  }
  insertDecisions(rows: readonly DecisionRecord[]): Promise<void> {
    return this.insert(this.decisions, rows, (d) => d.scored.transaction.transactionId);
  }
  insertConflicts(rows: readonly ConflictRecord[]): Promise<void> {
    return this.insert(this.conflicts, rows, (c) => conflictKey(c.transactionId, c.conflictingFingerprint));
  }
  insertLabels(rows: readonly AnalystLabel[]): Promise<void> {
    return this.insert(this.labels, rows, labelKey);
  }
  /** A hold is stored whole (one row per leg in ClickHouse, all in one insert), so its transaction id is its key. */
  insertHolds(rows: readonly Hold[]): Promise<void> {
    return this.insert(this.holds, rows, (h) => h.transactionId);
  }
  insertHoldResolutions(rows: readonly HoldResolutionRecord[]): Promise<void> {
    return this.insert(this.resolutions, rows, (r) => r.transactionId);
  }

  /** The stored entries of these transactions; the fault simulation's planted bug overrides it to forget them. */
  protected entriesOf(wanted: ReadonlySet<string>): PostedEntry[] {
    return this.entries.filter((e) => wanted.has(e.transactionId));
  }

  private insert<T>(table: T[], rows: readonly T[], keyOf: (row: T) => string): Promise<void> {
    // An empty insert is not sent at all by the ClickHouse adapter, so it cannot fail either.
    if (rows.length === 0) return Promise.resolve();
    return this.run(() => {
      if (!this.insertOnce) return void table.push(...rows);
      // Checked against the table only, as the insert-once view does: rows repeated within one insert all land.
      const stored = new Set(table.map(keyOf));
      table.push(...rows.filter((row) => !stored.has(keyOf(row))));
    });
  }
}

/** Each entry id once: a store that held a leg twice (a planted fault) still consumes a hold once, as SQL's view. */
function uniqueEntries(entries: readonly PostedEntry[]): PostedEntry[] {
  const seen = new Set<string>();
  return entries.filter((e) => !seen.has(e.entryId) && (seen.add(e.entryId), true));
}
