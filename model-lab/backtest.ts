/**
 * `npm run backtest -- --rules FILE --from TIME --to TIME [--model DIR] [--data-dir DIR | --clickhouse URL]
 *                      [--warm-up-days N] [--review-threshold X] [--decline-threshold X] [--json FILE]`
 *
 * Replays stored history through the scoring engine with other rules (and/or another model) and prints the
 * difference against what was decided: alerts added and removed, frauds caught and missed, by rule and reason code
 * (model-lab/backtest/command.ts; README, Rules).
 */
import { describeError } from '../platform/errors.js';
import { UsageError, backtestCommand, backtestUsage } from './backtest/command.js';
import { formatBacktest } from './backtest/replay.js';

backtestCommand(process.argv.slice(2), { log: (line) => console.log(line) })
  .then((report) => console.log(formatBacktest(report)))
  .catch((error: unknown) => {
    if (
      error instanceof UsageError ||
      (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      console.error(`${error.message}\n${backtestUsage}`);
      process.exitCode = 2;
      return;
    }
    console.error(describeError(error));
    process.exitCode = 1;
  });
