import type { ModelExplanation } from './domain/explanation.js';
import type { FeatureEngineChanges, FeatureEngineSnapshot } from './domain/features.js';
import type { FundsSnapshot } from './domain/funds.js';

/**
 * The model port, owned by scoring: any scorer (TF.js on wasm or tfjs-node, a stub in tests) takes
 * raw feature rows — the FeatureEngine's output, `n` rows of FEATURE_COUNT values — and normalises them itself
 * with the statistics its artefact was trained with.
 */
export interface ModelScorer {
  /** Artefact version, recorded on every decision. */
  readonly version: string;
  /** Fraud probabilities in [0, 1] for `n` rows; one batched inference. */
  score(features: Float32Array, n: number): Float32Array;
  /**
   * Why the model scored `n` rows as it did: exact Shapley values over the feature groups (domain/explanation.ts)
   * against the average training transaction; a row's values sum to its score − the baseline's score. Costs
   * COALITION_COUNT (256) inference rows per row, so the stage calls it only for REVIEW and DECLINE.
   */
  explain(features: Float32Array, n: number): ModelExplanation;
  close(): void;
}

/** Where the feature position is on the input topics: the next offset the state does not yet reflect. */
export interface PartitionOffset {
  readonly topic: string;
  readonly partition: number;
  /** The next offset the state does not yet reflect. */
  readonly nextOffset: number;
}

export interface ScoringSnapshot {
  readonly format: 'vigil.scoring-snapshot.v1';
  readonly writtenAtMs: number;
  readonly offsets: readonly PartitionOffset[];
  readonly engine: FeatureEngineSnapshot;
  /** Policies, balances and debits in flight; absent in snapshots written before the funds check. */
  readonly funds?: FundsSnapshot;
  /**
   * Where tx.scored ended per partition when the snapshot was taken: every decision the state reflects is below it,
   * so what a restart replays was published, if at all, at or past it. Absent in snapshots written before.
   */
  readonly scoredEndOffsets?: readonly number[];
}

/**
 * What changed since the snapshot (or changes) before: the feature keys touched, whole; the funds check and the
 * offsets, whole (they are small: guarded accounts only, one offset per partition).
 */
export interface ScoringChanges {
  readonly format: 'vigil.scoring-changes.v1';
  readonly writtenAtMs: number;
  readonly offsets: readonly PartitionOffset[];
  readonly engine: FeatureEngineChanges;
  readonly funds: FundsSnapshot;
  /** As in {@link ScoringSnapshot}. */
  readonly scoredEndOffsets?: readonly number[];
}

/** What a store holds: a full snapshot, and the changes appended since it, oldest first. */
export interface StoredScoringState {
  readonly snapshot: ScoringSnapshot;
  readonly changes: readonly ScoringChanges[];
}

/**
 * Where snapshots live. Every write is durable once its promise resolves, and a crash leaves what the last resolved
 * write left (a torn append is not read back).
 */
export interface SnapshotStore {
  load(): Promise<StoredScoringState | undefined>;
  /** Replaces what is stored with a full snapshot. */
  save(snapshot: ScoringSnapshot): Promise<void>;
  /** Appends changes on top of what is stored. */
  append(changes: ScoringChanges): Promise<void>;
  /** True once the changes appended since the last full snapshot outweigh it: time to {@link compact}. */
  readonly compactionDue: boolean;
  /**
   * Makes `snapshot` — the state as it stands after the last append — the new full snapshot, and drops the changes
   * it covers. Appends may go on while it runs (nothing waits for it but {@link close}).
   */
  compact(snapshot: ScoringSnapshot): Promise<void>;
  /** Waits for a compaction under way and releases files. */
  close(): Promise<void>;
}

/**
 * Where every rules document scoring loads is kept under its content version, so the rules behind any decision
 * can be read back (`GET /v1/rules/{version}`) and re-applied.
 */
export interface RulesArchive {
  /** Keeps the document unless its version is already kept; idempotent. Throws a retriable error when unreachable. */
  archive(entry: {
    readonly version: string;
    readonly label: string;
    readonly canonicalDocument: string;
    readonly loadedAtMs: number;
  }): Promise<void>;
}
