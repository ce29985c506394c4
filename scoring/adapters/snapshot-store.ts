import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UnavailableError } from '../../platform/errors.js';
import type { ScoringSnapshot, SnapshotStore } from '../ports.js';

/**
 * Keeps the scoring stage's snapshot in one file, replaced atomically: written to a temporary file, fsync'd,
 * renamed over the old one, then the directory fsync'd so the rename itself survives a crash. A reader
 * therefore sees either the previous snapshot or the new one, never a torn file.
 *
 * Format: `VGSNAP01`, a u32 (big-endian) length, a JSON header in which every byte array is replaced by
 * `{"$bytes": n}`, then the byte arrays back to back in order, each prefixed by its u32 length. Feature state
 * is mostly typed arrays, so it is written as raw bytes rather than as text.
 */
const MAGIC = Buffer.from('VGSNAP01', 'latin1');

export function encodeSnapshot(snapshot: ScoringSnapshot): Buffer[] {
  const blobs: Uint8Array[] = [];
  const header = JSON.stringify(snapshot, (_key, value: unknown) => {
    if (value instanceof Uint8Array) {
      blobs.push(value);
      return { $bytes: blobs.length - 1 };
    }
    return value;
  });
  const headerBytes = Buffer.from(header, 'utf8');
  const parts: Buffer[] = [MAGIC, u32(headerBytes.length), headerBytes];
  for (const blob of blobs)
    parts.push(u32(blob.byteLength), Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength));
  return parts;
}

export function decodeSnapshot(bytes: Buffer): ScoringSnapshot {
  if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not a Vigil scoring snapshot (bad magic)');
  let offset = MAGIC.length;
  const headerLength = bytes.readUInt32BE(offset);
  offset += 4;
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
  }) as ScoringSnapshot;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export class FileSnapshotStore implements SnapshotStore {
  constructor(private readonly path: string) {}

  async load(): Promise<ScoringSnapshot | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new UnavailableError('SNAPSHOT_UNREADABLE', `cannot read scoring snapshot ${this.path}`, error);
    }
    try {
      return decodeSnapshot(bytes);
    } catch (error) {
      throw new UnavailableError(
        'SNAPSHOT_UNREADABLE',
        `scoring snapshot ${this.path} is unreadable: ${(error as Error).message}`,
        error,
      );
    }
  }

  async save(snapshot: ScoringSnapshot): Promise<void> {
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true });
    const tmp = `${this.path}.tmp`;
    const file = await open(tmp, 'w');
    try {
      await file.writev(encodeSnapshot(snapshot));
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, this.path);
    const directory = await open(dir, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }
}
