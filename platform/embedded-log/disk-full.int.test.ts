/**
 * Fault 12 at the log level: the embedded log on a small tmpfs that a filler file fills while producers send.
 * Sends refused for lack of space reject with the retriable LOG_DISK_FULL; once the filler is deleted the same
 * log (no reopen) takes the refused records again; the log then holds exactly the acknowledged records, each
 * once, at its acknowledged position, and a reopen on the same directory recovers without cutting anything.
 * Integration tier: it mounts a real tmpfs (root, as in CI) and writes to it until ENOSPC.
 */
import { jest } from '@jest/globals';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { VigilError } from '../errors.js';
import {
  acknowledgementViolations,
  fillDisk,
  mountSmallDisk,
  type PlacedRecord,
  type SmallDisk,
} from './disk-full-testing.js';
import { EmbeddedLog } from './embedded-log.js';
import type { DiskFullPolicy } from './partition-log.js';
import { crashRecord, makeTempDir, readAll, removeTempDir } from './test-helpers.js';

jest.setTimeout(300_000);

const DISK_BYTES = 8 * 1024 * 1024;
const TOPIC = 'disk-full';
const PARTITIONS = 4;
/** Upper bound on the ids sent while the disk fills; the run stops earlier once enough sends were refused. */
const MAX_IDS_WHILE_FILLING = 3_000;
/** Refusals to see after the disk is full before the filler is deleted. */
const REFUSALS_WANTED = 200;
/** New ids sent after space returns, besides the retries of the refused ones. */
const IDS_AFTER_SPACE = 500;
const SENDERS = 8;

interface ScenarioFigures {
  sent: number;
  refusedWhileFull: number;
  refusalCodes: Set<string>;
  retriedAfterSpace: number;
  refusedAfterSpace: number;
  unexpectedErrors: string[];
  acknowledged: PlacedRecord[];
  fillerBytes: number;
  /** When the filler was deleted (performance.now()), and the first acknowledgement after that. */
  spaceBackAtMs: number | null;
  firstAckAfterSpaceAtMs: number | null;
}

/** A logger that keeps warnings, to tell a clean recovery (no truncation) from one that cut a torn tail. */
function warningRecorder(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger: Logger = {
    ...silentLogger,
    warn: (message) => void warnings.push(message),
    child: () => logger,
  };
  return { logger, warnings };
}

function recordFor(id: number): ReturnType<typeof crashRecord> {
  return crashRecord(id);
}

/** Sends `ids` one record per send from `SENDERS` concurrent producers until `stop()` says so. */
async function sendAll(
  log: EmbeddedLog,
  ids: Iterator<number>,
  figures: ScenarioFigures,
  onRefused: (id: number, error: VigilError) => void,
  stop: () => boolean = () => false,
): Promise<void> {
  const sender = async (): Promise<void> => {
    for (let next = ids.next(); !next.done && !stop(); next = ids.next()) {
      const id = next.value;
      figures.sent++;
      try {
        const [position] = await log.send(TOPIC, [recordFor(id)]);
        figures.acknowledged.push({ id: String(id), partition: position!.partition, offset: position!.offset });
        if (figures.spaceBackAtMs !== null) figures.firstAckAfterSpaceAtMs ??= performance.now();
      } catch (error) {
        if (error instanceof VigilError && error.retriable) onRefused(id, error);
        else figures.unexpectedErrors.push(`${id}: ${String(error)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: SENDERS }, sender));
}

/** Every record on the log as id + position; checks each value is the one sent for its id. */
async function recordsOnLog(log: EmbeddedLog): Promise<{ placed: PlacedRecord[]; wrongContent: string[] }> {
  const placed: PlacedRecord[] = [];
  const wrongContent: string[] = [];
  for (let partition = 0; partition < PARTITIONS; partition++) {
    for (const record of await readAll(log, TOPIC, partition)) {
      const id = record.headers['id'] ?? '?';
      placed.push({ id, partition, offset: record.offset });
      if (!record.value.equals(recordFor(Number(id)).value))
        wrongContent.push(`${id} at ${partition}@${record.offset}`);
    }
  }
  return { placed, wrongContent };
}

/**
 * Fills the disk while producers send, deletes the filler, retries every refused id once and sends new ones,
 * all on the same open log.
 */
async function fillWhileSending(log: EmbeddedLog, disk: SmallDisk): Promise<ScenarioFigures> {
  const figures: ScenarioFigures = {
    sent: 0,
    refusedWhileFull: 0,
    refusalCodes: new Set(),
    retriedAfterSpace: 0,
    refusedAfterSpace: 0,
    unexpectedErrors: [],
    acknowledged: [],
    fillerBytes: 0,
    spaceBackAtMs: null,
    firstAckAfterSpaceAtMs: null,
  };
  const refused: number[] = [];
  let full = false;
  const filling = fillDisk(disk.dir).then((filler) => {
    full = true;
    return filler;
  });
  const idsWhileFilling = (function* () {
    for (let id = 0; id < MAX_IDS_WHILE_FILLING; id++) yield id;
  })();
  await sendAll(
    log,
    idsWhileFilling,
    figures,
    (id, error) => {
      refused.push(id);
      figures.refusedWhileFull++;
      figures.refusalCodes.add(error.code);
    },
    // Stop once the disk has been full for long enough to refuse REFUSALS_WANTED sends.
    () => full && figures.refusedWhileFull >= REFUSALS_WANTED,
  );
  const filler = await filling;
  figures.fillerBytes = filler.bytes;
  await filler.remove();
  figures.spaceBackAtMs = performance.now();

  const afterSpace = (function* () {
    yield* refused;
    for (let id = MAX_IDS_WHILE_FILLING; id < MAX_IDS_WHILE_FILLING + IDS_AFTER_SPACE; id++) yield id;
  })();
  figures.retriedAfterSpace = refused.length;
  await sendAll(log, afterSpace, figures, () => void figures.refusedAfterSpace++);
  return figures;
}

/** The second half of the oracle: once space is back, every send is acknowledged. */
function recoveryViolations(figures: ScenarioFigures): string[] {
  return figures.refusedAfterSpace === 0 ? [] : [`${figures.refusedAfterSpace} sends refused after space returned`];
}

describe('embedded log on a full disk (fault 12)', () => {
  let root: string;
  let disk: SmallDisk | undefined;

  beforeEach(async () => {
    root = await makeTempDir('vigil-disk-full-');
    await mkdir(join(root, 'disk'));
    disk = mountSmallDisk(join(root, 'disk'), DISK_BYTES);
  });

  afterEach(async () => {
    disk?.unmount();
    await removeTempDir(root);
  });

  async function openLog(policy: DiskFullPolicy, logger: Logger = silentLogger): Promise<EmbeddedLog> {
    return EmbeddedLog.open({
      dir: join(disk!.dir, 'log'),
      topics: [{ topic: TOPIC, partitions: PARTITIONS }],
      // Small segments, so that segments roll while the disk is full too.
      segmentBytes: 64 * 1024,
      diskFullPolicy: policy,
      logger,
    });
  }

  it('refuses with LOG_DISK_FULL, loses nothing acknowledged, recovers without a reopen, reopens clean', async () => {
    const log = await openLog('roll-back');
    let figures: ScenarioFigures;
    let onLog: Awaited<ReturnType<typeof recordsOnLog>>;
    try {
      figures = await fillWhileSending(log, disk!);
      onLog = await recordsOnLog(log);
      expect(log.stats.diskFullRefusals).toBeGreaterThan(0);
      expect(figures.firstAckAfterSpaceAtMs).not.toBeNull();
    } finally {
      await log.close();
    }
    const reopened = warningRecorder();
    const again = await openLog('roll-back', reopened.logger);
    let afterReopen: Awaited<ReturnType<typeof recordsOnLog>>;
    let appendAfterReopen: number;
    try {
      afterReopen = await recordsOnLog(again);
      const [position] = await again.send(TOPIC, [recordFor(999_999)]);
      appendAfterReopen = position!.offset;
      expect(appendAfterReopen).toBe((await again.endOffsets(TOPIC))[position!.partition]! - 1);
    } finally {
      await again.close();
    }

    console.log(
      `fault 12 (log): sent ${figures.sent}, refused while full ${figures.refusedWhileFull} ` +
        `(${[...figures.refusalCodes].join(', ')}), retried after space ${figures.retriedAfterSpace}, ` +
        `refused after space ${figures.refusedAfterSpace}, acknowledged ${figures.acknowledged.length}, ` +
        `on the log ${onLog.placed.length}, filler ${figures.fillerBytes} bytes, ` +
        `first ack ${(figures.firstAckAfterSpaceAtMs! - figures.spaceBackAtMs!).toFixed(1)} ms after the filler ` +
        `was deleted, ${log.stats.diskFullRefusals} partition flushes rolled back ` +
        `(${log.stats.diskFullTornBytes} torn bytes cut)`,
    );
    expect(figures.unexpectedErrors).toEqual([]);
    expect(figures.refusedWhileFull).toBeGreaterThan(0);
    expect([...figures.refusalCodes]).toEqual(['LOG_DISK_FULL']);
    expect(recoveryViolations(figures)).toEqual([]);
    // Every id sent was retried until acknowledged: the exact number of distinct ids.
    const distinctIds = figures.sent - figures.retriedAfterSpace;
    expect(figures.acknowledged).toHaveLength(distinctIds);
    expect(figures.sent).toBe(figures.acknowledged.length + figures.refusedWhileFull);
    expect(onLog.wrongContent).toEqual([]);
    expect(acknowledgementViolations(figures.acknowledged, onLog.placed)).toEqual([]);
    // The restart: no torn tail to cut, and the same records exactly.
    expect(reopened.warnings).toEqual([]);
    expect(afterReopen.wrongContent).toEqual([]);
    expect(acknowledgementViolations(figures.acknowledged, afterReopen.placed)).toEqual([]);

    // Negative controls: faults planted into what the checker sees are reported, exactly.
    const forged: PlacedRecord = { id: 'forged', partition: 0, offset: 1_000_000 };
    expect(acknowledgementViolations([...figures.acknowledged, forged], onLog.placed)).toEqual([
      'lost: forged acknowledged at 0@1000000 is not on the log',
    ]);
    const [dropped, ...rest] = onLog.placed;
    expect(acknowledgementViolations(figures.acknowledged, rest)).toEqual([
      `lost: ${dropped!.id} acknowledged at ${dropped!.partition}@${dropped!.offset} is not on the log`,
    ]);
    expect(acknowledgementViolations(figures.acknowledged, [...onLog.placed, { ...dropped!, offset: 7 }])).toEqual([
      `duplicated: ${dropped!.id} is on the log 2 times`,
    ]);
    expect(acknowledgementViolations(figures.acknowledged.slice(1), onLog.placed)).toEqual([
      `unacknowledged: ${figures.acknowledged[0]!.id} is on the log at ${figures.acknowledged[0]!.partition}@${figures.acknowledged[0]!.offset}`,
    ]);
  });

  it('negative control: without the rollback policy the partition does not recover until reopened, and the check says so', async () => {
    const log = await openLog('refuse-until-reopen');
    let figures: ScenarioFigures;
    try {
      figures = await fillWhileSending(log, disk!);
    } finally {
      await log.close();
    }
    console.log(
      `fault 12 negative control (refuse-until-reopen): sent ${figures.sent}, refused while full ` +
        `${figures.refusedWhileFull} (${[...figures.refusalCodes].join(', ')}), ` +
        `refused after space returned ${figures.refusedAfterSpace} of ${figures.retriedAfterSpace + IDS_AFTER_SPACE}`,
    );
    expect(figures.unexpectedErrors).toEqual([]);
    expect([...figures.refusalCodes]).toEqual(['LOG_PARTITION_FAILED']);
    // Every partition refuses every send after space returned: the checker reports all of them.
    expect(recoveryViolations(figures)).toEqual([
      `${figures.retriedAfterSpace + IDS_AFTER_SPACE} sends refused after space returned`,
    ]);
    // A reopen recovers it, and what was acknowledged is all there.
    const again = await openLog('refuse-until-reopen');
    try {
      const onLog = await recordsOnLog(again);
      expect(acknowledgementViolations(figures.acknowledged, onLog.placed)).toEqual([]);
      await expect(again.send(TOPIC, [recordFor(999_999)])).resolves.toHaveLength(1);
    } finally {
      await again.close();
    }
  });

  /**
   * One partition, one record of 1,000 bytes (so the segment ends inside a page, whose slack a full tmpfs still
   * lets a write use), the disk filled, then one 10 KiB record: its write lands partly and fails with ENOSPC.
   * With the rollback the file ends at the last whole frame and a reopen cuts nothing; without it (the planted
   * fault) the reopen has to cut the torn frame, and the clean-reopen check reports exactly that one cut.
   */
  it.each([
    ['roll-back', []],
    ['keep-torn-bytes', ['embedded log: truncating a torn or corrupt segment tail']],
  ] as const)('a refused append under %s leaves a reopen with these cuts: %j', async (policy, expectedWarnings) => {
    const dir = join(disk!.dir, 'torn');
    const open = (logger: Logger = silentLogger) =>
      EmbeddedLog.open({ dir, topics: [{ topic: TOPIC, partitions: 1 }], diskFullPolicy: policy, logger });
    const record = (id: number, bytes: number) => ({
      key: null,
      value: Buffer.alloc(bytes, id),
      headers: { id: String(id) },
    });
    const log = await open();
    let refusal: unknown;
    try {
      await log.send(TOPIC, [record(1, 1_000)]);
      const filler = await fillDisk(disk!.dir);
      refusal = await log.send(TOPIC, [record(2, 10 * 1024)]).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(log.stats.diskFullRefusals).toBe(1);
      expect(log.stats.diskFullTornBytes).toBeGreaterThan(0);
      await filler.remove();
    } finally {
      await log.close();
    }
    expect(refusal).toMatchObject({ code: 'LOG_DISK_FULL', retriable: true });
    const recorder = warningRecorder();
    const again = await open(recorder.logger);
    try {
      expect(recorder.warnings).toEqual(expectedWarnings);
      const records = await readAll(again, TOPIC, 0);
      expect(records.map((r) => r.headers['id'])).toEqual(['1']);
    } finally {
      await again.close();
    }
  });
});
