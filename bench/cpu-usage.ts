/**
 * CPU time of this process, measured: the whole process (`process.cpuUsage`, user + system, every thread), the
 * JavaScript thread alone and the other threads by name (Linux `/proc/self/task/<tid>/stat`, 10 ms ticks — fine
 * over runs of tens of seconds; absent elsewhere), and a V8 CPU profile of the JavaScript thread through
 * `node:inspector` (in-process, no flag needed).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { CpuProfile } from './profile-attribution.js';

/** Linux's USER_HZ: /proc reports thread times in these ticks. */
const TICKS_PER_SECOND = 100;

interface ThreadTime {
  readonly name: string;
  readonly us: number;
}

/** Per live thread id, its name and CPU µs so far; empty where /proc is not readable. */
function threadTimes(): Map<number, ThreadTime> {
  const times = new Map<number, ThreadTime>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return times;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // `pid (comm) state …`: comm may hold spaces and parentheses, so split at the last ')'.
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      times.set(Number(tid), { name: stat.slice(stat.indexOf('(') + 1, close), us: (ticks * 1e6) / TICKS_PER_SECOND });
    } catch {
      // The thread ended between the listing and the read: its time is still in process.cpuUsage().
    }
  }
  return times;
}

export interface CpuReading {
  /** User + system µs of every thread of the process. */
  readonly processUs: number;
  /** µs of the JavaScript (main) thread; undefined where /proc is not readable. */
  readonly mainThreadUs: number | undefined;
  /** µs of the other threads by name (e.g. libuv's `libuv-worker`, chDB's pools), most first. */
  readonly otherThreads: ReadonlyArray<{ readonly name: string; readonly us: number }>;
}

/** Starts measuring; the returned function reads the CPU spent since. */
export function startCpuMeter(): () => CpuReading {
  const before = process.cpuUsage();
  const threadsBefore = threadTimes();
  return () => {
    const usage = process.cpuUsage(before);
    const threadsAfter = threadTimes();
    const byName = new Map<string, number>();
    let mainThreadUs: number | undefined;
    for (const [tid, { name, us }] of threadsAfter) {
      const spent = us - (threadsBefore.get(tid)?.us ?? 0);
      if (tid === process.pid) mainThreadUs = spent;
      else byName.set(name, (byName.get(name) ?? 0) + spent);
    }
    return {
      processUs: usage.user + usage.system,
      mainThreadUs,
      otherThreads: [...byName]
        .map(([name, us]) => ({ name, us }))
        .filter((t) => t.us > 0)
        .sort((a, b) => b.us - a.us),
    };
  };
}

/**
 * Starts V8's sampling profiler on this thread (`intervalUs` between samples); the returned function stops it and
 * resolves with the profile.
 */
export async function startCpuProfiler(intervalUs = 1000): Promise<() => Promise<CpuProfile>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    await session.post('Profiler.disable');
    session.disconnect();
    return profile;
  };
}
