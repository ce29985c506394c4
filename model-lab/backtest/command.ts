import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { loadRulesFile } from '../../scoring/adapters/rules-file.js';
import { TfjsModelScorer } from '../../scoring/adapters/tfjs-model.js';
import type { ModelScorer } from '../../scoring/ports.js';
import { readStoredHistory } from './clickhouse-history.js';
import { type BacktestReport, backtest } from './replay.js';

export const backtestUsage =
  'usage: npm run backtest -- --rules FILE --from TIME --to TIME [--model DIR] [--data-dir DIR | --clickhouse URL] ' +
  '[--warm-up-days N] [--review-threshold X] [--decline-threshold X] [--json FILE]';

/** A command-line mistake: printed with the usage, exit code 2. */
export class UsageError extends Error {}

const DAY_MS = 86_400_000;
/**
 * Default warm-up before --from: the longest feature window (30 days: terminal risk), so every feature of a decision
 * in the range sees the same history live scoring saw (when the stored history reaches back that far).
 */
const DEFAULT_WARM_UP_DAYS = 30;
const defaultModelDir = fileURLToPath(new URL('../../scoring/model/artifact', import.meta.url));

/** What the command runs against; tests pass their own. */
export interface BacktestDeps {
  readonly clickhouse?: ClickHouseClient;
  readonly model?: ModelScorer;
  readonly log?: (line: string) => void;
}

const time = (name: string, text: string | undefined): number => {
  const ms = text === undefined ? Number.NaN : Date.parse(text);
  if (!Number.isFinite(ms)) throw new UsageError(`--${name} must be an ISO 8601 time, got ${JSON.stringify(text)}`);
  return ms;
};
const fraction = (name: string, text: string | undefined, fallback: number): number => {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!(value >= 0 && value <= 1)) throw new UsageError(`--${name} must be a number in [0, 1], got ${text}`);
  return value;
};

/**
 * `npm run backtest`: replays the stored decisions of [--from − warm-up, --to) through the scoring engine with the
 * given rules (and model) and reports the difference against what was decided. Reads the embedded default's
 * ClickHouse (`--data-dir`, default VIGIL_DATA_DIR or ./.vigil-data; stop the pipeline first: chDB opens a data
 * directory from one process) or a ClickHouse server (`--clickhouse URL`). Thresholds default to scoring's
 * (VIGIL_REVIEW_THRESHOLD / VIGIL_DECLINE_THRESHOLD, else 0.5 / 0.9). Throws UsageError on bad arguments and
 * ValidationError (every problem with its path) on an invalid rules file.
 */
export async function backtestCommand(argv: readonly string[], deps: BacktestDeps = {}): Promise<BacktestReport> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      rules: { type: 'string' },
      model: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      'data-dir': { type: 'string' },
      clickhouse: { type: 'string' },
      'warm-up-days': { type: 'string' },
      'review-threshold': { type: 'string' },
      'decline-threshold': { type: 'string' },
      json: { type: 'string' },
    },
  });
  if (values.rules === undefined) throw new UsageError('--rules is required');
  const fromMs = time('from', values.from);
  const toMs = time('to', values.to);
  if (fromMs >= toMs) throw new UsageError('--from must be before --to');
  const warmUpDays = values['warm-up-days'] === undefined ? DEFAULT_WARM_UP_DAYS : Number(values['warm-up-days']);
  if (!Number.isInteger(warmUpDays) || warmUpDays < 0)
    throw new UsageError(`--warm-up-days must be a whole number ≥ 0, got ${values['warm-up-days']}`);
  const review = fraction(
    'review-threshold',
    values['review-threshold'],
    Number(process.env['VIGIL_REVIEW_THRESHOLD'] ?? 0.5),
  );
  const decline = fraction(
    'decline-threshold',
    values['decline-threshold'],
    Number(process.env['VIGIL_DECLINE_THRESHOLD'] ?? 0.9),
  );
  if (decline < review) throw new UsageError('--decline-threshold must be ≥ --review-threshold');

  // The loader scoring and the rules API use: the file validated whole (every problem with its path, the file named)
  // and the same content version scoring would record for it.
  const { rules } = await loadRulesFile(values.rules);

  const ownClient = deps.clickhouse === undefined;
  const clickhouse =
    deps.clickhouse ??
    createClickHouseClient(
      values.clickhouse ??
        `embedded:${join(resolve(values['data-dir'] ?? process.env['VIGIL_DATA_DIR'] ?? '.vigil-data'), 'clickhouse')}`,
    );
  const model = deps.model ?? (await TfjsModelScorer.load(values.model ?? defaultModelDir));
  try {
    const history = await readStoredHistory(clickhouse, fromMs - warmUpDays * DAY_MS, toMs);
    const report = backtest(history, rules, model, { fromMs, toMs, thresholds: { review, decline } });
    if (values.json !== undefined) {
      await writeFile(values.json, JSON.stringify(report, null, 2) + '\n');
      deps.log?.(`wrote ${values.json}`);
    }
    return report;
  } finally {
    if (deps.model === undefined) model.close();
    if (ownClient) await clickhouse.close();
  }
}
