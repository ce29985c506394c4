import { ManualClock } from '../../platform/clock.js';
import { UnavailableError, isRetriable } from '../../platform/errors.js';
import { createLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { type Codec, createCodec } from '../../schemas/codec.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import type { AnalystLabel, ScoredTransaction } from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { HeaderNames, Topics } from '../../schemas/topics.js';
import { LedgerBatchHandler } from './ledger-writer.js';
import type { AuditIndex, AuditIndexOutcome } from '../ports.js';
import { MemoryStore, batchOf, capturingBus, scoredTransaction } from '../testing/fixtures.js';

async function setup(auditIndex?: AuditIndex) {
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
  const handler = new LedgerBatchHandler({
    store,
    scoredCodec,
    labelCodec,
    deadLetters,
    logger,
    metrics,
    clock,
    ...(auditIndex ? { auditIndex } : {}),
  });
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

  it('given an unpostable amount, when handled, then that record is dead-lettered with its code, its decision recorded with the reason, and the rest is posted', async () => {
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
    expect(store.decisions.map((d) => [d.scored.transaction.transactionId, d.unpostedReason])).toEqual([
      ['tx-000002', undefined],
      ['tx-000001', expect.stringMatching(/^INVALID_AMOUNT: /)],
    ]);
    expect(store.entries.map((e) => e.transactionId)).toEqual(['tx-000002', 'tx-000002']);
    const letters = bus.sent.get(Topics.deadLetters) ?? [];
    expect(
      letters.map((l) => [l.headers?.[HeaderNames.dlqErrorCode], l.headers?.[HeaderNames.dlqSourceOffset]]),
    ).toEqual([['INVALID_AMOUNT', '40']]);
  });

  it('given a transaction naming a reserved fx: account, delivered twice, then its decision is recorded once with the reason and nothing is posted', async () => {
    const { handler, store, scoredCodec } = await setup();
    const reserved = scoredTransaction(
      3,
      { kind: 'TRANSFER', payeeAccountId: 'fx:EUR', settlement: null },
      { decision: 'APPROVE' },
    );
    const bytes = scoredCodec.encode(reserved);
    await handler.handle(batchOf(Topics.transactionsScored, [bytes, bytes], { firstOffset: 7 }));
    await handler.handle(batchOf(Topics.transactionsScored, [bytes], { firstOffset: 7 })); // redelivery
    expect(store.decisions.map((d) => [d.scored.transaction.transactionId, d.unpostedReason])).toEqual([
      ['tx-000003', expect.stringMatching(/^RESERVED_ACCOUNT_ID: .*fx:/)],
    ]);
    expect(store.entries).toEqual([]);
    // Negative control: the same transaction with an ordinary payee is posted and carries no reason.
    const ordinary = scoredTransaction(
      4,
      { kind: 'TRANSFER', payeeAccountId: 'acct-eur', settlement: null },
      { decision: 'APPROVE' },
    );
    await handler.handle(batchOf(Topics.transactionsScored, [scoredCodec.encode(ordinary)], { firstOffset: 9 }));
    expect(store.decisions.map((d) => d.unpostedReason)).toEqual([expect.any(String), undefined]);
    expect(new Set(store.entries.map((e) => e.transactionId))).toEqual(new Set(['tx-000004']));
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

  // Found by the lifecycle property (fuzz/ledger-lifecycle.ts, seed 7, run 2,997): the verdict on a capture held for
  // REVIEW arrived before its decision, so the decision posted the capture's hold at once — and its authorisation
  // stayed open, fully captured, reserving the money a second time until its expiry.
  it('given a GENUINE verdict stored before a capture held for REVIEW, when the capture is decided, then its authorisation ends CAPTURED', async () => {
    const { handler, store, scoredCodec, labelCodec } = await setup();
    const authorization = scoredTransaction(
      238,
      { transactionId: 'auth-1', kind: 'AUTHORIZATION', amountMinor: 900n, settlement: null },
      { decision: 'REVIEW' },
    );
    const capture: ScoredTransaction = {
      ...authorization,
      transaction: {
        ...authorization.transaction,
        transactionId: 'cap-1',
        fingerprint: 'fp-cap-1'.padEnd(64, '0'),
        kind: 'CAPTURE',
        originalTransactionId: 'auth-1',
        amountMinor: 1_126n,
      },
      decision: 'REVIEW',
    };
    const genuine: AnalystLabel = {
      transactionId: 'cap-1',
      label: 'GENUINE',
      labelledBy: 'analyst-0',
      labelledAtMs: 1_764_000_100_000,
      transactionEventTimeMs: capture.transaction.eventTimeMs,
      payerAccountId: capture.transaction.payerAccountId,
      cardToken: null,
      terminalId: null,
      note: null,
    };
    await handler.handle(batchOf(Topics.analystLabels, [labelCodec.encode(genuine)]));
    await handler.handle(batchOf(Topics.transactionsScored, [scoredCodec.encode(authorization)]));
    await handler.handle(batchOf(Topics.transactionsScored, [scoredCodec.encode(capture)]));

    expect(store.entries.filter((e) => e.capturesTransactionId === 'auth-1').map((e) => e.amountMinor)).toEqual([
      -1_126n,
      1_126n,
    ]);
    expect(store.resolutions.map((r) => [r.transactionId, r.resolution, r.cause])).toEqual([
      ['cap-1', 'POSTED', 'GENUINE'],
      ['auth-1', 'CAPTURED', 'CAPTURED'],
    ]);
    const [payer] = await store.accountBalances([authorization.transaction.payerAccountId]);
    expect(payer?.balances).toEqual([
      { currency: authorization.transaction.currency, postedMinor: -1_126n, pendingDebitsMinor: 0n },
    ]);
  });
});

/** The audit index port in memory: create-once by transaction id, with planted refusals and outages. */
class MemoryAuditIndex implements AuditIndex {
  readonly documents = new Map<string, ScoredTransaction>();
  /** Transaction ids refused as if they broke the mapping. */
  readonly refuse = new Set<string>();
  down = false;
  /** Whether the store held each indexed decision when it was indexed (indexing must come after the insert). */
  readonly storedFirst: boolean[] = [];
  /** When set, each indexing records whether the decision was already in this store. */
  store: MemoryStore | undefined;
  ensureTemplate(): Promise<void> {
    return Promise.resolve();
  }
  index(decisions: readonly ScoredTransaction[]): Promise<AuditIndexOutcome> {
    if (this.down) return Promise.reject(new UnavailableError('AUDIT_INDEX_UNAVAILABLE', 'index is down'));
    let indexed = 0;
    let alreadyIndexed = 0;
    const rejected: Array<AuditIndexOutcome['rejected'][number]> = [];
    for (const d of decisions) {
      const id = d.transaction.transactionId;
      this.storedFirst.push(this.store?.decisions.some((s) => s.scored.transaction.transactionId === id) ?? false);
      if (this.refuse.has(id))
        rejected.push({ transactionId: id, status: 400, type: 'document_parsing_exception', reason: 'immense term' });
      else if (this.documents.has(id)) alreadyIndexed += 1;
      else {
        this.documents.set(id, d);
        indexed += 1;
      }
    }
    return Promise.resolve({ indexed, alreadyIndexed, rejected });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe('LedgerBatchHandler with an audit index', () => {
  const batchOfScored = (codec: Codec<ScoredTransaction>, items: ScoredTransaction[], firstOffset = 0) =>
    batchOf(
      Topics.transactionsScored,
      items.map((s) => codec.encode(s)),
      { firstOffset },
    );

  it('given new decisions, when handled, then each is indexed once, after its ClickHouse insert', async () => {
    const index = new MemoryAuditIndex();
    const { handler, store, scoredCodec } = await setup(index);
    index.store = store;
    const items = [scoredTransaction(1), scoredTransaction(3), scoredTransaction(1)];
    const report = await handler.handle(batchOfScored(scoredCodec, items));
    expect(report).toMatchObject({ decisionsWritten: 2, auditIndexed: 2, auditRejected: 0, deadLettered: 0 });
    expect([...index.documents.keys()].sort()).toEqual(['tx-000001', 'tx-000003']);
    expect(index.storedFirst).toEqual([true, true, true]);
  });

  it('given the index refuses a document for good, when handled, then it is counted and dead-lettered with the reason, and the rest is indexed', async () => {
    const index = new MemoryAuditIndex();
    const { handler, bus, scoredCodec, metrics } = await setup(index);
    index.refuse.add('tx-000002');
    const report = await handler.handle(
      batchOfScored(
        scoredCodec,
        [1, 2, 4].map((i) => scoredTransaction(i)),
        10,
      ),
    );
    expect(report).toMatchObject({ auditIndexed: 2, auditRejected: 1, deadLettered: 1, decisionsWritten: 3 });
    const [letter] = bus.sent.get(Topics.deadLetters) ?? [];
    expect(letter?.headers?.[HeaderNames.dlqErrorCode]).toBe('AUDIT_NOT_INDEXED');
    expect(letter?.headers?.[HeaderNames.dlqSourceOffset]).toBe('11');
    expect(letter?.headers?.[HeaderNames.dlqReason]).toContain('document_parsing_exception');
    expect(
      metrics.counter('vigil_ledger_audit_index_rejected_total', '').get({ type: 'document_parsing_exception' }),
    ).toBe(1);
    expect(metrics.counter('vigil_ledger_dead_letters_total', '').get({ topic: Topics.transactionsScored })).toBe(1);
  });

  it('given the index is down, when handled, then the batch fails retriably after the inserts, and the redelivery indexes the now-duplicate decisions', async () => {
    const index = new MemoryAuditIndex();
    const { handler, store, scoredCodec, metrics } = await setup(index);
    const batch = batchOfScored(
      scoredCodec,
      [5, 6].map((i) => scoredTransaction(i)),
    );
    index.down = true;
    const failure = await handler.handle(batch).catch((error: unknown) => error);
    expect(isRetriable(failure)).toBe(true);
    expect(store.decisions).toHaveLength(2); // ClickHouse got them; the redo must not write them twice
    index.down = false;
    const redo = await handler.handle(batch);
    expect(redo).toMatchObject({ decisionsWritten: 0, duplicates: 2, auditIndexed: 2 });
    expect(store.decisions).toHaveLength(2);
    expect(index.documents.size).toBe(2);
    const replay = await handler.handle(batch);
    expect(replay).toMatchObject({ auditIndexed: 0, auditRejected: 0 });
    expect(metrics.counter('vigil_ledger_audit_already_indexed_total', '').get()).toBe(2);
  });

  it('given a conflicting record, when handled, then it is not indexed', async () => {
    const index = new MemoryAuditIndex();
    const { handler, scoredCodec } = await setup(index);
    await handler.handle(batchOfScored(scoredCodec, [scoredTransaction(8)]));
    const conflicting = scoredTransaction(8, { fingerprint: 'other'.padEnd(64, '0'), description: 'changed' });
    const report = await handler.handle(batchOfScored(scoredCodec, [conflicting], 1));
    expect(report).toMatchObject({ conflicts: 1, auditIndexed: 0 });
    expect(index.documents.get('tx-000008')?.transaction.fingerprint).toBe(
      scoredTransaction(8).transaction.fingerprint,
    );
  });
});
