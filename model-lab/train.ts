/**
 * `npm run train`: generates labelled traffic, replays it through the streaming FeatureEngine in event time
 * (fraud labels visible 7 days late, as in production), trains the feed-forward classifier with fixed seeds,
 * evaluates it on a later window (time split with a gap of the label delay) and writes the artefact to
 * scoring/model/artifact/.
 *
 * Traffic comes from the project simulator (simulator/generator.ts), one simulator per activity band so the
 * model sees both the handbook's sparse customers and the demo's busy ones. VIGIL_TRAIN_SOURCE=synthetic
 * uses the small generator in training/synthetic.ts instead.
 *
 * `npm run train -- --from-history […]` trains on the stored, labelled history instead and writes a candidate,
 * never the artefact (model-lab/retraining/command.ts; MODEL.md, Retraining from history).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { TrafficSimulator } from '../simulator/generator.js';
import { initTfBackend, saveArtefact } from '../scoring/adapters/tfjs-model.js';
import {
  type ClassifierConfig,
  describeClassifier,
  predictLogits,
  predictRaw,
  trainClassifier,
} from './training/tfjs-training.js';
import { type BlendedTreeConfig, blendScores, blendedForArtefact, describeTrees, trainTrees } from './training/gbdt.js';
import { treeLogits } from '../scoring/domain/trees.js';
import { averagePrecision, rocAuc } from './evaluation/metrics.js';
import { FEATURE_COUNT, FEATURE_NAMES } from '../scoring/domain/feature-names.js';
import { FeatureEngine } from '../scoring/domain/features.js';
import { normalise } from '../scoring/domain/model.js';
import { fitModelNormalisation } from './training/normalisation.js';
import { SyntheticTraffic, seededRandom, type LabelledTransaction } from './training/synthetic.js';
import { DelayedLabelReplay } from './training/replay.js';
import { FeatureRows } from './training/rows.js';
import { startProgress } from '../platform/progress.js';
import { describeError } from '../platform/errors.js';
import { UsageError, retrainCommand, retrainUsage } from './retraining/command.js';

interface TrainingConfig extends ClassifierConfig {
  readonly startDate: string;
  readonly customers: number;
  readonly terminals: number;
  readonly fraudScale: number;
  readonly activity: ReadonlyArray<{ share: number; minPerDay: number; maxPerDay: number }>;
  readonly warmupDays: number;
  readonly trainDays: number;
  readonly gapDays: number;
  readonly testDays: number;
  readonly labelDelayDays: number;
  readonly negativeSampleRate: number;
  /** Gradient-boosted trees fitted on the same rows and blended with the network in the artefact; none when absent. */
  readonly trees?: BlendedTreeConfig;
}

interface Source {
  readonly name: string;
  next(): LabelledTransaction;
}

const DAY = 86_400_000;
const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

async function openSource(config: TrainingConfig, startTimeMs: number): Promise<Source> {
  if (process.env.VIGIL_TRAIN_SOURCE === 'synthetic') {
    const synthetic = new SyntheticTraffic({
      seed: config.seed,
      startTimeMs,
      customers: config.customers,
      terminals: config.terminals,
      activity: config.activity,
      fraudScale: config.fraudScale,
    });
    return Promise.resolve({ name: 'scoring/training/synthetic.ts', next: () => synthetic.next() });
  }
  // One simulator per activity band (the simulator draws each customer's rate uniformly in [0, 2 × mean]);
  // ids are prefixed per band so the populations never share keys.
  const bands = config.activity.map((band, i) => {
    const simulator = new TrafficSimulator({
      seed: config.seed + i,
      startTimeMs,
      customers: Math.max(1, Math.round(config.customers * band.share)),
      terminals: Math.max(1, Math.round(config.terminals * band.share)),
      meanTxPerCustomerPerDay: (band.minPerDay + band.maxPerDay) / 2,
      fraudScale: config.fraudScale,
    });
    const prefix = `b${i}:`;
    const p = (v: string | null): string | null => (v === null ? null : prefix + v);
    const pull = (): LabelledTransaction => {
      const { transaction: tx, fraud } = simulator.next();
      return {
        fraud,
        transaction: {
          ...tx,
          transactionId: prefix + tx.transactionId,
          payerAccountId: prefix + tx.payerAccountId,
          payeeAccountId: prefix + tx.payeeAccountId,
          customerId: p(tx.customerId),
          card: tx.card ? { ...tx.card, token: prefix + tx.card.token } : null,
          terminalId: p(tx.terminalId),
          merchantId: p(tx.merchantId),
          deviceId: p(tx.deviceId),
        },
      };
    };
    return { pull, head: pull() };
  });
  return Promise.resolve({
    name: `simulator/generator.ts (${bands.length} activity bands)`,
    next: () => {
      let best = bands[0]!;
      for (const band of bands) if (band.head.transaction.eventTimeMs < best.head.transaction.eventTimeMs) best = band;
      const item = best.head;
      best.head = best.pull();
      return item;
    },
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const config = JSON.parse(await readFile(here('./training-config.json'), 'utf8')) as TrainingConfig;
  const backend = await initTfBackend();
  const startTimeMs = Date.parse(`${config.startDate}T00:00:00Z`);
  const trainFrom = startTimeMs + config.warmupDays * DAY;
  const trainTo = trainFrom + config.trainDays * DAY;
  const testFrom = trainTo + config.gapDays * DAY;
  const testTo = testFrom + config.testDays * DAY;
  const source = await openSource(config, startTimeMs);
  console.log(
    `source ${source.name}; backend ${backend}; ${config.warmupDays}d warm-up, train ${config.trainDays}d, gap ${config.gapDays}d, test ${config.testDays}d`,
  );

  // 1. Replay in event time through the streaming feature engine.
  const engine = new FeatureEngine();
  const replay = new DelayedLabelReplay(engine, config.labelDelayDays * DAY);
  const train = new FeatureRows();
  const test = new FeatureRows();
  const scratch = new Float32Array(FEATURE_COUNT);
  const sample = seededRandom(config.seed ^ 0x5eed);
  let total = 0;
  let trainPositives = 0;
  const replayDays = Math.ceil((testTo - startTimeMs) / DAY);
  const replayProgress = startProgress('replay', replayDays, { unit: 'days' });
  for (;;) {
    const { transaction, fraud } = source.next();
    const t = transaction.eventTimeMs;
    if (t >= testTo) break;
    total++;
    if ((total & 0x3fff) === 0) replayProgress.update(Math.floor((t - startTimeMs) / DAY));
    const target = t >= trainFrom && t < trainTo ? train : t >= testFrom ? test : undefined;
    // Balanced sampling: every fraud, a fixed share of genuine traffic (the class weight corrects for it).
    if (target === train && !fraud && sample() >= config.negativeSampleRate) {
      replay.observeInto(transaction, fraud, scratch, 0);
      continue;
    }
    if (!target) {
      replay.observeInto(transaction, fraud, scratch, 0);
      continue;
    }
    const row = target.slot();
    replay.observeInto(transaction, fraud, target.features, row * FEATURE_COUNT);
    target.labels[row] = fraud ? 1 : 0;
    if (target === train && fraud) trainPositives++;
  }
  replayProgress.update(replayDays);
  replayProgress.stop();
  const stateStats = engine.stats();
  console.log(
    `replayed ${total} transactions in ${((Date.now() - started) / 1000).toFixed(1)} s; train rows ${train.n} (${trainPositives} fraud), test rows ${test.n} (${test.labels.subarray(0, test.n).reduce((a, b) => a + b, 0)} fraud); state ${stateStats.customers} customers, ${(stateStats.bytes / 1e6).toFixed(1)} MB`,
  );

  // 2. Normalise, shuffle with a fixed seed, train with the fraud class up-weighted.
  const norm = fitModelNormalisation(train.features, train.n, config.identityFeatures);
  const xTrain = normalise(norm, train.features, train.n);
  const xTest = normalise(norm, test.features, test.n);
  // The epochs' losses are printed once the progress line is done, so the two never share a line.
  const members = config.members ?? 1;
  const fitProgress = startProgress('fit', members * config.epochs, { unit: 'epochs' });
  const {
    model,
    losses,
    seconds: fitSeconds,
  } = await trainClassifier(config, xTrain, train.labels, train.n, (step) => fitProgress.update(step + 1));
  fitProgress.stop();
  losses.forEach((loss, step) =>
    console.log(
      `${members > 1 ? `network ${Math.floor(step / config.epochs) + 1}/${members} ` : ''}epoch ${(step % config.epochs) + 1}/${config.epochs} loss ${loss.toFixed(4)}`,
    ),
  );

  // 3. Trees beside the network, when the config asks for them, fitted on the same standardised rows.
  const trees =
    config.trees === undefined ? undefined : trainTrees(config.trees, xTrain, train.labels, train.n, config.seed);
  if (trees !== undefined) console.log(`trees: ${trees.rounds.join(' + ')} rounds, ${trees.seconds.toFixed(1)} s`);

  // 4. Evaluate on the later window: the network's scores, or the blend's when there are trees.
  const scoresOf = (x: Float32Array, n: number): Float32Array =>
    trees === undefined || config.trees === undefined
      ? predictRaw(model, x, n)
      : blendScores(
          predictLogits(model, x, n),
          treeLogits(trees.ensemble, x, n),
          config.trees.blendWeight,
          config.positiveClassWeight,
          config.negativeSampleRate,
        );
  const testScores = scoresOf(xTest, test.n);
  const trainScores = scoresOf(xTrain, train.n);
  const testLabels = test.labels.subarray(0, test.n);
  const metrics = {
    testRocAuc: rocAuc(testScores, testLabels),
    testAveragePrecision: averagePrecision(testScores, testLabels),
    trainRocAuc: rocAuc(trainScores, train.labels.subarray(0, train.n)),
    trainRows: train.n,
    trainFraud: trainPositives,
    testRows: test.n,
    testFraud: testLabels.reduce((a, b) => a + b, 0),
    fitSeconds,
  };
  console.log(
    `test ROC AUC ${metrics.testRocAuc.toFixed(4)}  average precision ${metrics.testAveragePrecision.toFixed(4)}  (train ROC AUC ${metrics.trainRocAuc.toFixed(4)}; fit ${fitSeconds.toFixed(1)} s)`,
  );

  // 5. Write the artefact. Negatives were sampled at `negativeSampleRate`, so the effective fraud weight is
  // positiveClassWeight / negativeSampleRate — the adapter's prior correction maps scores back to probabilities.
  const date = new Date().toISOString().slice(0, 10).replace(/-/g, '');
  const metadata = await saveArtefact(
    model,
    here('../scoring/model/artifact'),
    {
      createdAt: new Date().toISOString(),
      featureNames: FEATURE_NAMES,
      normalisation: norm,
      positiveClassWeight: config.positiveClassWeight / config.negativeSampleRate,
      architecture:
        config.trees === undefined
          ? describeClassifier(config)
          : `${describeClassifier(config)} + ${describeTrees(config.trees)}`,
      training: { source: source.name, backend, ...config },
      metrics,
    },
    `vigil-ffnn-${date}`,
    trees === undefined || config.trees === undefined
      ? undefined
      : blendedForArtefact(trees.ensemble, config.trees.blendWeight, config.positiveClassWeight),
  );
  console.log(
    `wrote scoring/model/artifact (${metadata.version}) in ${((Date.now() - started) / 1000).toFixed(1)} s total`,
  );
}

function fromHistory(argv: readonly string[]): Promise<void> {
  return retrainCommand(argv, { log: (line) => console.log(line) }).then(
    () => undefined,
    (error: unknown) => {
      if (
        error instanceof UsageError ||
        (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
      ) {
        console.error(`${error.message}\n${retrainUsage}`);
        process.exitCode = 2;
        return;
      }
      console.error(describeError(error));
      process.exitCode = 1;
    },
  );
}

const args = process.argv.slice(2);
if (args.length > 0) void fromHistory(args);
else
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
