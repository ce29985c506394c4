/**
 * Fault 3 for scoring: a consumer that crashes after processing and before committing. The real scoring stage runs
 * as a child process on the embedded durable log (scoring/testing/crash-scoring.ts), snapshotting and committing
 * after every batch, and SIGKILLs itself at a chosen window of one batch: after the batch's decisions are on
 * tx.scored and before its snapshot and commit (its records are scored again and published a second time), or after
 * the snapshot and before the commit (the restored snapshot skips them). A fresh scoring process on the same data
 * directory drains tx.raw — with both thresholds at 0, so every decision it makes again is DECLINE and differs from
 * the first. Then ledger-sink's real handler (ledger-sink/testing/crash-ledger-sink.ts) drains tx.scored into chDB.
 *
 * Oracle: tx.scored holds exactly the decisions expected of the window; the ledger holds each acknowledged id's
 * decision once, the first one published for it (the first decision governs), and exactly its postings (suite
 * oracle, with and without FINAL). Negative control: a ledger-sink that forgets what is stored records the second
 * decisions too, and the oracle says so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventOf, runChild, viewFromJson } from '../ledger-sink/testing/crash-process.js';
import { suiteExpectation, suiteViolations } from '../ledger-sink/testing/suite-oracle.js';
import { EmbeddedLog } from '../platform/embedded-log/embedded-log.js';
import { createCodec } from '../schemas/codec.js';
import type { ScoredTransaction, Transaction } from '../schemas/generated/types.js';
import { topicSpecs } from '../schemas/partitions.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import { TrafficSimulator } from '../simulator/generator.js';

const SCORING = 'scoring/testing/crash-scoring.ts';
const LEDGER_SINK = 'ledger-sink/testing/crash-ledger-sink.ts';
/** 80 transactions over tx.raw's 8 partitions, scored 10 a batch with a snapshot and a commit after each. */
const N = 80;
const CRASH_AT = 4;
/** Bounds on a hung child only; a run takes seconds. */
const CHILD_TIMEOUT_MS = 180_000;
const scoringEnv = { VIGIL_SCORING_MAX_BATCH_RECORDS: '10', VIGIL_SCORING_SNAPSHOT_EVERY_RECORDS: '1' };
/** The restarted scoring declines everything, so each decision it makes again differs from the first. */
const declineAll = { ...scoringEnv, VIGIL_REVIEW_THRESHOLD: '0', VIGIL_DECLINE_THRESHOLD: '0' };

/** Simulated traffic of one seed, as ingest would have put it on tx.raw: scoring approves most of it. */
const transactions: readonly Transaction[] = new TrafficSimulator({
  seed: 34,
  startTimeMs: Date.UTC(2026, 10, 2),
  customers: 300,
  terminals: 200,
})
  .take(N)
  .map((s) => s.transaction);
const acknowledged = transactions.map((t) => t.transactionId);
const registry = new EmbeddedSchemaRegistry();

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A data directory whose tx.raw holds the N transactions, keyed by payer account as ingest writes them. */
async function seededDataDir(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-scoring-crash-'));
  dirs.push(dataDir);
  const log = await EmbeddedLog.open({ dir: join(dataDir, 'log') });
  try {
    await log.ensureTopics(topicSpecs());
    const codec = await createCodec<Transaction>(registry, Topics.transactionsRaw);
    await log.producer().send(
      Topics.transactionsRaw,
      transactions.map((t) => ({ key: t.payerAccountId, value: codec.encode(t) })),
    );
  } finally {
    await log.close();
  }
  return dataDir;
}

/** Every decision on tx.scored, per partition in offset order (a transaction's copies share its partition). */
async function publishedDecisions(dataDir: string): Promise<ScoredTransaction[]> {
  const log = await EmbeddedLog.open({ dir: join(dataDir, 'log') });
  try {
    const codec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
    const decisions: ScoredTransaction[] = [];
    for (const [partition, end] of (await log.endOffsets(Topics.transactionsScored)).entries())
      for (const record of end > 0 ? await log.read(Topics.transactionsScored, partition, 0, end) : [])
        decisions.push(await codec.decode(record.value));
    return decisions;
  } finally {
    await log.close();
  }
}

/** The transaction ids on tx.raw at or past group scoring's committed offsets: what a restart is handed again. */
async function uncommittedIds(dataDir: string): Promise<Set<string>> {
  const log = await EmbeddedLog.open({ dir: join(dataDir, 'log') });
  try {
    const codec = await createCodec<Transaction>(registry, Topics.transactionsRaw);
    const committed = await log.committedOffsets('scoring', Topics.transactionsRaw);
    const ids = new Set<string>();
    for (const [partition, end] of (await log.endOffsets(Topics.transactionsRaw)).entries()) {
      const from = Math.max(0, committed[partition] ?? 0);
      for (const record of end > from ? await log.read(Topics.transactionsRaw, partition, from, end - from) : [])
        ids.add((await codec.decode(record.value)).transactionId);
    }
    return ids;
  } finally {
    await log.close();
  }
}

/** Scoring killed at `window` of its CRASH_AT-th batch, then a fresh scoring process drains tx.raw. */
async function scoringCrashAndRestart(
  window: 'after-publish' | 'before-commit',
  options: { dropSnapshot?: boolean } = {},
) {
  const dataDir = await seededDataDir();
  const crash = await runChild(
    SCORING,
    ['--data-dir', dataDir, '--crash-window', window, '--crash-at', String(CRASH_AT)],
    {
      timeoutMs: CHILD_TIMEOUT_MS,
      env: scoringEnv,
    },
  );
  expect({ signal: crash.signal, stderr: crash.signal === 'SIGKILL' ? '' : crash.stderr }).toEqual({
    signal: 'SIGKILL',
    stderr: '',
  });
  const killedBatch = eventOf<{ transactionIds: string[] }>(crash, 'crash').transactionIds;
  const batches = crash.events
    .filter((e) => e['event'] === 'published')
    .map((e) => (e as unknown as { transactionIds: string[] }).transactionIds);
  // The loop commits from inside its handler, before the bus moves past the batch: a commit covers the batches before
  // the one asking for it. So the killed batch and the one before it are handed over again.
  const lastTwoBatches = batches.slice(-2).flat().sort();
  const beforeRestart = await publishedDecisions(dataDir);
  const uncommitted = await uncommittedIds(dataDir);
  // What was published and not committed is redelivered: the snapshot decides what is skipped.
  const redeliveredPublished = beforeRestart
    .map((d) => d.transaction.transactionId)
    .filter((id) => uncommitted.has(id));
  if (options.dropSnapshot) rmSync(join(dataDir, 'scoring', 'feature-state.snapshot'));
  const restart = await runChild(SCORING, ['--data-dir', dataDir], { timeoutMs: CHILD_TIMEOUT_MS, env: declineAll });
  expect({ code: restart.code, stderr: restart.code === 0 ? '' : restart.stderr }).toEqual({ code: 0, stderr: '' });
  const { drainMs } = eventOf<{ drainMs: number }>(restart, 'drained');
  const published = await publishedDecisions(dataDir);
  const firstOf = new Map<string, ScoredTransaction>();
  for (const d of published) if (!firstOf.has(d.transaction.transactionId)) firstOf.set(d.transaction.transactionId, d);
  console.log(
    `scoring ${window}${options.dropSnapshot ? ' (snapshot removed)' : ''}: killed in a batch of ${killedBatch.length} after ${beforeRestart.length} decisions published, ${redeliveredPublished.length} of them not committed (process ${crash.elapsedMs} ms); restart drained in ${drainMs} ms (process ${restart.elapsedMs} ms); tx.scored holds ${published.length}`,
  );
  return { dataDir, killedBatch, lastTwoBatches, beforeRestart, redeliveredPublished, published, firstOf };
}

/** ledger-sink drains tx.scored one record a batch, so a transaction's copies always meet in different batches. */
async function ledgerDrain(dataDir: string, options: { forgetStored?: boolean } = {}) {
  const run = await runChild(
    LEDGER_SINK,
    ['--data-dir', dataDir, '--max-batch-records', '1', ...(options.forgetStored ? ['--forget-stored'] : [])],
    { timeoutMs: CHILD_TIMEOUT_MS },
  );
  expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
  const drained = eventOf<{
    drainMs: number;
    counts: { entries: number; postedTransactions: number; decisions: number };
    decisions: Record<string, string[]>;
    imbalances: unknown[];
    plain: { view: Parameters<typeof viewFromJson>[0] };
    final: { view: Parameters<typeof viewFromJson>[0] };
  }>(run, 'drained');
  console.log(
    `ledger-sink${options.forgetStored ? ' (forgetting what is stored)' : ''} drained tx.scored in ${drained.drainMs} ms (process ${run.elapsedMs} ms): ${JSON.stringify(drained.counts)}`,
  );
  return { ...drained, plain: viewFromJson(drained.plain.view), final: viewFromJson(drained.final.view) };
}

describe('fault 3 for scoring: SIGKILLed after processing a batch and before committing it', () => {
  it('given the kill after the batch was published and before its snapshot and commit, then its records are published again and the ledger keeps the first decision of each, posted once', async () => {
    const { dataDir, killedBatch, lastTwoBatches, beforeRestart, redeliveredPublished, published, firstOf } =
      await scoringCrashAndRestart('after-publish');
    expect(killedBatch.length).toBeGreaterThan(0);
    // Handed over again: the killed batch and the one before it; only the killed batch is missing from the snapshot.
    expect([...redeliveredPublished].sort()).toEqual(lastTwoBatches);
    // The killed batch was on tx.scored before the kill, and it is there again: nothing else twice.
    expect(
      beforeRestart
        .map((d) => d.transaction.transactionId)
        .slice(-killedBatch.length)
        .sort(),
    ).toEqual([...killedBatch].sort());
    expect(published).toHaveLength(N + killedBatch.length);
    const copies = new Map<string, ScoredTransaction[]>();
    for (const d of published)
      copies.set(d.transaction.transactionId, [...(copies.get(d.transaction.transactionId) ?? []), d]);
    expect(
      [...copies]
        .filter(([, c]) => c.length > 1)
        .map(([id]) => id)
        .sort(),
    ).toEqual([...killedBatch].sort());
    expect([...copies.keys()].sort()).toEqual([...acknowledged].sort());
    // The second decisions differ from the first where the first was not a decline already.
    const changed = killedBatch.filter((id) => copies.get(id)![0]!.decision !== copies.get(id)![1]!.decision);
    const firstNotDeclined = killedBatch.filter((id) => firstOf.get(id)!.decision !== 'DECLINE');
    expect(copies.get(killedBatch[0]!)![1]!.decision).toBe('DECLINE');
    expect(changed).toEqual(firstNotDeclined);
    expect(changed.length).toBeGreaterThan(0); // otherwise "the first decision governs" would go untested
    console.log(
      `scoring after-publish: ${changed.length} of the ${killedBatch.length} redelivered transactions decided otherwise the second time`,
    );

    const expected = suiteExpectation([...firstOf.values()]);
    const ledger = await ledgerDrain(dataDir);
    expect(Object.fromEntries(Object.entries(ledger.decisions))).toEqual(
      Object.fromEntries(acknowledged.map((id) => [id, [firstOf.get(id)!.decision]])),
    );
    expect(suiteViolations(ledger.plain, expected)).toEqual([]);
    expect(suiteViolations(ledger.final, expected)).toEqual([]);
    expect(ledger.imbalances).toEqual([]);
  }, 600_000);

  it('negative control: after the same kill, a ledger-sink that forgets what is stored records the second decisions too and the oracle says so', async () => {
    const { dataDir, killedBatch, firstOf } = await scoringCrashAndRestart('after-publish');
    const ledger = await ledgerDrain(dataDir, { forgetStored: true });
    const violations = [expect.stringMatching(new RegExp(`^decisions stored more than once: ${killedBatch.length} `))];
    const expected = suiteExpectation([...firstOf.values()]);
    expect(suiteViolations(ledger.plain, expected)).toEqual(violations);
    expect(suiteViolations(ledger.final, expected)).toEqual(violations);
    // Rows of one id come back in no particular order.
    for (const id of killedBatch)
      expect([...ledger.decisions[id]!].sort()).toEqual([firstOf.get(id)!.decision, 'DECLINE'].sort());
  }, 600_000);

  it('given the kill after the snapshot and before the commit, then the restored snapshot skips the batch: nothing is published twice and the ledger is exact', async () => {
    const { dataDir, killedBatch, lastTwoBatches, beforeRestart, redeliveredPublished, published, firstOf } =
      await scoringCrashAndRestart('before-commit');
    expect(killedBatch.length).toBeGreaterThan(0);
    expect([...redeliveredPublished].sort()).toEqual(lastTwoBatches);
    expect(
      beforeRestart
        .map((d) => d.transaction.transactionId)
        .slice(-killedBatch.length)
        .sort(),
    ).toEqual([...killedBatch].sort());
    expect(published).toHaveLength(N);
    expect([...firstOf.keys()].sort()).toEqual([...acknowledged].sort());
    // The batch's decisions are the first run's (APPROVE among them), not the restart's declines.
    for (const id of killedBatch)
      expect(firstOf.get(id)).toEqual(beforeRestart.find((d) => d.transaction.transactionId === id));

    const expected = suiteExpectation([...firstOf.values()]);
    const ledger = await ledgerDrain(dataDir);
    expect(suiteViolations(ledger.plain, expected)).toEqual([]);
    expect(suiteViolations(ledger.final, expected)).toEqual([]);
    expect(ledger.imbalances).toEqual([]);
  }, 600_000);

  it('negative control: the same kill with the snapshot removed before the restart publishes every redelivered record again, and the count says so', async () => {
    const { lastTwoBatches, published } = await scoringCrashAndRestart('before-commit', { dropSnapshot: true });
    expect(published).toHaveLength(N + lastTwoBatches.length);
    const twice = published
      .map((d) => d.transaction.transactionId)
      .filter((id, i, ids) => ids.indexOf(id) !== i)
      .sort();
    expect(twice).toEqual(lastTwoBatches);
  }, 600_000);
});
