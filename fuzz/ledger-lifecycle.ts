import fc from 'fast-check';
import { ManualClock } from '../platform/clock.js';
import { createLogger } from '../platform/logger.js';
import { MetricsRegistry } from '../platform/metrics.js';
import { type Codec, createCodec } from '../schemas/codec.js';
import { DeadLetterWriter } from '../schemas/dead-letter.js';
import type { RecordBatch } from '../platform/bus.js';
import { type AnalystLabel, LabelValue, type ScoredTransaction } from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import { LedgerBatchHandler } from '../ledger-sink/app/ledger-writer.js';
import { DEFAULT_HOLD_SETTINGS, type HoldExpiryPolicy } from '../ledger-sink/domain/holds.js';
import { MemoryStore, batchOf, capturingBus, scoredTransaction } from '../ledger-sink/testing/fixtures.js';
import { type FuzzTarget, defineTarget } from './target.js';

/**
 * Properties of the ledger's two-phase postings, through the real batch handler over the in-memory store: random
 * sequences of decisions (approvals, reviews, declines of every kind, cross-currency among them), verdicts from
 * several analysts, time passing, expiry sweeps and replays of any earlier batch keep every invariant —
 * - per transaction and currency, booked legs sum to zero, and so does the whole ledger per currency;
 * - every entry id is booked once; a reversal leg negates the leg it names, and no leg is reversed twice;
 * - every hold is placed once and is open, posted or voided — resolved at most once — and a held transaction
 *   books legs only under a POSTED resolution;
 * - replaying every batch again changes nothing, and running the same sequence on a fresh store writes the same
 *   rows, byte for byte.
 */

const REVIEW_TIMEOUT_MS = 1_000;

type Op =
  | { readonly type: 'decide'; readonly tx: number }
  | { readonly type: 'verdict'; readonly tx: number; readonly label: LabelValue; readonly analyst: number }
  | { readonly type: 'advance'; readonly ms: number }
  | { readonly type: 'expire' }
  | { readonly type: 'replay'; readonly batch: number };

interface Scenario {
  readonly policy: HoldExpiryPolicy;
  /** Per transaction slot: which scored transaction (its kind, currencies) and what scoring decided. */
  readonly transactions: ReadonlyArray<{ readonly i: number; readonly decision: ScoredTransaction['decision'] }>;
  readonly ops: readonly Op[];
}

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    policy: fc.constantFrom<HoldExpiryPolicy>('void', 'post'),
    transactions: fc.array(
      fc.record({
        // scoredTransaction(i) cycles through every channel and kind; one in five is cross-currency.
        i: fc.integer({ min: 1, max: 400 }),
        decision: fc.constantFrom<ScoredTransaction['decision']>('APPROVE', 'REVIEW', 'REVIEW', 'DECLINE'),
      }),
      { minLength: 1, maxLength: 6 },
    ),
  })
  .chain(({ policy, transactions }) => {
    const tx = fc.nat({ max: transactions.length - 1 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 3, arbitrary: fc.record({ type: fc.constant('decide' as const), tx }) },
      {
        weight: 3,
        arbitrary: fc.record({
          type: fc.constant('verdict' as const),
          tx,
          label: fc.constantFrom(LabelValue.FRAUD, LabelValue.GENUINE),
          analyst: fc.nat({ max: 2 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ type: fc.constant('advance' as const), ms: fc.nat({ max: 1_500 }) }) },
      { weight: 1, arbitrary: fc.record({ type: fc.constant('expire' as const) }) },
      { weight: 1, arbitrary: fc.record({ type: fc.constant('replay' as const), batch: fc.nat({ max: 40 }) }) },
    );
    return fc.record({
      policy: fc.constant(policy),
      transactions: fc.constant(transactions),
      ops: fc.array(op, { maxLength: 30 }),
    });
  });

interface Codecs {
  readonly scored: Codec<ScoredTransaction>;
  readonly label: Codec<AnalystLabel>;
  /** Shared by every run: nothing here is dead-lettered, and building one per run dominated the property's time. */
  readonly deadLetters: DeadLetterWriter;
}

/** Runs a scenario on a fresh store; returns the store and every batch it handled, in order. */
async function run(
  s: Scenario,
  codecs: Codecs,
  makeStore: () => MemoryStore,
): Promise<{ store: MemoryStore; batches: RecordBatch[] }> {
  const store = makeStore();
  const clock = new ManualClock(1_764_000_100_000);
  const handler = new LedgerBatchHandler({
    store,
    scoredCodec: codecs.scored,
    labelCodec: codecs.label,
    deadLetters: codecs.deadLetters,
    logger: createLogger({ level: 'error', write: () => undefined }),
    metrics: new MetricsRegistry(),
    clock,
    holds: { ...DEFAULT_HOLD_SETTINGS, reviewTimeoutMs: REVIEW_TIMEOUT_MS, expiryPolicy: s.policy },
  });
  const batches: RecordBatch[] = [];
  const handle = async (batch: RecordBatch): Promise<void> => {
    batches.push(batch);
    await handler.handle(batch);
  };
  const scored = s.transactions.map((t, slot) =>
    // Distinct ids per slot, so two slots never share one transaction with different content.
    scoredTransaction(t.i, { transactionId: `tx-slot-${slot}` }, { decision: t.decision }),
  );
  for (const op of s.ops) {
    if (op.type === 'decide') await handle(batchOf(Topics.transactionsScored, [codecs.scored.encode(scored[op.tx]!)]));
    else if (op.type === 'verdict') {
      const tx = scored[op.tx]!.transaction;
      const label: AnalystLabel = {
        transactionId: tx.transactionId,
        label: op.label,
        labelledBy: `analyst-${op.analyst}`,
        labelledAtMs: clock.nowMs(),
        transactionEventTimeMs: tx.eventTimeMs,
        payerAccountId: tx.payerAccountId,
        cardToken: null,
        terminalId: null,
        note: null,
      };
      await handle(batchOf(Topics.analystLabels, [codecs.label.encode(label)]));
    } else if (op.type === 'advance') clock.advance(op.ms);
    else if (op.type === 'expire') await handler.expireHolds(100);
    else if (batches.length > 0) await handle(batches[op.batch % batches.length]!);
  }
  // Replaying everything must change nothing; checked by the caller on the rows.
  return { store, batches };
}

/** Every row of the ledger tables as canonical text (bigint as decimal), for byte-identical comparison. */
export function rowsText(store: MemoryStore): string {
  return JSON.stringify(
    { entries: store.entries, holds: store.holds, resolutions: store.resolutions, labels: store.labels },
    (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value),
  );
}

/** The invariants in words; empty when they hold. */
export function ledgerViolations(store: MemoryStore): string[] {
  const violations: string[] = [];
  const sums = new Map<string, bigint>();
  const total = new Map<string, bigint>();
  for (const e of store.entries) {
    const key = `${e.transactionId} ${e.currency}`;
    sums.set(key, (sums.get(key) ?? 0n) + e.amountMinor);
    total.set(e.currency, (total.get(e.currency) ?? 0n) + e.amountMinor);
  }
  for (const [key, sum] of [...sums, ...total]) if (sum !== 0n) violations.push(`${key} sums to ${sum}`);

  const byId = new Map<string, (typeof store.entries)[number]>();
  for (const e of store.entries) {
    if (byId.has(e.entryId)) violations.push(`entry ${e.entryId} booked twice`);
    byId.set(e.entryId, e);
  }
  const reversed = new Set<string>();
  for (const e of store.entries.filter((x) => x.reversesEntryId !== '')) {
    const original = byId.get(e.reversesEntryId);
    if (original === undefined || original.amountMinor !== -e.amountMinor || original.accountId !== e.accountId)
      violations.push(`reversal ${e.entryId} does not negate ${e.reversesEntryId}`);
    if (reversed.has(e.reversesEntryId)) violations.push(`${e.reversesEntryId} reversed twice`);
    reversed.add(e.reversesEntryId);
  }

  const count = (ids: readonly string[]): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    return counts;
  };
  const resolutions = count(store.resolutions.map((r) => r.transactionId));
  for (const [id, n] of count(store.holds.map((h) => h.transactionId))) if (n > 1) violations.push(`${id}: ${n} holds`);
  for (const [id, n] of resolutions) if (n > 1) violations.push(`${id}: resolved ${n} times`);
  for (const r of store.resolutions)
    if (!store.holds.some((h) => h.transactionId === r.transactionId))
      violations.push(`${r.transactionId}: resolved, never held`);
  for (const h of store.holds) {
    const resolution = store.resolutions.find((r) => r.transactionId === h.transactionId);
    const booked = store.entries.some((e) => e.transactionId === h.transactionId);
    if (booked && resolution?.resolution !== 'POSTED')
      violations.push(`${h.transactionId}: booked under ${resolution?.resolution ?? 'an open hold'}`);
  }
  return violations;
}

async function codecsOf(): Promise<Codecs> {
  const registry = new EmbeddedSchemaRegistry();
  return {
    scored: await createCodec<ScoredTransaction>(registry, Topics.transactionsScored),
    label: await createCodec<AnalystLabel>(registry, Topics.analystLabels),
    deadLetters: await DeadLetterWriter.create(capturingBus(), registry, 'ledger-sink', new ManualClock(0)),
  };
}

/** The property over stores from `makeStore`; a negative control passes a store with a planted bug. */
export function lifecycleTarget(name: string, makeStore: () => MemoryStore = () => new MemoryStore()): FuzzTarget {
  return defineTarget(name, async () => {
    const codecs = await codecsOf();
    return fc.asyncProperty(scenario, async (s) => {
      const first = await run(s, codecs, makeStore);
      const before = rowsText(first.store);
      const violations = ledgerViolations(first.store);
      if (violations.length > 0) throw new Error(violations.join('; '));
      const again = await run(s, codecs, makeStore);
      if (rowsText(again.store) !== before) throw new Error('the same sequence on a fresh store wrote other rows');
      // Every batch delivered once more, as after a crash before any commit: nothing may change.
      const replays = first.batches.map((_, batch): Op => ({ type: 'replay', batch }));
      const replayed = await run({ ...s, ops: [...s.ops, ...replays] }, codecs, makeStore);
      if (rowsText(replayed.store) !== before) throw new Error('replaying every batch changed the ledger');
    });
  });
}

export const ledgerLifecycleTargets: readonly FuzzTarget[] = [
  lifecycleTarget('ledger: holds, verdicts, expiry and reversals keep every invariant'),
];
