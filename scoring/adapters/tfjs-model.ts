import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { UnavailableError } from '../../platform/errors.js';
import { FEATURE_COUNT } from '../domain/feature-names.js';
import {
  COALITION_COUNT,
  FEATURE_GROUP_COUNT,
  type ModelExplanation,
  groupShapleyValues,
  writeCoalitionRows,
} from '../domain/explanation.js';
import { type ModelMetadata, metadataProblems, normalise, unweight } from '../domain/model.js';
import { type BlendedTrees, blendedTreesProblems, treeLogits } from '../domain/trees.js';
import type { ModelScorer } from '../ports.js';

/**
 * The TF.js implementation of the ModelScorer port. The artefact is a directory: model.json (TF.js layers
 * format), weights.bin and metadata.json (version, feature names, normalisation, metrics), and optionally trees.json:
 * gradient-boosted trees on the same standardised rows whose log-odds are blended with the network's
 * (`BlendedTrees`). Inference runs on tfjs-node when it can be imported (native TensorFlow), otherwise on the wasm
 * backend.
 */
export type TfBackend = 'tensorflow' | 'wasm' | 'cpu';

let backendReady: Promise<TfBackend> | undefined;

/** Selects the fastest available backend once per process: tfjs-node if importable, else wasm. */
export function initTfBackend(): Promise<TfBackend> {
  backendReady ??= (async (): Promise<TfBackend> => {
    // A variable specifier: tfjs-node is optional and usually absent (its install step downloads a binary).
    const nodeBackend = '@tensorflow/tfjs-node';
    try {
      await import(nodeBackend);
      if (await tf.setBackend('tensorflow')) {
        await tf.ready();
        return 'tensorflow';
      }
    } catch {
      // Not installed: fall through to wasm.
    }
    if (await tf.setBackend('wasm')) {
      await tf.ready();
      return 'wasm';
    }
    await tf.setBackend('cpu');
    await tf.ready();
    return 'cpu';
  })();
  return backendReady;
}

interface ModelJson {
  readonly modelTopology: object;
  readonly format?: string;
  readonly weightsManifest: ReadonlyArray<{
    readonly paths: readonly string[];
    readonly weights: tf.io.WeightsManifestEntry[];
  }>;
}

export class TfjsModelScorer implements ModelScorer {
  private normalised = new Float32Array(0);
  private coalitions = new Float32Array(0);
  /** The score of the average training transaction: every standardised feature 0. */
  readonly baselineScore: number;

  private readonly hidden: readonly tf.layers.Layer[];
  private readonly output: { readonly kernel: tf.Tensor; readonly bias: tf.Tensor };

  private constructor(
    private readonly model: tf.LayersModel,
    readonly metadata: ModelMetadata,
    /** Trees blended with the network (the artefact's trees.json), if it has them. */
    readonly trees: BlendedTrees | undefined,
  ) {
    this.hidden = model.layers.slice(0, -1);
    const [kernel, bias] = model.layers[model.layers.length - 1]!.getWeights();
    this.output = { kernel: kernel!, bias: bias! };
    this.baselineScore = this.scoreStandardised(new Float32Array(FEATURE_COUNT), 1)[0]!;
  }

  get version(): string {
    return this.metadata.version;
  }

  /** Loads an artefact directory; throws UnavailableError (MODEL_UNAVAILABLE) when it is missing or does not fit this build. */
  static async load(dir: string): Promise<TfjsModelScorer> {
    await initTfBackend();
    let metadata: ModelMetadata;
    let modelJson: ModelJson;
    try {
      metadata = JSON.parse(await readFile(join(dir, 'metadata.json'), 'utf8')) as ModelMetadata;
      modelJson = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as ModelJson;
    } catch (cause) {
      throw new UnavailableError('MODEL_UNAVAILABLE', `cannot read the model artefact in ${dir}`, cause);
    }
    const problems = metadataProblems(metadata);
    if (problems.length > 0)
      throw new UnavailableError(
        'MODEL_UNAVAILABLE',
        `model artefact in ${dir} does not fit this build: ${problems.join('; ')}`,
      );
    const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
    const buffers = await Promise.all(
      modelJson.weightsManifest.flatMap((group) => group.paths).map((p) => readFile(join(dir, p))),
    );
    const weightData = Buffer.concat(buffers);
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: modelJson.modelTopology,
        weightSpecs,
        weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
      }),
    );
    const last = model.layers[model.layers.length - 1];
    if (
      last?.getClassName() !== 'Dense' ||
      last.getConfig()['activation'] !== 'sigmoid' ||
      last.getWeights().length !== 2
    )
      throw new UnavailableError(
        'MODEL_UNAVAILABLE',
        `model artefact in ${dir} does not end in a dense sigmoid layer with a bias, which explanations need`,
      );
    return new TfjsModelScorer(model, metadata, await readTrees(dir));
  }

  score(features: Float32Array, n: number): Float32Array {
    if (n === 0) return new Float32Array(0);
    if (this.normalised.length < n * FEATURE_COUNT) this.normalised = new Float32Array(n * FEATURE_COUNT);
    return this.scoreStandardised(normalise(this.metadata.normalisation, features, n, this.normalised), n);
  }

  /** Probabilities of `n` standardised rows: the network's output or, with trees, the sigmoid of the blend. */
  private scoreStandardised(input: Float32Array, n: number): Float32Array {
    const w = this.metadata.positiveClassWeight;
    if (this.trees !== undefined) {
      const shift = Math.log(w);
      return this.predictLogOdds(input, n).map((z) => sigmoid(z - shift));
    }
    const scores = this.predict(input, n);
    for (let i = 0; i < n; i++) scores[i] = unweight(scores[i]!, w);
    return scores;
  }

  /**
   * Shapley values over the feature groups, computed on the model's log-odds (the output layer before its
   * sigmoid), where the network is close to additive and a near-certain score does not flatten every
   * difference to 0. They are then scaled onto the score: contribution_g = φ_g · (score − baseline) /
   * (logit(score) − logit(baseline)), which keeps their order and makes them sum to score − baseline.
   */
  explain(features: Float32Array, n: number): ModelExplanation {
    const standardised = normalise(this.metadata.normalisation, features, n);
    const rows = n * COALITION_COUNT;
    if (this.coalitions.length < rows * FEATURE_COUNT) this.coalitions = new Float32Array(rows * FEATURE_COUNT);
    for (let r = 0; r < n; r++)
      writeCoalitionRows(standardised, r * FEATURE_COUNT, this.coalitions, r * COALITION_COUNT);
    const logits = rows > 0 ? this.predictLogOdds(this.coalitions, rows) : new Float32Array(0);
    const contributions = new Float32Array(n * FEATURE_GROUP_COUNT);
    const shift = Math.log(this.metadata.positiveClassWeight);
    for (let r = 0; r < n; r++) {
      const at = r * FEATURE_GROUP_COUNT;
      groupShapleyValues(logits, r * COALITION_COUNT, contributions, at);
      const base = logits[r * COALITION_COUNT]! - shift;
      const full = logits[r * COALITION_COUNT + COALITION_COUNT - 1]! - shift;
      // Score units per log-odds unit between the two ends; the sigmoid's slope when they (nearly) coincide.
      const scale =
        Math.abs(full - base) > 1e-6
          ? (sigmoid(full) - sigmoid(base)) / (full - base)
          : sigmoid(full) * (1 - sigmoid(full));
      for (let k = 0; k < FEATURE_GROUP_COUNT; k++) contributions[at + k] = contributions[at + k]! * scale;
    }
    return { baselineScore: this.baselineScore, contributions, standardised };
  }

  /**
   * The model's log-odds for `n` raw feature rows, before the output sigmoid and the class-weight correction
   * (subtract ln positiveClassWeight for the log-odds of the score). Exact where the score itself rounds to 1.
   */
  logOdds(features: Float32Array, n: number): Float32Array {
    if (n === 0) return new Float32Array(0);
    if (this.normalised.length < n * FEATURE_COUNT) this.normalised = new Float32Array(n * FEATURE_COUNT);
    return this.predictLogOdds(normalise(this.metadata.normalisation, features, n, this.normalised), n);
  }

  close(): void {
    this.model.dispose();
  }

  /**
   * The hidden layers, then the output layer's weights without its sigmoid: the logit of the raw output; with trees,
   * blended with theirs as (1 − blendWeight) · network + blendWeight · trees.
   */
  private predictLogOdds(input: Float32Array, n: number): Float32Array {
    const network = tf
      .tidy(() => {
        let x: tf.Tensor = tf.tensor2d(input.subarray(0, n * FEATURE_COUNT), [n, FEATURE_COUNT], 'float32');
        for (const layer of this.hidden) x = layer.apply(x) as tf.Tensor;
        return tf.add(tf.matMul(x, this.output.kernel), this.output.bias).dataSync() as Float32Array;
      })
      .slice();
    if (this.trees === undefined) return network;
    const { blendWeight, ensemble } = this.trees;
    const trees = treeLogits(ensemble, input, n);
    for (let i = 0; i < n; i++) network[i] = (1 - blendWeight) * network[i]! + blendWeight * trees[i]!;
    return network;
  }

  /** One batched inference on normalised rows; returns the raw (class-weighted) sigmoid outputs. */
  private predict(input: Float32Array, n: number): Float32Array {
    return tf
      .tidy(() => {
        const x = tf.tensor2d(input.subarray(0, n * FEATURE_COUNT), [n, FEATURE_COUNT], 'float32');
        const y = this.model.predict(x, { batchSize: n }) as tf.Tensor;
        return y.dataSync() as Float32Array;
      })
      .slice();
  }
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Beside model.json in an artefact that blends trees with the network. */
const TREES_FILE = 'trees.json';

/** The artefact's trees.json, validated; undefined when the artefact has none (a network alone). */
async function readTrees(dir: string): Promise<BlendedTrees | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, TREES_FILE), 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UnavailableError('MODEL_UNAVAILABLE', `cannot read ${TREES_FILE} in ${dir}`, cause);
  }
  let trees: unknown;
  try {
    trees = JSON.parse(text);
  } catch (cause) {
    throw new UnavailableError('MODEL_UNAVAILABLE', `${TREES_FILE} in ${dir} is not JSON`, cause);
  }
  const problems = blendedTreesProblems(trees);
  if (problems.length > 0)
    throw new UnavailableError('MODEL_UNAVAILABLE', `${TREES_FILE} in ${dir} is not usable: ${problems.join('; ')}`);
  return trees as BlendedTrees;
}

/**
 * Writes a trained model and its metadata as an artefact directory, atomically (written beside, then renamed), with
 * `trees` as trees.json when given. The version's suffix is a short hash of the weights (and the trees), so two
 * different models never share a version.
 */
export async function saveArtefact(
  model: tf.LayersModel,
  dir: string,
  metadata: Omit<ModelMetadata, 'version'>,
  versionPrefix: string,
  trees?: BlendedTrees,
): Promise<ModelMetadata> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler((artifacts) => {
      saved = artifacts;
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } });
    }),
  );
  if (!saved?.weightData || !saved.weightSpecs) throw new Error('model produced no weights');
  const weightData = saved.weightData;
  const weights = Buffer.concat((Array.isArray(weightData) ? weightData : [weightData]).map((b) => Buffer.from(b)));
  const treesJson = trees === undefined ? undefined : JSON.stringify(trees);
  const hash = createHash('sha256').update(weights);
  if (treesJson !== undefined) hash.update(treesJson);
  const version = `${versionPrefix}-${hash.digest('hex').slice(0, 8)}`;
  const full: ModelMetadata = { version, ...metadata };
  const modelJson = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: null,
    modelTopology: saved.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: saved.weightSpecs }],
  };
  const staging = `${dir}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await writeFile(join(staging, 'model.json'), JSON.stringify(modelJson));
  await writeFile(join(staging, 'weights.bin'), weights);
  await writeFile(join(staging, 'metadata.json'), JSON.stringify(full, null, 2) + '\n');
  if (treesJson !== undefined) await writeFile(join(staging, TREES_FILE), treesJson);
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
  return full;
}
