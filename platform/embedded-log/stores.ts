/**
 * The two small metadata files of the log, each replaced atomically (tmp + fsync + rename + dir fsync):
 * `topics.json` (topic → partition count) and `groups/<group>.json` (committed offsets of one group).
 * Committed offsets follow Kafka: the offset of the next record to handle.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordPosition, TopicSpec } from '../bus.js';
import { corrupt, ioFailed } from './errors.js';
import { fsyncDirectory, readFileIfExists, writeFileAtomic } from './files.js';

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

/** Committed offsets of every group, loaded at open and written through on each commit. */
export class GroupOffsetStore {
  private readonly writes = new Map<string, Promise<void>>();

  private constructor(
    private readonly dir: string,
    private readonly groups: Map<string, GroupOffsets>,
  ) {}

  static async load(logDir: string): Promise<GroupOffsetStore> {
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
    return new GroupOffsetStore(dir, groups);
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

  /** Durably records `positions` for the group (merged with its other partitions). Commits of a group are serialised. */
  async commit(groupId: string, positions: readonly RecordPosition[]): Promise<void> {
    const previous = this.writes.get(groupId) ?? Promise.resolve();
    const write = previous.catch(() => undefined).then(() => this.write(groupId, positions));
    this.writes.set(groupId, write);
    try {
      await write;
    } finally {
      if (this.writes.get(groupId) === write) this.writes.delete(groupId);
    }
  }

  private async write(groupId: string, positions: readonly RecordPosition[]): Promise<void> {
    const offsets: Record<string, Record<string, number>> = {};
    for (const [topic, partitions] of Object.entries(this.groups.get(groupId) ?? {}))
      offsets[topic] = { ...partitions };
    for (const { topic, partition, offset } of positions) (offsets[topic] ??= {})[String(partition)] = offset;
    const file: GroupFile = { version: FORMAT_VERSION, groupId, offsets };
    await writeFileAtomic(join(this.dir, groupFileName(groupId)), JSON.stringify(file) + '\n');
    this.groups.set(groupId, offsets);
  }
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
