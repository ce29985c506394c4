import type { Bus, BusRecord, OutgoingRecord, RecordBatch, RecordPosition } from '../../platform/bus.js';
import { ManualClock } from '../../platform/clock.js';
import { UnavailableError, describeError, isRetriable } from '../../platform/errors.js';
import { createLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { type Codec, createCodec } from '../../schemas/codec.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import { type AnalystLabel, LabelValue, type ScoredTransaction } from '../../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { HeaderNames, Topics } from '../../schemas/topics.js';
import { LedgerBatchHandler } from '../app/ledger-writer.js';
import { type TransactionLedger, reversalEntryId } from '../domain/holds.js';
import { postingsFor, postingsForDecision } from '../domain/postings.js';
import { type AuditIndex, type AuditIndexOutcome, type PostedEntry, conflictKey, labelKey } from '../ports.js';
import { capturingBus, scoredTransaction } from './fixtures.js';
import { MemoryLedgerStore } from './memory-ledger-store.js';

/**
 * A deterministic simulation of ledger-sink's state machine under seeded faults (issue 8, fault 13).
 *
 * The real `LedgerBatchHandler` runs against a store, an audit index and a dead-letter producer that misbehave
 * the way real ones do — a call that fails before it writes, one that writes and then times out (the ambiguous
 * case), and a process crash in the middle of the concurrent inserts, after which nothing more lands and a new
 * handler starts from the last committed offset — while a driver plays the bus: batches of random size from
 * random partitions, redelivery of whatever was not committed, crashes between a successful batch and its
 * commit, and zombies: a second handler (another process's, with its own lock) handling a batch from the same
 * offset with other boundaries at the same time as the partition's owner (fault 10). The log itself carries duplicates (the same record at two offsets), conflicts (the same id with other
 * content) and poison (bytes that are not a record).
 *
 * Every source of randomness is one seeded generator and nothing waits on a timer, so a seed replays the same
 * interleaving exactly: a failing seed is a reproducible bug report. The oracle is computed from the generated
 * log alone, never from what the handler reported.
 */

/** What the simulated world may do wrong, per call; each a probability in [0, 1]. */
export interface FaultRates {
  /** A store/index/producer call rejects (retriably) before it has any effect. */
  readonly failBefore: number;
  /** A write lands, then the call rejects as if it had timed out. */
  readonly timeoutAfter: number;
  /** The process dies during a call: the write lands or not (half and half), and no later call has any effect. */
  readonly crash: number;
  /** A batch is handled, then the process dies before its offset is committed. */
  readonly crashBeforeCommit: number;
  /**
   * A zombie: a member that stalled past its session timeout wakes while the partition's new owner handles a batch,
   * and handles an overlapping batch of its own (other boundaries) at the same time, with its own handler and lock
   * (another process), against the same store. Its commit is refused (its generation is over), so only its writes
   * count.
   */
  readonly zombie: number;
}

export interface SimulationOptions {
  /** Scored transactions on the log before duplicates, conflicts and poison are added. */
  readonly transactions?: number;
  readonly partitions?: number;
  readonly faults?: Partial<FaultRates>;
  /** Faults stop after this many, so every run ends; the invariants are checked on the settled state. */
  readonly maxFaults?: number;
  /**
   * A bug planted in the system under test, for the negative controls: `forget-stored-entries` makes the store
   * report no stored ledger entries, which is the idempotency check switched off; `forget-hold-resolutions`
   * makes it report every hold as unresolved, so a redelivered or second verdict would resolve a hold again;
   * `plain-inserts` keeps the check but stores every row an insert is given, stored already or not (the insert-once
   * tables switched off), so a zombie racing the new owner posts twice. Each also switches the insert-once off.
   */
  readonly plantedBug?: 'forget-stored-entries' | 'forget-hold-resolutions' | 'plain-inserts';
}

export interface SimulationResult {
  readonly seed: number;
  /** Batches handed to the handler, successful or not. */
  readonly deliveries: number;
  readonly faults: Readonly<Record<FaultKind, number>>;
  readonly counts: {
    readonly records: number;
    readonly acceptedTransactions: number;
    readonly postableTransactions: number;
    readonly entries: number;
    readonly conflicts: number;
    readonly labels: number;
    readonly holds: number;
    readonly resolutions: Readonly<Record<'POSTED' | 'VOIDED', number>>;
    readonly reversalEntries: number;
    readonly deadLetters: number;
  };
  /** Every invariant that did not hold, in words; empty when the run is correct. */
  readonly violations: readonly string[];
}

type FaultKind = 'failBefore' | 'timeoutAfter' | 'crash' | 'crashBeforeCommit' | 'zombie';

const defaultRates: FaultRates = {
  failBefore: 0.05,
  timeoutAfter: 0.05,
  crash: 0.03,
  crashBeforeCommit: 0.05,
  zombie: 0.05,
};

/** mulberry32: small, fast and good enough to pick faults; the same seed gives the same sequence. */
class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Thrown into the handler when the simulated process dies; the driver discards that handler. */
class ProcessCrash extends Error {
  constructor() {
    super('simulated process crash');
  }
}

/** Decides, per call, whether and how it fails; stops after `maxFaults` so every run settles. */
class FaultInjector {
  readonly counts: Record<FaultKind, number> = {
    failBefore: 0,
    timeoutAfter: 0,
    crash: 0,
    crashBeforeCommit: 0,
    zombie: 0,
  };
  /** True from a crash until the driver starts a new process: nothing has any effect in between. */
  dead = false;
  private total = 0;

  constructor(
    private readonly random: SeededRandom,
    private readonly rates: FaultRates,
    private readonly maxFaults: number,
  ) {}

  /** Runs one call: `write` is its effect. Yields a seeded number of times first, so concurrent calls interleave. */
  async call<T>(write: () => T): Promise<T> {
    for (let i = this.random.int(4); i > 0; i--) await Promise.resolve();
    if (this.dead) throw new ProcessCrash();
    if (this.fault('crash')) {
      this.dead = true;
      if (this.random.chance(0.5)) write();
      throw new ProcessCrash();
    }
    if (this.fault('failBefore'))
      throw new UnavailableError('LEDGER_STORE_UNAVAILABLE', 'simulated: failed before it wrote');
    const value = write();
    if (this.fault('timeoutAfter'))
      throw new UnavailableError('LEDGER_STORE_UNAVAILABLE', 'simulated: wrote, then timed out');
    return value;
  }

  fault(kind: FaultKind): boolean {
    if (this.total >= this.maxFaults || !this.random.chance(this.rates[kind])) return false;
    this.total += 1;
    this.counts[kind] += 1;
    return true;
  }
}

/** The ledger store port in memory, every call through the fault injector. */
class SimulatedStore extends MemoryLedgerStore {
  constructor(
    private readonly faults: FaultInjector,
    private readonly plantedBug: SimulationOptions['plantedBug'],
  ) {
    super();
    // A planted bug switches the protection off whole: the check that finds what is stored, and the insert that
    // skips what is stored (which alone would hide the bug's double posts).
    this.insertOnce = plantedBug === undefined;
  }

  protected run<T>(effect: () => T): Promise<T> {
    return this.faults.call(effect);
  }

  protected override entriesOf(wanted: ReadonlySet<string>): PostedEntry[] {
    return this.plantedBug === 'forget-stored-entries' ? [] : super.entriesOf(wanted);
  }

  override async transactionLedgers(ids: readonly string[]): Promise<ReadonlyMap<string, TransactionLedger>> {
    const ledgers = await super.transactionLedgers(ids);
    if (this.plantedBug !== 'forget-hold-resolutions') return ledgers;
    return new Map([...ledgers].map(([id, ledger]) => [id, { ...ledger, resolution: undefined }]));
  }
}

/** The audit index port: create-if-absent per transaction id, so a replay is a no-op. */
class SimulatedAuditIndex implements AuditIndex {
  readonly documents = new Map<string, ScoredTransaction>();
  constructor(private readonly faults: FaultInjector) {}
  ensureTemplate(): Promise<void> {
    return Promise.resolve();
  }
  index(decisions: readonly ScoredTransaction[]): Promise<AuditIndexOutcome> {
    return this.faults.call(() => {
      let indexed = 0;
      let alreadyIndexed = 0;
      for (const scored of decisions) {
        const id = scored.transaction.transactionId;
        if (this.documents.has(id)) alreadyIndexed += 1;
        else {
          this.documents.set(id, scored);
          indexed += 1;
        }
      }
      return { indexed, alreadyIndexed, rejected: [] };
    });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A bus whose producer (the dead-letter writer's) goes through the fault injector. */
function faultyBus(faults: FaultInjector): Bus & { readonly sent: Map<string, OutgoingRecord[]> } {
  const inner = capturingBus();
  const producer = inner.producer();
  return {
    ...inner,
    producer: () => ({
      send: (topic: string, records: readonly OutgoingRecord[]): Promise<RecordPosition[]> =>
        faults.call(() => records).then((r) => producer.send(topic, r)),
    }),
  };
}

interface LogRecord {
  readonly record: BusRecord;
  /** What the oracle needs to know about it; the handler sees only the bytes. */
  readonly kind: 'scored' | 'label' | 'poison';
  readonly scored?: ScoredTransaction;
  readonly label?: AnalystLabel;
}

interface Partition {
  readonly topic: string;
  readonly partition: number;
  readonly records: LogRecord[];
  committed: number;
}

/** Builds the log: transactions by payer-account partition, with duplicates, conflicts, poison and labels. */
function buildLog(
  random: SeededRandom,
  codecs: { scored: Codec<ScoredTransaction>; label: Codec<AnalystLabel> },
  transactions: number,
  partitionCount: number,
): Partition[] {
  const scoredPartitions: Partition[] = Array.from({ length: partitionCount }, (_, partition) => ({
    topic: Topics.transactionsScored,
    partition,
    records: [],
    committed: 0,
  }));
  const labels: Partition = { topic: Topics.analystLabels, partition: 0, records: [], committed: 0 };
  const append = (p: Partition, kind: LogRecord['kind'], value: Buffer, extra: Partial<LogRecord> = {}): void => {
    const offset = p.records.length;
    p.records.push({
      kind,
      ...extra,
      record: { topic: p.topic, partition: p.partition, offset, key: null, value, headers: {}, timestampMs: offset },
    });
  };
  const decisions = ['APPROVE', 'REVIEW', 'DECLINE'] as const;
  const sent: Array<{ p: Partition; scored: ScoredTransaction }> = [];
  for (let i = 1; i <= transactions; i++) {
    const scored = scoredTransaction(i, {}, { decision: decisions[random.int(3)]! });
    // The payer account is the record key, so every copy of one transaction travels on one partition.
    const p = scoredPartitions[hashText(scored.transaction.payerAccountId) % partitionCount]!;
    append(p, 'scored', codecs.scored.encode(scored), { scored });
    sent.push({ p, scored });
    if (random.chance(0.1)) {
      const verdict = random.int(2);
      const label = labelFor(scored, verdict, 60_000);
      append(labels, 'label', codecs.label.encode(label), { label });
      // Sometimes a second analyst disagrees a minute later: a hold is resolved by the first verdict only, and a
      // FRAUD after a GENUINE reverses what the GENUINE booked.
      if (random.chance(0.3)) {
        const second = labelFor(scored, 1 - verdict, 120_000);
        append(labels, 'label', codecs.label.encode(second), { label: second });
      }
    }
    // Interleave later copies: another producer's retry, a replay, or a client resending with other content.
    if (random.chance(0.15)) {
      const earlier = sent[random.int(sent.length)]!;
      append(earlier.p, 'scored', codecs.scored.encode(earlier.scored), { scored: earlier.scored });
    }
    // Scoring re-run after a crash may decide the same content differently: the first decision stays in force.
    if (random.chance(0.05)) {
      const earlier = sent[random.int(sent.length)]!;
      const rescored: ScoredTransaction = { ...earlier.scored, decision: decisions[random.int(3)]! };
      append(earlier.p, 'scored', codecs.scored.encode(rescored), { scored: rescored });
    }
    if (random.chance(0.05)) {
      const earlier = sent[random.int(sent.length)]!;
      const tx = earlier.scored.transaction;
      const other: ScoredTransaction = {
        ...earlier.scored,
        transaction: { ...tx, amountMinor: tx.amountMinor + 1n, fingerprint: `conflict-${i}`.padEnd(64, '0') },
      };
      append(earlier.p, 'scored', codecs.scored.encode(other), { scored: other });
    }
    if (random.chance(0.03))
      append(scoredPartitions[random.int(partitionCount)]!, 'poison', Buffer.from([0x07, i & 0xff]));
  }
  // An analyst's verdict sent twice (a double click, a retried request): stored once.
  for (const r of [...labels.records])
    if (random.chance(0.2)) append(labels, 'label', r.record.value, { label: r.label! });
  return [...scoredPartitions, labels];
}

function labelFor(scored: ScoredTransaction, verdict: number, afterMs: number): AnalystLabel {
  const tx = scored.transaction;
  return {
    transactionId: tx.transactionId,
    label: verdict === 0 ? LabelValue.FRAUD : LabelValue.GENUINE,
    labelledBy: 'analyst-sim',
    labelledAtMs: scored.scoredAtMs + afterMs,
    transactionEventTimeMs: tx.eventTimeMs,
    payerAccountId: tx.payerAccountId,
    cardToken: tx.card?.token ?? null,
    terminalId: tx.terminalId,
    note: null,
  };
}

function hashText(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Runs one seeded simulation to the end and checks every invariant on the settled state. */
export async function simulateLedgerSink(seed: number, options: SimulationOptions = {}): Promise<SimulationResult> {
  const random = new SeededRandom(seed);
  const rates = { ...defaultRates, ...options.faults };
  const faults = new FaultInjector(random, rates, options.maxFaults ?? 40);
  const registry = new EmbeddedSchemaRegistry();
  const codecs = {
    scored: await createCodec<ScoredTransaction>(registry, Topics.transactionsScored),
    label: await createCodec<AnalystLabel>(registry, Topics.analystLabels),
  };
  const partitions = buildLog(random, codecs, options.transactions ?? 60, options.partitions ?? 3);
  const store = new SimulatedStore(faults, options.plantedBug);
  const auditIndex = new SimulatedAuditIndex(faults);
  const bus = faultyBus(faults);
  const clock = new ManualClock(1_764_000_100_000);
  const deadLetters = await DeadLetterWriter.create(bus, registry, 'ledger-sink', clock);
  const silent = createLogger({ write: () => undefined });
  const newProcess = (): LedgerBatchHandler =>
    new LedgerBatchHandler({
      store,
      scoredCodec: codecs.scored,
      labelCodec: codecs.label,
      deadLetters,
      logger: silent,
      metrics: new MetricsRegistry(),
      clock,
      auditIndex,
    });

  const violations: string[] = [];
  let handler = newProcess();
  let deliveries = 0;
  // Enough for every record to be redelivered many times; reaching it means a consumer is stuck.
  const maxDeliveries = 50 * partitions.reduce((n, p) => n + p.records.length, 0) + 1000;
  for (;;) {
    const pending = partitions.filter((p) => p.committed < p.records.length);
    if (pending.length === 0) break;
    if (deliveries >= maxDeliveries) {
      violations.push(`stuck: ${deliveries} deliveries and ${pending.length} partitions still behind`);
      break;
    }
    const p = pending[random.int(pending.length)]!;
    const size = 1 + random.int(8);
    const batch: RecordBatch = {
      topic: p.topic,
      partition: p.partition,
      records: p.records.slice(p.committed, p.committed + size).map((r) => r.record),
    };
    deliveries += 1;
    clock.advance(1000);
    // The zombie's batch starts where the owner's does — at the committed offset: a member commits each batch before
    // it handles the next, so everything before its batch in flight is handled and stored — and ends elsewhere.
    const zombieBatch: RecordBatch | null = faults.fault('zombie')
      ? { ...batch, records: p.records.slice(p.committed, p.committed + 1 + random.int(8)).map((r) => r.record) }
      : null;
    try {
      if (zombieBatch === null) await handler.handle(batch);
      else {
        // Both run at once; the store's seeded yields interleave their calls.
        const [owned, zombie] = await Promise.allSettled([handler.handle(batch), newProcess().handle(zombieBatch)]);
        if (zombie.status === 'rejected' && zombie.reason instanceof ProcessCrash) throw zombie.reason;
        if (owned.status === 'rejected') throw owned.reason;
      }
      if (faults.fault('crashBeforeCommit')) {
        handler = newProcess();
        continue;
      }
      p.committed += batch.records.length;
    } catch (error) {
      if (error instanceof ProcessCrash) {
        faults.dead = false;
        handler = newProcess();
      } else if (!isRetriable(error)) {
        violations.push(`a non-retriable error would stop the consumer: ${describeError(error)}`);
        break;
      }
      // A retriable failure: the bus redelivers the same batch later; nothing is committed.
    }
  }

  const oracle = expectedOutcome(partitions);
  checkInvariants(oracle, store, auditIndex, bus.sent.get(Topics.deadLetters) ?? [], violations);
  return {
    seed,
    deliveries,
    faults: { ...faults.counts },
    counts: {
      records: partitions.reduce((n, p) => n + p.records.length, 0),
      acceptedTransactions: oracle.accepted.size,
      postableTransactions: [...oracle.accepted.values()].filter((s) => postingsForDecision(s).length > 0).length,
      entries: store.entries.length,
      conflicts: store.conflicts.length,
      labels: store.labels.length,
      holds: store.holds.length,
      resolutions: {
        POSTED: store.resolutions.filter((r) => r.resolution === 'POSTED').length,
        VOIDED: store.resolutions.filter((r) => r.resolution === 'VOIDED').length,
      },
      reversalEntries: store.entries.filter((e) => e.reversesEntryId !== '').length,
      deadLetters: (bus.sent.get(Topics.deadLetters) ?? []).length,
    },
    violations,
  };
}

interface Oracle {
  /** Per transaction id, the version first on its partition: the one that must be accepted. */
  readonly accepted: Map<string, ScoredTransaction>;
  /** conflictKeys of every later copy with another fingerprint. */
  readonly conflicts: Set<string>;
  readonly labelKeys: Set<string>;
  /** Per transaction id, its distinct verdicts in the order they were labelled (and logged). */
  readonly verdicts: Map<string, LabelValue[]>;
  /** `partition/offset` of every record that must reach the dead-letter topic. */
  readonly deadLetterPositions: Set<string>;
}

function expectedOutcome(partitions: readonly Partition[]): Oracle {
  const accepted = new Map<string, ScoredTransaction>();
  const conflicts = new Set<string>();
  const labelKeys = new Set<string>();
  const verdicts = new Map<string, LabelValue[]>();
  const deadLetterPositions = new Set<string>();
  for (const p of partitions) {
    for (const r of p.records) {
      const position = `${r.record.topic}/${r.record.partition}/${r.record.offset}`;
      if (r.kind === 'poison') deadLetterPositions.add(position);
      if (r.kind === 'label' && !labelKeys.has(labelKey(r.label!))) {
        labelKeys.add(labelKey(r.label!));
        verdicts.set(r.label!.transactionId, [...(verdicts.get(r.label!.transactionId) ?? []), r.label!.label]);
      }
      if (r.kind !== 'scored') continue;
      const tx = r.scored!.transaction;
      const first = accepted.get(tx.transactionId);
      if (first === undefined) accepted.set(tx.transactionId, r.scored!);
      else if (first.transaction.fingerprint !== tx.fingerprint) {
        conflicts.add(conflictKey(tx.transactionId, tx.fingerprint));
        deadLetterPositions.add(position);
      }
    }
  }
  return { accepted, conflicts, labelKeys, verdicts, deadLetterPositions };
}

function checkInvariants(
  oracle: Oracle,
  store: SimulatedStore,
  auditIndex: SimulatedAuditIndex,
  deadLetters: readonly OutgoingRecord[],
  violations: string[],
): void {
  const countBy = <T>(items: readonly T[], key: (item: T) => string): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
    return counts;
  };
  const check = (holds: boolean, violation: () => string): void => {
    if (!holds) violations.push(violation());
  };

  // Decisions: one row per accepted transaction, with the accepted content; none for a conflicting copy.
  const decisionRows = countBy(store.decisions, (d) => d.scored.transaction.transactionId);
  for (const [id, scored] of oracle.accepted) {
    check(decisionRows.get(id) === 1, () => `decision ${id}: ${decisionRows.get(id) ?? 0} rows, expected 1`);
    const row = store.decisions.find((d) => d.scored.transaction.transactionId === id);
    check(
      row === undefined || row.scored.transaction.fingerprint === scored.transaction.fingerprint,
      () => `decision ${id} stored with a conflicting copy's fingerprint`,
    );
  }
  check(
    decisionRows.size === oracle.accepted.size,
    () => `${decisionRows.size} decided ids, expected ${oracle.accepted.size}`,
  );

  // Entries and holds, from the decision and the verdicts alone (two-phase postings, domain/holds.ts): an APPROVE
  // books its legs; a REVIEW holds them until its first verdict posts (GENUINE) or voids (FRAUD) the hold; a
  // FRAUD verdict on booked legs reverses them, once. Every leg and every hold exactly once, balanced per currency.
  const entryRows = countBy(store.entries, (e) => e.entryId);
  const holdRows = countBy(store.holds, (h) => h.transactionId);
  const resolutionRows = countBy(store.resolutions, (r) => r.transactionId);
  for (const [id, scored] of oracle.accepted) {
    const legs = postingsFor(scored.transaction);
    const verdicts = oracle.verdicts.get(id) ?? [];
    // An AUTHORIZATION let through holds its legs until a capture (none here) or a FRAUD verdict voids it; GENUINE
    // leaves it open. It never books its own legs.
    const authorizes = scored.transaction.kind === 'AUTHORIZATION' && scored.decision !== 'DECLINE';
    const reviews = scored.transaction.kind !== 'AUTHORIZATION' && scored.decision === 'REVIEW';
    const holds = authorizes || reviews;
    const resolution = authorizes
      ? verdicts.includes('FRAUD')
        ? 'VOIDED'
        : undefined
      : reviews && verdicts[0] !== undefined
        ? verdicts[0] === 'GENUINE'
          ? 'POSTED'
          : 'VOIDED'
        : undefined;
    const booked =
      (scored.decision === 'APPROVE' && scored.transaction.kind !== 'AUTHORIZATION') || resolution === 'POSTED';
    const reversed = booked && verdicts.includes('FRAUD');
    const expected = [
      ...(booked ? legs.map((l) => l.entryId) : []),
      ...(reversed ? legs.map((l) => reversalEntryId(l)) : []),
    ];
    for (const entryId of expected)
      check(entryRows.get(entryId) === 1, () => `entry ${entryId}: ${entryRows.get(entryId) ?? 0} rows, expected 1`);
    const stored = store.entries.filter((e) => e.transactionId === id);
    check(
      stored.length === expected.length,
      () => `transaction ${id}: ${stored.length} entries, expected ${expected.length}`,
    );
    check(
      stored.every((e) => e.fingerprint === scored.transaction.fingerprint),
      () => `transaction ${id}: entries posted from a conflicting copy`,
    );
    check(
      (holdRows.get(id) ?? 0) === (holds ? 1 : 0),
      () => `transaction ${id}: ${holdRows.get(id) ?? 0} holds, expected ${holds ? 1 : 0}`,
    );
    const resolutions = store.resolutions.filter((r) => r.transactionId === id);
    check(
      (resolutionRows.get(id) ?? 0) === (resolution === undefined ? 0 : 1) &&
        resolutions.every((r) => r.resolution === resolution),
      () =>
        `transaction ${id}: resolutions ${JSON.stringify(resolutions.map((r) => r.resolution))}, expected ${resolution ?? 'none'}`,
    );
  }
  const sums = new Map<string, bigint>();
  for (const e of store.entries)
    sums.set(`${e.transactionId} ${e.currency}`, (sums.get(`${e.transactionId} ${e.currency}`) ?? 0n) + e.amountMinor);
  for (const [key, sum] of sums) check(sum === 0n, () => `entries of ${key} sum to ${sum}, expected 0`);

  // Conflicts recorded exactly once each; labels exactly once each; the audit index holds every accepted id.
  const conflictRows = countBy(store.conflicts, (c) => conflictKey(c.transactionId, c.conflictingFingerprint));
  for (const key of oracle.conflicts)
    check(
      conflictRows.get(key) === 1,
      () => `conflict ${key.replace('\u0000', ' ')}: ${conflictRows.get(key) ?? 0} rows, expected 1`,
    );
  check(
    conflictRows.size === oracle.conflicts.size,
    () => `${conflictRows.size} conflicts recorded, expected ${oracle.conflicts.size}`,
  );
  const labelRows = countBy(store.labels, labelKey);
  for (const key of oracle.labelKeys)
    check(
      labelRows.get(key) === 1,
      () => `label ${key.split('\u0000')[0]}: ${labelRows.get(key) ?? 0} rows, expected 1`,
    );
  check(
    labelRows.size === oracle.labelKeys.size,
    () => `${labelRows.size} labels stored, expected ${oracle.labelKeys.size}`,
  );
  const indexed = new Set(auditIndex.documents.keys());
  check(
    indexed.size === oracle.accepted.size && [...oracle.accepted.keys()].every((id) => indexed.has(id)),
    () => `audit index holds ${indexed.size} documents, expected the ${oracle.accepted.size} accepted ids`,
  );

  // Dead letters are at least once: every poison record and conflicting copy is there, with where it came from.
  const lettered = new Set(
    deadLetters.map(
      (d) =>
        `${d.headers?.[HeaderNames.dlqSourceTopic]}/${d.headers?.[HeaderNames.dlqSourcePartition]}/${d.headers?.[HeaderNames.dlqSourceOffset]}`,
    ),
  );
  for (const position of oracle.deadLetterPositions)
    check(lettered.has(position), () => `record ${position} should be dead-lettered and is not`);
}
