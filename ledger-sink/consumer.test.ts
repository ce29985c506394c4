import { ManualClock } from '../platform/clock.js';
import { UnavailableError } from '../platform/errors.js';
import { createLogger } from '../platform/logger.js';
import { MetricsRegistry } from '../platform/metrics.js';
import { createCodec } from '../schemas/codec.js';
import { DeadLetterWriter } from '../schemas/dead-letter.js';
import type { AnalystLabel, ScoredTransaction } from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { HeaderNames, Topics } from '../schemas/topics.js';
import { LedgerBatchHandler } from './consumer.js';
import type { StoredFingerprints } from './domain/idempotency.js';
import {
  type ConflictRecord,
  type DecisionRecord,
  type LedgerStore,
  type PostedEntry,
  conflictKey,
  labelKey,
} from './store.js';
import { batchOf, capturingBus, scoredTransaction } from './test-helpers.js';

/** The store port in memory, with a switch to make it unavailable. */
class MemoryStore implements LedgerStore {
  entries: PostedEntry[] = [];
  decisions: DecisionRecord[] = [];
  conflicts: ConflictRecord[] = [];
  labels: AnalystLabel[] = [];
  down = false;
  ensureSchema(): Promise<void> {
    return this.io(undefined);
  }
  storedFingerprints(ids: readonly string[]): Promise<StoredFingerprints> {
    const wanted = new Set(ids);
    return this.io({
      ledger: new Map(
        this.entries.filter((e) => wanted.has(e.transactionId)).map((e) => [e.transactionId, e.fingerprint]),
      ),
      decisions: new Map(
        this.decisions
          .filter((d) => wanted.has(d.scored.transaction.transactionId))
          .map((d) => [d.scored.transaction.transactionId, d.scored.transaction.fingerprint]),
      ),
    });
  }
  recordedConflicts(): Promise<ReadonlySet<string>> {
    return this.io(new Set(this.conflicts.map((c) => conflictKey(c.transactionId, c.conflictingFingerprint))));
  }
  recordedLabels(): Promise<ReadonlySet<string>> {
    return this.io(new Set(this.labels.map(labelKey)));
  }
  insertEntries(rows: readonly PostedEntry[]): Promise<void> {
    return this.io(undefined).then(() => void this.entries.push(...rows));
  }
  insertDecisions(rows: readonly DecisionRecord[]): Promise<void> {
    return this.io(undefined).then(() => void this.decisions.push(...rows));
  }
  insertConflicts(rows: readonly ConflictRecord[]): Promise<void> {
    return this.io(undefined).then(() => void this.conflicts.push(...rows));
  }
  insertLabels(rows: readonly AnalystLabel[]): Promise<void> {
    return this.io(undefined).then(() => void this.labels.push(...rows));
  }
  private io<T>(value: T): Promise<T> {
    return this.down
      ? Promise.reject(new UnavailableError('LEDGER_STORE_UNAVAILABLE', 'store is down'))
      : Promise.resolve(value);
  }
}

async function setup() {
  const registry = new EmbeddedSchemaRegistry();
  const bus = capturingBus();
  const clock = new ManualClock(1_764_000_100_000);
  const lines: Array<{ level: string; msg: string }> = [];
  const logger = createLogger({
    level: 'debug',
    write: (line) => lines.push(JSON.parse(line) as { level: string; msg: string }),
  });
  const metrics = new MetricsRegistry();
  const store = new MemoryStore();
  const scoredCodec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
  const labelCodec = await createCodec<AnalystLabel>(registry, Topics.analystLabels);
  const deadLetters = await DeadLetterWriter.create(bus, registry, 'ledger-sink', clock);
  const handler = new LedgerBatchHandler({ store, scoredCodec, labelCodec, deadLetters, logger, metrics, clock });
  return { bus, store, handler, scoredCodec, labelCodec, lines, metrics };
}

describe('LedgerBatchHandler (store in memory)', () => {
  it('given an approved, a declined and a duplicate record, when handled, then it posts once and reports each outcome', async () => {
    const { handler, store, scoredCodec, metrics } = await setup();
    const approved = scoredTransaction(1, { kind: 'PURCHASE', settlement: null });
    const declined = scoredTransaction(2, { kind: 'PURCHASE' }, { decision: 'DECLINE' });
    const report = await handler.handle(
      batchOf(
        Topics.transactionsScored,
        [approved, declined, approved].map((s) => scoredCodec.encode(s)),
      ),
    );
    expect(report).toMatchObject({
      postedTransactions: 1,
      entriesWritten: 2,
      decisionsWritten: 2,
      duplicates: 1,
      notPosted: 1,
      conflicts: 0,
      deadLettered: 0,
    });
    expect(store.entries.map((e) => e.entryId)).toEqual(['tx-000001/0', 'tx-000001/1']);
    expect(store.entries.every((e) => e.fingerprint === approved.transaction.fingerprint)).toBe(true);
    expect(metrics.render()).toContain('vigil_ledger_not_posted_total{reason="declined"} 1');
    expect(metrics.render()).toContain('vigil_ledger_duplicates_total{topic="tx.scored"} 1');
  });

  it('given an unpostable amount, when handled, then that record is dead-lettered with its code and the rest is posted', async () => {
    const { handler, store, scoredCodec, bus } = await setup();
    const bad = scoredTransaction(1, { kind: 'PURCHASE', amountMinor: 0n });
    const good = scoredTransaction(2, { kind: 'PURCHASE' }, { decision: 'APPROVE' });
    const report = await handler.handle(
      batchOf(
        Topics.transactionsScored,
        [bad, good].map((s) => scoredCodec.encode(s)),
        { firstOffset: 40 },
      ),
    );
    expect(report.deadLettered).toBe(1);
    expect(store.decisions.map((d) => d.scored.transaction.transactionId)).toEqual(['tx-000002']);
    const letters = bus.sent.get(Topics.deadLetters) ?? [];
    expect(
      letters.map((l) => [l.headers?.[HeaderNames.dlqErrorCode], l.headers?.[HeaderNames.dlqSourceOffset]]),
    ).toEqual([['INVALID_AMOUNT', '40']]);
  });

  it('given an event time DateTime64 cannot hold, when handled, then the record is dead-lettered as UNSTORABLE_DECISION', async () => {
    const { handler, scoredCodec, bus } = await setup();
    const report = await handler.handle(
      batchOf(Topics.transactionsScored, [
        scoredCodec.encode(scoredTransaction(1, { eventTimeMs: Date.UTC(2400, 0, 1) })),
      ]),
    );
    expect(report.deadLettered).toBe(1);
    expect(bus.sent.get(Topics.deadLetters)?.[0]?.headers?.[HeaderNames.dlqErrorCode]).toBe('UNSTORABLE_DECISION');
  });

  it('given the store is down, when batches keep failing, then each rejects (for redelivery) and only the first failure logs an error', async () => {
    const { handler, store, scoredCodec, lines } = await setup();
    const batch = batchOf(Topics.transactionsScored, [
      scoredCodec.encode(scoredTransaction(1, { kind: 'PURCHASE' }, { decision: 'APPROVE' })),
    ]);
    store.down = true;
    for (let attempt = 0; attempt < 3; attempt++)
      await expect(handler.handle(batch)).rejects.toMatchObject({ code: 'LEDGER_STORE_UNAVAILABLE', retriable: true });
    expect(lines.filter((l) => l.level === 'error')).toHaveLength(1);
    store.down = false;
    await expect(handler.handle(batch)).resolves.toMatchObject({ postedTransactions: 1 });
    expect(lines.filter((l) => l.level === 'info').map((l) => l.msg)).toEqual(['ledger batches succeed again']);
    await expect(handler.handle(batch)).resolves.toMatchObject({ postedTransactions: 0, duplicates: 1 });
  });

  it('given a batch from a topic it does not consume, when handled, then it rejects loudly instead of decoding it', async () => {
    const { handler, store } = await setup();
    await expect(handler.handle(batchOf(Topics.fraudAlerts, [Buffer.from([0, 0, 0, 0, 1])]))).rejects.toMatchObject({
      code: 'UNEXPECTED_TOPIC',
    });
    expect(store.decisions).toEqual([]);
  });

  it('given labels delivered twice, when handled, then each label is stored once', async () => {
    const { handler, store, labelCodec } = await setup();
    const label: AnalystLabel = {
      transactionId: 'tx-000001',
      label: 'FRAUD',
      labelledBy: 'analyst-7',
      labelledAtMs: 1_764_000_200_123,
      transactionEventTimeMs: 1_764_000_000_000,
      payerAccountId: 'acct-1',
      cardToken: null,
      terminalId: null,
      note: 'customer confirmed',
    };
    const batch = batchOf(Topics.analystLabels, [labelCodec.encode(label), labelCodec.encode(label)]);
    await expect(handler.handle(batch)).resolves.toMatchObject({ labelsWritten: 1, duplicates: 1 });
    await expect(handler.handle(batch)).resolves.toMatchObject({ labelsWritten: 0, duplicates: 2 });
    expect(store.labels).toHaveLength(1);
  });
});
