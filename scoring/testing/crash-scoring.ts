/**
 * Child process of the scoring crash test (fault 3 for scoring): the real scoring stage (`startScoring`, its model,
 * rules, snapshot store and exactly-once loop) on the embedded durable log in `<data-dir>/log`, state in
 * `<data-dir>/scoring`, configured from the environment. With `--crash-window` it SIGKILLs itself at the
 * `--crash-at`-th occurrence of the window: `after-publish` once a batch's decisions are on `tx.scored` (before its
 * snapshot and its commit), `before-commit` once the snapshot is written and the commit is asked for. Without, it
 * drains: runs until group `scoring` has committed to the end of `tx.raw`, then stops cleanly. The kill comes from
 * the bus this script hands the stage (its producer and its subscription's commit); production code has no hook.
 *
 * Prints one JSON object per line on stdout: `published` (the transaction ids of each batch's decisions, when a crash
 * window is set), `crash` (just before the kill, with the ids of the batch), `drained`.
 *
 * With `--forget-published` the stage reads nothing back from `tx.scored` at start (the bus answers its reads of that
 * topic with no records), so replayed transactions are decided and published again: the negative control of
 * publishing one decision per transaction.
 *
 * Usage: crash-scoring.ts --data-dir <dir> [--crash-window after-publish|before-commit --crash-at k] [--forget-published]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type {
  BatchHandler,
  Bus,
  OutgoingRecord,
  Producer,
  RecordPosition,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from '../../platform/bus.js';
import { systemClock } from '../../platform/clock.js';
import { EmbeddedLog } from '../../platform/embedded-log/embedded-log.js';
import { createLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { createCodec } from '../../schemas/codec.js';
import type { ScoredTransaction } from '../../schemas/generated/types.js';
import { topicSpecs } from '../../schemas/partitions.js';
import { EmbeddedSchemaRegistry } from '../../schemas/registry.js';
import { Topics } from '../../schemas/topics.js';
import { SCORING_GROUP, startScoring } from '../main.js';

const windows = ['after-publish', 'before-commit'] as const;
type Window = (typeof windows)[number];

const { values: args } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    'crash-window': { type: 'string' },
    'crash-at': { type: 'string', default: '1' },
    'forget-published': { type: 'boolean', default: false },
  },
});
const dataDir = args['data-dir'];
const window = args['crash-window'] as Window | undefined;
if (dataDir === undefined) throw new Error('--data-dir is required');
if (window !== undefined && !windows.includes(window))
  throw new Error(`--crash-window must be one of ${windows.join(', ')}`);
const crashAt = Number(args['crash-at']);
const forgetPublished = args['forget-published'] === true;

/** stdout is a pipe: the write is synchronous on Linux, so a line printed before the kill is never lost. */
function print(event: string, fields: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ event, ...fields }) + '\n');
}

function die(fields: Record<string, unknown>): never {
  print('crash', { window, ...fields });
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable: SIGKILL sent to self');
}

/**
 * The log as the stage sees it, with the two places a crash can be put: after a `tx.scored` send is durable, and
 * when the scoring group's subscription is asked to commit.
 */
class CrashPointBus implements Bus {
  /** The scoring group's subscription, once the stage subscribed: its lag says when everything was handled. */
  scoring: Subscription | undefined;

  constructor(
    private readonly inner: Bus,
    private readonly onScoredSent: (records: readonly OutgoingRecord[]) => Promise<void>,
    private readonly onCommit: () => void,
  ) {}

  ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    return this.inner.ensureTopics(specs);
  }
  partitionCount(topic: string): Promise<number> {
    return this.inner.partitionCount(topic);
  }
  producer(): Producer {
    const producer = this.inner.producer();
    return {
      send: async (topic: string, records: readonly OutgoingRecord[]): Promise<RecordPosition[]> => {
        const positions = await producer.send(topic, records);
        if (topic === Topics.transactionsScored && records.length > 0) await this.onScoredSent(records);
        return positions;
      },
    };
  }
  async subscribe(options: SubscribeOptions, handler: BatchHandler): Promise<Subscription> {
    const subscription = await this.inner.subscribe(options, handler);
    if (options.groupId !== SCORING_GROUP) return subscription;
    this.scoring = subscription;
    return {
      commit: () => {
        this.onCommit();
        return subscription.commit();
      },
      positions: () => subscription.positions(),
      progress: () => subscription.progress(),
      close: () => subscription.close(),
    };
  }
  read: Bus['read'] = (topic, partition, fromOffset, maxRecords) =>
    forgetPublished && topic === Topics.transactionsScored
      ? Promise.resolve([])
      : this.inner.read(topic, partition, fromOffset, maxRecords);
  endOffsets: Bus['endOffsets'] = (topic) => this.inner.endOffsets(topic);
  committedOffsets: Bus['committedOffsets'] = (groupId, topic) => this.inner.committedOffsets(groupId, topic);
  close(): Promise<void> {
    return this.inner.close();
  }
}

const logger = createLogger({ level: 'warn' });
const registry = new EmbeddedSchemaRegistry();
const log = await EmbeddedLog.open({ dir: join(dataDir, 'log'), logger });
await log.ensureTopics(topicSpecs());
const scoredCodec = await createCodec<ScoredTransaction>(registry, Topics.transactionsScored);

let sends = 0;
let commits = 0;
/** The transaction ids of the last batch published, for the crash report of `before-commit`. */
let lastPublished: string[] = [];
const bus = new CrashPointBus(
  log,
  async (records) => {
    lastPublished = await Promise.all(
      records.map(async (r) => (await scoredCodec.decode(r.value)).transaction.transactionId),
    );
    if (window === undefined) return;
    print('published', { transactionIds: lastPublished });
    if (window === 'after-publish' && ++sends === crashAt) die({ transactionIds: lastPublished });
  },
  () => {
    if (window === 'before-commit' && ++commits === crashAt) die({ transactionIds: lastPublished });
  },
);

const startedAt = performance.now();
const stage = await startScoring({
  bus,
  registry,
  logger,
  metrics: new MetricsRegistry(),
  clock: systemClock,
  dataDir: join(dataDir, 'scoring'),
  env: process.env,
});
// Drained when every record is handled. Not when the commits reach the end: the loop commits from inside its handler,
// before the bus moves past the batch, so the last batch's offsets are only in the snapshot until another comes.
while (bus.scoring === undefined || bus.scoring.progress().lag > 0)
  await new Promise((resolve) => setTimeout(resolve, 20));
const drainMs = Math.round(performance.now() - startedAt);
await stage.close();
await log.close();
print('drained', { drainMs });
