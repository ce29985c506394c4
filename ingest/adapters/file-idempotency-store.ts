import { type FileHandle, mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isNoSpaceError } from '../../platform/embedded-log/files.js';
import { UnavailableError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { IdempotencyRecord, IdempotencyStore } from '../ports.js';

/**
 * The embedded idempotency store: every accepted id in a Map, backed by an append-only journal
 * (`<dir>/idempotency.tsv`, one line per accepted id: `id TAB fingerprint TAB partition TAB offset`) that is
 * loaded at start. Lines are appended and fdatasync'd in groups, so many concurrent requests share one sync.
 *
 * Crash window, stated honestly: ingest appends to the log first and journals the id afterwards. If the process
 * dies after the log append but before the journal line is synced, the id is forgotten and a client retry is
 * accepted again, with the same fingerprint, at a new offset. Nothing posts twice: ledger-sink deduplicates by
 * transactionId + fingerprint. The opposite order would be worse: a journalled id whose record never reached the
 * log would turn the client's retry into a "duplicate" of a transaction that does not exist.
 *
 * Full disk (ENOSPC, EDQUOT): the torn end of the failed append is truncated away, its lines are kept and written
 * first by the next group (so they land once space returns, without a restart), and the waiters are rejected with
 * the retriable IDEMPOTENCY_JOURNAL_DISK_FULL; readiness is false until a group is synced again. A restart before
 * that forgets those ids (the crash window above). Any other write failure stops the journal for good.
 *
 * Growth: the Map holds every id ever accepted (≈150 bytes each); retention/compaction is not implemented yet.
 */
export class FileIdempotencyStore implements IdempotencyStore {
  private pendingLines: string[] = [];
  private pendingWaiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  private flushing: Promise<void> | undefined;
  private failure: unknown;
  /** Set while the last group failed for lack of space; its lines are back at the front of pendingLines. */
  private diskFull = false;
  private closed = false;

  private constructor(
    private readonly file: FileHandle,
    private readonly records: Map<string, IdempotencyRecord>,
    /** Bytes of whole, synced lines: where a failed append is cut back to. */
    private durableBytes: number,
  ) {}

  /** Opens (creating if needed) the journal in `dir` and loads it. A torn last line (crash mid-write) is cut off. */
  static async open(dir: string, logger: Logger): Promise<FileIdempotencyStore> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, 'idempotency.tsv');
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      bytes = Buffer.alloc(0);
    }
    const { records, intactBytes, skippedLines } = parseJournal(bytes);
    const file = await open(path, 'a');
    if (intactBytes < bytes.length) {
      await file.truncate(intactBytes);
      logger.warn('idempotency journal ended in a torn line; cut it off', { bytes: bytes.length - intactBytes });
    }
    if (skippedLines > 0)
      logger.warn('idempotency journal has unreadable lines; their ids are forgotten', { skippedLines });
    logger.info('idempotency journal loaded', { ids: records.size });
    return new FileIdempotencyStore(file, records, intactBytes);
  }

  lookup(transactionIds: readonly string[]): Promise<ReadonlyMap<string, IdempotencyRecord>> {
    const found = new Map<string, IdempotencyRecord>();
    for (const id of transactionIds) {
      const record = this.records.get(id);
      if (record) found.set(id, record);
    }
    return Promise.resolve(found);
  }

  /** Visible to `lookup` at once; resolves when the group the lines went into is synced. */
  remember(records: readonly IdempotencyRecord[]): Promise<void> {
    const lines: string[] = [];
    for (const record of records) {
      if (this.records.has(record.transactionId)) continue;
      this.records.set(record.transactionId, record);
      lines.push(`${record.transactionId}\t${record.fingerprint}\t${record.partition}\t${record.offset}\n`);
    }
    if (this.closed)
      return Promise.reject(new UnavailableError('IDEMPOTENCY_STORE_CLOSED', 'the idempotency store is closed'));
    if (this.failure !== undefined)
      return Promise.reject(
        new UnavailableError('IDEMPOTENCY_JOURNAL_FAILED', 'the idempotency journal failed earlier', this.failure),
      );
    for (const line of lines) this.pendingLines.push(line);
    return new Promise<void>((resolve, reject) => {
      this.pendingWaiters.push({ resolve, reject });
      this.flushing ??= this.flushGroups();
    });
  }

  isHealthy(): boolean {
    return this.failure === undefined && !this.diskFull && !this.closed;
  }

  size(): number {
    return this.records.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flushing;
    if (this.pendingLines.length > 0) {
      // Lines kept after a full disk: one last attempt, so that a shutdown after space returned keeps them.
      await new Promise<void>((resolve) => {
        this.pendingWaiters.push({ resolve, reject: () => resolve() });
        this.flushing ??= this.flushGroups();
      });
    }
    await this.file.close();
  }

  private async flushGroups(): Promise<void> {
    // Yield once so remembers from the same turn of the event loop share the sync.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.pendingWaiters.length > 0) {
      const lines = this.pendingLines;
      const waiters = this.pendingWaiters;
      this.pendingLines = [];
      this.pendingWaiters = [];
      const text = lines.join('');
      try {
        if (lines.length > 0) {
          await this.file.appendFile(text, 'utf8');
          await this.file.datasync();
          this.durableBytes += Buffer.byteLength(text, 'utf8');
        }
        this.diskFull = false;
        for (const waiter of waiters) waiter.resolve();
      } catch (cause) {
        if (isNoSpaceError(cause) && (await this.cutBackTo(this.durableBytes))) {
          this.diskFull = true;
          this.pendingLines = [...lines, ...this.pendingLines];
          const error = new UnavailableError(
            'IDEMPOTENCY_JOURNAL_DISK_FULL',
            'no space left for the idempotency journal; the ids are written once space returns',
            cause,
          );
          for (const waiter of waiters) waiter.reject(error);
          continue;
        }
        // A failed append may leave a torn line, so later appends would corrupt the journal: stop writing.
        this.failure = cause;
        const error = new UnavailableError(
          'IDEMPOTENCY_JOURNAL_FAILED',
          'could not append to the idempotency journal',
          cause,
        );
        for (const waiter of [...waiters, ...this.pendingWaiters]) waiter.reject(error);
        this.pendingWaiters = [];
        this.pendingLines = [];
      }
    }
    this.flushing = undefined;
  }

  /** Truncates a failed append's torn end (freeing blocks works on a full disk); false if that fails too. */
  private async cutBackTo(bytes: number): Promise<boolean> {
    try {
      await this.file.truncate(bytes);
      await this.file.datasync();
      return true;
    } catch {
      return false;
    }
  }
}

const journalLine = /^([A-Za-z0-9._:-]{1,128})\t([0-9a-f]{64})\t(\d{1,9})\t(\d{1,16})$/;

/** Parses journal bytes; the first occurrence of an id wins. */
export function parseJournal(bytes: Buffer): {
  records: Map<string, IdempotencyRecord>;
  intactBytes: number;
  skippedLines: number;
} {
  const records = new Map<string, IdempotencyRecord>();
  let start = 0;
  let skippedLines = 0;
  for (let newline = bytes.indexOf(0x0a, start); newline !== -1; newline = bytes.indexOf(0x0a, start)) {
    const match = journalLine.exec(bytes.toString('utf8', start, newline));
    start = newline + 1;
    if (!match) {
      skippedLines++;
      continue;
    }
    const [, transactionId, fingerprint, partition, offset] = match as unknown as [
      string,
      string,
      string,
      string,
      string,
    ];
    if (!records.has(transactionId))
      records.set(transactionId, { transactionId, fingerprint, partition: Number(partition), offset: Number(offset) });
  }
  return { records, intactBytes: start, skippedLines };
}
