import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { StoredLeg, StoredView } from './suite-oracle.js';

/** How a crash-test child ended and the JSON lines it printed on stdout, in order. */
export interface ChildRun {
  /** `SIGKILL` when the child killed itself at its window; null when it exited. */
  readonly signal: NodeJS.Signals | null;
  readonly code: number | null;
  readonly events: ReadonlyArray<Readonly<Record<string, unknown>>>;
  readonly stderr: string;
  readonly elapsedMs: number;
}

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs `node --import tsx <script> ...args` (script relative to the repository root) to its end and parses each
 * stdout line as JSON. A child still running after `timeoutMs` is SIGKILLed and the promise rejects, naming the
 * script and the end of its stderr — a bound on a hang, never the outcome of a passing run.
 */
export function runChild(
  script: string,
  args: readonly string[],
  options: { timeoutMs: number; env?: Readonly<Record<string, string>> },
): Promise<ChildRun> {
  const started = performance.now();
  // Jest's NODE_OPTIONS (--experimental-vm-modules) is not for the child.
  const { NODE_OPTIONS: _jestNodeOptions, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    env: { ...env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${script} ${args.join(' ')} still running after ${options.timeoutMs} ms: ${stderr.slice(-2000)}`),
      );
    }, options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      try {
        // Only whole lines count: a line cut by the kill was never printed.
        const lines = stdout.slice(0, stdout.lastIndexOf('\n') + 1).split('\n');
        const events = lines.filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
        resolve({ signal, code, events, stderr, elapsedMs: Math.round(performance.now() - started) });
      } catch (error) {
        reject(new Error(`${script}: unparsable stdout (${String(error)}): ${stdout.slice(-2000)}`));
      }
    });
  });
}

/** The one event named `name` a run printed; throws naming the run's stderr if it printed none or several. */
export function eventOf<T>(run: ChildRun, name: string): T {
  const found = run.events.filter((e) => e['event'] === name);
  if (found.length !== 1)
    throw new Error(
      `expected one "${name}" event, got ${found.length} (exit ${run.code}, signal ${run.signal}): ${run.stderr.slice(-2000)}`,
    );
  return found[0] as T;
}

/** A stored view as a child printed it (amounts as decimal strings), with its amounts back as bigint. */
export function viewFromJson(json: {
  decisionIds: string[];
  legs: Array<Omit<StoredLeg, 'amountMinor'> & { amountMinor: string }>;
}): StoredView {
  return {
    decisionIds: json.decisionIds,
    legs: json.legs.map((leg) => ({ ...leg, amountMinor: BigInt(leg.amountMinor) })),
  };
}
