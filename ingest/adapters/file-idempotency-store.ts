import { type FileHandle, mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../platform/clock.js';
import { isNoSpaceError, writeFileAtomic } from '../../platform/embedded-log/files.js';
import { UnavailableError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { Attempt } from '../domain/idempotency.js';
import type { IdempotencyRecord, IdempotencyStore } from '../ports.js';

/**
 * The embedded idempotency store: every accepted id in a Map, backed by an append-only journal
 * (`<dir>/idempotency.tsv`, one line per accepted id: `id TAB fingerprint TAB partition TAB offset TAB acceptedAtMs`;
 * lines of older journals lack the time) that is loaded at start. Lines are appended and fdatasync'd in groups, so many concurrent requests share one sync.
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
 * Growth is bounded by the window (`windowMs`, VIGIL_IDEMPOTENCY_WINDOW_MS): an id is answered from here for
 * `windowMs` after it was accepted and then forgotten, in memory at once and on disk when the journal is compacted
 * (rewritten with the live ids only, tmp + fsync + rename, once forgotten lines are at least as many as live ones
 * and `compactMinLines`, and at open). A repeat after the window is accepted again at a new offset — the same
 * outcome as the crash window, with the same backstop: ledger-sink answers it by transactionId + fingerprint, so
 * nothing posts twice and other content under a known id is still a conflict there. Lines without a time (journals
 * written before the window existed) count as accepted when first loaded. Ids are forgotten in acceptance order,
 * so a clock stepping back delays expiry, never hastens it. `windowMs` 0 keeps every id.
 */
export interface IdempotencyWindow {
  /** How long an accepted id is answered from the store, in ms; 0 = forever. */
  readonly windowMs: number;
  readonly clock: Clock;
  /** Forgotten journal lines needed before the journal is compacted (also needs ≥ as many as live). Default 10,000. */
  readonly compactMinLines?: number;
}

/** An accepted id and when (by the store's clock). */
interface Entry {
  readonly fingerprint: string;
  readonly partition: number;
  readonly offset: number;
  readonly acceptedAtMs: number;
}

const keepForever: IdempotencyWindow = Object.freeze({ windowMs: 0, clock: systemClock });
const JOURNAL = 'idempotency.tsv';

export class FileIdempotencyStore implements IdempotencyStore {
  private pendingLines: string[] = [];
  private pendingWaiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  private flushing: Promise<void> | undefined;
  private failure: unknown;
  /** Set while the last group failed for lack of space; its lines are back at the front of pendingLines. */
  private diskFull = false;
  private closed = false;

  /** Lines in the journal file, live or forgotten; compaction is due when forgotten ones pile up. */
  private journalLines: number;
  /** Ids forgotten since open (a counter for tests and the benchmark). */
  private forgottenIds = 0;

  private constructor(
    private file: FileHandle,
    private readonly path: string,
    private readonly records: Map<string, Entry>,
    /** Bytes of whole, synced lines: where a failed append is cut back to. */
    private durableBytes: number,
    journalLines: number,
    private readonly window: IdempotencyWindow,
    private readonly logger: Logger,
  ) {
    this.journalLines = journalLines;
  }

  /**
   * Opens (creating if needed) the journal in `dir` and loads it. A torn last line (crash mid-write) is cut off;
   * ids past the window are dropped and, if there were any, the journal is compacted before the store is used.
   */
  static async open(
    dir: string,
    logger: Logger,
    window: IdempotencyWindow = keepForever,
  ): Promise<FileIdempotencyStore> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, JOURNAL);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      bytes = Buffer.alloc(0);
    }
    const { records: parsed, intactBytes, skippedLines, lines } = parseJournal(bytes);
    const loadedAtMs = window.clock.nowMs();
    const records = new Map<string, Entry>();
    for (const [id, { fingerprint, partition, offset, acceptedAtMs }] of parsed)
      records.set(id, { fingerprint, partition, offset, acceptedAtMs: acceptedAtMs ?? loadedAtMs });
    const file = await open(path, 'a');
    if (intactBytes < bytes.length) {
      await file.truncate(intactBytes);
      logger.warn('idempotency journal ended in a torn line; cut it off', { bytes: bytes.length - intactBytes });
    }
    if (skippedLines > 0)
      logger.warn('idempotency journal has unreadable lines; their ids are forgotten', { skippedLines });
    const store = new FileIdempotencyStore(file, path, records, intactBytes, lines, window, logger);
    store.forgetExpired();
    if (store.journalLines > records.size) await store.compactJournal();
    logger.info('idempotency journal loaded', { ids: records.size, windowMs: window.windowMs });
    return store;
  }

  /** One process, one journal: the caller's per-id lock already makes it the only writer, so claiming is a lookup. */
  claim(attempts: readonly Attempt[]): Promise<ReadonlyMap<string, IdempotencyRecord>> {
    return this.lookup(attempts.map((attempt) => attempt.transactionId));
  }

  /** Nothing to give back: an id is only written here once it is on the log. */
  release(): Promise<void> {
    return Promise.resolve();
  }

  /** The known records among `transactionIds`. */
  lookup(transactionIds: readonly string[]): Promise<ReadonlyMap<string, IdempotencyRecord>> {
    this.forgetExpired();
    const found = new Map<string, IdempotencyRecord>();
    for (const transactionId of transactionIds) {
      const entry = this.records.get(transactionId);
      if (entry) {
        const { fingerprint, partition, offset } = entry;
        found.set(transactionId, { transactionId, fingerprint, partition, offset });
      }
    }
    return Promise.resolve(found);
  }

  /** Ids forgotten because their window passed, since open. */
  get forgotten(): number {
    return this.forgottenIds;
  }

  /** Drops ids accepted `windowMs` or more ago, oldest first (Map order is acceptance order). */
  private forgetExpired(): void {
    if (this.window.windowMs === 0) return;
    const cutoffMs = this.window.clock.nowMs() - this.window.windowMs;
    for (const [id, entry] of this.records) {
      if (entry.acceptedAtMs > cutoffMs) break;
      this.records.delete(id);
      this.forgottenIds++;
    }
  }

  /** Visible to `lookup` at once; resolves when the group the lines went into is synced. */
  remember(records: readonly IdempotencyRecord[]): Promise<void> {
    this.forgetExpired();
    const acceptedAtMs = this.window.clock.nowMs();
    const lines: string[] = [];
    for (const { transactionId, fingerprint, partition, offset } of records) {
      if (this.records.has(transactionId)) continue;
      const entry = { fingerprint, partition, offset, acceptedAtMs };
      this.records.set(transactionId, entry);
      lines.push(journalLine(transactionId, entry));
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
          this.journalLines += lines.length;
        }
        if (this.compactionDue()) await this.compactJournal();
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

  private compactionDue(): boolean {
    if (this.window.windowMs === 0) return false;
    this.forgetExpired();
    const forgottenLines = this.journalLines - this.records.size;
    return forgottenLines >= this.records.size && forgottenLines >= (this.window.compactMinLines ?? 10_000);
  }

  /**
   * Rewrites the journal with the live ids only (tmp + fsync + rename + directory fsync) and appends to the new file
   * from then on. Runs inside the flush loop (or at open), so no append races it. Lines still pending are in
   * `records`, so they are written here and dropped from the queue; their waiters resolve on the loop's next turn.
   * A failure leaves the old journal in place (a full disk must not stop the store) and is retried after the next
   * group.
   */
  private async compactJournal(): Promise<void> {
    const lines: string[] = [];
    for (const [id, entry] of this.records) lines.push(journalLine(id, entry));
    const text = lines.join('');
    let file: FileHandle;
    try {
      await writeFileAtomic(this.path, text);
      file = await open(this.path, 'a');
    } catch (error) {
      this.logger.warn('idempotency journal: compaction failed; the old journal stays in use', {
        error: String(error),
      });
      return;
    }
    const before = this.journalLines;
    await this.file.close().catch(() => undefined);
    this.file = file;
    this.durableBytes = Buffer.byteLength(text, 'utf8');
    this.journalLines = lines.length;
    this.pendingLines = [];
    this.logger.info('idempotency journal compacted', { linesBefore: before, linesAfter: lines.length });
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

function journalLine(transactionId: string, entry: Entry): string {
  return `${transactionId}\t${entry.fingerprint}\t${entry.partition}\t${entry.offset}\t${entry.acceptedAtMs}\n`;
}

const journalLinePattern = /^([A-Za-z0-9._:-]{1,128})\t([0-9a-f]{64})\t(\d{1,9})\t(\d{1,16})(?:\t(-?\d{1,16}))?$/;

/** A journal line read back: when it was accepted is absent from lines written before the window existed. */
export interface JournalRecord extends IdempotencyRecord {
  readonly acceptedAtMs: number | undefined;
}

/** Parses journal bytes; the first occurrence of an id wins. `lines` counts the whole lines, readable or not. */
export function parseJournal(bytes: Buffer): {
  records: Map<string, JournalRecord>;
  intactBytes: number;
  skippedLines: number;
  lines: number;
} {
  const records = new Map<string, JournalRecord>();
  let start = 0;
  let skippedLines = 0;
  let lines = 0;
  for (let newline = bytes.indexOf(0x0a, start); newline !== -1; newline = bytes.indexOf(0x0a, start)) {
    const match = journalLinePattern.exec(bytes.toString('utf8', start, newline));
    start = newline + 1;
    lines++;
    if (!match) {
      skippedLines++;
      continue;
    }
    const [, transactionId, fingerprint, partition, offset, acceptedAtMs] = match as unknown as [
      string,
      string,
      string,
      string,
      string,
      string | undefined,
    ];
    if (!records.has(transactionId))
      records.set(transactionId, {
        transactionId,
        fingerprint,
        partition: Number(partition),
        offset: Number(offset),
        acceptedAtMs: acceptedAtMs === undefined ? undefined : Number(acceptedAtMs),
      });
  }
  return { records, intactBytes: start, skippedLines, lines };
}
