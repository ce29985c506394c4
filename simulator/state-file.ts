import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { VigilError, describeError } from '../platform/errors.js';
import { TrafficSimulator } from './generator.js';
import type { SimulatorState } from './state.js';

/**
 * The simulator's world in a data directory, so a restart continues the same population and stream:
 * `state.json` is a full checkpoint (written every few seconds and at stop), `reserved.json` the count of
 * transactions handed out, written before each batch is sent. After a crash, loading fast-forwards the
 * checkpoint to the reservation: ids already sent are never produced again (a few reserved but unsent ones
 * may be skipped, which is harmless; a repeat would be a duplicate).
 */
export interface SimulatorStateFile {
  /** `<dir>/state.json`, for messages. */
  readonly path: string;
  /** The saved state, advanced past every reserved transaction; undefined when there is none (a new world). */
  load(): SimulatorState | undefined;
  save(state: SimulatorState): void;
  /** Records durably that transactions 0 … count−1 may have been sent. */
  reserve(count: number): void;
}

/** A state file that cannot be read; the message names the file and what to do. */
export class SimulatorStateError extends VigilError {
  constructor(path: string, problem: string, cause?: unknown) {
    super(
      'SIMULATOR_STATE_UNREADABLE',
      `simulator state ${path} ${problem}. Restore it from a backup, or move it away to start a new simulated ` +
        'world (expect a minute of false impossible-travel reviews while scoring forgets the old one)',
      { cause, details: { path } },
    );
  }
}

/** Writes `text` to `path` atomically: a temp file, fsync'd, renamed over the old one. */
function writeAtomically(path: string, text: string): void {
  const temp = `${path}.tmp`;
  const fd = openSync(temp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

/** The state files in `dir` (created when missing). */
export function openSimulatorStateFile(dir: string): SimulatorStateFile {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'state.json');
  const reservedPath = join(dir, 'reserved.json');
  return {
    path,
    load() {
      if (!existsSync(path)) return undefined;
      let simulator: TrafficSimulator;
      let reserved = 0;
      try {
        simulator = TrafficSimulator.restore(JSON.parse(readFileSync(path, 'utf8')) as SimulatorState);
      } catch (error) {
        throw new SimulatorStateError(path, `cannot be restored (${describeError(error)})`, error);
      }
      if (existsSync(reservedPath)) {
        const parsed: unknown = JSON.parse(readFileSync(reservedPath, 'utf8'));
        const count = (parsed as { count?: unknown } | null)?.count;
        if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0)
          throw new SimulatorStateError(reservedPath, 'does not hold a reserved count');
        reserved = count;
      }
      // Cheap: events only (no strings or hashes), and at most a checkpoint interval's worth.
      while (simulator.count < reserved) simulator.nextEvent();
      return simulator.save();
    },
    save(state) {
      writeAtomically(path, JSON.stringify(state));
    },
    reserve(count) {
      writeAtomically(reservedPath, JSON.stringify({ count }));
    },
  };
}
