/**
 * Fault 3 for scoring: a consumer that crashes after processing and before committing. The real scoring stage runs
 * as a child process on the embedded durable log (scoring/testing/crash-scoring.ts), snapshotting and committing
 * after every batch, and SIGKILLs itself at a chosen window of one batch: after the batch's decisions are on
 * tx.scored and before its snapshot and commit (its records are scored again; their decisions, read back from
 * tx.scored, are not published again), or after the snapshot and before the commit (the restored snapshot skips
 * them). A fresh scoring process on the same data directory drains tx.raw — with both thresholds at 0, so every
 * decision it would make again is DECLINE and differs from the first. Then ledger-sink's real handler
 * (ledger-sink/testing/crash-ledger-sink.ts) drains tx.scored into chDB.
 *
 * Oracle: tx.scored holds exactly one decision per transaction, the first one published for it, and fraud.alerts one
 * alert (identical copies allowed: the alert feed dedupes by alert id) for each first decision that is not APPROVE,
 * built from it; the ledger holds each acknowledged id's decision once, that first one, and exactly its postings
 * (suite oracle, with and without FINAL). Negative controls: a restart that does not read back what was published
 * since the snapshot (`--forget-published`) publishes the killed batch again with other decisions and alerts for
 * approved transactions, and the oracle says so; on that topic a ledger-sink that forgets what is stored records the
 * second decisions too, and the suite oracle says so.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventOf, runChild, viewFromJson } from '../ledger-sink/testing/crash-process.js';
import { suiteExpectation, suiteViolations } from '../ledger-sink/testing/suite-oracle.js';
import { EmbeddedLog } from '../platform/embedded-log/embedded-log.js';
import { createCodec } from '../schemas/codec.js';
import type { FraudAlert, ScoredTransaction, Transaction } from '../schemas/generated/types.js';
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
/** Scoring that never reaches a periodic snapshot in this test: only the one it takes at its first start. */
const neverSnapshotEnv = {
  VIGIL_SCORING_MAX_BATCH_RECORDS: '10',
  VIGIL_SCORING_SNAPSHOT_EVERY_RECORDS: '100000',
  VIGIL_SCORING_SNAPSHOT_INTERVAL_MS: '3600000',
};
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

/** Every alert on fraud.alerts, per partition in offset order. */
async function publishedAlerts(dataDir: string): Promise<FraudAlert[]> {
  const log = await EmbeddedLog.open({ dir: join(dataDir, 'log') });
  try {
    const codec = await createCodec<FraudAlert>(registry, Topics.fraudAlerts);
    const alerts: FraudAlert[] = [];
    for (const [partition, end] of (await log.endOffsets(Topics.fraudAlerts)).entries())
      for (const record of end > 0 ? await log.read(Topics.fraudAlerts, partition, 0, end) : [])
        alerts.push(await codec.decode(record.value));
    return alerts;
  } finally {
    await log.close();
  }
}

/** A decoded value as comparable text: records of two schemas with the same fields compare equal. */
function plain(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * What is wrong with fraud.alerts given the first decision of each transaction: an alert id with copies that differ,
 * an alert for a transaction whose first decision is APPROVE or whose content is not that decision's, a REVIEW or
 * DECLINE without its alert.
 */
function alertViolations(alerts: readonly FraudAlert[], firstOf: ReadonlyMap<string, ScoredTransaction>): string[] {
  const byId = new Map<string, FraudAlert[]>();
  for (const a of alerts) byId.set(a.transactionId, [...(byId.get(a.transactionId) ?? []), a]);
  const violations: string[] = [];
  for (const [id, copies] of byId) {
    const first = firstOf.get(id);
    if (copies.some((c) => plain(c) !== plain(copies[0]))) violations.push(`${id}: copies of its alert differ`);
    if (first === undefined || first.decision === 'APPROVE')
      violations.push(`${id}: alert for an approved transaction`);
    else if (
      copies.some(
        (c) =>
          c.decision !== first.decision ||
          c.score !== first.score ||
          plain(c.reasons) !== plain(first.reasons) ||
          plain(c.raisedAtMs) !== plain(first.scoredAtMs),
      )
    )
      violations.push(`${id}: alert is not its first decision's`);
  }
  for (const [id, first] of firstOf)
    if (first.decision !== 'APPROVE' && !byId.has(id)) violations.push(`${id}: ${first.decision} without an alert`);
  return violations.sort();
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
  options: { dropSnapshot?: boolean; forgetPublished?: boolean; neverSnapshot?: boolean } = {},
) {
  const dataDir = await seededDataDir();
  const crash = await runChild(
    SCORING,
    ['--data-dir', dataDir, '--crash-window', window, '--crash-at', String(CRASH_AT)],
    {
      timeoutMs: CHILD_TIMEOUT_MS,
      env: options.neverSnapshot ? neverSnapshotEnv : scoringEnv,
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
  const restart = await runChild(
    SCORING,
    ['--data-dir', dataDir, ...(options.forgetPublished ? ['--forget-published'] : [])],
    { timeoutMs: CHILD_TIMEOUT_MS, env: declineAll },
  );
  expect({ code: restart.code, stderr: restart.code === 0 ? '' : restart.stderr }).toEqual({ code: 0, stderr: '' });
  const { drainMs } = eventOf<{ drainMs: number }>(restart, 'drained');
  const published = await publishedDecisions(dataDir);
  const alerts = await publishedAlerts(dataDir);
  const firstOf = new Map<string, ScoredTransaction>();
  for (const d of published) if (!firstOf.has(d.transaction.transactionId)) firstOf.set(d.transaction.transactionId, d);
  console.log(
    `scoring ${window}${options.dropSnapshot ? ' (snapshot removed)' : ''}${options.neverSnapshot ? ' (before any periodic snapshot)' : ''}${options.forgetPublished ? ' (published decisions not read back)' : ''}: killed in a batch of ${killedBatch.length} after ${beforeRestart.length} decisions published, ${redeliveredPublished.length} of them not committed (process ${crash.elapsedMs} ms); restart drained in ${drainMs} ms (process ${restart.elapsedMs} ms); tx.scored holds ${published.length}, fraud.alerts ${alerts.length}`,
  );
  return { dataDir, killedBatch, lastTwoBatches, beforeRestart, redeliveredPublished, published, alerts, firstOf };
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
  it('given the kill after the batch was published and before its snapshot and commit, then the restart re-scores its records without publishing them again: one decision per transaction, the first, and the ledger posts it once', async () => {
    const { dataDir, killedBatch, lastTwoBatches, beforeRestart, redeliveredPublished, published, alerts, firstOf } =
      await scoringCrashAndRestart('after-publish');
    expect(killedBatch.length).toBeGreaterThan(0);
    // Handed over again: the killed batch and the one before it; only the killed batch is missing from the snapshot.
    expect([...redeliveredPublished].sort()).toEqual(lastTwoBatches);
    // The killed batch was on tx.scored before the kill.
    expect(
      beforeRestart
        .map((d) => d.transaction.transactionId)
        .slice(-killedBatch.length)
        .sort(),
    ).toEqual([...killedBatch].sort());
    // One decision per transaction: nothing published twice.
    expect(published).toHaveLength(N);
    expect(published.map((d) => d.transaction.transactionId).sort()).toEqual([...acknowledged].sort());
    // The killed batch's decisions are the first run's, not the restart's declines; some of them were not declines.
    for (const id of killedBatch)
      expect(firstOf.get(id)).toEqual(beforeRestart.find((d) => d.transaction.transactionId === id));
    expect(killedBatch.filter((id) => firstOf.get(id)!.decision !== 'DECLINE').length).toBeGreaterThan(0);
    expect(alertViolations(alerts, firstOf)).toEqual([]);

    const expected = suiteExpectation([...firstOf.values()]);
    const ledger = await ledgerDrain(dataDir);
    expect(Object.fromEntries(Object.entries(ledger.decisions))).toEqual(
      Object.fromEntries(acknowledged.map((id) => [id, [firstOf.get(id)!.decision]])),
    );
    expect(suiteViolations(ledger.plain, expected)).toEqual([]);
    expect(suiteViolations(ledger.final, expected)).toEqual([]);
    expect(ledger.imbalances).toEqual([]);
  }, 600_000);

  it('negative control: the same kill with the restart not reading back what was published publishes the killed batch again, decided otherwise, with alerts contradicting approved transactions; the ledger keeps the first decision of each', async () => {
    const { dataDir, killedBatch, published, alerts, firstOf } = await scoringCrashAndRestart('after-publish', {
      forgetPublished: true,
    });
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
    expect(changed.length).toBeGreaterThan(0);
    console.log(
      `scoring after-publish (published decisions not read back): ${changed.length} of the ${killedBatch.length} redelivered transactions decided otherwise the second time`,
    );
    // Every changed decision raised an alert that contradicts the first: for an approval, an alert where none should be.
    const approvedFirst = killedBatch.filter((id) => firstOf.get(id)!.decision === 'APPROVE');
    expect(approvedFirst.length).toBeGreaterThan(0);
    const violations = alertViolations(alerts, firstOf);
    for (const id of approvedFirst) expect(violations).toContain(`${id}: alert for an approved transaction`);
    // …and only the killed batch's alerts are wrong.
    expect(violations.filter((v) => !killedBatch.some((id) => v.startsWith(`${id}: `)))).toEqual([]);

    const expected = suiteExpectation([...firstOf.values()]);
    const ledger = await ledgerDrain(dataDir);
    expect(Object.fromEntries(Object.entries(ledger.decisions))).toEqual(
      Object.fromEntries(acknowledged.map((id) => [id, [firstOf.get(id)!.decision]])),
    );
    expect(suiteViolations(ledger.plain, expected)).toEqual([]);
    expect(suiteViolations(ledger.final, expected)).toEqual([]);
  }, 600_000);

  it('negative control: on a topic holding second decisions (published decisions not read back), a ledger-sink that forgets what is stored records them too and the oracle says so', async () => {
    const { dataDir, killedBatch, firstOf } = await scoringCrashAndRestart('after-publish', { forgetPublished: true });
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

  it('given the kill after publishing, before any periodic snapshot, then the restart starts from the snapshot taken at the first start and publishes nothing again', async () => {
    const { killedBatch, beforeRestart, redeliveredPublished, published, alerts, firstOf } =
      await scoringCrashAndRestart('after-publish', { neverSnapshot: true });
    expect(killedBatch.length).toBeGreaterThan(0);
    // Nothing was committed: every decision published is handed over again, from tx.raw's start.
    expect([...redeliveredPublished].sort()).toEqual(beforeRestart.map((d) => d.transaction.transactionId).sort());
    expect(published).toHaveLength(N);
    for (const decided of beforeRestart) expect(firstOf.get(decided.transaction.transactionId)).toEqual(decided);
    expect(alertViolations(alerts, firstOf)).toEqual([]);
  }, 600_000);

  it('negative control: the same kill with the restart not reading back what was published publishes every decision of the first run again', async () => {
    const { beforeRestart, published } = await scoringCrashAndRestart('after-publish', {
      neverSnapshot: true,
      forgetPublished: true,
    });
    expect(published).toHaveLength(N + beforeRestart.length);
  }, 600_000);
});
