/**
 * The small metadata files of the log: `topics.json` (topic → partition count), replaced atomically (tmp + fsync +
 * rename + dir fsync), and the committed offsets of every group — `groups/<group>.json`, replaced atomically, plus
 * the commits since, appended to `groups/commits.log` (see {@link GroupOffsetStore}).
 * Committed offsets follow Kafka: the offset of the next record to handle.
 */
import { type FileHandle, mkdir, open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordPosition, TopicSpec } from '../bus.js';
import { crc32c } from './crc32c.js';
import { corrupt, ioFailed } from './errors.js';
import { fsyncDirectory, isErrnoCode, readFileIfExists, writeFileAtomic } from './files.js';

const FORMAT_VERSION = 1;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface TopicsFile {
  readonly version: number;
  readonly topics: readonly TopicSpec[];
}

export async function loadTopics(dir: string): Promise<TopicSpec[]> {
  const path = join(dir, 'topics.json');
  const text = await readFileIfExists(path);
  if (text === undefined) return [];
  const file = parseJson(path, text);
  const unreadable = () => corrupt(`unreadable topic metadata ${path}`, { path });
  if (!isObject(file) || file.version !== FORMAT_VERSION || !Array.isArray(file.topics)) throw unreadable();
  return (file.topics as unknown[]).map((spec) => {
    if (
      !isObject(spec) ||
      typeof spec.topic !== 'string' ||
      typeof spec.partitions !== 'number' ||
      !Number.isInteger(spec.partitions)
    )
      throw unreadable();
    if (spec.compacted !== undefined && typeof spec.compacted !== 'boolean') throw unreadable();
    return { topic: spec.topic, partitions: spec.partitions, ...(spec.compacted === true ? { compacted: true } : {}) };
  });
}

export async function saveTopics(dir: string, topics: readonly TopicSpec[]): Promise<void> {
  const file: TopicsFile = { version: FORMAT_VERSION, topics };
  await writeFileAtomic(join(dir, 'topics.json'), JSON.stringify(file, null, 2) + '\n');
}

interface GroupFile {
  readonly version: number;
  readonly groupId: string;
  /** topic → partition (as a string key) → next offset to handle. */
  readonly offsets: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

type GroupOffsets = Readonly<Record<string, Readonly<Record<string, number>>>>;

/** The commits since the group files were last written: one record per write, replayed over them at open. */
const JOURNAL_NAME = 'commits.log';
/** Once the journal is this long, the group files are rewritten and it starts over. */
const JOURNAL_COMPACT_BYTES = 1 << 20;

export interface GroupOffsetStoreOptions {
  /** Journal length that triggers rewriting the group files (default {@link JOURNAL_COMPACT_BYTES}). */
  readonly journalCompactBytes?: number;
}
/** A record's length and CRC-32C. */
const JOURNAL_FRAME_BYTES = 8;

/** The groups committed in one journal record, each with every offset it has committed (not only the new ones). */
type JournalRecord = Readonly<Record<string, GroupOffsets>>;

interface PendingCommit {
  readonly groupId: string;
  readonly positions: readonly RecordPosition[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Committed offsets of every group, loaded at open and written through on each commit.
 *
 * Commits of all groups that arrive while a write is in flight go into the next one, and a write is one append of a
 * CRC-checked record to `groups/commits.log` and one fdatasync — the embedded pipeline's consumer groups commit after
 * every batch, so one durable write serves them all instead of a tmp + fsync + rename + dir fsync per group and
 * batch. A commit resolves once its record is durable. When the journal passes `journalCompactBytes`, every
 * group's file is replaced atomically and then the journal is cut to nothing: a crash in between replays records
 * the files already hold, which ends in the same offsets. At open, replay stops at the first torn or corrupt record
 * (a write a crash cut short, never acknowledged), and the journal is cut there before anything is appended.
 */
export class GroupOffsetStore {
  private pending: PendingCommit[] = [];
  private writing: Promise<void> | null = null;

  private constructor(
    private readonly dir: string,
    private readonly groups: Map<string, GroupOffsets>,
    private journal: FileHandle,
    /** Bytes of whole records in the journal: where the next append starts. */
    private journalBytes: number,
    /** A failed append may have left part of a record past `journalBytes`: cut it before the next. */
    private journalDamaged: boolean,
    private readonly journalCompactBytes: number,
  ) {}

  static async load(logDir: string, options: GroupOffsetStoreOptions = {}): Promise<GroupOffsetStore> {
    const dir = join(logDir, 'groups');
    const groups = new Map<string, GroupOffsets>();
    let names: string[];
    try {
      const created = await mkdir(dir, { recursive: true });
      if (created !== undefined) await fsyncDirectory(logDir);
      names = await readdir(dir);
    } catch (error) {
      throw ioFailed(`listing ${dir}`, error);
    }
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const path = join(dir, name);
      const text = await readFileIfExists(path);
      if (text === undefined) continue;
      const file = parseJson(path, text);
      if (
        !isObject(file) ||
        file.version !== FORMAT_VERSION ||
        typeof file.groupId !== 'string' ||
        !isObject(file.offsets)
      ) {
        throw corrupt(`unreadable group offsets ${path}`, { path });
      }
      groups.set(file.groupId, file.offsets as GroupOffsets);
    }
    const journalPath = join(dir, JOURNAL_NAME);
    let bytes: Buffer;
    try {
      bytes = await readFile(journalPath);
    } catch (error) {
      if (!isErrnoCode(error, 'ENOENT')) throw ioFailed(`read of ${journalPath}`, error);
      bytes = Buffer.alloc(0);
    }
    const valid = replayJournal(bytes, groups);
    let journal: FileHandle;
    try {
      journal = await open(journalPath, 'a');
      if (!names.includes(JOURNAL_NAME)) await fsyncDirectory(dir);
    } catch (error) {
      throw ioFailed(`opening ${journalPath}`, error);
    }
    return new GroupOffsetStore(
      dir,
      groups,
      journal,
      valid,
      valid < bytes.length,
      options.journalCompactBytes ?? JOURNAL_COMPACT_BYTES,
    );
  }

  /** Every group with a committed offset on some partition of `topic`. */
  groupsOf(topic: string): string[] {
    const found: string[] = [];
    for (const [groupId, offsets] of this.groups) if (offsets[topic] !== undefined) found.push(groupId);
    return found;
  }

  /** The committed offset of a group on one partition, or -1. */
  committed(groupId: string, topic: string, partition: number): number {
    return this.groups.get(groupId)?.[topic]?.[String(partition)] ?? -1;
  }

  /**
   * Durably records `positions` for the group (merged with its other partitions). Commits are applied in call order;
   * those of any group arriving while a write is in flight share the next write.
   */
  commit(groupId: string, positions: readonly RecordPosition[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ groupId, positions, resolve, reject });
      this.writing ??= this.drain();
    });
  }

  /** Waits for the writes under way and closes the journal. */
  async close(): Promise<void> {
    while (this.writing !== null) await this.writing;
    await this.journal.close();
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const round = this.pending;
        this.pending = [];
        const record: Record<string, Record<string, Record<string, number>>> = {};
        for (const { groupId, positions } of round) {
          const offsets = (record[groupId] ??= copyOffsets(this.groups.get(groupId)));
          for (const { topic, partition, offset } of positions) (offsets[topic] ??= {})[String(partition)] = offset;
        }
        try {
          await this.append(record);
        } catch (error) {
          for (const commit of round) commit.reject(error);
          continue;
        }
        for (const [groupId, offsets] of Object.entries(record)) this.groups.set(groupId, offsets);
        for (const commit of round) commit.resolve();
        if (this.journalBytes >= this.journalCompactBytes)
          await this.compact().catch(() => {
            // The journal stays whole and is replayed as before; the next write tries again.
          });
      }
    } finally {
      this.writing = null;
    }
  }

  private async append(record: JournalRecord): Promise<void> {
    const body = Buffer.from(JSON.stringify(record), 'utf8');
    const frame = Buffer.alloc(JOURNAL_FRAME_BYTES);
    frame.writeUInt32BE(body.length, 0);
    frame.writeUInt32BE(crc32c(body), 4);
    try {
      if (this.journalDamaged) {
        await this.journal.truncate(this.journalBytes);
        this.journalDamaged = false;
      }
      this.journalDamaged = true;
      await this.journal.writev([frame, body]);
      await this.journal.datasync();
      this.journalDamaged = false;
    } catch (error) {
      throw ioFailed(`append to ${join(this.dir, JOURNAL_NAME)}`, error);
    }
    this.journalBytes += frame.length + body.length;
  }

  /** Writes every group's file, then empties the journal they now hold. */
  private async compact(): Promise<void> {
    for (const [groupId, offsets] of this.groups) {
      const file: GroupFile = { version: FORMAT_VERSION, groupId, offsets };
      await writeFileAtomic(join(this.dir, groupFileName(groupId)), JSON.stringify(file) + '\n');
    }
    try {
      await this.journal.truncate(0);
      await this.journal.datasync();
    } catch (error) {
      this.journalDamaged = true;
      throw ioFailed(`emptying ${join(this.dir, JOURNAL_NAME)}`, error);
    }
    this.journalBytes = 0;
  }
}

function copyOffsets(offsets: GroupOffsets | undefined): Record<string, Record<string, number>> {
  const copy: Record<string, Record<string, number>> = {};
  for (const [topic, partitions] of Object.entries(offsets ?? {})) copy[topic] = { ...partitions };
  return copy;
}

/** Applies the journal's whole records to `groups` in order; returns the bytes they take (where a torn tail starts). */
function replayJournal(bytes: Buffer, groups: Map<string, GroupOffsets>): number {
  let at = 0;
  while (at + JOURNAL_FRAME_BYTES <= bytes.length) {
    const length = bytes.readUInt32BE(at);
    const end = at + JOURNAL_FRAME_BYTES + length;
    if (end > bytes.length) break;
    const body = bytes.subarray(at + JOURNAL_FRAME_BYTES, end);
    if (crc32c(body) !== bytes.readUInt32BE(at + 4)) break;
    let record: unknown;
    try {
      record = JSON.parse(body.toString('utf8'));
    } catch {
      break;
    }
    if (!isObject(record)) break;
    for (const [groupId, offsets] of Object.entries(record))
      if (isObject(offsets)) groups.set(groupId, offsets as GroupOffsets);
    at = end;
  }
  return at;
}

/** A file name for any group id: percent-encoded, with dots encoded too so '.' and '..' cannot occur. */
function groupFileName(groupId: string): string {
  return `${encodeURIComponent(groupId).replaceAll('.', '%2E')}.json`;
}

function parseJson(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw corrupt(`unreadable JSON in ${path}: ${String(error)}`, { path });
  }
}
