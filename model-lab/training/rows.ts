import { FEATURE_COUNT } from '../../scoring/domain/feature-names.js';

/**
 * A growable (rows × FEATURE_COUNT) feature buffer with 0/1 labels: the replay writes straight into it with
 * `FeatureEngine.observeInto`, so collecting a million training rows allocates per doubling, not per row.
 */
export class FeatureRows {
  features: Float32Array;
  labels: Float32Array;
  n = 0;

  constructor(initialRows = 65_536) {
    this.features = new Float32Array(initialRows * FEATURE_COUNT);
    this.labels = new Float32Array(initialRows);
  }

  /** Reserves the next row and returns its index; its features start at `index × FEATURE_COUNT`. */
  slot(): number {
    if (this.n === this.labels.length) this.grow(this.labels.length * 2);
    return this.n++;
  }

  /** Number of rows labelled fraud. */
  positives(): number {
    let count = 0;
    for (let i = 0; i < this.n; i++) count += this.labels[i]! > 0 ? 1 : 0;
    return count;
  }

  protected grow(rows: number): void {
    const features = new Float32Array(rows * FEATURE_COUNT);
    features.set(this.features);
    const labels = new Float32Array(rows);
    labels.set(this.labels);
    this.features = features;
    this.labels = labels;
  }
}
