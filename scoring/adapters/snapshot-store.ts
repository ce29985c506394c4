import { mkdir, open, readFile, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { UnavailableError } from '../../platform/errors.js';
import type { ScoringChanges, ScoringSnapshot, SnapshotStore, StoredScoringState } from '../ports.js';
import { fsyncDirectory } from '../../platform/embedded-log/files.js';

/**
 * Keeps the scoring stage's state as one full snapshot and the changes appended since it.
 *
 * The full snapshot is one file, replaced atomically: written to a temporary file, fsync'd, renamed over the old one,
 * then the directory fsync'd so the rename itself survives a crash. A reader sees either the previous snapshot or the
 * new one, never a torn file. Format: `VGSNAP01`, a u32 (big-endian) length, a JSON header in which every byte array
 * is replaced by `{"$bytes": n}`, then the byte arrays back to back in order, each prefixed by its u32 length. Feature
 * state is mostly typed arrays, so it is written as raw bytes rather than as text. The header also says how many
 * changes the snapshot already reflects (`changesApplied`; absent, 0, in files written before changes existed).
 *
 * Changes are numbered 1, 2, … and appended to files named `<snapshot>.changes-<first number>`, each record a u32
 * length, the CRC-32 of its body and the body (the same encoding, of `{ seq, changes }`); an append resolves once
 * the record is fdatasync'd. Loading applies, after the snapshot, the records numbered `changesApplied + 1` on with
 * no gap. A record cut short by a crash ends its file (nothing after it there was ever acknowledged: appends are
 * serialised, and each waits for the one before); a later file goes on from the number it stopped at, because after
 * a load or a failed append the next append starts a new file.
 *
 * Compaction writes a full snapshot (reflecting every change so far) while appends go on into a new file, and only
 * once it is durable deletes the files it covers: a crash at any point leaves a snapshot and the changes after it.
 */
const MAGIC = Buffer.from('VGSNAP01', 'latin1');
/** Bytes of a change record's frame: its length and its CRC-32. */
const RECORD_FRAME_BYTES = 8;
/** Below this many appended bytes, compaction is not worth a full snapshot's copy and write. */
const DEFAULT_MIN_COMPACTION_BYTES = 1 << 20;

/** Encodes a snapshot in the format above. */
export function encodeSnapshot(snapshot: ScoringSnapshot): Buffer[] {
  return [MAGIC, ...encodeWithBytes(snapshot)];
}

/** Decodes what {@link encodeSnapshot} wrote. Throws on a bad magic or a truncated file. */
export function decodeSnapshot(bytes: Buffer): ScoringSnapshot {
  return decodeStoredSnapshot(bytes);
}

/** A full snapshot as the store writes it: with the number of changes it reflects. */
type StoredSnapshot = ScoringSnapshot & { readonly changesApplied?: number };

function decodeStoredSnapshot(bytes: Buffer): StoredSnapshot {
  if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not a Vigil scoring snapshot (bad magic)');
  return decodeWithBytes(bytes.subarray(MAGIC.length)) as StoredSnapshot;
}

/** JSON with every Uint8Array written as raw bytes after it (see the format above). */
function encodeWithBytes(value: unknown): Buffer[] {
  const blobs: Uint8Array[] = [];
  const header = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Uint8Array) {
      blobs.push(v);
      return { $bytes: blobs.length - 1 };
    }
    return v;
  });
  const headerBytes = Buffer.from(header, 'utf8');
  const parts: Buffer[] = [u32(headerBytes.length), headerBytes];
  for (const blob of blobs)
    parts.push(u32(blob.byteLength), Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength));
  return parts;
}

function decodeWithBytes(bytes: Buffer): unknown {
  let offset = 0;
  const headerLength = bytes.readUInt32BE(offset);
  offset += 4;
  if (offset + headerLength > bytes.length) throw new Error('snapshot is truncated');
  const header = bytes.toString('utf8', offset, offset + headerLength);
  offset += headerLength;
  const blobs: Uint8Array[] = [];
  while (offset < bytes.length) {
    const length = bytes.readUInt32BE(offset);
    offset += 4;
    if (offset + length > bytes.length) throw new Error('snapshot is truncated');
    // Copy into a fresh, aligned buffer: typed-array views over it need 8-byte alignment.
    blobs.push(new Uint8Array(bytes.subarray(offset, offset + length)));
    offset += length;
  }
  return JSON.parse(header, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && '$bytes' in value) {
      const blob = blobs[(value as { $bytes: number }).$bytes];
      if (!blob) throw new Error('snapshot references a missing byte array');
      return blob;
    }
    return value;
  });
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function byteLength(parts: readonly Buffer[]): number {
  return parts.reduce((sum, part) => sum + part.length, 0);
}

/** One change record: u32 body length, u32 CRC-32 of the body, the body. */
function encodeChangeRecord(seq: number, changes: ScoringChanges): Buffer[] {
  const body = encodeWithBytes({ seq, changes });
  // An empty part is skipped: Node 20's crc32 answers 0 for a view of an empty ArrayBuffer, whatever it continues.
  const crc = body.reduce((value, part) => (part.length === 0 ? value : crc32(part, value)), 0);
  return [u32(byteLength(body)), u32(crc), ...body];
}

interface ChangeRecord {
  readonly seq: number;
  readonly changes: ScoringChanges;
  readonly bytes: number;
}

/** The whole records of a changes file, in order, up to the first torn or damaged one. */
function decodeChangeRecords(bytes: Buffer): ChangeRecord[] {
  const records: ChangeRecord[] = [];
  let offset = 0;
  while (offset + RECORD_FRAME_BYTES <= bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const end = offset + RECORD_FRAME_BYTES + length;
    if (end > bytes.length) break;
    const body = bytes.subarray(offset + RECORD_FRAME_BYTES, end);
    if (crc32(body) !== bytes.readUInt32BE(offset + 4)) break;
    const { seq, changes } = decodeWithBytes(body) as { seq: number; changes: ScoringChanges };
    records.push({ seq, changes, bytes: end - offset });
    offset = end;
  }
  return records;
}

interface ChangesFile {
  readonly path: string;
  readonly firstSeq: number;
}

export interface FileSnapshotStoreOptions {
  /** Compaction is due once the changes appended since the full snapshot exceed it and this many bytes. */
  readonly minCompactionBytes?: number;
}

export class FileSnapshotStore implements SnapshotStore {
  private readonly dir: string;
  private readonly changesPrefix: string;
  private readonly minCompactionBytes: number;
  /** Number of the last change durable on disk. */
  private lastSeq = 0;
  /** The changes file appended to; none until the first append after a load, a save, a compaction or a failure. */
  private changesFile: FileHandle | undefined;
  private snapshotBytes = 0;
  private appendedBytes = 0;
  /** Appends and changes to the set of files, one at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  private compaction: Promise<void> | undefined;

  constructor(
    private readonly path: string,
    options: FileSnapshotStoreOptions = {},
  ) {
    this.dir = dirname(path);
    this.changesPrefix = `${basename(path)}.changes-`;
    this.minCompactionBytes = options.minCompactionBytes ?? DEFAULT_MIN_COMPACTION_BYTES;
  }

  async load(): Promise<StoredScoringState | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.unreadable(`cannot read scoring snapshot ${this.path}`, error);
    }
    let snapshot: ScoringSnapshot;
    let changesApplied: number;
    try {
      ({ changesApplied = 0, ...snapshot } = decodeStoredSnapshot(bytes));
    } catch (error) {
      throw this.unreadable(`scoring snapshot ${this.path} is unreadable: ${(error as Error).message}`, error);
    }
    const changes: ScoringChanges[] = [];
    let appendedBytes = 0;
    let next = changesApplied + 1;
    for (const file of await this.changesFiles()) {
      let records: ChangeRecord[];
      try {
        records = decodeChangeRecords(await readFile(file.path));
      } catch (error) {
        throw this.unreadable(`scoring changes ${file.path} are unreadable: ${(error as Error).message}`, error);
      }
      for (const record of records) {
        if (record.seq < next) continue;
        // Committed offsets may follow the missing changes: restoring without them would lose records.
        if (record.seq > next)
          throw this.unreadable(`scoring changes ${next} to ${record.seq - 1} are missing (${file.path})`);
        changes.push(record.changes);
        appendedBytes += record.bytes;
        next++;
      }
    }
    this.lastSeq = next - 1;
    this.snapshotBytes = bytes.length;
    this.appendedBytes = appendedBytes;
    return { snapshot, changes };
  }

  async save(snapshot: ScoringSnapshot): Promise<void> {
    // A compaction finishing after this would put its older snapshot back over this one.
    await this.compaction?.catch(() => undefined);
    await this.serialised(async () => {
      await this.closeChangesFile();
      const covered = await this.changesFiles();
      this.snapshotBytes = await this.writeSnapshot(snapshot, this.lastSeq);
      await this.remove(covered);
      this.appendedBytes = 0;
    });
  }

  append(changes: ScoringChanges): Promise<void> {
    return this.serialised(async () => {
      const seq = this.lastSeq + 1;
      const record = encodeChangeRecord(seq, changes);
      const created = this.changesFile === undefined;
      try {
        this.changesFile ??= await open(join(this.dir, `${this.changesPrefix}${seq}`), 'w');
        await this.changesFile.writev(record);
        await this.changesFile.datasync();
        if (created) await fsyncDirectory(this.dir);
      } catch (error) {
        // Whatever part of the record landed ends this file; the next append starts a new one at the same number.
        await this.closeChangesFile().catch(() => undefined);
        throw error;
      }
      this.lastSeq = seq;
      this.appendedBytes += byteLength(record);
    });
  }

  get compactionDue(): boolean {
    return this.compaction === undefined && this.appendedBytes > Math.max(this.snapshotBytes, this.minCompactionBytes);
  }

  compact(snapshot: ScoringSnapshot): Promise<void> {
    const covers = this.lastSeq;
    const appendedBefore = this.appendedBytes;
    const run = (async () => {
      // Appends from here go to a new file, which this compaction keeps.
      const covered = await this.serialised(async () => {
        await this.closeChangesFile();
        return this.changesFiles();
      });
      const snapshotBytes = await this.writeSnapshot(snapshot, covers);
      await this.serialised(async () => {
        await this.remove(covered);
        this.snapshotBytes = snapshotBytes;
        this.appendedBytes -= appendedBefore;
      });
    })();
    this.compaction = run.finally(() => (this.compaction = undefined));
    return this.compaction;
  }

  async close(): Promise<void> {
    await this.compaction?.catch(() => undefined);
    await this.serialised(() => this.closeChangesFile());
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async closeChangesFile(): Promise<void> {
    const file = this.changesFile;
    this.changesFile = undefined;
    await file?.close();
  }

  /** The changes files, oldest first. */
  private async changesFiles(): Promise<ChangesFile[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names
      .filter((name) => name.startsWith(this.changesPrefix))
      .map((name) => ({ path: join(this.dir, name), firstSeq: Number(name.slice(this.changesPrefix.length)) }))
      .filter((file) => Number.isInteger(file.firstSeq))
      .sort((a, b) => a.firstSeq - b.firstSeq);
  }

  /** Replaces the full snapshot atomically; returns its size in bytes. */
  private async writeSnapshot(snapshot: ScoringSnapshot, changesApplied: number): Promise<number> {
    await mkdir(this.dir, { recursive: true });
    const stored: StoredSnapshot = { ...snapshot, changesApplied };
    const parts = encodeSnapshot(stored);
    const tmp = `${this.path}.tmp`;
    const file = await open(tmp, 'w');
    try {
      await file.writev(parts);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, this.path);
    await fsyncDirectory(this.dir);
    return byteLength(parts);
  }

  /** Deletes changes files a durable snapshot covers (a file left by a crash here is skipped at load). */
  private async remove(files: readonly ChangesFile[]): Promise<void> {
    for (const file of files) await unlink(file.path);
    if (files.length > 0) await fsyncDirectory(this.dir);
  }

  private unreadable(message: string, cause?: unknown): UnavailableError {
    return new UnavailableError('SNAPSHOT_UNREADABLE', message, cause);
  }
}
