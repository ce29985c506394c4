/**
 * Faults 3 and 4 of the suite as real process crashes: ledger-sink's real batch handler, over a real chDB store and
 * the embedded durable log, runs as a child process (ledger-sink/testing/crash-ledger-sink.ts) and SIGKILLs itself
 * inside one batch — before any insert, after the first insert landed and before the next (mid-insert), or after
 * the batch was handled and before the bus committed it. Then a fresh process on the same data directory drains.
 * What the restart finds is checked exactly against the domain's expectation (a partial batch for mid-insert), and
 * the drained ledger against the suite oracle, read with and without FINAL; every child's peak RSS (getrusage, reported
 * by the child before it dies or exits) stays under MEMORY_BOUND_MIB. Each window has a negative control.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedLog } from '../../platform/embedded-log/embedded-log.js';
import { createCodec } from '../../schemas/codec.js';
import type { ScoredTransaction } from '../../schemas/generated/types.js';
import { topicSpecs } from '../../schemas/partitions.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import { bookingOf, postingsFor } from '../domain/postings.js';
import { type ChildRun, eventOf, runChild, viewFromJson } from '../testing/crash-process.js';
import type { CrashWindow, InsertCalls } from '../testing/crash-window-store.js';
import { scoredTransaction } from '../testing/fixtures.js';
import { type StoredView, suiteExpectation, suiteViolations } from '../testing/suite-oracle.js';

const SCRIPT = 'ledger-sink/testing/crash-ledger-sink.ts';
/**
 * 60 decisions over tx.scored's 8 partitions, handled 4 records a batch, partitions in turn: the 14th batch is the
 * middle one of partition 5 (offsets 4-7), so the crash lands behind a committed batch of its own partition and ahead
 * of another.
 */
const N = 60;
const MAX_BATCH_RECORDS = 4;
const CRASH_AT_BATCH = 14;
/** Bounds on a hung child only; a run takes seconds. */
const CHILD_TIMEOUT_MS = 120_000;
const GROUP_ID = 'ledger-sink';
/** Peak resident memory any one child may reach (as the other fault tests; chDB is in the child). */
const MEMORY_BOUND_MIB = 1536;

/** The line naming `peakMiB` when it is not a reading under MEMORY_BOUND_MIB (a missing reading is one too). */
function memoryBoundViolations(child: string, peakMiB: number | undefined): string[] {
  return (peakMiB ?? NaN) < MEMORY_BOUND_MIB
    ? []
    : [`${child}: peak RSS ${peakMiB?.toFixed(0)} MiB, bound ${MEMORY_BOUND_MIB} MiB`];
}

const items: readonly ScoredTransaction[] = Array.from({ length: N }, (_, i) => scoredTransaction(i + 1));
const byId = new Map(items.map((s) => [s.transaction.transactionId, s]));
const expected = suiteExpectation(items);

/** Ledger entries the decisions of `ids` post, from the domain's posting rules. */
const entriesOf = (ids: Iterable<string>): number =>
  [...ids].reduce((sum, id) => sum + (expected.entryIds.get(id)?.length ?? 0), 0);
/** Hold legs the decisions of `ids` place (REVIEW holds and card authorisations). */
const holdLegsOf = (ids: Iterable<string>): number =>
  [...ids].reduce((sum, id) => {
    const scored = byId.get(id)!;
    const booking = bookingOf(scored.decision, scored.transaction.kind);
    return sum + (booking === 'hold' || booking === 'authorize' ? postingsFor(scored.transaction).length : 0);
  }, 0);

interface Counts {
  readonly counts: { readonly entries: number; readonly decisions: number };
  readonly holds: { readonly holdLegs: number };
}
interface Armed {
  readonly partition: number;
  readonly firstOffset: number;
  readonly transactionIds: string[];
}
interface Handled {
  readonly partition: number;
  readonly transactionIds: string[];
}
type Drained = Counts & {
  readonly drainMs: number;
  readonly peakRssMiB: number;
  readonly imbalances: unknown[];
  readonly plain: { view: Parameters<typeof viewFromJson>[0] };
  readonly final: { view: Parameters<typeof viewFromJson>[0]; mode: { final: boolean; engines: string[] } };
};

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A data directory whose tx.scored holds the N decisions, keyed by payer account as scoring writes them. */
async function seededDataDir(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-crash-window-'));
  dirs.push(dataDir);
  const log = await EmbeddedLog.open({ dir: join(dataDir, 'log') });
  try {
    await log.ensureTopics(topicSpecs());
    const codec = await createCodec<ScoredTransaction>(new EmbeddedSchemaRegistry(), Topics.transactionsScored);
    await log.producer().send(
      Topics.transactionsScored,
      items.map((s) => ({ key: s.transaction.payerAccountId, value: codec.encode(s) })),
    );
  } finally {
    await log.close();
  }
  return dataDir;
}

/** The transaction ids below the group's committed offsets, read from the log the dead process left. */
async function committedIds(dataDir: string): Promise<{ ids: Set<string>; committed: number[] }> {
  const log = await EmbeddedLog.open({ dir: join(dataDir, 'log') });
  try {
    const codec = await createCodec<ScoredTransaction>(new EmbeddedSchemaRegistry(), Topics.transactionsScored);
    const committed = await log.committedOffsets(GROUP_ID, Topics.transactionsScored);
    const ids = new Set<string>();
    for (const [partition, next] of committed.entries())
      for (const record of next > 0 ? await log.read(Topics.transactionsScored, partition, 0, next) : [])
        ids.add((await codec.decode(record.value)).transaction.transactionId);
    return { ids, committed };
  } finally {
    await log.close();
  }
}

/** Runs the crashing process on `dataDir`: it must end by its own SIGKILL, inside the armed batch. */
async function crashAt(dataDir: string, window: CrashWindow) {
  const run = await runChild(
    SCRIPT,
    [
      '--data-dir',
      dataDir,
      '--max-batch-records',
      String(MAX_BATCH_RECORDS),
      '--crash-window',
      window,
      '--crash-at-batch',
      String(CRASH_AT_BATCH),
    ],
    { timeoutMs: CHILD_TIMEOUT_MS },
  );
  expect({ signal: run.signal, stderr: run.signal === 'SIGKILL' ? '' : run.stderr }).toEqual({
    signal: 'SIGKILL',
    stderr: '',
  });
  const handledBefore = (run.events.filter((e) => e['event'] === 'handled') as unknown as Handled[]).flatMap(
    (h) => h.transactionIds,
  );
  const armed = eventOf<Armed>(run, 'armed');
  const crash = eventOf<{ window: CrashWindow; calls?: InsertCalls; peakRssMiB: number }>(run, 'crash');
  console.log(
    `${window}: killed in partition ${armed.partition} offsets ${armed.firstOffset}.. (${armed.transactionIds.length} records, ${entriesOf(armed.transactionIds)} entries, ${holdLegsOf(armed.transactionIds)} hold legs) after ${handledBefore.length} records handled; inserts ${JSON.stringify(crash.calls ?? 'all')}; process ${run.elapsedMs} ms, peak RSS ${crash.peakRssMiB.toFixed(0)} MiB`,
  );
  expect(memoryBoundViolations(`crashing child (${window})`, crash.peakRssMiB)).toEqual([]);
  return { run, armed, crash, handledBefore };
}

/** A fresh process on the same data directory handles everything left and exits 0. */
async function drain(dataDir: string, options: { forgetStored?: boolean } = {}) {
  const run: ChildRun = await runChild(
    SCRIPT,
    [
      '--data-dir',
      dataDir,
      '--max-batch-records',
      String(MAX_BATCH_RECORDS),
      ...(options.forgetStored ? ['--forget-stored'] : []),
    ],
    { timeoutMs: CHILD_TIMEOUT_MS },
  );
  expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
  const drained = eventOf<Drained>(run, 'drained');
  console.log(
    `drained${options.forgetStored ? ' (forgetting what is stored)' : ''}: ${JSON.stringify(drained.counts)} ${JSON.stringify(drained.holds)} in ${drained.drainMs} ms (process ${run.elapsedMs} ms, peak RSS ${drained.peakRssMiB.toFixed(0)} MiB); FINAL ${drained.final.mode.final ? 'used' : 'not applicable'} (${drained.final.mode.engines.join(', ')})`,
  );
  expect(memoryBoundViolations('draining child', drained.peakRssMiB)).toEqual([]);
  return {
    run,
    found: eventOf<Counts>(run, 'started'),
    drained,
    plain: viewFromJson(drained.plain.view),
    final: viewFromJson(drained.final.view),
  };
}

/**
 * The counts (for `toMatchObject`) of a ledger holding exactly the decision rows of `decided`, the entries of `posted`
 * and the hold legs of `held`, by the domain's rules.
 */
function countsFor(decided: readonly string[], posted: readonly string[], held: readonly string[]) {
  return {
    counts: { entries: entriesOf(posted), decisions: decided.length },
    holds: { holdLegs: holdLegsOf(held) },
  };
}

/** The view without the rows of `ids`: what a commit before the batch's writes would have left (planted). */
function withoutRowsOf(view: StoredView, ids: readonly string[]): StoredView {
  const gone = new Set(ids);
  return {
    decisionIds: view.decisionIds.filter((id) => !gone.has(id)),
    legs: view.legs.filter((leg) => !gone.has(leg.transactionId)),
  };
}

const everyId = items.map((s) => s.transaction.transactionId);

describe('faults 3 and 4: ledger-sink SIGKILLed inside a batch, then drained by a fresh process', () => {
  it('given the kill before any insert of the batch, then the restart finds only the committed batches and drains to the exact ledger', async () => {
    const dataDir = await seededDataDir();
    const { armed, crash, handledBefore } = await crashAt(dataDir, 'before-insert');
    expect(crash.calls!.landed).toEqual([]);
    const { ids: committed, committed: offsets } = await committedIds(dataDir);
    expect(offsets[armed.partition]).toBe(armed.firstOffset);
    expect([...committed].sort()).toEqual([...handledBefore].sort());

    const { found, drained, plain, final } = await drain(dataDir);
    expect(found).toMatchObject(countsFor(handledBefore, handledBefore, handledBefore));
    expect(drained).toMatchObject(countsFor(everyId, everyId, everyId));
    expect(suiteViolations(plain, expected)).toEqual([]);
    expect(suiteViolations(final, expected)).toEqual([]);
    expect(drained.imbalances).toEqual([]);

    // Negative control, planted in the checker's view: the batch committed before it was written (offsets moved
    // past records whose rows never landed) is reported, decisions and postings both.
    expect(suiteViolations(withoutRowsOf(plain, armed.transactionIds), expected)).toEqual([
      expect.stringMatching(new RegExp(`^acknowledged without a decision: ${armed.transactionIds.length} `)),
      expect.stringMatching(
        new RegExp(`^entries missing \\(a postable decision not posted\\): ${entriesOf(armed.transactionIds)} `),
      ),
    ]);
    // Negative control of the memory bound: a leak-sized reading and a missing one are reported.
    expect([
      ...memoryBoundViolations('planted', 2 * MEMORY_BOUND_MIB),
      ...memoryBoundViolations('unread', undefined),
    ]).toEqual([
      `planted: peak RSS ${2 * MEMORY_BOUND_MIB} MiB, bound ${MEMORY_BOUND_MIB} MiB`,
      `unread: peak RSS undefined MiB, bound ${MEMORY_BOUND_MIB} MiB`,
    ]);
  }, 300_000);

  it('given the kill mid-insert (the entries landed, the decisions and holds not), then the restart finds the partial batch and writes only what is missing', async () => {
    const dataDir = await seededDataDir();
    const { armed, crash, handledBefore } = await crashAt(dataDir, 'mid-insert');
    const armedEntries = entriesOf(armed.transactionIds);
    const armedHoldLegs = holdLegsOf(armed.transactionIds);
    expect(armedEntries).toBeGreaterThan(0); // the batch must post something for the window to be mid-insert
    expect(crash.calls).toEqual({
      landed: [{ method: 'insertEntries', rows: armedEntries }],
      held: [
        { method: 'insertDecisions', rows: armed.transactionIds.length },
        ...(armedHoldLegs > 0 ? [{ method: 'insertHolds', rows: armedHoldLegs }] : []),
      ],
    });
    const { ids: committed, committed: offsets } = await committedIds(dataDir);
    expect(offsets[armed.partition]).toBe(armed.firstOffset);
    expect([...committed].sort()).toEqual([...handledBefore].sort());

    const { found, drained, plain, final } = await drain(dataDir);
    // Partial: the batch's entries are stored without their decisions or holds.
    expect(found).toMatchObject(countsFor(handledBefore, [...handledBefore, ...armed.transactionIds], handledBefore));
    expect(drained).toMatchObject(countsFor(everyId, everyId, everyId));
    expect(suiteViolations(plain, expected)).toEqual([]);
    expect(suiteViolations(final, expected)).toEqual([]);
    expect(drained.imbalances).toEqual([]);
  }, 300_000);

  it('negative control: mid-insert, drained by a process that forgets what is stored (plain inserts), posts the landed entries twice and the oracle says so', async () => {
    const dataDir = await seededDataDir();
    const { armed } = await crashAt(dataDir, 'mid-insert');
    const { plain, final } = await drain(dataDir, { forgetStored: true });
    const twice = [
      expect.stringMatching(new RegExp(`^entries posted more than once: ${entriesOf(armed.transactionIds)} `)),
    ];
    expect(suiteViolations(plain, expected)).toEqual(twice);
    expect(suiteViolations(final, expected)).toEqual(twice);
  }, 300_000);

  it('given the kill after the batch was handled and before the bus committed it (fault 3), then the redelivered batch changes nothing', async () => {
    const dataDir = await seededDataDir();
    const { armed, crash, handledBefore } = await crashAt(dataDir, 'before-commit');
    expect(crash.calls).toBeUndefined();
    const { ids: committed, committed: offsets } = await committedIds(dataDir);
    expect(offsets[armed.partition]).toBe(armed.firstOffset);
    expect([...committed].sort()).toEqual([...handledBefore].sort());

    const { found, drained, plain, final } = await drain(dataDir);
    const whole = [...handledBefore, ...armed.transactionIds];
    expect(found).toMatchObject(countsFor(whole, whole, whole));
    expect(drained).toMatchObject(countsFor(everyId, everyId, everyId));
    expect(suiteViolations(plain, expected)).toEqual([]);
    expect(suiteViolations(final, expected)).toEqual([]);
    expect(drained.imbalances).toEqual([]);
  }, 300_000);

  it('negative control: before-commit, drained by a process that forgets what is stored, stores the redelivered batch twice and the oracle says so', async () => {
    const dataDir = await seededDataDir();
    const { armed } = await crashAt(dataDir, 'before-commit');
    const { plain, final } = await drain(dataDir, { forgetStored: true });
    const twice = [
      expect.stringMatching(new RegExp(`^decisions stored more than once: ${armed.transactionIds.length} `)),
      expect.stringMatching(new RegExp(`^entries posted more than once: ${entriesOf(armed.transactionIds)} `)),
    ];
    expect(suiteViolations(plain, expected)).toEqual(twice);
    expect(suiteViolations(final, expected)).toEqual(twice);
  }, 300_000);
});
