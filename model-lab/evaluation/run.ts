import type { HandbookRow } from '../../simulator/handbook-csv.js';
import {
  type ClassifierConfig,
  describeClassifier,
  predictLogits,
  predictRaw,
  trainClassifier,
} from '../training/tfjs-training.js';
import {
  type BlendedTreeConfig,
  blendScores,
  blendedTreeConfigProblems,
  describeTrees,
  trainTrees,
} from '../training/gbdt.js';
import { treeLogits } from '../../scoring/domain/trees.js';
import { initTfBackend } from '../../scoring/adapters/tfjs-model.js';
import {
  DAY_MS,
  type EvalProtocol,
  type Fold,
  EvalProtocol as Protocols,
  defaultAnchorTrainDay,
  foldTestSet,
  protocolFolds,
} from './protocol.js';
import { averagePrecision, cardPrecisionAtK, rocAuc } from './metrics.js';
import { FEATURE_COUNT } from '../../scoring/domain/feature-names.js';
import { normalise, unweight } from '../../scoring/domain/model.js';
import { fitModelNormalisation } from '../training/normalisation.js';
import { seededRandom } from '../training/synthetic.js';
import { FeatureRows } from '../training/rows.js';
import { type ReplayedRows, replayHandbook } from './replay.js';

/**
 * The handbook evaluation (ML-EVAL.md): one event-time replay of the file through the FeatureEngine, then per
 * fold a model trained on the training window's feature rows and scored on the fold's test set.
 */
export interface EvalModelConfig extends ClassifierConfig {
  /** Share of genuine training rows kept (all frauds are kept); seeded per fold. */
  readonly negativeSampleRate: number;
  /**
   * Gradient-boosted trees trained on the same rows beside the networks; the fold is then scored by the blend
   * sigmoid((1 − blendWeight) · network log-odds + blendWeight · trees' log-odds). None when absent.
   */
  readonly trees?: BlendedTreeConfig;
}

/** The three metrics of one scoring of a test set. */
export interface TestMetrics {
  readonly auc_roc: number;
  readonly average_precision: number;
  readonly card_precision_at_100: number;
}

export interface EvalConfig extends EvalModelConfig {
  /** Prequential folds. */
  readonly folds: number;
  readonly trainDays: number;
  readonly delayDays: number;
  readonly testDays: number;
  /** k of card precision@k. */
  readonly topK: number;
}

export interface EvaluationOptions {
  readonly protocol: EvalProtocol;
  readonly config: EvalConfig;
  /** First training day of the single split as a UTC day number; by default see `defaultAnchorTrainDay`. */
  readonly anchorTrainDay?: number;
  readonly log?: (line: string) => void;
  /**
   * Called as work advances: `replay` in days of the replay window (about one call a day), `folds` once per
   * trained fold. For a progress display; nothing depends on it.
   */
  readonly progress?: (phase: 'replay' | 'folds', done: number, total: number) => void;
}

export interface FoldResult {
  readonly fold: number;
  readonly train: readonly [string, string];
  readonly test: readonly [string, string];
  readonly trainTransactions: number;
  readonly trainFraud: number;
  /** Rows the model was fitted on after sampling genuine rows. */
  readonly trainRowsFitted: number;
  readonly testTransactions: number;
  readonly testFraud: number;
  /** Test-window transactions removed because their card had a known fraud. */
  readonly testRemovedKnownFraudCards: number;
  readonly auc_roc: number;
  readonly average_precision: number;
  readonly card_precision_at_100: number;
  readonly card_precision_per_day: readonly number[];
  readonly fitSeconds: number;
  /** With trees: the network alone and the trees alone on the same test set (the fold's own metrics are the blend's). */
  readonly components?: {
    readonly network: TestMetrics;
    readonly trees: TestMetrics & { readonly rounds: number; readonly fitSeconds: number };
  };
}

export interface EvaluationReport {
  readonly protocol: EvalProtocol;
  readonly auc_roc: number;
  readonly average_precision: number;
  readonly card_precision_at_100: number;
  readonly auc_roc_std: number;
  readonly average_precision_std: number;
  readonly card_precision_at_100_std: number;
  readonly folds: readonly FoldResult[];
  /** With trees: fold means and sample stds of the network alone and the trees alone. */
  readonly components?: {
    readonly network: TestMetrics & { readonly std: TestMetrics };
    readonly trees: TestMetrics & { readonly std: TestMetrics };
  };
  readonly data: {
    readonly rowsReplayed: number;
    /** Rows whose TX_AMOUNT had digits beyond cents and was rounded half-even to cents. */
    readonly amountsRounded: number;
    readonly firstDate: string;
    readonly lastDateReplayed: string;
    readonly anchorTrainDate: string;
    readonly anchoredOnCalendar: boolean;
  };
  readonly model: { readonly architecture: string; readonly backend: string; readonly config: EvalConfig };
  readonly timings: {
    readonly replaySeconds: number;
    readonly fitSeconds: number;
    readonly scoreSeconds: number;
    readonly totalSeconds: number;
  };
}

export interface Evaluation {
  readonly report: EvaluationReport;
  /** Every scored test transaction, fold by fold. */
  readonly predictions: { readonly transactionIds: Float64Array; readonly scores: Float32Array };
}

const isoDay = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);

function meanStd(values: readonly number[]): [number, number] {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  // Sample standard deviation (n − 1), 0 for a single fold.
  const variance = values.length > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1) : 0;
  return [mean, Math.sqrt(variance)];
}

/** Runs the protocol on `source` (handbook rows in event-time order); throws RangeError when the file is too short. */
export async function evaluateHandbook(
  source: AsyncIterable<HandbookRow>,
  options: EvaluationOptions,
): Promise<Evaluation> {
  const started = performance.now();
  const { config, protocol } = options;
  const log = options.log ?? ((): void => undefined);
  const treeProblems = config.trees === undefined ? [] : blendedTreeConfigProblems(config.trees);
  if (treeProblems.length > 0) throw new RangeError(treeProblems.join('; '));
  const backend = await initTfBackend();
  const foldCount = protocol === Protocols.singleSplit ? 1 : config.folds;
  const earliestOffset = (foldCount - 1) * config.testDays;
  let folds: Fold[] = [];
  let anchorTrainDay = NaN;
  const progress = options.progress ?? ((): void => undefined);
  let window: { fromDay: number; toDay: number } | undefined;
  const replayed = await replayHandbook(
    options.progress === undefined
      ? source
      : reportingDays(source, (day) => {
          if (window !== undefined)
            progress(
              'replay',
              Math.min(Math.max(0, day - window.fromDay), window.toDay - window.fromDay),
              window.toDay - window.fromDay,
            );
        }),
    (firstDay) => {
      anchorTrainDay = options.anchorTrainDay ?? defaultAnchorTrainDay(firstDay, earliestOffset);
      folds = protocolFolds({
        protocol,
        anchorTrainDay,
        folds: config.folds,
        trainDays: config.trainDays,
        delayDays: config.delayDays,
        testDays: config.testDays,
      });
      const fromDay = Math.min(...folds.map((f) => f.trainFromDay));
      if (fromDay < firstDay)
        throw new RangeError(
          `the protocol's first training day ${isoDay(fromDay)} is before the file's first day ${isoDay(firstDay)}`,
        );
      window = { fromDay, toDay: Math.max(...folds.map((f) => f.testToDay)) };
      return window;
    },
    { labelDelayMs: config.delayDays * DAY_MS },
  );
  const rows = replayed.rows;
  const lastNeeded = Math.max(...folds.map((f) => f.testToDay)) - 1;
  if (!(replayed.lastDay >= lastNeeded)) {
    throw new RangeError(
      `the file ends on ${Number.isFinite(replayed.lastDay) ? isoDay(replayed.lastDay) : '(no rows)'}, before the last test day ${isoDay(lastNeeded)}`,
    );
  }
  log(
    `replayed ${replayed.rowsRead} transactions (${isoDay(replayed.firstDay)} … ${isoDay(replayed.lastDay)}) through the FeatureEngine in ${replayed.seconds.toFixed(1)} s; backend ${backend}; ${replayed.amountsRounded} amounts had digits beyond cents and were rounded half-even`,
  );

  const results: FoldResult[] = [];
  const predictionIds: number[] = [];
  const predictionScores: number[] = [];
  let fitSeconds = 0;
  let scoreSeconds = 0;
  for (const [foldIndex, fold] of folds.entries()) {
    progress('folds', foldIndex, folds.length);
    const result = await evaluateFold(rows, fold, config, log);
    results.push(result.summary);
    fitSeconds += result.summary.fitSeconds;
    scoreSeconds += result.scoreSeconds;
    for (let i = 0; i < result.testIndices.length; i++) {
      predictionIds.push(rows.transactionIds[result.testIndices[i]!]!);
      predictionScores.push(result.scores[i]!);
    }
  }
  progress('folds', folds.length, folds.length);
  const [auc, aucStd] = meanStd(results.map((r) => r.auc_roc));
  const [ap, apStd] = meanStd(results.map((r) => r.average_precision));
  const [cp, cpStd] = meanStd(results.map((r) => r.card_precision_at_100));
  const report: EvaluationReport = {
    protocol,
    auc_roc: auc,
    average_precision: ap,
    card_precision_at_100: cp,
    auc_roc_std: aucStd,
    average_precision_std: apStd,
    card_precision_at_100_std: cpStd,
    folds: results,
    ...(config.trees === undefined ? {} : { components: componentMeans(results) }),
    data: {
      rowsReplayed: replayed.rowsRead,
      amountsRounded: replayed.amountsRounded,
      firstDate: isoDay(replayed.firstDay),
      lastDateReplayed: isoDay(replayed.lastDay),
      anchorTrainDate: isoDay(anchorTrainDay),
      anchoredOnCalendar: options.anchorTrainDay === undefined && anchorTrainDay === Date.UTC(2018, 6, 25) / DAY_MS,
    },
    model: {
      architecture:
        config.trees === undefined
          ? describeClassifier(config)
          : `${describeClassifier(config)} + ${describeTrees(config.trees)}`,
      backend,
      config,
    },
    timings: {
      replaySeconds: replayed.seconds,
      fitSeconds,
      scoreSeconds,
      totalSeconds: (performance.now() - started) / 1000,
    },
  };
  return {
    report,
    predictions: { transactionIds: Float64Array.from(predictionIds), scores: Float32Array.from(predictionScores) },
  };
}

function componentMeans(results: readonly FoldResult[]): NonNullable<EvaluationReport['components']> {
  const summarise = (pick: (r: FoldResult) => TestMetrics): TestMetrics & { std: TestMetrics } => {
    const [auc, aucStd] = meanStd(results.map((r) => pick(r).auc_roc));
    const [ap, apStd] = meanStd(results.map((r) => pick(r).average_precision));
    const [cp, cpStd] = meanStd(results.map((r) => pick(r).card_precision_at_100));
    return {
      auc_roc: auc,
      average_precision: ap,
      card_precision_at_100: cp,
      std: { auc_roc: aucStd, average_precision: apStd, card_precision_at_100: cpStd },
    };
  };
  return { network: summarise((r) => r.components!.network), trees: summarise((r) => r.components!.trees) };
}

/** `source` unchanged, calling `onDay` with the UTC day number whenever a row starts a new day. */
async function* reportingDays(
  source: AsyncIterable<HandbookRow>,
  onDay: (day: number) => void,
): AsyncGenerator<HandbookRow> {
  let lastDate = '';
  for await (const row of source) {
    const date = row.txDatetime.slice(0, 10);
    if (date !== lastDate) {
      lastDate = date;
      onDay(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
    }
    yield row;
  }
}

async function evaluateFold(
  rows: ReplayedRows,
  fold: Fold,
  config: EvalConfig,
  log: (line: string) => void,
): Promise<{ summary: FoldResult; testIndices: number[]; scores: Float32Array; scoreSeconds: number }> {
  // Training rows: every transaction of the training window, genuine ones sampled (seeded per fold).
  const sample = seededRandom((config.seed ^ 0x5eed) + fold.index);
  const train = new FeatureRows(4096);
  let trainTransactions = 0;
  let trainFraud = 0;
  for (let i = 0; i < rows.n; i++) {
    const day = rows.days[i]!;
    if (day < fold.trainFromDay || day >= fold.trainToDay) continue;
    trainTransactions++;
    const fraud = rows.labels[i]! > 0;
    if (fraud) trainFraud++;
    else if (sample() >= config.negativeSampleRate) continue;
    const at = train.slot();
    train.features.set(rows.features.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT), at * FEATURE_COUNT);
    train.labels[at] = rows.labels[i]!;
  }
  if (trainFraud === 0 || trainFraud === trainTransactions)
    throw new RangeError(
      `fold ${fold.index}: the training window ${isoDay(fold.trainFromDay)} … ${isoDay(fold.trainToDay - 1)} needs both classes`,
    );
  const norm = fitModelNormalisation(train.features, train.n, config.identityFeatures);
  const xTrain = normalise(norm, train.features, train.n);
  const foldSeed = config.seed + fold.index * 1000;
  const { model, seconds: fitSeconds } = await trainClassifier(
    { ...config, seed: foldSeed },
    xTrain,
    train.labels,
    train.n,
  );
  const trees =
    config.trees === undefined ? undefined : trainTrees(config.trees, xTrain, train.labels, train.n, foldSeed);
  try {
    const testIndices = foldTestSet(fold, config.delayDays, rows.days, rows.cards, rows.labels);
    const scoreStarted = performance.now();
    const testFeatures = new Float32Array(testIndices.length * FEATURE_COUNT);
    testIndices.forEach((i, k) =>
      testFeatures.set(rows.features.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT), k * FEATURE_COUNT),
    );
    const xTest = normalise(norm, testFeatures, testIndices.length);
    const networkScores = predictRaw(model, xTest, testIndices.length);
    // Sampling genuine rows at rate r weighs frauds by 1/r on top of the class weight: map back to probabilities.
    const weight = config.positiveClassWeight / config.negativeSampleRate;
    for (let k = 0; k < networkScores.length; k++) networkScores[k] = unweight(networkScores[k]!, weight);
    let scores = networkScores;
    let treeScores: Float32Array | undefined;
    if (trees !== undefined && config.trees !== undefined) {
      // The network alone keeps its own scores (as before trees existed); the blend starts from its log-odds, which
      // do not saturate where a float32 probability rounds to 1.
      const treeLogit = treeLogits(trees.ensemble, xTest, testIndices.length);
      treeScores = treeLogit.map((z) => sigmoid(z - Math.log(1 / config.negativeSampleRate)));
      scores = blendScores(
        predictLogits(model, xTest, testIndices.length),
        treeLogit,
        config.trees.blendWeight,
        config.positiveClassWeight,
        config.negativeSampleRate,
      );
    }
    const scoreSeconds = (performance.now() - scoreStarted) / 1000;
    const labels = Float32Array.from(testIndices, (i) => rows.labels[i]!);
    const cards = Int32Array.from(testIndices, (i) => rows.cards[i]!);
    const days = Int32Array.from(testIndices, (i) => rows.days[i]!);
    const metricsOf = (s: Float32Array): TestMetrics => ({
      auc_roc: rocAuc(s, labels),
      average_precision: averagePrecision(s, labels),
      card_precision_at_100: cardPrecisionAtK(s, labels, cards, days, config.topK).mean,
    });
    const cp = cardPrecisionAtK(scores, labels, cards, days, config.topK);
    let testWindow = 0;
    for (let i = 0; i < rows.n; i++)
      if (rows.days[i]! >= fold.testFromDay && rows.days[i]! < fold.testToDay) testWindow++;
    const summary: FoldResult = {
      fold: fold.index,
      train: [isoDay(fold.trainFromDay), isoDay(fold.trainToDay - 1)],
      test: [isoDay(fold.testFromDay), isoDay(fold.testToDay - 1)],
      trainTransactions,
      trainFraud,
      trainRowsFitted: train.n,
      testTransactions: testIndices.length,
      testFraud: labels.reduce((a, b) => a + b, 0),
      testRemovedKnownFraudCards: testWindow - testIndices.length,
      auc_roc: rocAuc(scores, labels),
      average_precision: averagePrecision(scores, labels),
      card_precision_at_100: cp.mean,
      card_precision_per_day: cp.perDay.map((d) => d.precision),
      fitSeconds: fitSeconds + (trees?.seconds ?? 0),
      ...(trees === undefined || treeScores === undefined
        ? {}
        : {
            components: {
              network: metricsOf(networkScores),
              trees: { ...metricsOf(treeScores), rounds: trees.ensemble.trees.length, fitSeconds: trees.seconds },
            },
          }),
    };
    log(
      `fold ${fold.index}: train ${summary.train.join(' … ')} ${trainTransactions} tx (${trainFraud} fraud, ${train.n} fitted) · test ${summary.test.join(' … ')} ${summary.testTransactions} tx (${summary.testFraud} fraud, ${summary.testRemovedKnownFraudCards} removed) · AUC ${summary.auc_roc.toFixed(3)} AP ${summary.average_precision.toFixed(3)} CP@${config.topK} ${summary.card_precision_at_100.toFixed(3)} · fit ${fitSeconds.toFixed(1)} s${
        summary.components === undefined
          ? ''
          : ` · network alone ${formatMetrics(summary.components.network)} · trees alone ${formatMetrics(summary.components.trees)} (${summary.components.trees.rounds} trees, ${summary.components.trees.fitSeconds.toFixed(1)} s)`
      }`,
    );
    return { summary, testIndices, scores, scoreSeconds };
  } finally {
    model.dispose();
  }
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

const formatMetrics = (m: TestMetrics): string =>
  `AUC ${m.auc_roc.toFixed(3)} AP ${m.average_precision.toFixed(3)} CP ${m.card_precision_at_100.toFixed(3)}`;
