import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { initTfBackend, saveArtefact } from '../../scoring/adapters/tfjs-model.js';
import { FEATURE_NAMES } from '../../scoring/domain/feature-names.js';
import { normalise, unweight } from '../../scoring/domain/model.js';
import { fitModelNormalisation } from '../training/normalisation.js';
import { readStoredHistory } from '../backtest/clickhouse-history.js';
import { averagePrecision, cardPrecisionAtK, rocAuc } from '../evaluation/metrics.js';
import { type ClassifierConfig, describeClassifier, predictRaw, trainClassifier } from '../training/tfjs-training.js';
import { type RetrainingWindows, type SetCounts, labelledHistory } from './labelled-history.js';

export const retrainUsage =
  'usage: npm run train -- --from-history [--data-dir DIR | --clickhouse URL] [--out DIR] [--cutoff TIME] ' +
  '[--label-delay DURATION] [--train DURATION] [--test DURATION] [--config FILE.json] [--top-k N]  ' +
  '(durations like 7d, 12h, 30m, 45s)';

/** A command-line mistake: printed with the usage, exit code 2. */
export class UsageError extends Error {}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** The latest instant a DateTime64(3) column holds: "read to the end of the stored history". */
const END_OF_HISTORY_MS = Date.UTC(2299, 11, 31);
const championDir = fileURLToPath(new URL('../../scoring/model/artifact', import.meta.url));
const defaultConfigPath = fileURLToPath(new URL('../training-config.json', import.meta.url));

/** What the command runs against; tests pass their own. */
export interface RetrainDeps {
  readonly clickhouse?: ClickHouseClient;
  readonly log?: (line: string) => void;
}

/** What `evaluation.json` in the candidate directory holds. */
export interface CandidateReport {
  readonly candidate: { readonly dir: string; readonly version: string; readonly architecture: string };
  readonly windows: {
    readonly trainFrom: string;
    readonly cutoff: string;
    readonly testTo: string;
    readonly historyEnds: string;
    readonly labelDelayMs: number;
  };
  readonly train: SetCounts;
  readonly test: SetCounts;
  /** ROC AUC, average precision and card precision@k on the test window; null where the test set lacks a class. */
  readonly auc_roc: number | null;
  readonly average_precision: number | null;
  readonly card_precision_at_k: number | null;
  readonly k: number;
  readonly replayed: number;
  readonly labelsApplied: number;
  readonly fitSeconds: number;
}

function duration(name: string, text: string | undefined, fallbackMs: number): number {
  if (text === undefined) return fallbackMs;
  const match = /^([1-9]\d*)(s|m|h|d)$/.exec(text);
  if (match === null)
    throw new UsageError(`--${name} must be a whole number with s, m, h or d (e.g. 7d), got ${JSON.stringify(text)}`);
  return Number(match[1]) * DURATION_UNITS_MS[match[2]!]!;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const finiteOrNull = (value: number): number | null => (Number.isFinite(value) ? value : null);

/**
 * `npm run train -- --from-history`: trains a candidate model on the stored, labelled history — the decisions and
 * verdicts ledger-sink stored (analysts, chargebacks, and unauthorised returns), read from the embedded default's
 * ClickHouse (`--data-dir`, default VIGIL_DATA_DIR or ./.vigil-data; stop the pipeline first: chDB opens a data
 * directory from one process) or a server (`--clickhouse URL`). The history is replayed through the FeatureEngine in
 * event time; rows are labelled as of the training cut-off, leaving out transactions whose label could not be known
 * yet (`rowLabel`). The model is trained on [cut-off − train, cut-off) and evaluated on [cut-off, cut-off + test)
 * with the verdicts known when the history ends. By default the history's end is its latest decision or verdict, and
 * the cut-off is that end − label delay − test, so every test transaction is past its label delay.
 *
 * Writes the candidate artefact and its `evaluation.json` to `--out` (default <data dir>/model-candidates/<version>)
 * and never to the champion's directory: promotion is a separate step (MODEL.md, Retraining from history).
 */
export async function retrainCommand(argv: readonly string[], deps: RetrainDeps = {}): Promise<CandidateReport> {
  const log = deps.log ?? ((): void => undefined);
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      'from-history': { type: 'boolean' },
      'data-dir': { type: 'string' },
      clickhouse: { type: 'string' },
      out: { type: 'string' },
      cutoff: { type: 'string' },
      'label-delay': { type: 'string' },
      train: { type: 'string' },
      test: { type: 'string' },
      config: { type: 'string' },
      'top-k': { type: 'string' },
    },
  });
  if (values['from-history'] !== true) throw new UsageError('--from-history is required');
  const labelDelayMs = duration('label-delay', values['label-delay'], 7 * DURATION_UNITS_MS['d']!);
  const trainMs = duration('train', values.train, 21 * DURATION_UNITS_MS['d']!);
  const testMs = duration('test', values.test, 7 * DURATION_UNITS_MS['d']!);
  let cutoffMs: number | undefined;
  if (values.cutoff !== undefined) {
    cutoffMs = Date.parse(values.cutoff);
    if (!Number.isFinite(cutoffMs))
      throw new UsageError(`--cutoff must be an ISO 8601 time, got ${JSON.stringify(values.cutoff)}`);
  }
  const k = values['top-k'] === undefined ? 100 : Number(values['top-k']);
  if (!Number.isInteger(k) || k < 1) throw new UsageError(`--top-k must be a whole number ≥ 1, got ${values['top-k']}`);
  const dataDir = resolve(values['data-dir'] ?? process.env['VIGIL_DATA_DIR'] ?? '.vigil-data');
  const stored = JSON.parse(await readFile(values.config ?? defaultConfigPath, 'utf8')) as ClassifierConfig;
  const config: ClassifierConfig = {
    seed: stored.seed,
    hiddenUnits: stored.hiddenUnits,
    l2: stored.l2,
    epochs: stored.epochs,
    batchSize: stored.batchSize,
    learningRate: stored.learningRate,
    positiveClassWeight: stored.positiveClassWeight,
    identityFeatures: stored.identityFeatures,
    knots: stored.knots,
  };

  const date = new Date().toISOString().slice(0, 10).replace(/-/g, '');
  const versionPrefix = `vigil-ffnn-history-${date}`;
  if (values.out !== undefined && resolve(values.out) === resolve(championDir))
    throw new UsageError(
      `--out is the champion's directory (${championDir}); a candidate is promoted by hand (MODEL.md)`,
    );

  const ownClient = deps.clickhouse === undefined;
  const clickhouse =
    deps.clickhouse ?? createClickHouseClient(values.clickhouse ?? `embedded:${join(dataDir, 'clickhouse')}`);
  let history;
  try {
    history = await readStoredHistory(clickhouse, 0, END_OF_HISTORY_MS);
  } finally {
    if (ownClient) await clickhouse.close();
  }
  if (history.decisions.length === 0) throw new RangeError('the stored history holds no decisions');
  let asOfMs = 0;
  for (const { transaction: tx } of history.decisions) asOfMs = Math.max(asOfMs, tx.eventTimeMs, tx.receivedAtMs);
  for (const label of history.labels) asOfMs = Math.max(asOfMs, label.labelledAtMs);
  const cutoff = cutoffMs ?? asOfMs - labelDelayMs - testMs;
  const windows: RetrainingWindows = {
    trainFromMs: cutoff - trainMs,
    cutoffMs: cutoff,
    testToMs: cutoff + testMs,
    asOfMs,
    labelDelayMs,
  };
  const out = resolve(
    values.out ?? join(dataDir, 'model-candidates', `${versionPrefix}-${iso(cutoff).replace(/[:.]/g, '')}`),
  );
  const { train, test, replayed, labelsApplied } = labelledHistory(history, windows);
  log(
    `replayed ${replayed} of ${history.decisions.length} stored decisions through the FeatureEngine (${labelsApplied} labels applied in event time); ` +
      `train ${iso(windows.trainFromMs)} … ${iso(cutoff)}: ${train.counts.rows} rows (${train.counts.positives} fraud), ${train.counts.notYetKnown} left out as not yet known; ` +
      `test … ${iso(windows.testToMs)}: ${test.counts.rows} rows (${test.counts.positives} fraud), ${test.counts.notYetKnown} left out`,
  );
  if (train.counts.positives === 0 || train.counts.positives === train.counts.rows)
    throw new RangeError(
      `the training window ${iso(windows.trainFromMs)} … ${iso(cutoff)} needs both classes: ${train.counts.rows} rows, ${train.counts.positives} fraud`,
    );

  const backend = await initTfBackend();
  const norm = fitModelNormalisation(train.rows.features, train.rows.n, config.identityFeatures);
  const xTrain = normalise(norm, train.rows.features, train.rows.n);
  const { model, seconds: fitSeconds } = await trainClassifier(config, xTrain, train.rows.labels, train.rows.n);
  try {
    const scores = predictRaw(model, normalise(norm, test.rows.features, test.rows.n), test.rows.n);
    for (let i = 0; i < scores.length; i++) scores[i] = unweight(scores[i]!, config.positiveClassWeight);
    const labels = test.rows.labels.subarray(0, test.rows.n);
    const bothClasses = test.counts.positives > 0 && test.counts.positives < test.counts.rows;
    const auc = bothClasses ? rocAuc(scores, labels) : NaN;
    const ap = bothClasses ? averagePrecision(scores, labels) : NaN;
    const cp = test.rows.n > 0 ? cardPrecisionAtK(scores, labels, test.cards, test.days, k).mean : NaN;

    const metadata = await saveArtefact(
      model,
      out,
      {
        createdAt: new Date().toISOString(),
        featureNames: FEATURE_NAMES,
        normalisation: norm,
        positiveClassWeight: config.positiveClassWeight,
        architecture: describeClassifier(config),
        training: { source: 'stored history (npm run train -- --from-history)', backend, ...config, ...windows },
        metrics: Object.fromEntries(
          Object.entries({ testRocAuc: auc, testAveragePrecision: ap, testCardPrecisionAtK: cp }).filter(([, v]) =>
            Number.isFinite(v),
          ),
        ),
      },
      versionPrefix,
    );
    const report: CandidateReport = {
      candidate: { dir: out, version: metadata.version, architecture: metadata.architecture },
      windows: {
        trainFrom: iso(windows.trainFromMs),
        cutoff: iso(cutoff),
        testTo: iso(windows.testToMs),
        historyEnds: iso(asOfMs),
        labelDelayMs,
      },
      train: train.counts,
      test: test.counts,
      auc_roc: finiteOrNull(auc),
      average_precision: finiteOrNull(ap),
      card_precision_at_k: finiteOrNull(cp),
      k,
      replayed,
      labelsApplied,
      fitSeconds,
    };
    await writeFile(join(out, 'evaluation.json'), JSON.stringify(report, null, 2) + '\n');
    log(
      `candidate ${metadata.version} in ${out}: test AUC ${auc.toFixed(3)} AP ${ap.toFixed(3)} CP@${k} ${cp.toFixed(3)} (fit ${fitSeconds.toFixed(1)} s); ` +
        `the champion (${championDir}) is unchanged — promote by hand (MODEL.md)`,
    );
    return report;
  } finally {
    model.dispose();
  }
}
