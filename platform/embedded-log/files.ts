/** Small durable-file helpers: atomic replace, directory fsync and the directory lock. */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCategory, VigilError } from '../errors.js';
import { EmbeddedLogErrorCode, ioFailed } from './errors.js';

/**
 * Makes directory entries (a created, renamed or removed file) durable. POSIX leaves a new name in the
 * page cache until its directory is fsync'd, so an fsync'd file could otherwise vanish after power loss.
 */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `path` with `data` so that a crash leaves either the old or the new content, never a mix:
 * write a temporary file, fsync it, rename it over `path`, fsync the directory.
 */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.tmp`;
  try {
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
    await fsyncDirectory(dirname(path));
  } catch (error) {
    // A half-written temporary file would hold on to space a full disk needs back; the next write recreates it.
    await unlink(tmp).catch(() => undefined);
    throw ioFailed(`atomic write of ${path}`, error);
  }
}

/** Reads a UTF-8 file, or returns undefined if it does not exist. */
export async function readFileIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT')) return undefined;
    throw ioFailed(`read of ${path}`, error);
  }
}

/** True for a Node system error with this errno code (no instanceof: errors may come from another realm, e.g. under Jest). */
export function isErrnoCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;
}

/** errno codes meaning "no room left": the write may succeed once space (or quota) is freed. */
const NO_SPACE_CODES = ['ENOSPC', 'EDQUOT'] as const;

/** True for a failed write that a full disk (or an exhausted quota) explains. */
export function isNoSpaceError(error: unknown): boolean {
  return NO_SPACE_CODES.some((code) => isErrnoCode(error, code));
}

/** Directories locked by live EmbeddedLog instances of this process (a pid check cannot tell those apart). */
const lockedInThisProcess = new Set<string>();

/**
 * An exclusive claim on a log directory: a `LOCK` file holding the owner's pid. A lock left by a process
 * that no longer runs (e.g. after `kill -9`) is taken over; one held by a live process is refused, since two
 * writers appending to the same segment files would interleave frames.
 */
export class DirectoryLock {
  private constructor(
    private readonly dir: string,
    private readonly path: string,
  ) {}

  static async acquire(dir: string): Promise<DirectoryLock> {
    const path = `${dir}/LOCK`;
    if (lockedInThisProcess.has(dir)) throw locked(dir, process.pid);
    const holder = Number.parseInt((await readFileIfExists(path)) ?? '', 10);
    if (Number.isInteger(holder) && holder !== process.pid && isProcessAlive(holder)) throw locked(dir, holder);
    lockedInThisProcess.add(dir);
    try {
      await writeFileAtomic(path, String(process.pid));
    } catch (error) {
      lockedInThisProcess.delete(dir);
      throw error;
    }
    return new DirectoryLock(dir, path);
  }

  async release(): Promise<void> {
    lockedInThisProcess.delete(this.dir);
    try {
      await unlink(this.path);
    } catch (error) {
      // A missing lock file is already released; anything else only leaves a stale lock, taken over next time.
      if (!isErrnoCode(error, 'ENOENT')) throw ioFailed(`removing ${this.path}`, error);
    }
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrnoCode(error, 'EPERM');
  }
}

function locked(dir: string, pid: number): VigilError {
  return new VigilError(EmbeddedLogErrorCode.logLocked, `log directory ${dir} is in use by process ${pid}`, {
    category: ErrorCategory.conflict,
    details: { dir, pid },
  });
}
