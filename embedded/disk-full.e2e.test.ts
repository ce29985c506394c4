/**
 * Fault 12 across the pipeline: the embedded pipeline runs as a child process with its log directory on an 8 MiB
 * tmpfs; a filler file fills that disk while transactions are posted one by one. Ingest must answer 503 with
 * Retry-After for what the log could not make durable, acknowledge (202) only what it did, and take the refused
 * transactions again once the filler is deleted, without a restart; scoring and the ledger catch up on their own.
 * Oracle: the acknowledged ids are exactly the ids on tx.raw, each once at its acknowledged position; after a
 * restart on the same directory every one is decided once with its audit trail and the ledger invariants hold;
 * each life's peak RSS (VmHWM, read before it stops) stays under MEMORY_BOUND_MIB.
 *
 * Only the log directory is on the small disk: ingest's journal has its own full-disk test
 * (ingest/adapters/file-idempotency-store.int.test.ts), and chDB's behaviour on a full disk is not part of this fault.
 */
import { jest } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  acknowledgementViolations,
  fillDisk,
  mountSmallDisk,
  type PlacedRecord,
  type SmallDisk,
} from '../platform/embedded-log/disk-full-testing.js';
import { EmbeddedLog } from '../platform/embedded-log/embedded-log.js';
import { readAll } from '../platform/embedded-log/test-helpers.js';
import type { Logger } from '../platform/logger.js';
import { silentLogger } from '../platform/logger.js';
import type { AlertPage, AuditTrail, IngestResult, LedgerIntegrity, TransactionRequest } from '../schemas/api.js';
import { createCodec } from '../schemas/codec.js';
import type { Transaction } from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import { TrafficSimulator } from '../simulator/generator.js';
import { residentMemoryMiB } from '../distributed/processes.js';
import { apiClient, ledgerInvariantViolations, waitFor } from './testing.js';

jest.setTimeout(600_000);

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const keys = {
  ingest: 'diskfull-ingest-key-0123456789',
  compliance: 'diskfull-compliance-key-0123456789',
  analyst: 'diskfull-analyst-key-0123456789',
};
const DISK_BYTES = 8 * 1024 * 1024;
/** Transactions in all; every one is posted until acknowledged. */
const N = 1_500;
/** Posted before the disk starts filling. */
const BEFORE_FILLING = 300;
/** 503s to see after the disk is full before the filler is deleted. */
const REFUSALS_WANTED = 50;
const SENDERS = 4;
/** Attempts per transaction after space returned; each waits the Retry-After the 503 named. */
const MAX_ATTEMPTS = 20;
/** Peak resident memory of each life of the pipeline process (all stages, chDB in process), as the other tests. */
const MEMORY_BOUND_MIB = 1536;

/** One line per life whose peak resident memory is not a reading under `boundMiB` (a NaN reading is one too). */
function memoryBoundViolations(peaksMiB: readonly number[], boundMiB: number): string[] {
  return peaksMiB.flatMap((peak, life) =>
    peak < boundMiB ? [] : [`life ${life + 1}: peak RSS ${peak.toFixed(0)} MiB, bound ${boundMiB} MiB`],
  );
}

interface Running {
  readonly child: ChildProcess;
  readonly url: string;
}

let starts = 0;

function startPipeline(dataDir: string): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'embedded/main.ts')], {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      VIGIL_DATA_DIR: dataDir,
      VIGIL_HTTP_PORT: '0',
      VIGIL_SIMULATOR_TPS: '0',
      VIGIL_LOG_LEVEL: 'warn',
      VIGIL_API_KEYS: `ingest:${keys.ingest},compliance:${keys.compliance},analyst:${keys.analyst}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  // Kept beside the data directory (not on the small disk), for reading when a run fails.
  const logFile = createWriteStream(join(dataDir, `pipeline-${++starts}.log`));
  child.stderr.on('data', (chunk: Buffer) => {
    logFile.write(chunk);
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  child.once('exit', () => logFile.end());
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const match = /dashboard:\s+(http:\/\/[\d.]+:\d+)\//.exec(stdout);
      if (match) resolve({ child, url: match[1]! });
    });
    child.once('exit', (code) => reject(new Error(`pipeline exited with ${code} before it was ready: ${stderr}`)));
  });
}

function stop(running: Running, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (running.child.exitCode !== null) return Promise.resolve(running.child.exitCode);
  return new Promise((resolve) => {
    running.child.once('exit', (code) => resolve(code));
    running.child.kill(signal);
  });
}

interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: unknown;
}

async function postTransaction(url: string, request: TransactionRequest): Promise<Answer> {
  const response = await fetch(`${url}/v1/transactions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.ingest}`, 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() };
}

interface Figures {
  posts: number;
  refusals: number;
  refusalsWithoutRetryAfter: number;
  refusalCodes: Set<string>;
  unexpected: string[];
  acknowledged: Map<string, PlacedRecord>;
  fillerBytes: number;
  spaceBackAtMs: number | null;
  firstAckAfterSpaceAtMs: number | null;
}

/** One post: a 202 (or the 200 of a duplicate) is an acknowledgement, a 503 a refusal to retry; nothing else. */
async function postOnce(
  url: string,
  request: TransactionRequest,
  figures: Figures,
): Promise<'acknowledged' | 'refused'> {
  figures.posts++;
  const answer = await postTransaction(url, request);
  if (answer.status === 202 || answer.status === 200) {
    const result = answer.body as IngestResult;
    if (result.status !== 'accepted' && result.status !== 'duplicate')
      figures.unexpected.push(`${request.transactionId}: ${answer.status} ${result.status}`);
    const id = result.transactionId!;
    if (!figures.acknowledged.has(id))
      figures.acknowledged.set(id, { id, partition: result.partition!, offset: result.offset! });
    if (figures.spaceBackAtMs !== null) figures.firstAckAfterSpaceAtMs ??= performance.now();
    return 'acknowledged';
  }
  if (answer.status === 503) {
    figures.refusals++;
    if (answer.retryAfter === null) figures.refusalsWithoutRetryAfter++;
    figures.refusalCodes.add((answer.body as { code?: string }).code ?? '?');
    return 'refused';
  }
  figures.unexpected.push(`${request.transactionId}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return 'acknowledged';
}

/** The ids on tx.raw with their positions, read with a log opened in this process (the pipeline is stopped). */
async function transactionsOnLog(logDir: string, logger: Logger): Promise<PlacedRecord[]> {
  const log = await EmbeddedLog.open({ dir: logDir, logger });
  try {
    const codec = await createCodec<Transaction>(new EmbeddedSchemaRegistry(), Topics.transactionsRaw);
    const placed: PlacedRecord[] = [];
    const partitions = await log.partitionCount(Topics.transactionsRaw);
    for (let partition = 0; partition < partitions; partition++)
      for (const record of await readAll(log, Topics.transactionsRaw, partition))
        placed.push({ id: (await codec.decode(record.value)).transactionId, partition, offset: record.offset });
    return placed;
  } finally {
    await log.close();
  }
}

describe('embedded pipeline with its log on a full disk (fault 12)', () => {
  let dataDir: string;
  let disk: SmallDisk | undefined;
  let running: Running | undefined;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-disk-full-e2e-'));
    mkdirSync(join(dataDir, 'log'));
    disk = mountSmallDisk(join(dataDir, 'log'), DISK_BYTES);
  });
  afterAll(async () => {
    if (running) await stop(running, 'SIGKILL');
    disk?.unmount();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 + Retry-After while full, loses nothing acknowledged, recovers without a restart', async () => {
    const simulator = new TrafficSimulator({
      seed: 12,
      startTimeMs: Date.now() - 5 * 86_400_000,
      customers: 400,
      terminals: 300,
      meanTxPerCustomerPerDay: 8,
    });
    const requests: TransactionRequest[] = simulator.take(N).map((s) => s.request);
    const figures: Figures = {
      posts: 0,
      refusals: 0,
      refusalsWithoutRetryAfter: 0,
      refusalCodes: new Set(),
      unexpected: [],
      acknowledged: new Map(),
      fillerBytes: 0,
      spaceBackAtMs: null,
      firstAckAfterSpaceAtMs: null,
    };
    running = await startPipeline(dataDir);
    const url = running.url;

    // Before the disk fills: all acknowledged.
    let next = 0;
    const refused: TransactionRequest[] = [];
    const postUntil = async (end: number, stop: () => boolean): Promise<void> => {
      const sender = async (): Promise<void> => {
        while (next < end && !stop()) {
          const request = requests[next++]!;
          if ((await postOnce(url, request, figures)) === 'refused') refused.push(request);
        }
      };
      await Promise.all(Array.from({ length: SENDERS }, sender));
    };
    await postUntil(BEFORE_FILLING, () => false);
    expect(refused).toHaveLength(0);

    // While a filler takes the disk: post until the disk is full and REFUSALS_WANTED posts were refused.
    let full = false;
    const filling = fillDisk(disk!.dir).then((filler) => {
      full = true;
      return filler;
    });
    const refusalsBefore = figures.refusals;
    await postUntil(N, () => full && figures.refusals - refusalsBefore >= REFUSALS_WANTED);
    const filler = await filling;
    figures.fillerBytes = filler.bytes;
    const refusalsWhileFull = figures.refusals;
    const postsWhileFilling = figures.posts - BEFORE_FILLING;

    // Space returns: the refused ones are retried (waiting the Retry-After each 503 names), then the rest sent.
    await filler.remove();
    figures.spaceBackAtMs = performance.now();
    const retries = [...refused];
    refused.length = 0;
    for (const request of retries) {
      for (let attempt = 1; (await postOnce(url, request, figures)) === 'refused'; attempt++) {
        if (attempt >= MAX_ATTEMPTS) throw new Error(`${request.transactionId} still refused after ${attempt} posts`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
    const refusalsAfterSpace = figures.refusals - refusalsWhileFull;
    await postUntil(N, () => false);
    expect(refused).toHaveLength(0);

    // The stages recover by themselves too: every transaction decided while still running, no restart.
    const compliance = apiClient(url, keys.compliance);
    await waitFor(
      `all ${N} transactions decided without a restart`,
      async () =>
        (await compliance.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body.distinctDecisions >= N
          ? true
          : undefined,
      300_000,
      500,
    );
    const decidedAtMs = performance.now();
    const peaks = [residentMemoryMiB(running.child.pid)?.peakMiB ?? NaN];
    expect(await stop(running)).toBe(0);
    running = undefined;

    const recoveryMs = figures.firstAckAfterSpaceAtMs! - figures.spaceBackAtMs;
    console.log(
      `fault 12 (pipeline): ${N} transactions, ${figures.posts} posts (${postsWhileFilling} while filling), ` +
        `${refusalsWhileFull} answered 503 (${[...figures.refusalCodes].join(', ')}), ` +
        `${refusalsAfterSpace} 503s after space returned, ${figures.acknowledged.size} acknowledged, ` +
        `filler ${figures.fillerBytes} bytes, first 202 ${recoveryMs.toFixed(0)} ms after the filler was deleted, ` +
        `all decided ${((decidedAtMs - figures.spaceBackAtMs) / 1000).toFixed(1)} s after it`,
    );
    expect(figures.unexpected).toEqual([]);
    expect(refusalsWhileFull).toBeGreaterThan(0);
    expect(figures.refusalsWithoutRetryAfter).toBe(0);
    expect([...figures.refusalCodes]).toEqual(['LOG_DISK_FULL']);
    expect(refusalsAfterSpace).toBe(0);
    expect(figures.acknowledged.size).toBe(N);

    // The log holds exactly what was acknowledged, and reopens without cutting a torn tail.
    const warnings: string[] = [];
    const recorder: Logger = { ...silentLogger, warn: (message) => void warnings.push(message), child: () => recorder };
    const acknowledged = [...figures.acknowledged.values()];
    const onLog = await transactionsOnLog(join(dataDir, 'log'), recorder);
    expect(warnings).toEqual([]);
    expect(onLog).toHaveLength(N);
    expect(acknowledgementViolations(acknowledged, onLog)).toEqual([]);

    // Restart on the same directory: every acknowledged transaction decided once, with its audit trail.
    running = await startPipeline(dataDir);
    const afterRestart = apiClient(running.url, keys.compliance);
    const integrity = await waitFor(
      `all ${N} transactions decided after the restart`,
      async () => {
        const report = (await afterRestart.get<LedgerIntegrity>('/v1/reports/ledger-integrity')).body;
        return report.distinctDecisions >= N ? report : undefined;
      },
      300_000,
      500,
    );
    const missing: string[] = [];
    for (const id of figures.acknowledged.keys())
      if ((await afterRestart.get(`/v1/transactions/${id}`)).status !== 200) missing.push(id);
    expect(missing).toEqual([]);
    const analyst = apiClient(running.url, keys.analyst);
    const declined = new Set<string>();
    const reviewed = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: AlertPage = (await analyst.get<AlertPage>(`/v1/alerts?limit=500${cursor ? `&cursor=${cursor}` : ''}`))
        .body;
      for (const alert of page.alerts) (alert.decision === 'DECLINE' ? declined : reviewed).add(alert.transactionId);
      cursor = page.nextCursor;
    } while (cursor);
    const trails: AuditTrail[] = [];
    for (const id of declined) trails.push((await afterRestart.get<AuditTrail>(`/v1/transactions/${id}`)).body);
    expect(ledgerInvariantViolations(integrity, trails, { transactions: N, declined, reviewed })).toEqual([]);
    peaks.push(residentMemoryMiB(running.child.pid)?.peakMiB ?? NaN);
    expect(await stop(running)).toBe(0);
    running = undefined;
    expect(memoryBoundViolations(peaks, MEMORY_BOUND_MIB)).toEqual([]);
    console.log(
      `fault 12 (pipeline) after the restart: ${integrity.distinctDecisions} decided, ${integrity.postedTransactions} ` +
        `posted of ${integrity.postableDecisions} postable, ${declined.size} declined, ${reviewed.size} held for ` +
        `review; peak RSS per life ${peaks.map((p) => p.toFixed(0)).join(' / ')} MiB`,
    );

    // Negative controls, planted into what the checkers see: a forged acknowledgement and a record missing from
    // the log are reported as lost; an acknowledged transaction the ledger never decided breaks the invariants.
    const forged: PlacedRecord = { id: 'forged-ack', partition: 0, offset: 999_999 };
    expect(acknowledgementViolations([...acknowledged, forged], onLog)).toEqual([
      'lost: forged-ack acknowledged at 0@999999 is not on the log',
    ]);
    const [dropped, ...rest] = onLog;
    expect(acknowledgementViolations(acknowledged, rest)).toEqual([
      `lost: ${dropped!.id} acknowledged at ${dropped!.partition}@${dropped!.offset} is not on the log`,
    ]);
    expect(ledgerInvariantViolations(integrity, trails, { transactions: N + 1, declined, reviewed })).toEqual(
      expect.arrayContaining([`integrity.distinctDecisions is ${N}, expected ${N + 1}`]),
    );
    // A leak-sized reading planted beside the real ones, and a life whose reading was lost, break the memory bound.
    expect(memoryBoundViolations([...peaks, 2 * MEMORY_BOUND_MIB, NaN], MEMORY_BOUND_MIB)).toEqual([
      `life 3: peak RSS ${2 * MEMORY_BOUND_MIB} MiB, bound ${MEMORY_BOUND_MIB} MiB`,
      `life 4: peak RSS NaN MiB, bound ${MEMORY_BOUND_MIB} MiB`,
    ]);
  });
});
