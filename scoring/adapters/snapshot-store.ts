import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UnavailableError } from '../../platform/errors.js';
import type { ScoringSnapshot, SnapshotStore } from '../stage.js';

/**
 * Keeps the scoring stage's snapshot in one JSON file, replaced atomically: written to a temporary file,
 * fsync'd, renamed over the old one, then the directory fsync'd so the rename itself survives a crash.
 * A reader therefore sees either the previous snapshot or the new one, never a torn file.
 */
export class FileSnapshotStore implements SnapshotStore {
  constructor(private readonly path: string) {}

  async load(): Promise<ScoringSnapshot | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new UnavailableError('SNAPSHOT_UNREADABLE', `cannot read scoring snapshot ${this.path}`, error);
    }
    return JSON.parse(text) as ScoringSnapshot;
  }

  async save(snapshot: ScoringSnapshot): Promise<void> {
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true });
    const tmp = `${this.path}.tmp`;
    const file = await open(tmp, 'w');
    try {
      await file.writeFile(JSON.stringify(snapshot));
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
