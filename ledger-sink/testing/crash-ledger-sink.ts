/**
 * Child process of the crash-window tests (faults 3 and 4): ledger-sink's real batch handler over a real chDB store
 * and the embedded durable log, both in `<data-dir>` (as the embedded pipeline lays them out), consuming `tx.scored`
 * and `analyst.labels` as group `ledger-sink` with production's subscribe options. With `--crash-window` it SIGKILLs
 * itself inside the `--crash-at-batch`-th `tx.scored` batch; without, it drains: handles everything, waits until the
 * group has committed to the end of every partition, and prints what the ledger holds. Nothing in production knows:
 * the kill comes from the store decorator (crash-window-store.ts) and from the handler this script subscribes.
 *
 * Prints one JSON object per line on stdout: `started` (what the ledger held before this run), `armed` (the batch
 * the crash is in), `crash` (just before the kill, with the inserts that reached the store), `drained`; `crash` and
 * `drained` carry the process's peak resident memory so far (`peakRssMiB`, from getrusage).
 *
 * Usage: crash-ledger-sink.ts --data-dir <dir> [--max-batch-records n] [--crash-window w --crash-at-batch k]
 *        [--forget-stored]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { RecordBatch } from '../../platform/bus.js';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { systemClock } from '../../platform/clock.js';
import { EmbeddedLog } from '../../platform/embedded-log/embedded-log.js';
import { createLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { ClickHouseTables } from '../../schemas/clickhouse.js';
import { createCodec } from '../../schemas/codec.js';
import { DeadLetterWriter } from '../../schemas/dead-letter.js';
import type { AnalystLabel, ScoredTransaction } from '../../schemas/generated/types.js';
import { topicSpecs } from '../../schemas/partitions.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import { ClickHouseLedgerStore } from '../adapters/clickhouse-store.js';
import { LedgerBatchHandler } from '../app/ledger-writer.js';
import { ClickHouseLedgerReader } from './clickhouse-ledger-reader.js';
import { type CrashWindow, CrashWindowStore, CrashWindows, type InsertCalls } from './crash-window-store.js';
import { readStoredLedger } from './suite-oracle.js';

const { values: args } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    'max-batch-records': { type: 'string', default: '500' },
    'crash-window': { type: 'string' },
    'crash-at-batch': { type: 'string', default: '1' },
    'forget-stored': { type: 'boolean', default: false },
  },
});
const dataDir = args['data-dir'];
const window = args['crash-window'] as CrashWindow | undefined;
if (dataDir === undefined) throw new Error('--data-dir is required');
if (window !== undefined && !CrashWindows.includes(window))
  throw new Error(`--crash-window must be one of ${CrashWindows.join(', ')}`);
const crashAtBatch = Number(args['crash-at-batch']);
const maxBatchRecords = Number(args['max-batch-records']);
const GROUP_ID = 'ledger-sink';
const consumed = [Topics.transactionsScored, Topics.analystLabels] as const;

/** stdout is a pipe: the write is synchronous on Linux, so a line printed before the kill is never lost. */
function print(event: string, fields: Record<string, unknown>): void {
  process.stdout.write(
    JSON.stringify({ event, ...fields }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n',
  );
}

/** Peak resident memory of this process so far, in MiB (getrusage's maxrss is in KiB on Linux). */
function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

function die(fields: Record<string, unknown>): never {
  print('crash', { window, ...fields, peakRssMiB: peakRssMiB() });
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable: SIGKILL sent to self');
}

const logger = createLogger({ level: 'warn' }).child({ stage: 'ledger-sink' });
const bus = await EmbeddedLog.open({ dir: join(dataDir, 'log'), logger });
const client = createClickHouseClient(`embedded:${join(dataDir, 'clickhouse')}`);
const reader = new ClickHouseLedgerReader(client);
const chdb = new ClickHouseLedgerStore(client, { lookupChunkIds: 1000, insertOnce: !args['forget-stored'] });
await chdb.ensureSchema();
const store = new CrashWindowStore(chdb, (calls: InsertCalls) => die({ calls }), args['forget-stored']);
print('started', { counts: await reader.counts(), holds: await reader.holdCounts() });

const registry = new EmbeddedSchemaRegistry();
const used: readonly string[] = [...consumed, Topics.deadLetters];
await bus.ensureTopics(topicSpecs().filter((spec) => used.includes(spec.topic)));
const scoredCodec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);
const deadLetters = await DeadLetterWriter.create(bus, registry, GROUP_ID, systemClock);
const handler = new LedgerBatchHandler({
  store,
  scoredCodec,
  labelCodec: await createCodec<AnalystLabel>(registry, Topics.analystLabels),
  deadLetters,
  logger,
  metrics: new MetricsRegistry(),
  clock: systemClock,
});

/** Per partition of tx.scored, the offset after the last batch this process handled. */
const handledTo = new Map<number, number>();
/** Resolves once the group's commits cover every batch handled so far: earlier batches are then never redelivered. */
async function earlierBatchesCommitted(): Promise<void> {
  for (;;) {
    const committed = await bus.committedOffsets(GROUP_ID, Topics.transactionsScored);
    if ([...handledTo].every(([partition, next]) => (committed[partition] ?? -1) >= next)) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

let scoredBatches = 0;
const startedAt = performance.now();
const subscription = await bus.subscribe(
  {
    groupId: GROUP_ID,
    topics: consumed,
    commitMode: 'after-batch',
    maxBatchRecords,
    startFrom: 'earliest',
    deadLetter: deadLetters.sink,
  },
  async (batch: RecordBatch) => {
    const scored = batch.topic === Topics.transactionsScored;
    const armed = window !== undefined && scored && ++scoredBatches === crashAtBatch;
    const where = scored
      ? {
          partition: batch.partition,
          firstOffset: batch.records[0]!.offset,
          lastOffset: batch.records.at(-1)!.offset,
          transactionIds: await Promise.all(
            batch.records.map(async (r) => (await scoredCodec.decode(r.value)).transaction.transactionId),
          ),
        }
      : undefined;
    if (armed) {
      await earlierBatchesCommitted();
      print('armed', { ...where });
      if (window !== 'before-commit') store.arm(window);
    }
    await handler.handle(batch);
    // The handler resolved: every write of the batch is done, and the bus commits once this returns.
    if (armed && window === 'before-commit') die({});
    if (where !== undefined) {
      handledTo.set(batch.partition, where.lastOffset + 1);
      if (window !== undefined) print('handled', where);
    }
  },
);

// Drained: the group's commits reach the end of every partition it consumes (an empty one needs none).
for (;;) {
  const ends = await Promise.all(consumed.map((topic) => bus.endOffsets(topic)));
  const committed = await Promise.all(consumed.map((topic) => bus.committedOffsets(GROUP_ID, topic)));
  if (ends.every((end, t) => end.every((offset, p) => offset === 0 || (committed[t]![p] ?? -1) >= offset))) break;
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const drainMs = Math.round(performance.now() - startedAt);
await subscription.close();
const plain = await readStoredLedger(client, false);
const final = await readStoredLedger(client, true);
print('drained', {
  drainMs,
  peakRssMiB: peakRssMiB(),
  counts: await reader.counts(),
  holds: await reader.holdCounts(),
  imbalances: await reader.imbalances(),
  decisions: await decisionsById(),
  plain,
  final,
});
await bus.close();
await client.close();

/** The decision each stored row records, by transaction id (a row stored twice appears twice in its list). */
async function decisionsById(): Promise<Record<string, string[]>> {
  const result = await client.query({
    query: `SELECT transaction_id, decision FROM ${ClickHouseTables.decisions} ORDER BY transaction_id`,
    format: 'JSONEachRow',
  });
  const byId: Record<string, string[]> = {};
  for (const row of await result.json<{ transaction_id: string; decision: string }>())
    (byId[row.transaction_id] ??= []).push(row.decision);
  return byId;
}
