/**
 * `npm run eval -- --data FILE.csv[.gz] --protocol single-split|prequential [--json OUT.json] [--predictions OUT.csv]
 *                  [--folds N] [--train-start YYYY-MM-DD] [--config FILE.json]`
 *
 * Replays a handbook-format data set (../shared/ML-EVAL.md) through the scoring stage's FeatureEngine in event
 * time (fraud labels visible 7 days late), trains the TF.js classifier per fold and prints ROC AUC, average
 * precision and card precision@100 beside the published baselines. MODEL.md documents the protocol and results.
 */
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeError } from '../platform/errors.js';
import { type Progress, startProgress } from '../platform/progress.js';
import { DAY_MS, EvalProtocol } from './evaluation/protocol.js';
import { readHandbookCsv } from './evaluation/handbook-file.js';
import { formatComparison } from './evaluation/report.js';
import { type EvalConfig, evaluateHandbook } from './evaluation/run.js';

const usage = `usage: npm run eval -- --data FILE.csv[.gz] --protocol single-split|prequential [--json OUT.json] [--predictions OUT.csv] [--folds N] [--train-start YYYY-MM-DD] [--config FILE.json]`;

class UsageError extends Error {}

async function main(argv: readonly string[]): Promise<void> {
  const started = performance.now();
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      data: { type: 'string' },
      protocol: { type: 'string' },
      json: { type: 'string' },
      predictions: { type: 'string' },
      folds: { type: 'string' },
      'train-start': { type: 'string' },
      config: { type: 'string' },
    },
  });
  if (!values.data) throw new UsageError('--data is required');
  const protocol = values.protocol;
  if (protocol !== EvalProtocol.singleSplit && protocol !== EvalProtocol.prequential)
    throw new UsageError(`--protocol must be single-split or prequential, got ${JSON.stringify(protocol)}`);
  const configPath = values.config ?? fileURLToPath(new URL('./eval-config.json', import.meta.url));
  let config = JSON.parse(await readFile(configPath, 'utf8')) as EvalConfig;
  if (values.folds !== undefined) {
    if (!/^[1-9]\d*$/.test(values.folds))
      throw new UsageError(`--folds must be a whole number ≥ 1, got ${JSON.stringify(values.folds)}`);
    config = { ...config, folds: Number(values.folds) };
  }
  let anchorTrainDay: number | undefined;
  if (values['train-start'] !== undefined) {
    const ms = /^\d{4}-\d{2}-\d{2}$/.test(values['train-start'])
      ? Date.parse(`${values['train-start']}T00:00:00Z`)
      : NaN;
    if (!Number.isFinite(ms))
      throw new UsageError(`--train-start must be a date YYYY-MM-DD, got ${JSON.stringify(values['train-start'])}`);
    anchorTrainDay = ms / DAY_MS;
  }

  // One progress line per phase (on a terminal only); a log line ends the current one, the next update starts anew.
  let bar: { phase: string; progress: Progress } | undefined;
  const endBar = (): void => {
    bar?.progress.stop();
    bar = undefined;
  };
  const { report, predictions } = await evaluateHandbook(readHandbookCsv(values.data), {
    protocol,
    config,
    anchorTrainDay,
    log: (line) => {
      endBar();
      console.log(line);
    },
    progress: (phase, done, total) => {
      if (bar?.phase !== phase) {
        endBar();
        bar = { phase, progress: startProgress(phase, total, { unit: phase === 'replay' ? 'days' : 'folds' }) };
      }
      bar.progress.update(done);
      if (done >= total) endBar();
    },
  });
  console.log('');
  console.log(formatComparison(report));
  console.log(
    `\ntimings: replay ${report.timings.replaySeconds.toFixed(1)} s, fit ${report.timings.fitSeconds.toFixed(1)} s, score ${report.timings.scoreSeconds.toFixed(1)} s, total ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  if (values.json) {
    await writeFile(values.json, JSON.stringify({ dataFile: values.data, ...report }, null, 2) + '\n');
    console.log(`wrote ${values.json}`);
  }
  if (values.predictions) {
    const out = createWriteStream(values.predictions);
    let chunk = 'TRANSACTION_ID,score\n';
    for (let i = 0; i < predictions.scores.length; i++) {
      chunk += `${predictions.transactionIds[i]},${predictions.scores[i]!.toPrecision(7)}\n`;
      if (chunk.length < 1 << 16) continue;
      const flushed = out.write(chunk);
      chunk = '';
      if (!flushed) await once(out, 'drain');
    }
    out.end(chunk);
    await once(out, 'finish');
    console.log(`wrote ${predictions.scores.length} predictions to ${values.predictions}`);
  }
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
