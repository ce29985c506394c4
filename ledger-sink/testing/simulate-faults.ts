/**
 * `npm run simulate:faults -- --seeds 100000 [--from 1] [--transactions 60]`: runs the ledger-sink fault
 * simulation for many seeds and prints every failing seed with its violations; exits 1 if any failed. Replay one
 * with `--from <seed> --seeds 1`.
 */
import { parseArgs } from 'node:util';
import { simulateLedgerSink } from './fault-simulation.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1000' },
    from: { type: 'string', default: '1' },
    transactions: { type: 'string', default: '60' },
  },
});
const seeds = Number(values.seeds);
const from = Number(values.from);
const transactions = Number(values.transactions);
if (![seeds, from, transactions].every((n) => Number.isSafeInteger(n) && n > 0)) {
  process.stderr.write('simulate:faults: --seeds, --from and --transactions must be positive integers\n');
  process.exit(2);
}

const started = performance.now();
const faults = { failBefore: 0, timeoutAfter: 0, crash: 0, crashBeforeCommit: 0, zombie: 0 };
let deliveries = 0;
let failed = 0;
for (let seed = from; seed < from + seeds; seed++) {
  const result = await simulateLedgerSink(seed, { transactions });
  deliveries += result.deliveries;
  for (const kind of Object.keys(faults) as Array<keyof typeof faults>) faults[kind] += result.faults[kind];
  if (result.violations.length > 0) {
    failed += 1;
    process.stdout.write(`seed ${seed} FAILED:\n  ${result.violations.join('\n  ')}\n`);
  }
  if ((seed - from + 1) % 10_000 === 0) process.stdout.write(`… ${seed - from + 1} seeds\n`);
}
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  `${seeds} seeds (${from}..${from + seeds - 1}), ${transactions} transactions each: ${failed} failed; ` +
    `${deliveries} batch deliveries; faults injected ${JSON.stringify(faults)}; ${seconds.toFixed(1)} s\n`,
);
process.exit(failed > 0 ? 1 : 0);
