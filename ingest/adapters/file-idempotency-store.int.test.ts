/**
 * Fault 12 for ingest's own file: the idempotency journal on a small tmpfs that a filler fills. A group that finds
 * no space is refused with the retriable IDEMPOTENCY_JOURNAL_DISK_FULL, its torn end is cut off, and its lines
 * are written with the next group once the filler is gone, without a restart. Integration tier: it mounts a real
 * tmpfs (root, as in CI).
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fillDisk, mountSmallDisk, type SmallDisk } from '../../platform/embedded-log/disk-full-testing.js';
import { VigilError } from '../../platform/errors.js';
import { silentLogger } from '../../platform/logger.js';
import type { IdempotencyRecord } from '../ports.js';
import { FileIdempotencyStore, parseJournal } from './file-idempotency-store.js';

const fingerprint = (n: number): string => n.toString(16).padStart(64, '0');
const recordFor = (n: number): IdempotencyRecord => ({
  transactionId: `tx-${n}`,
  fingerprint: fingerprint(n),
  partition: n % 8,
  offset: n,
});
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** The journal's oracle: whole lines only, each expected id exactly once, nothing else. */
function journalViolations(bytes: Buffer, expectedIds: readonly string[]): string[] {
  const violations: string[] = [];
  const { records, intactBytes, skippedLines } = parseJournal(bytes);
  if (intactBytes !== bytes.length) violations.push(`torn tail: ${bytes.length - intactBytes} bytes`);
  if (skippedLines > 0) violations.push(`unreadable lines: ${skippedLines}`);
  const lines = bytes.toString('utf8', 0, intactBytes).split('\n').length - 1;
  if (lines !== records.size) violations.push(`repeated ids: ${lines - records.size} lines`);
  const expected = new Set(expectedIds);
  for (const id of expected) if (!records.has(id)) violations.push(`missing: ${id}`);
  for (const id of records.keys()) if (!expected.has(id)) violations.push(`unexpected: ${id}`);
  return violations;
}

describe('FileIdempotencyStore on a full disk (fault 12)', () => {
  let root: string;
  let disk: SmallDisk | undefined;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'vigil-journal-full-'));
    await mkdir(join(root, 'disk'));
    disk = mountSmallDisk(join(root, 'disk'), 1024 * 1024);
  });

  afterEach(async () => {
    disk?.unmount();
    await rm(root, { recursive: true, force: true });
  });

  it('refuses with IDEMPOTENCY_JOURNAL_DISK_FULL, cuts the torn line, writes the kept lines once space returns', async () => {
    const dir = join(disk!.dir, 'ingest');
    const path = join(dir, 'idempotency.tsv');
    const store = await FileIdempotencyStore.open(dir, silentLogger);
    let refusal: unknown;
    try {
      await Promise.all(range(0, 100).map((n) => store.remember([recordFor(n)])));
      const filler = await fillDisk(disk!.dir);
      // One group of 100 lines (~9 KiB): more than the slack of the journal's last page, so it cannot fit.
      refusal = await store.remember(range(100, 200).map(recordFor)).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(store.isHealthy()).toBe(false);
      // Refused to the journal, still known to this process: a retry of these ids is a duplicate.
      expect((await store.lookup(range(100, 200).map((n) => `tx-${n}`))).size).toBe(100);
      expect(
        journalViolations(
          await readFile(path),
          range(0, 100).map((n) => `tx-${n}`),
        ),
      ).toEqual([]);
      await filler.remove();
      await store.remember([recordFor(200)]);
      expect(store.isHealthy()).toBe(true);
    } finally {
      await store.close();
    }
    expect(refusal).toBeInstanceOf(VigilError);
    expect(refusal).toMatchObject({ code: 'IDEMPOTENCY_JOURNAL_DISK_FULL', retriable: true });

    const allIds = range(0, 201).map((n) => `tx-${n}`);
    const bytes = await readFile(path);
    expect(journalViolations(bytes, allIds)).toEqual([]);
    const reopened = await FileIdempotencyStore.open(dir, silentLogger);
    try {
      expect(reopened.size()).toBe(201);
    } finally {
      await reopened.close();
    }

    // Negative controls: a torn line, a lost id and a repeated line planted into what the checker reads.
    expect(journalViolations(Buffer.concat([bytes, Buffer.from('tx-201\t00')]), allIds)).toEqual([
      'torn tail: 9 bytes',
    ]);
    expect(journalViolations(bytes, [...allIds, 'tx-lost'])).toEqual(['missing: tx-lost']);
    const firstLine = bytes.subarray(0, bytes.indexOf(0x0a) + 1);
    expect(journalViolations(Buffer.concat([bytes, firstLine]), allIds)).toEqual(['repeated ids: 1 lines']);
  });
});
