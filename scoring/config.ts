import { readStuckAfterMs } from '../platform/consumer-health.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../platform/errors.js';
import { type Env, readInt, readNumber, readString } from '../platform/config.js';
import { readCashThresholds } from '../schemas/cash-thresholds.js';
import { isCurrencyCode } from '../schemas/currencies.js';
import { DEFAULT_REPORTING_CURRENCY } from './domain/reference-fx-rates.js';

/** The scoring stage's configuration, parsed once at startup. */
export interface ScoringConfig {
  /** Risk (model score + rule risk) at or above which a transaction goes to REVIEW. VIGIL_REVIEW_THRESHOLD. */
  readonly reviewThreshold: number;
  /** Risk at or above which a transaction is DECLINED. VIGIL_DECLINE_THRESHOLD; must be ≥ the review threshold. */
  readonly declineThreshold: number;
  /**
   * The model artefact directory (model.json, weights.bin, metadata.json, and trees.json when the model blends
   * gradient-boosted trees with the network). VIGIL_MODEL_DIR.
   */
  readonly modelDir: string;
  /**
   * Where candidate models are, one artefact directory each, named by their metadata's version (a challenger or a
   * promoted champion; `npm run train -- --from-history` writes there). VIGIL_MODEL_CANDIDATES_DIR; undefined: the
   * stage's default, `<data dir>/model-candidates`.
   */
  readonly modelCandidatesDir: string | undefined;
  /** The rules file. VIGIL_RULES_FILE. */
  readonly rulesFile: string;
  /** Write a feature-state snapshot (then commit offsets) at least this often while records flow. VIGIL_SCORING_SNAPSHOT_INTERVAL_MS. */
  readonly snapshotIntervalMs: number;
  /** …or after this many records, whichever comes first. VIGIL_SCORING_SNAPSHOT_EVERY_RECORDS. */
  readonly snapshotEveryRecords: number;
  /** Upper bound on records per handler call (and per model inference). VIGIL_SCORING_MAX_BATCH_RECORDS. */
  readonly maxBatchRecords: number;
  /** Model reasons per alert. VIGIL_SCORING_MODEL_REASONS. */
  readonly modelReasons: number;
  /** No progress with lag for this long marks the consumer stuck (VIGIL_STUCK_AFTER_MS, default 60000). */
  readonly stuckAfterMs: number;
  /**
   * The ISO 4217 currency every amount feature is measured in (VIGIL_REPORTING_CURRENCY, default EUR); the rate
   * table must quote it.
   */
  readonly reportingCurrency: string;
  /**
   * A JSON rate table replacing the shipped ECB snapshot (VIGIL_FX_RATES_FILE; shape in domain/fx-rates.ts);
   * undefined: the shipped one (domain/reference-fx-rates.ts).
   */
  readonly fxRatesFile: string | undefined;
  /**
   * Cash reporting threshold per currency, minor units (VIGIL_CASH_THRESHOLDS, formerly
   * VIGIL_DASHBOARDS_CASH_THRESHOLDS; default EUR, GBP and USD 10,000): a cash deposit in [80 %, 100 %) of its own
   * currency's counts toward structuring. The same setting the dashboards' cash report reads (schemas/cash-thresholds.ts).
   */
  readonly cashThresholds: ReadonlyMap<string, bigint>;
}

/**
 * Where a scoring process with data directory `dataDir` finds candidate models: VIGIL_MODEL_CANDIDATES_DIR, else
 * `<dataDir>/model-candidates` (where `npm run train -- --from-history` writes by default). The composition roots
 * give dashboards the same directory, so a candidate is checked where scoring will load it.
 */
export function modelCandidatesDirOf(env: Env, dataDir: string): string {
  return readScoringConfig(env).modelCandidatesDir ?? join(dataDir, 'model-candidates');
}

const defaultPath = (relative: string): string => fileURLToPath(new URL(relative, import.meta.url));

export function readScoringConfig(env: Env): ScoringConfig {
  const reviewThreshold = readNumber(env, 'VIGIL_REVIEW_THRESHOLD', 0.5, { min: 0, max: 1 });
  const declineThreshold = readNumber(env, 'VIGIL_DECLINE_THRESHOLD', 0.9, { min: 0, max: 1 });
  if (declineThreshold < reviewThreshold)
    throw new ConfigError(
      'VIGIL_DECLINE_THRESHOLD',
      env['VIGIL_DECLINE_THRESHOLD'],
      `a number in [VIGIL_REVIEW_THRESHOLD=${reviewThreshold}, 1]`,
    );
  return Object.freeze({
    reviewThreshold,
    declineThreshold,
    modelDir: readString(env, 'VIGIL_MODEL_DIR', defaultPath('./model/artifact')),
    modelCandidatesDir: env['VIGIL_MODEL_CANDIDATES_DIR'] || undefined,
    rulesFile: readString(env, 'VIGIL_RULES_FILE', defaultPath('./rules.json')),
    snapshotIntervalMs: readInt(env, 'VIGIL_SCORING_SNAPSHOT_INTERVAL_MS', 5_000, { min: 100, max: 3_600_000 }),
    snapshotEveryRecords: readInt(env, 'VIGIL_SCORING_SNAPSHOT_EVERY_RECORDS', 200_000, { min: 1, max: 100_000_000 }),
    maxBatchRecords: readInt(env, 'VIGIL_SCORING_MAX_BATCH_RECORDS', 2_000, { min: 1, max: 100_000 }),
    modelReasons: readInt(env, 'VIGIL_SCORING_MODEL_REASONS', 3, { min: 0, max: 20 }),
    stuckAfterMs: readStuckAfterMs(env),
    reportingCurrency: readReportingCurrency(env),
    fxRatesFile: env['VIGIL_FX_RATES_FILE'] || undefined,
    cashThresholds: readCashThresholds(env),
  });
}

function readReportingCurrency(env: Env): string {
  const code = readString(env, 'VIGIL_REPORTING_CURRENCY', DEFAULT_REPORTING_CURRENCY);
  if (!isCurrencyCode(code))
    throw new ConfigError('VIGIL_REPORTING_CURRENCY', code, 'an active ISO 4217 code in upper case, e.g. EUR');
  return code;
}
