import type { AnalystLabel, Decision, Transaction } from '../../schemas/generated/types.js';
import { type DecisionThresholds, decide, modelReasons } from '../../scoring/domain/decision.js';
import { FEATURE_COUNT } from '../../scoring/domain/feature-names.js';
import { FeatureEngine, amountCurrencies } from '../../scoring/domain/features.js';
import { INSUFFICIENT_FUNDS } from '../../scoring/domain/funds.js';
import type { FiredRule, RuleSet } from '../../scoring/domain/rules.js';
import type { ModelScorer } from '../../scoring/ports.js';

/** One stored decision as the backtest needs it: the transaction exactly as scored and what was decided. */
export interface StoredDecision {
  readonly transaction: Transaction;
  readonly decision: Decision;
  readonly rulesFired: readonly string[];
  readonly reasonCodes: readonly string[];
  readonly rulesVersion: string;
}

/** A stored history in event-time order: decisions by event time, labels by when they were given. */
export interface StoredHistory {
  readonly decisions: readonly StoredDecision[];
  /** Analyst and chargeback verdicts, with the judged transaction's terminal and event time (feature state needs them). */
  readonly labels: readonly AnalystLabel[];
}

export interface BacktestOptions {
  /** First event time counted (epoch ms, inclusive); decisions before it only warm the feature state up. */
  readonly fromMs: number;
  /** End of the counted range (epoch ms, exclusive). */
  readonly toMs: number;
  readonly thresholds: DecisionThresholds;
  /** Model reasons per added alert (by reason code). */
  readonly modelReasons?: number;
}

/** One transaction whose alert the candidate adds or removes. */
export interface ChangedAlert {
  readonly transactionId: string;
  readonly stored: Decision;
  readonly replayed: Decision;
  /** Labelled FRAUD (latest verdict). */
  readonly fraud: boolean;
  /** The rules that fired: the candidate's for an added alert, the stored ones for a removed alert. */
  readonly rules: readonly string[];
  /** The reason codes: the candidate's for an added alert, the stored ones for a removed alert. */
  readonly reasons: readonly string[];
}

/** Per rule or reason code: alerts it is on that the candidate adds, and stored alerts it was on that go. */
export interface CodeDifference {
  readonly added: number;
  readonly removed: number;
}

export interface BacktestReport {
  readonly fromMs: number;
  readonly toMs: number;
  /** Decisions in [from, to) compared. */
  readonly compared: number;
  /** Decisions before `from` replayed only to warm the feature state up. */
  readonly warmUp: number;
  readonly rulesVersion: string;
  readonly modelVersion: string;
  /** Versions the stored decisions name, with how many each. */
  readonly storedRulesVersions: Readonly<Record<string, number>>;
  readonly alerts: {
    readonly stored: number;
    readonly replayed: number;
    readonly added: number;
    readonly removed: number;
  };
  /** Alerts kept whose decision changed (REVIEW ↔ DECLINE). */
  readonly changedDecision: number;
  /** Transactions labelled FRAUD: alerted as stored, alerted as replayed, newly caught and newly missed. */
  readonly frauds: {
    readonly labelled: number;
    readonly alertedStored: number;
    readonly alertedReplayed: number;
    readonly caught: number;
    readonly missed: number;
  };
  readonly byRule: Readonly<Record<string, CodeDifference>>;
  readonly byReason: Readonly<Record<string, CodeDifference>>;
  readonly added: readonly ChangedAlert[];
  readonly removed: readonly ChangedAlert[];
}

/** Transactions per batched model inference. */
const CHUNK = 512;

/**
 * Replays a stored history through the scoring stage's own engine — FeatureEngine in event time from empty state,
 * the model, the rules, `decide` — and compares the replayed decisions in [from, to) with what was decided. Labels
 * reach the feature state in event time: a verdict given at `labelledAtMs` is applied before the first transaction
 * at or after that instant (live scoring applies it when it arrives, which is about the same time).
 *
 * The funds check is not replayed (balances are not stored history): a stored INSUFFICIENT_FUNDS decline is carried
 * over as it was, so it is neither added nor removed.
 */
export function backtest(
  history: StoredHistory,
  rules: RuleSet,
  model: ModelScorer,
  options: BacktestOptions,
): BacktestReport {
  const engine = new FeatureEngine();
  const fraud = new Set<string>();
  const latestLabel = new Map<string, AnalystLabel>();
  for (const label of history.labels) {
    const before = latestLabel.get(label.transactionId);
    if (before === undefined || before.labelledAtMs <= label.labelledAtMs) latestLabel.set(label.transactionId, label);
  }
  for (const [id, label] of latestLabel) if (label.label === 'FRAUD') fraud.add(id);

  const labels = [...history.labels].sort((a, b) => a.labelledAtMs - b.labelledAtMs);
  let nextLabel = 0;
  const inRange = (d: StoredDecision): boolean =>
    d.transaction.eventTimeMs >= options.fromMs && d.transaction.eventTimeMs < options.toMs;
  const replayed = history.decisions.filter((d) => d.transaction.eventTimeMs < options.toMs);

  const byRule = new Map<string, { added: number; removed: number }>();
  const byReason = new Map<string, { added: number; removed: number }>();
  const bump = (table: typeof byRule, codes: readonly string[], key: 'added' | 'removed'): void => {
    for (const code of new Set(codes)) {
      const entry = table.get(code) ?? { added: 0, removed: 0 };
      entry[key] += 1;
      table.set(code, entry);
    }
  };
  const added: ChangedAlert[] = [];
  const removed: ChangedAlert[] = [];
  const storedVersions: Record<string, number> = {};
  let compared = 0;
  let storedAlerts = 0;
  let replayedAlerts = 0;
  let changedDecision = 0;
  let fraudAlertedStored = 0;
  let fraudAlertedReplayed = 0;
  let fraudLabelled = 0;

  const features = new Float32Array(CHUNK * FEATURE_COUNT);
  for (let start = 0; start < replayed.length; start += CHUNK) {
    const chunk = replayed.slice(start, start + CHUNK);
    chunk.forEach((stored, i) => {
      while (nextLabel < labels.length && labels[nextLabel]!.labelledAtMs <= stored.transaction.eventTimeMs)
        engine.applyLabel(labels[nextLabel++]!);
      engine.observeInto(stored.transaction, features, i * FEATURE_COUNT);
    });
    const scores = model.score(features, chunk.length);
    const newlyAlerted: Array<{ row: number; change: Omit<ChangedAlert, 'reasons'>; ruleReasons: string[] }> = [];
    chunk.forEach((stored, i) => {
      if (!inRange(stored)) return;
      const fired: FiredRule[] = rules.evaluate(features, i * FEATURE_COUNT, stored.transaction, engine.reporting);
      if (stored.rulesFired.includes(INSUFFICIENT_FUNDS))
        fired.push({ code: INSUFFICIENT_FUNDS, action: 'DECLINE', risk: 1, description: 'carried over as stored' });
      const outcome = decide(scores[i]!, fired, options.thresholds);
      const id = stored.transaction.transactionId;
      const wasAlert = stored.decision !== 'APPROVE';
      const isAlert = outcome.decision !== 'APPROVE';
      const isFraud = fraud.has(id);
      compared += 1;
      storedVersions[stored.rulesVersion] = (storedVersions[stored.rulesVersion] ?? 0) + 1;
      if (wasAlert) storedAlerts += 1;
      if (isAlert) replayedAlerts += 1;
      if (isFraud) {
        fraudLabelled += 1;
        if (wasAlert) fraudAlertedStored += 1;
        if (isAlert) fraudAlertedReplayed += 1;
      }
      if (wasAlert && isAlert && stored.decision !== outcome.decision) changedDecision += 1;
      const codes = fired.map((r) => r.code);
      if (isAlert && !wasAlert)
        newlyAlerted.push({
          row: i,
          change: {
            transactionId: id,
            stored: stored.decision,
            replayed: outcome.decision,
            fraud: isFraud,
            rules: codes,
          },
          ruleReasons: codes,
        });
      else if (wasAlert && !isAlert) {
        removed.push({
          transactionId: id,
          stored: stored.decision,
          replayed: outcome.decision,
          fraud: isFraud,
          rules: stored.rulesFired,
          reasons: stored.reasonCodes,
        });
        bump(byRule, stored.rulesFired, 'removed');
        bump(byReason, stored.reasonCodes, 'removed');
      }
    });
    // Model reasons only for added alerts, as live scoring explains only alerts.
    const limit = options.modelReasons ?? 3;
    const rows = new Float32Array(newlyAlerted.length * FEATURE_COUNT);
    newlyAlerted.forEach(({ row }, k) =>
      rows.set(features.subarray(row * FEATURE_COUNT, (row + 1) * FEATURE_COUNT), k * FEATURE_COUNT),
    );
    const explanation = newlyAlerted.length > 0 && limit > 0 ? model.explain(rows, newlyAlerted.length) : undefined;
    newlyAlerted.forEach(({ row, change, ruleReasons }, k) => {
      const currencies = amountCurrencies(chunk[row]!.transaction, engine.reporting);
      const modelCodes =
        explanation !== undefined ? modelReasons(rows, explanation, k, currencies, limit).map((r) => r.code) : [];
      const reasons = [...ruleReasons, ...modelCodes];
      added.push({ ...change, reasons });
      bump(byRule, change.rules, 'added');
      bump(byReason, reasons, 'added');
    });
  }

  const sorted = (table: typeof byRule): Record<string, CodeDifference> =>
    Object.fromEntries([...table].sort(([a], [b]) => a.localeCompare(b)));
  return {
    fromMs: options.fromMs,
    toMs: options.toMs,
    compared,
    warmUp: replayed.length - compared,
    rulesVersion: rules.version,
    modelVersion: model.version,
    storedRulesVersions: storedVersions,
    alerts: { stored: storedAlerts, replayed: replayedAlerts, added: added.length, removed: removed.length },
    changedDecision,
    frauds: {
      labelled: fraudLabelled,
      alertedStored: fraudAlertedStored,
      alertedReplayed: fraudAlertedReplayed,
      caught: added.filter((a) => a.fraud).length,
      missed: removed.filter((r) => r.fraud).length,
    },
    byRule: sorted(byRule),
    byReason: sorted(byReason),
    added,
    removed,
  };
}

/** The report as text for a terminal: totals, frauds, then per rule and per reason code. */
export function formatBacktest(report: BacktestReport): string {
  const iso = (ms: number): string => new Date(ms).toISOString();
  const header = (title: string): string => `${title.padEnd(32)} ${'added'.padStart(6)} ${'removed'.padStart(8)}`;
  const lines = [
    `backtest of rules ${report.rulesVersion} with model ${report.modelVersion}`,
    `range ${iso(report.fromMs)} … ${iso(report.toMs)}: ${report.compared} decisions compared (${report.warmUp} replayed before it to warm up)`,
    `stored decisions named rules ${Object.entries(report.storedRulesVersions)
      .map(([v, n]) => `${v} (${n})`)
      .join(', ')}`,
    `alerts: ${report.alerts.stored} stored → ${report.alerts.replayed} replayed; +${report.alerts.added} added, -${report.alerts.removed} removed, ${report.changedDecision} kept with another decision`,
    `frauds (labelled ${report.frauds.labelled}): alerted ${report.frauds.alertedStored} → ${report.frauds.alertedReplayed}; ${report.frauds.caught} newly caught, ${report.frauds.missed} newly missed`,
    '',
    header('by rule'),
    ...Object.entries(report.byRule).map(
      ([code, d]) => `${code.padEnd(32)} ${String(d.added).padStart(6)} ${String(d.removed).padStart(8)}`,
    ),
    '',
    header('by reason code'),
    ...Object.entries(report.byReason).map(
      ([code, d]) => `${code.padEnd(32)} ${String(d.added).padStart(6)} ${String(d.removed).padStart(8)}`,
    ),
  ];
  return lines.join('\n');
}
