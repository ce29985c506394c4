import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { pendingTargets, targets } from './targets.js';
import type { FuzzTarget } from './target.js';

/**
 * `npm run fuzz [-- --runs 100000 --seed 42 --target codec --path 3:1 --pending]`: runs every fuzz target (fuzz/targets.ts)
 * with a large budget, prints runs, failures and time per target, and exits 1 on any property failure or any
 * unhandled rejection (counted by a process-level handler, since a rejection nobody awaits fails no property).
 * `--target` keeps the targets whose name contains the text, `--skip` drops them; `--pending` runs the known-bug properties instead.
 */
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100000' },
    seed: { type: 'string' },
    target: { type: 'string' },
    skip: { type: 'string' },
    path: { type: 'string' },
    pending: { type: 'boolean', default: false },
  },
});
const numRuns = Number(values.runs);
if (!Number.isSafeInteger(numRuns) || numRuns < 1)
  throw new Error(`--runs must be a positive integer, got ${values.runs}`);
// One seed for the whole run, printed, so any failure replays with --seed (and the path printed with it).
const seed = values.seed === undefined ? Date.now() ^ (Math.random() * 0x1_0000_0000) : Number(values.seed);
if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer, got ${values.seed}`);

let unhandledRejections = 0;
process.on('unhandledRejection', (reason) => {
  unhandledRejections++;
  process.stderr.write(
    `unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}\n`,
  );
});

const out = (line: string): void => void process.stdout.write(line + '\n');
const selected: readonly FuzzTarget[] = (values.pending ? pendingTargets : targets).filter(
  (t) =>
    (values.target === undefined || t.name.includes(values.target)) &&
    (values.skip === undefined || !t.name.includes(values.skip)),
);
if (selected.length === 0) throw new Error(`no fuzz target matches ${values.target}`);

out(`fuzz: ${selected.length} targets, ${numRuns} runs each, seed ${seed}`);
out(
  `${'target'.padEnd(60)} ${'runs'.padStart(9)} ${'failures'.padStart(8)} ${'rejections'.padStart(10)} ${'seconds'.padStart(8)}`,
);
let failures = 0;
let totalRuns = 0;
for (const target of selected) {
  const rejectionsBefore = unhandledRejections;
  const started = performance.now();
  const details = await target.check({ numRuns, seed, ...(values.path === undefined ? {} : { path: values.path }) });
  // Let rejections from the last runs surface before they are attributed to the next target.
  await new Promise<void>((resolve) => setImmediate(resolve));
  const seconds = (performance.now() - started) / 1000;
  const rejections = unhandledRejections - rejectionsBefore;
  totalRuns += details.numRuns;
  if (details.failed) failures++;
  out(
    `${target.name.padEnd(60)} ${String(details.numRuns).padStart(9)} ${String(details.failed ? 1 : 0).padStart(8)} ${String(rejections).padStart(10)} ${seconds.toFixed(1).padStart(8)}`,
  );
  if (details.failed) {
    const error = details.errorInstance;
    out(`  error: ${error instanceof Error ? error.message : String(error)}`);
    out(
      `  replay: npm run fuzz -- ${values.pending ? '--pending ' : ''}--target '${target.name}' --seed ${details.seed} --runs ${numRuns} --path ${details.counterexamplePath}`,
    );
    out(`  counterexample: ${fc.stringify(details.counterexample).slice(0, 2000)}`);
  }
}
out(`total: ${totalRuns} inputs, ${failures} failing targets, ${unhandledRejections} unhandled rejections`);
process.exitCode = failures > 0 || unhandledRejections > 0 ? 1 : 0;
