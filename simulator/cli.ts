/**
 * Command line of the traffic simulator (run with `npx tsx simulator/cli.ts` or `npm run simulate --`):
 *
 *   handbook --days 183 --out data.csv[.gz] [--seed N] [--start 2018-04-01] [--customers 5000] [--terminals 10000]
 *   ndjson   --count N --out requests.ndjson[.gz] [--seed N] [--start YYYY-MM-DD] [--customers N] [--terminals N] [--fraud-scale X]
 *
 * Prints a one-line summary: rows, fraud count, fraud %, seconds.
 */
import { parseArgs } from 'node:util';
import { describeError } from '../platform/errors.js';
import { startProgress } from '../platform/progress.js';
import { simulatorDefaults } from './options.js';
import { IN_DAY_SHARE } from './timeline.js';
import { writeHandbookCsv } from './handbook-csv.js';
import { writeNdjson } from './ndjson.js';

const DAY_MS = 86_400_000;
const usage = `usage:
  simulator handbook --days N --out FILE.csv[.gz] [--seed N] [--start YYYY-MM-DD] [--customers N] [--terminals N]
  simulator ndjson --count N --out FILE.ndjson[.gz] [--seed N] [--start YYYY-MM-DD] [--customers N] [--terminals N] [--fraud-scale X]
    ndjson's default --start is the UTC day that makes the run end about today, since ingest rejects
    events older than VIGIL_INGEST_MAX_EVENT_AGE_MS (30 days by default).`;

class UsageError extends Error {}

function integer(name: string, raw: string | undefined, fallback?: number): number {
  if (raw === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value))
    throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(raw)}`);
  return value;
}

function date(name: string, raw: string): number {
  const value = /^\d{4}-\d{2}-\d{2}$/.test(raw) ? Date.parse(`${raw}T00:00:00Z`) : Number.NaN;
  if (!Number.isFinite(value)) throw new UsageError(`--${name} must be a date YYYY-MM-DD, got ${JSON.stringify(raw)}`);
  return value;
}

function required(name: string, raw: string | undefined): string {
  if (raw === undefined || raw === '') throw new UsageError(`--${name} is required`);
  return raw;
}

function summary(command: string, rows: number, fraud: number, seconds: number, out: string, extra: string): string {
  const percent = rows === 0 ? 0 : (100 * fraud) / rows;
  return `${command}: ${rows} rows, ${fraud} fraud (${percent.toFixed(3)}%), ${seconds.toFixed(2)} s (${Math.round(rows / Math.max(seconds, 1e-9))} rows/s)${extra} -> ${out}`;
}

async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      days: { type: 'string' },
      count: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      start: { type: 'string' },
      customers: { type: 'string' },
      terminals: { type: 'string' },
      'fraud-scale': { type: 'string' },
    },
  });
  const seed = integer('seed', values.seed, simulatorDefaults.seed);
  const customers = integer('customers', values.customers, simulatorDefaults.customers);
  const terminals = integer('terminals', values.terminals, simulatorDefaults.terminals);
  const out = required('out', values.out);
  const started = performance.now();

  if (command === 'handbook') {
    const days = integer('days', values.days);
    const startTimeMs = values.start === undefined ? simulatorDefaults.startTimeMs : date('start', values.start);
    const progress = startProgress('handbook', days, { unit: 'days' });
    const result = await writeHandbookCsv({
      days,
      out,
      seed,
      startTimeMs,
      customers,
      terminals,
      onProgress: (day) => progress.update(day),
    });
    progress.stop();
    const seconds = (performance.now() - started) / 1000;
    console.log(
      summary(
        'handbook',
        result.rows,
        result.fraud,
        seconds,
        out,
        `, ${days} days from ${new Date(startTimeMs).toISOString().slice(0, 10)}`,
      ),
    );
    return;
  }
  if (command === 'ndjson') {
    const count = integer('count', values.count);
    const fraudScale =
      values['fraud-scale'] === undefined ? simulatorDefaults.fraudScale : Number(values['fraud-scale']);
    if (!Number.isFinite(fraudScale) || fraudScale < 0)
      throw new UsageError(`--fraud-scale must be a number ≥ 0, got ${JSON.stringify(values['fraud-scale'])}`);
    const perDay = customers * simulatorDefaults.meanTxPerCustomerPerDay * IN_DAY_SHARE;
    const todayMs = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const startTimeMs =
      values.start === undefined ? todayMs - Math.ceil(count / perDay) * DAY_MS : date('start', values.start);
    const progress = startProgress('ndjson', count, { unit: 'rows' });
    const result = await writeNdjson({
      count,
      out,
      seed,
      startTimeMs,
      customers,
      terminals,
      fraudScale,
      onProgress: (rows) => progress.update(rows),
    });
    progress.stop();
    const seconds = (performance.now() - started) / 1000;
    console.log(
      summary(
        'ndjson',
        result.rows,
        result.fraud,
        seconds,
        out,
        `, from ${new Date(startTimeMs).toISOString().slice(0, 10)}`,
      ),
    );
    return;
  }
  throw new UsageError(command === undefined ? 'a command is required' : `unknown command ${JSON.stringify(command)}`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (
    error instanceof UsageError ||
    (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
  ) {
    console.error(`${error.message}\n${usage}`);
    process.exitCode = 2;
    return;
  }
  console.error(describeError(error));
  process.exitCode = 1;
});
