import fc from 'fast-check';
import { ManualClock } from '../platform/clock.js';
import { createLogger } from '../platform/logger.js';
import { MetricsRegistry } from '../platform/metrics.js';
import { type Codec, createCodec } from '../schemas/codec.js';
import { DeadLetterWriter } from '../schemas/dead-letter.js';
import type { RecordBatch } from '../platform/bus.js';
import {
  type AnalystLabel,
  type Decision,
  LabelValue,
  type ScoredTransaction,
  type Transaction,
} from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import { LedgerBatchHandler } from '../ledger-sink/app/ledger-writer.js';
import type { HoldExpiryPolicy } from '../ledger-sink/domain/holds.js';
import type { PostedEntry } from '../ledger-sink/ports.js';
import { MemoryStore, batchOf, capturingBus, scoredTransaction } from '../ledger-sink/testing/fixtures.js';
import { type FuzzTarget, defineTarget } from './target.js';

/**
 * Properties of the ledger's two-phase postings, through the real batch handler over the in-memory store: random
 * sequences of decisions (approvals, reviews, declines of every kind, cross-currency among them), card flows
 * (authorisations, captures naming them — partial, several, in full, beyond — or naming no authorisation the ledger
 * holds, refunds naming an earlier payment), verdicts from several analysts on any of them, a transaction decided
 * again (maybe otherwise), several decisions in one batch, time passing past the review and authorisation timeouts,
 * expiry sweeps and replays of any earlier batch keep every invariant —
 * - per transaction and currency, booked legs sum to zero, and so does the whole ledger per currency;
 * - every entry id is booked once; a reversal leg takes back (part of) the leg it names, on its account and
 *   currency, and no leg is reversed twice;
 * - every hold is placed once and is open, posted, captured or voided — resolved at most once — and a held
 *   transaction books legs only under a POSTED resolution;
 * - replaying every batch again changes nothing, and running the same sequence on a fresh store writes the same
 *   rows, byte for byte;
 * and after every step, against a model of the scenario kept beside the run ({@link cardViolations}; it never calls
 * the domain's hold arithmetic):
 * - a hold ends for a reason the scenario gave: an authorisation `CAPTURED` exactly when the capture legs on its
 *   payer leg's account, currency and side reach its amount, otherwise open, or `VOIDED` by a FRAUD verdict on it or
 *   by a sweep past its timeout; a REVIEW hold by a verdict on it or a sweep past its timeout;
 * - no hold stays open that a FRAUD verdict, a sweep past its timeout or (an authorisation) its captures should
 *   have ended;
 * - each leg of a capture or refund carries the id it names, and a capture decided APPROVE is booked once with the
 *   amount the scenario gave it; a refund decided APPROVE either so, or not at all with its decision stored as
 *   refused (REFUND_AFTER_REVERSAL only when what it names, or a capture of it, has been reversed), and always
 *   refused when it names no payment the ledger holds; a refund held for review may likewise have its hold voided
 *   (by the verdict or expiry that would have posted it, the refusal's code as who resolved it); an authorisation is
 *   never booked;
 * - a payer never nets above zero on a payment: per payment (an authorisation with its captures counts as one), its
 *   payer leg's account and currency, what the payment and its reversals booked plus what refunds naming it (or one
 *   of its captures) and their reversals booked sums to zero or less;
 * - a FRAUD verdict reverses what its transaction booked and, on an authorisation, what its captures booked, less
 *   what refunds naming the payment (or a capture's authorisation) had paid back on each leg's account, currency and
 *   side when the reversal was booked (a refund's own reversal not counted back), never past zero; no transaction is reversed without a FRAUD verdict on it or
 *   on the authorisation it captures;
 * - the pending debits the store's `accountBalances` reports per account and currency are what the open holds
 *   still reserve by the model: each leg less the capture legs on its account, currency and side, never below 0.
 */

const REVIEW_TIMEOUT_MS = 1_000;
const AUTHORIZATION_TIMEOUT_MS = 2_500;
/** What a capture names when no authorisation precedes it: an id the ledger never holds. */
const UNKNOWN_ORIGINAL = 'tx-never-decided';

/** A capture's or refund's amount relative to what it names: part of it, all of it, or a quarter beyond (a tip). */
type Share = 'third' | 'half' | 'full' | 'over';

type Slot =
  /** scoredTransaction(i): every channel and kind in turn, nothing linked. */
  | { readonly type: 'plain'; readonly i: number; readonly decision: Decision }
  | { readonly type: 'authorization'; readonly i: number; readonly amountMinor: bigint; readonly decision: Decision }
  /** `of` picks an earlier authorisation (its index among them, modulo one more than there are: none). */
  | { readonly type: 'capture'; readonly of: number; readonly share: Share; readonly decision: Decision }
  /** `of` picks an earlier payment that books (not an authorisation), in the same way. */
  | { readonly type: 'refund'; readonly of: number; readonly share: Share; readonly decision: Decision };

type Op =
  | { readonly type: 'decide'; readonly tx: number }
  /** Several decisions in one batch (an authorisation and its capture among them, or one id twice). */
  | { readonly type: 'decideMany'; readonly txs: readonly number[] }
  /** The same content decided again, maybe otherwise (scoring re-ran): the first stored decision governs. */
  | { readonly type: 'rescore'; readonly tx: number; readonly decision: Decision }
  | { readonly type: 'verdict'; readonly tx: number; readonly label: LabelValue; readonly analyst: number }
  | { readonly type: 'advance'; readonly ms: number }
  | { readonly type: 'expire' }
  | { readonly type: 'replay'; readonly batch: number };

interface Scenario {
  readonly policy: HoldExpiryPolicy;
  readonly slots: readonly Slot[];
  readonly ops: readonly Op[];
}

const anyDecision = fc.constantFrom<Decision>('APPROVE', 'REVIEW', 'REVIEW', 'DECLINE');
/** Captures and refunds are mostly let through: the card network has moved the money already. */
const followUpDecision = fc.constantFrom<Decision>('APPROVE', 'APPROVE', 'APPROVE', 'REVIEW', 'DECLINE');
const share = fc.constantFrom<Share>('third', 'half', 'half', 'full', 'full', 'over');

const slot: fc.Arbitrary<Slot> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('plain' as const),
      i: fc.integer({ min: 1, max: 400 }),
      decision: anyDecision,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('authorization' as const),
      // i picks payer, payee and currencies; one in five is cross-currency.
      i: fc.integer({ min: 1, max: 400 }),
      amountMinor: fc.oneof(fc.constantFrom(100n, 900n, 1_000n), fc.bigInt({ min: 1n, max: 5_000n })),
      decision: anyDecision,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant('capture' as const),
      of: fc.nat({ max: 5 }),
      share,
      decision: followUpDecision,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('refund' as const),
      of: fc.nat({ max: 5 }),
      share,
      decision: followUpDecision,
    }),
  },
);

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    policy: fc.constantFrom<HoldExpiryPolicy>('void', 'post'),
    slots: fc.array(slot, { minLength: 1, maxLength: 8 }),
  })
  .chain(({ policy, slots }) => {
    const tx = fc.nat({ max: slots.length - 1 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ type: fc.constant('decide' as const), tx }) },
      {
        weight: 1,
        arbitrary: fc.record({
          type: fc.constant('decideMany' as const),
          txs: fc.array(tx, { minLength: 2, maxLength: 3 }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ type: fc.constant('rescore' as const), tx, decision: anyDecision }) },
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
    return fc.record({ policy: fc.constant(policy), slots: fc.constant(slots), ops: fc.array(op, { maxLength: 30 }) });
  });

/** One slot's transaction as scoring decided it, and what it names ('' if nothing). */
interface Planned {
  readonly scored: ScoredTransaction;
  readonly original: string;
}

function shareOf(amountMinor: bigint, s: Share): bigint {
  const part = s === 'third' ? amountMinor / 3n : s === 'half' ? amountMinor / 2n : amountMinor;
  const amount = s === 'over' ? amountMinor + amountMinor / 4n + 1n : part;
  return amount > 0n ? amount : 1n;
}

/**
 * The slots' transactions: distinct ids per slot (so two slots never share one id with different content); a capture
 * copies its authorisation's payer, payee and currencies, a refund its payment's, with the share's amounts.
 */
function plan(slots: readonly Slot[]): Planned[] {
  const planned: Planned[] = [];
  slots.forEach((s, index) => {
    const transactionId = `tx-slot-${index}`;
    const fingerprint = `fp-slot-${index}`.padEnd(64, '0');
    if (s.type === 'plain') {
      planned.push({ scored: scoredTransaction(s.i, { transactionId }, { decision: s.decision }), original: '' });
      return;
    }
    if (s.type === 'authorization') {
      const base = scoredTransaction(s.i).transaction;
      const overrides = { transactionId, fingerprint, kind: 'AUTHORIZATION' as const, channel: 'CARD' as const };
      const settlement = base.settlement === null ? null : { ...base.settlement, amountMinor: s.amountMinor * 2n };
      const scored = scoredTransaction(
        s.i,
        { ...overrides, amountMinor: s.amountMinor, settlement },
        { decision: s.decision },
      );
      planned.push({ scored, original: '' });
      return;
    }
    const kind = s.type === 'capture' ? 'CAPTURE' : 'REFUND';
    const candidates = planned.filter((p) =>
      s.type === 'capture'
        ? p.scored.transaction.kind === 'AUTHORIZATION'
        : p.scored.transaction.kind !== 'AUTHORIZATION',
    );
    const named = candidates[s.of % (candidates.length + 1)];
    const base = named?.scored.transaction ?? scoredTransaction(1 + s.of).transaction;
    const original = named?.scored.transaction.transactionId ?? UNKNOWN_ORIGINAL;
    const transaction: Transaction = {
      ...base,
      transactionId,
      fingerprint,
      kind,
      channel: 'CARD',
      originalTransactionId: original,
      amountMinor: shareOf(base.amountMinor, s.share),
      settlement:
        base.settlement === null
          ? null
          : { ...base.settlement, amountMinor: shareOf(base.settlement.amountMinor, s.share) },
    };
    planned.push({ scored: { ...scoredTransaction(1), transaction, decision: s.decision }, original });
  });
  return planned;
}

interface Codecs {
  readonly scored: Codec<ScoredTransaction>;
  readonly label: Codec<AnalystLabel>;
  /** Shared by every run: nothing here is dead-lettered, and building one per run dominated the property's time. */
  readonly deadLetters: DeadLetterWriter;
}

/**
 * What the scenario has done so far, kept by the driver from its own steps (never read back from the store): which
 * decision each id was first stored with and when, every verdict given, and the last expiry sweep.
 */
interface Model {
  readonly planned: ReadonlyMap<string, Planned>;
  readonly decidedAs: Map<string, { readonly decision: Decision; readonly atMs: number }>;
  readonly verdicts: Map<string, Set<LabelValue>>;
  lastSweepMs: number;
  /** What each authorisation's captures had booked on its payer leg after the step before (for a void's reason). */
  readonly capturedBefore: Map<string, bigint>;
  readonly resolutionsSeen: Set<string>;
  /** Reversal entries already checked against what refunds had left when they were booked. */
  readonly reversalsSeen: Set<string>;
}

/** Checked after every step of the first run; the store's rows against the model. */
type StepCheck = (store: MemoryStore, model: Model, op: Op | undefined) => Promise<void>;

/** Runs a scenario on a fresh store; returns the store and every batch it handled, in order. */
async function run(
  s: Scenario,
  codecs: Codecs,
  makeStore: () => MemoryStore,
  afterStep?: StepCheck,
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
    holds: {
      reviewTimeoutMs: REVIEW_TIMEOUT_MS,
      authorizationTimeoutMs: AUTHORIZATION_TIMEOUT_MS,
      expiryPolicy: s.policy,
    },
  });
  const planned = plan(s.slots);
  const model: Model = {
    planned: new Map(planned.map((p) => [p.scored.transaction.transactionId, p])),
    decidedAs: new Map(),
    verdicts: new Map(),
    lastSweepMs: Number.NEGATIVE_INFINITY,
    capturedBefore: new Map(),
    resolutionsSeen: new Set(),
    reversalsSeen: new Set(),
  };
  const batches: RecordBatch[] = [];
  const handle = async (batch: RecordBatch): Promise<void> => {
    batches.push(batch);
    await handler.handle(batch);
  };
  const decide = async (decisions: readonly ScoredTransaction[]): Promise<void> => {
    for (const { transaction, decision } of decisions)
      if (!model.decidedAs.has(transaction.transactionId))
        model.decidedAs.set(transaction.transactionId, { decision, atMs: clock.nowMs() });
    await handle(
      batchOf(
        Topics.transactionsScored,
        decisions.map((d) => codecs.scored.encode(d)),
      ),
    );
  };
  for (const op of s.ops) {
    if (op.type === 'decide') await decide([planned[op.tx]!.scored]);
    else if (op.type === 'decideMany') await decide(op.txs.map((tx) => planned[tx]!.scored));
    else if (op.type === 'rescore') await decide([{ ...planned[op.tx]!.scored, decision: op.decision }]);
    else if (op.type === 'verdict') {
      const tx = planned[op.tx]!.scored.transaction;
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
      model.verdicts.set(tx.transactionId, (model.verdicts.get(tx.transactionId) ?? new Set()).add(op.label));
      await handle(batchOf(Topics.analystLabels, [codecs.label.encode(label)]));
    } else if (op.type === 'advance') clock.advance(op.ms);
    else if (op.type === 'expire') {
      model.lastSweepMs = clock.nowMs();
      await handler.expireHolds(100);
    } else if (batches.length > 0) await handle(batches[op.batch % batches.length]!);
    await afterStep?.(store, model, op);
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
    if (
      original === undefined ||
      original.accountId !== e.accountId ||
      original.currency !== e.currency ||
      e.amountMinor === 0n ||
      original.amountMinor < 0n === e.amountMinor < 0n ||
      abs(e.amountMinor) > abs(original.amountMinor)
    )
      violations.push(`reversal ${e.entryId} does not take back (part of) ${e.reversesEntryId}`);
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

/** What `tx` debits its payer on leg 0, in the currency it settles in, as a positive number. */
function payerAmount(tx: Transaction): {
  readonly accountId: string;
  readonly currency: string;
  readonly minor: bigint;
} {
  const settles = tx.settlement !== null && tx.settlement.currency !== tx.currency;
  return {
    accountId: tx.payerAccountId,
    currency: settles ? tx.settlement.currency : tx.currency,
    minor: settles ? tx.settlement.amountMinor : tx.amountMinor,
  };
}

/**
 * The card-flow and hold invariants of the header, after one step, from the store's rows and the model alone (no
 * domain function computes an expectation here); empty when they hold. Updates the model's memory of captures.
 */
export async function cardViolations(store: MemoryStore, model: Model, op: Op | undefined): Promise<string[]> {
  const violations: string[] = [];
  const verdictsOn = (id: string): ReadonlySet<LabelValue> => model.verdicts.get(id) ?? new Set();
  const originals = new Map<string, PostedEntry[]>();
  const reversedIds = new Set<string>();
  for (const e of store.entries) {
    if (e.reversesEntryId !== '') reversedIds.add(e.reversesEntryId);
    else originals.set(e.transactionId, [...(originals.get(e.transactionId) ?? []), e]);
    const planned = model.planned.get(e.transactionId);
    const kind = planned?.scored.transaction.kind;
    const captures = kind === 'CAPTURE' ? planned!.original : '';
    const refunds = kind === 'REFUND' ? planned!.original : '';
    if (e.capturesTransactionId !== captures || e.refundsTransactionId !== refunds)
      violations.push(
        `${e.entryId}: linked to capture '${e.capturesTransactionId}' / refund '${e.refundsTransactionId}'`,
      );
  }

  // Captures and refunds let through are booked once, with the scenario's amount, signed by their kind; a refund may
  // instead be refused, booking nothing.
  const unposted = new Map(
    store.decisions.map((d) => [d.scored.transaction.transactionId, d.unpostedReason ?? ''] as const),
  );
  for (const [id, decided] of model.decidedAs) {
    const tx = model.planned.get(id)!.scored.transaction;
    const booked = originals.get(id) ?? [];
    if (tx.kind === 'AUTHORIZATION' && booked.length > 0) violations.push(`authorisation ${id} booked its own legs`);
    if ((tx.kind !== 'CAPTURE' && tx.kind !== 'REFUND') || decided.decision !== 'APPROVE') continue;
    const reason = unposted.get(id) ?? '';
    if (tx.kind === 'REFUND' && reason !== '') {
      if (booked.length > 0) violations.push(`refund ${id} booked ${booked.length} legs, refused as ${reason}`);
      if (!/^REFUND_(AFTER_REVERSAL|EXCEEDS_PAYMENT): /.test(reason))
        violations.push(`refund ${id} refused for no refund reason: ${reason}`);
      const named = model.planned.get(id)!.original;
      const capturesOfNamed = [...model.planned.values()].filter(
        (p) => p.scored.transaction.kind === 'CAPTURE' && p.original === named,
      );
      const reversedNamed = store.entries.some(
        (e) =>
          e.reversesEntryId !== '' &&
          (e.transactionId === named ||
            capturesOfNamed.some((c) => c.scored.transaction.transactionId === e.transactionId)),
      );
      if (reason.startsWith('REFUND_AFTER_REVERSAL') && !reversedNamed)
        violations.push(`refund ${id} refused as after a reversal; ${named} has none`);
      continue;
    }
    if (tx.kind === 'REFUND' && model.planned.get(id)!.original === UNKNOWN_ORIGINAL && booked.length > 0)
      violations.push(`refund ${id} of a payment the ledger never held booked ${booked.length} legs`);
    const payer = payerAmount(tx);
    const legs = tx.settlement !== null && tx.settlement.currency !== tx.currency ? 4 : 2;
    const payerLeg = booked.find((e) => e.leg === 0);
    const signed = tx.kind === 'REFUND' ? payer.minor : -payer.minor;
    if (booked.length !== legs || payerLeg?.accountId !== payer.accountId || payerLeg.amountMinor !== signed)
      violations.push(
        `${tx.kind} ${id} approved: ${booked.length} legs booked (payer ${payerLeg?.amountMinor}), expected ${legs} (payer ${signed})`,
      );
  }

  // The payer never nets above zero on a payment: the payment's (or an authorisation's captures') payer legs with
  // their reversals, and every refund leg naming it or one of its captures with theirs, on that account and currency.
  for (const [id, planned] of model.planned) {
    const tx = planned.scored.transaction;
    if (tx.kind === 'REFUND' || (tx.kind === 'CAPTURE' && planned.original !== UNKNOWN_ORIGINAL)) continue;
    const payments = new Set(
      tx.kind === 'AUTHORIZATION'
        ? [...model.planned.values()]
            .filter((p) => p.scored.transaction.kind === 'CAPTURE' && p.original === id)
            .map((p) => p.scored.transaction.transactionId)
        : [id],
    );
    const payer = payerAmount(tx);
    let net = 0n;
    for (const e of store.entries)
      if (
        e.accountId === payer.accountId &&
        e.currency === payer.currency &&
        (payments.has(e.transactionId) || e.refundsTransactionId === id || payments.has(e.refundsTransactionId))
      )
        net += e.amountMinor;
    if (net > 0n) violations.push(`payer ${payer.accountId} nets ${net} ${payer.currency} on payment ${id}`);
  }

  // What refunds naming `id` (or, for a capture, its authorisation) have left of one of its legs: refund legs on its
  // account and currency on the other side (a refund's own reversal does not count back).
  const leftOn = (id: string, leg: PostedEntry): bigint => {
    const planned = model.planned.get(id);
    const named = new Set([id, planned?.scored.transaction.kind === 'CAPTURE' ? planned.original : id]);
    let refunded = 0n;
    for (const r of store.entries) {
      // Only refund legs: every other entry has an empty refund link, which a capture naming no authorisation ('')
      // would otherwise "name" (found at 100,000 runs: another payment's FX leg counted as a refund).
      if (r.refundsTransactionId === '' || !named.has(r.refundsTransactionId)) continue;
      if (r.accountId !== leg.accountId || r.currency !== leg.currency) continue;
      if (r.reversesEntryId !== '' || r.amountMinor < 0n === leg.amountMinor < 0n) continue;
      refunded += abs(r.amountMinor);
    }
    const left = abs(leg.amountMinor) - refunded;
    return left > 0n ? left : 0n;
  };

  // Reversals: only under a FRAUD verdict on the transaction or on the authorisation it captures, each of what
  // refunds had left of its leg when it was booked; a leg left out had nothing left; and a FRAUD verdict given in
  // this step reverses what was booked under it.
  const entryById = new Map(store.entries.map((e) => [e.entryId, e]));
  for (const e of store.entries) {
    if (e.reversesEntryId === '' || model.reversalsSeen.has(e.entryId)) continue;
    model.reversalsSeen.add(e.entryId);
    const original = entryById.get(e.reversesEntryId);
    if (original === undefined) continue; // ledgerViolations reports it
    const left = leftOn(original.transactionId, original);
    if (e.amountMinor !== (original.amountMinor < 0n ? left : -left))
      violations.push(
        `reversal ${e.entryId} takes back ${e.amountMinor}; refunds had left ${left} of ${original.entryId}`,
      );
  }
  for (const [id, legs] of originals) {
    const reversed = legs.filter((e) => reversedIds.has(e.entryId)).length;
    const planned = model.planned.get(id);
    const fraud =
      verdictsOn(id).has(LabelValue.FRAUD) ||
      (planned?.scored.transaction.kind === 'CAPTURE' && verdictsOn(planned.original).has(LabelValue.FRAUD));
    if (reversed > 0 && !fraud) violations.push(`${id} reversed without a FRAUD verdict`);
    for (const leg of legs)
      if (reversed > 0 && !reversedIds.has(leg.entryId) && leftOn(id, leg) > 0n)
        violations.push(`${id}: ${leg.entryId} left unreversed with ${leftOn(id, leg)} not refunded`);
  }
  if (op?.type === 'verdict' && op.label === LabelValue.FRAUD) {
    const id = `tx-slot-${op.tx}`;
    const authorized = store.holds.some((h) => h.transactionId === id && h.kind === 'AUTHORIZATION');
    const under = [...originals.keys()].filter(
      (t) =>
        t === id ||
        (authorized &&
          model.planned.get(t)?.original === id &&
          model.planned.get(t)?.scored.transaction.kind === 'CAPTURE'),
    );
    for (const t of under)
      if (!originals.get(t)!.every((e) => reversedIds.has(e.entryId) || leftOn(t, e) === 0n))
        violations.push(`FRAUD on ${id} given, ${t} still booked unreversed`);
  }

  // Every hold ends once, for a reason the scenario gave.
  const captureLegs = new Map<string, PostedEntry>();
  for (const e of store.entries)
    if (e.capturesTransactionId !== '' && e.reversesEntryId === '') captureLegs.set(e.entryId, e);
  const consumedOn = (holdId: string, leg: { accountId: string; currency: string; amountMinor: bigint }): bigint => {
    let sum = 0n;
    for (const c of captureLegs.values())
      if (
        c.capturesTransactionId === holdId &&
        c.accountId === leg.accountId &&
        c.currency === leg.currency &&
        c.amountMinor < 0n === leg.amountMinor < 0n
      )
        sum += c.amountMinor < 0n ? -c.amountMinor : c.amountMinor;
    return sum;
  };
  for (const hold of store.holds) {
    const id = hold.transactionId;
    const decided = model.decidedAs.get(id);
    const tx = model.planned.get(id)?.scored.transaction;
    if (decided === undefined || tx === undefined || decided.decision === 'DECLINE') {
      violations.push(`${id}: held, but never let through`);
      continue;
    }
    const authorization = tx.kind === 'AUTHORIZATION';
    if (hold.kind !== (authorization ? 'AUTHORIZATION' : 'REVIEW')) violations.push(`${id}: a ${hold.kind} hold`);
    const expiresAtMs = decided.atMs + (authorization ? AUTHORIZATION_TIMEOUT_MS : REVIEW_TIMEOUT_MS);
    const swept = model.lastSweepMs >= expiresAtMs;
    const payer = payerAmount(tx);
    const payerLeg = { accountId: payer.accountId, currency: payer.currency, amountMinor: -payer.minor };
    const captured = authorization ? consumedOn(id, payerLeg) : 0n;
    const capturedBefore = model.capturedBefore.get(id) ?? 0n;
    model.capturedBefore.set(id, captured);
    const full = authorization && captured >= payer.minor;
    const resolution = store.resolutions.find((r) => r.transactionId === id);
    const given = verdictsOn(id);
    if (resolution === undefined) {
      if (full) violations.push(`authorisation ${id} open, its captures booked ${captured} of ${payer.minor}`);
      if (given.has(LabelValue.FRAUD) || (!authorization && given.size > 0))
        violations.push(`${id} open after a verdict (${[...given].join(', ')})`);
      if (swept) violations.push(`${id} open after a sweep past its timeout`);
      continue;
    }
    const { resolution: how, cause, resolvedBy } = resolution;
    // A refund's review hold its verdict or expiry would post is voided when its payment no longer holds it.
    const refusedRefund = tx.kind === 'REFUND' && how === 'VOIDED' && /^REFUND_/.test(resolvedBy);
    const fresh = !model.resolutionsSeen.has(id);
    model.resolutionsSeen.add(id);
    const reason = refusedRefund
      ? (cause === LabelValue.GENUINE && given.has(cause)) || (cause === 'EXPIRED' && swept)
      : (cause === LabelValue.FRAUD || cause === LabelValue.GENUINE
          ? given.has(cause) && how === (cause === LabelValue.FRAUD ? 'VOIDED' : 'POSTED')
          : cause === 'EXPIRED'
            ? swept && (how === 'VOIDED' || (!authorization && how === 'POSTED' && hold.expiresAtMs === expiresAtMs))
            : how === 'CAPTURED') &&
        (authorization ? how !== 'POSTED' && (how !== 'CAPTURED' || full) : how !== 'CAPTURED');
    if (!reason) violations.push(`${hold.kind} hold ${id} ${how} by ${cause}: no such reason in the scenario`);
    // A void ends an authorisation its captures had not consumed before this step (they may book at the same step).
    if (authorization && how === 'VOIDED' && fresh && capturedBefore >= payer.minor)
      violations.push(`authorisation ${id} voided, its captures had booked ${capturedBefore} of ${payer.minor}`);
  }

  // Pending debits: every open hold's legs less the capture legs on their account, currency and side.
  const resolved = new Set(store.resolutions.map((r) => r.transactionId));
  const pending = new Map<string, bigint>();
  const accounts = new Set<string>();
  for (const e of store.entries) accounts.add(e.accountId);
  for (const hold of store.holds)
    for (const leg of hold.legs) {
      accounts.add(leg.accountId);
      if (resolved.has(hold.transactionId) || leg.amountMinor >= 0n) continue;
      const left = -leg.amountMinor - consumedOn(hold.transactionId, leg);
      const key = `${leg.accountId} ${leg.currency}`;
      if (left > 0n) pending.set(key, (pending.get(key) ?? 0n) + left);
    }
  const reported = new Map<string, bigint>();
  for (const account of await store.accountBalances([...accounts]))
    for (const b of account.balances)
      if (b.pendingDebitsMinor !== 0n) reported.set(`${account.accountId} ${b.currency}`, b.pendingDebitsMinor);
  for (const key of new Set([...pending.keys(), ...reported.keys()]))
    if (pending.get(key) !== reported.get(key))
      violations.push(
        `${key}: pending debits ${reported.get(key) ?? 0n}, open holds reserve ${pending.get(key) ?? 0n}`,
      );
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
      const check: StepCheck = async (store, model, op) => {
        const violations = await cardViolations(store, model, op);
        if (violations.length > 0) throw new Error(`after ${JSON.stringify(op)}: ${violations.join('; ')}`);
      };
      const first = await run(s, codecs, makeStore, check);
      const before = rowsText(first.store);
      const violations = ledgerViolations(first.store);
      if (violations.length > 0) throw new Error(violations.join('; '));
      const again = await run(s, codecs, makeStore, undefined);
      if (rowsText(again.store) !== before) throw new Error('the same sequence on a fresh store wrote other rows');
      // Every batch delivered once more, as after a crash before any commit: nothing may change.
      const replays = first.batches.map((_, batch): Op => ({ type: 'replay', batch }));
      const replayed = await run({ ...s, ops: [...s.ops, ...replays] }, codecs, makeStore, undefined);
      if (rowsText(replayed.store) !== before) throw new Error('replaying every batch changed the ledger');
    });
  });
}

export const ledgerLifecycleTargets: readonly FuzzTarget[] = [
  lifecycleTarget('ledger: holds, card flows, verdicts, expiry and reversals keep every invariant'),
];

function abs(n: bigint): bigint {
  return n < 0n ? -n : n;
}
