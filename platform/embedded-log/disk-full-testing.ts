/**
 * Helpers for the full-disk fault (RELIABILITY.md, fault 12): a small tmpfs to put a directory on, a filler that
 * writes until the disk says ENOSPC, and the oracle comparing what was acknowledged with what is on the log.
 * For tests only; never imported by production files.
 */
import { execFileSync } from 'node:child_process';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrnoCode } from './files.js';

/** A tmpfs mounted over a directory; `unmount` is idempotent and never throws (it is cleanup). */
export interface SmallDisk {
  readonly dir: string;
  readonly sizeBytes: number;
  unmount(): void;
}

/**
 * Mounts a tmpfs of `sizeBytes` on `dir` (which must exist). Needs root (CI runs as root). When the mount is
 * impossible it throws, naming why, so the test fails loudly instead of being skipped.
 */
export function mountSmallDisk(dir: string, sizeBytes: number): SmallDisk {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim() ?? String(error);
    throw new Error(
      `the full-disk test needs to mount a ${sizeBytes}-byte tmpfs on ${dir} (run as root, as CI does): ${stderr}`,
    );
  }
  let mounted = true;
  return {
    dir,
    sizeBytes,
    unmount() {
      if (!mounted) return;
      mounted = false;
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
      } catch {
        // Still busy (a handle not closed yet): detach it now; the kernel frees it when the last handle closes.
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      }
    },
  };
}

/** A file that takes up every byte left on its disk. */
export interface DiskFiller {
  readonly path: string;
  /** Bytes the filler holds once the disk refused more. */
  readonly bytes: number;
  /** Deletes the filler, giving the space back. */
  remove(): Promise<void>;
}

/**
 * Writes `chunkBytes` at a time to `<dir>/<name>` until the disk answers ENOSPC, yielding to the event loop
 * between chunks so that other writers (the log under test) keep running while the disk fills. Bounded by the
 * disk's size; any error other than ENOSPC is thrown.
 */
export async function fillDisk(dir: string, name = 'filler', chunkBytes = 64 * 1024): Promise<DiskFiller> {
  const path = join(dir, name);
  const handle = await open(path, 'w');
  const chunk = Buffer.alloc(chunkBytes, 0x5a);
  let bytes = 0;
  try {
    for (;;) {
      const { bytesWritten } = await handle.write(chunk, 0, chunk.length, bytes);
      bytes += bytesWritten;
      // A short write means the disk is nearly full; the next write names the reason.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } catch (error) {
    if (!isErrnoCode(error, 'ENOSPC')) throw error;
  } finally {
    await handle.close();
  }
  return { path, bytes, remove: () => unlink(path) };
}

/** One record's place on a partition, by the id its producer gave it. */
export interface PlacedRecord {
  readonly id: string;
  readonly partition: number;
  readonly offset: number;
}

/**
 * The oracle of fault 12: every acknowledged id is on the log exactly once at the position its acknowledgement
 * named, and nothing is on the log that was not acknowledged. Returns every violation (empty when the log holds
 * exactly what was acknowledged): `lost`, `moved`, `duplicated`, `unacknowledged`, `acknowledged twice`.
 */
export function acknowledgementViolations(
  acknowledged: readonly PlacedRecord[],
  onLog: readonly PlacedRecord[],
): string[] {
  const violations: string[] = [];
  const ackById = new Map<string, PlacedRecord>();
  for (const ack of acknowledged) {
    if (ackById.has(ack.id)) violations.push(`acknowledged twice: ${ack.id}`);
    ackById.set(ack.id, ack);
  }
  const logById = new Map<string, PlacedRecord[]>();
  for (const record of onLog) {
    const copies = logById.get(record.id);
    if (copies === undefined) logById.set(record.id, [record]);
    else copies.push(record);
  }
  const at = (r: PlacedRecord): string => `${r.partition}@${r.offset}`;
  for (const ack of ackById.values()) {
    const copies = logById.get(ack.id);
    if (copies === undefined) violations.push(`lost: ${ack.id} acknowledged at ${at(ack)} is not on the log`);
    else if (copies.length > 1) violations.push(`duplicated: ${ack.id} is on the log ${copies.length} times`);
    else if (at(copies[0]!) !== at(ack))
      violations.push(`moved: ${ack.id} acknowledged at ${at(ack)} is on the log at ${at(copies[0]!)}`);
  }
  for (const [id, copies] of logById)
    if (!ackById.has(id)) violations.push(`unacknowledged: ${id} is on the log at ${copies.map(at).join(', ')}`);
  return violations;
}
