import { createHash } from 'node:crypto';
import type { BusRecord, OutgoingRecord, Producer, RecordBatch } from '../../platform/bus.js';
import type { Clock } from '../../platform/clock.js';
import { VigilError, describeError, isRetriable } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { Counter, Histogram, MetricsRegistry } from '../../platform/metrics.js';
import type { Codec } from '../../schemas/codec.js';
import { type DeadLetterWriter, decodeOrDeadLetter } from '../../schemas/dead-letter.js';
import type {
  Account,
  AnalystLabel,
  FraudAlert,
  LedgerBalance,
  Reason,
  ScoredTransaction,
  ShadowDecision,
  Transaction,
} from '../../schemas/generated/types.js';
import { HeaderNames, Topics } from '../../schemas/topics.js';
import {
  type DecisionOutcome,
  type DecisionThresholds,
  decide,
  modelReasons,
  rankReasons,
} from '../domain/decision.js';
import { FEATURE_COUNT, featureValues } from '../domain/feature-names.js';
import { FeatureEngine, amountCurrencies } from '../domain/features.js';
import { FundsGuard } from '../domain/funds.js';
import type { ModelScorer, PartitionOffset, ScoringChanges, ScoringSnapshot } from '../ports.js';
import type { FiredRule, RuleSet } from '../domain/rules.js';

/**
 * The scoring stage's batch handler: decode → features (event time) → one batched model inference → rules →
 * decision → one `tx.scored` send and one `fraud.alerts` send per batch.
 *
 * Exactly-once feature state over an at-least-once bus. Feature state must reflect every record exactly once,
 * while the bus may redeliver. The processor therefore tracks, per topic/partition, the next offset its state
 * reflects, and ignores any record below it — by each record's own partition, as a batch may hold several partitions
 * of its topic (the embedded log hands the loop everything ready at once; Kafka one partition per call):
 *  1. Every `snapshotEvery…`, the stage makes durable what changed since the last snapshot — the feature keys
 *     touched, the funds check and those next offsets ({@link ScoringProcessor.changes}), appended on top of the
 *     last full snapshot — and only THEN commits the consumer offsets (the subscription is in 'manual' mode).
 *     Committed offsets therefore never run ahead of the snapshot. Now and then a full snapshot replaces the
 *     appended changes (compaction), in the background: the changes stay on disk until it is durable.
 *  2. On start, the snapshot and the changes after it are restored and the bus resumes from the committed offsets. Records below the
 *     snapshot's offsets (a crash between snapshot and commit) are skipped: they are already in the state.
 *     Records after the snapshot are processed again, updating the state as the first time did. They do NOT
 *     always get the same decision: terminal features count events from every partition, and a restarted
 *     member replays its partitions in another interleaving with the others. So they are not published again:
 *     the snapshot also keeps where `tx.scored` ended when it was taken, the restart reads `tx.scored` from
 *     there to its end ({@link ScoringProcessor.rememberPublished}), and a replayed transaction whose decision is
 *     among those updates the state (its debit reserved under that first decision) and publishes nothing new on
 *     `tx.scored` — one decision per transaction, the one the ledger books. Its alert, when the first decision
 *     raised one, is rebuilt from that decision and sent again, identical (a kill between the two sends may have
 *     lost it; the alert feed dedupes by alert id). A start without a snapshot takes one at once (a kill before the
 *     first periodic one still has a window), and a snapshot keeps a partition's older window start while a
 *     decision read back from it is not replayed yet. Where the snapshot was lost or retention deleted the window,
 *     replayed records are decided and published again as before, and the ledger keeps the first decision.
 *  3. If a send fails after a batch updated the state, its encoded outputs are kept and re-sent before
 *     anything else when the bus redelivers the batch; the redelivered records themselves are below the
 *     tracked offsets and are skipped, so nothing is counted twice.
 */
export interface ScoringCodecs {
  readonly transactions: Codec<Transaction>;
  readonly labels: Codec<AnalystLabel>;
  readonly accounts: Codec<Account>;
  readonly balances: Codec<LedgerBalance>;
  readonly scored: Codec<ScoredTransaction>;
  readonly alerts: Codec<FraudAlert>;
  /** Needed only while a challenger is set ({@link ScoringProcessor.useChallenger}). */
  readonly shadow?: Codec<ShadowDecision>;
}

/**
 * A challenger scoring beside the champion (champion-challenger, "shadow"): its decisions go to Topics.shadowDecisions
 * and nowhere else — never to tx.scored or fraud.alerts, never into feature state or the funds check.
 */
export interface Challenger {
  /** Its own rules; without them it decides with the champion's rules in force. */
  readonly rules?: RuleSet;
  /** Its own model; without it the champion's scores are reused (no second inference). */
  readonly model?: ModelScorer;
}

/**
 * What a batch leaves for its challenger once the champion has decided: copies of what the challenger reads, so
 * nothing it does can reach the champion's outputs or the state.
 */
interface ShadowWork {
  readonly challenger: Challenger;
  readonly transactions: readonly Transaction[];
  /** The batch's feature rows, copied. */
  readonly features: Float32Array;
  readonly championScores: Float32Array;
  readonly championRules: RuleSet;
  readonly championModelVersion: string;
  readonly champion: readonly { readonly outcome: DecisionOutcome; readonly reasonCodes: readonly string[] }[];
  /** The funds check's finding per transaction (it reads state the champion's reservations changed; not re-run). */
  readonly shortfalls: readonly (FiredRule | undefined)[];
  readonly scoredAtMs: number;
}

export interface ProcessorDeps {
  readonly producer: Producer;
  readonly codecs: ScoringCodecs;
  readonly deadLetters: DeadLetterWriter;
  readonly model: ModelScorer;
  readonly rules: RuleSet;
  readonly thresholds: DecisionThresholds;
  readonly clock: Clock;
  readonly metrics: MetricsRegistry;
  readonly logger: Logger;
  readonly modelReasons?: number;
  readonly engine?: FeatureEngine;
  readonly funds?: FundsGuard;
}

/** Deterministic alert id: a redelivered decision raises the same alert. */
export function alertIdFor(transactionId: string): string {
  return `alert-${createHash('sha256').update(transactionId).digest('hex').slice(0, 32)}`;
}

/** The alert a REVIEW or DECLINE raises; everything in it comes from the decision, so a rebuilt one is identical. */
function alertOf(scored: ScoredTransaction): FraudAlert {
  const tx = scored.transaction;
  return {
    alertId: alertIdFor(tx.transactionId),
    transactionId: tx.transactionId,
    decision: scored.decision,
    score: scored.score,
    reasons: scored.reasons,
    channel: tx.channel,
    amountMinor: tx.amountMinor,
    currency: tx.currency,
    payerAccountId: tx.payerAccountId,
    payeeAccountId: tx.payeeAccountId,
    cardToken: tx.card?.token ?? null,
    cardLast4: tx.card?.last4 ?? null,
    merchantId: tx.merchantId,
    country: tx.country,
    modelVersion: scored.modelVersion,
    eventTimeMs: tx.eventTimeMs,
    receivedAtMs: tx.receivedAtMs,
    raisedAtMs: scored.scoredAtMs,
  };
}

interface Pending {
  readonly scored: OutgoingRecord[];
  readonly alerts: OutgoingRecord[];
  readonly shadow?: OutgoingRecord[];
  /** Left for the challenger, which runs once the champion's outputs are sent. */
  readonly shadowWork?: ShadowWork;
}

export class ScoringProcessor {
  readonly engine: FeatureEngine;
  /** Balance policies, the ledger's balances and the debits in flight: the INSUFFICIENT_FUNDS check. */
  readonly funds: FundsGuard;
  private readonly nextOffsets = new Map<string, number>();
  private features = new Float32Array(0);
  private pending: Pending | undefined;
  /**
   * Per tx.raw partition, where its log ended when this process started ({@link setReplayHorizon}): a record below
   * it may have been decided by the run before, whose first decision is the one the ledger books.
   */
  private readonly replayHorizon = new Map<number, number>();
  /**
   * The decisions on tx.scored since the restored snapshot, by transaction id (the first of each), read at start:
   * a replayed transaction found here is not published again. Each entry goes once its transaction is replayed.
   */
  private readonly publishedSinceSnapshot = new Map<string, { partition: number; decided: ScoredTransaction }>();
  /**
   * Per tx.scored partition, where the restored snapshot's window starts. While a decision remembered from a partition
   * is not replayed yet, the next snapshot keeps this start for it: the state then still does not reflect that
   * decision, so a restart must read it back again (a kill before a life replays what the one before it published).
   */
  private windowStart: readonly number[] = [];
  private recordsSinceSnapshot = 0;
  private rules: RuleSet;
  private model: ModelScorer;
  private challenger: Challenger | undefined;
  /** Models replaced while a batch may still use them; closed when the next batch starts. */
  private retired: ModelScorer[] = [];
  private readonly shadowDecisions: Counter;
  private readonly shadowSeconds: Histogram;
  private readonly scoredCounter: Counter;
  private readonly decisions: Counter;
  private readonly skipped: Counter;
  private readonly notRepublished: Counter;
  private readonly labelsApplied: Counter;
  private readonly balancesApplied: Counter;
  private readonly accountsApplied: Counter;
  private readonly batchSeconds: Histogram;
  private readonly inferenceSeconds: Histogram;

  constructor(private readonly deps: ProcessorDeps) {
    this.rules = deps.rules;
    this.model = deps.model;
    this.engine = deps.engine ?? new FeatureEngine();
    this.funds = deps.funds ?? new FundsGuard();
    const m = deps.metrics;
    this.scoredCounter = m.counter('vigil_scoring_scored_total', 'Transactions scored.');
    this.decisions = m.counter('vigil_scoring_decisions_total', 'Decisions by type (label decision).');
    this.skipped = m.counter(
      'vigil_scoring_skipped_records_total',
      'Records skipped because the restored state already reflects them.',
    );
    this.notRepublished = m.counter(
      'vigil_scoring_replayed_not_republished_total',
      'Replayed transactions whose decision was already on tx.scored since the snapshot: state updated, nothing published again.',
    );
    this.labelsApplied = m.counter('vigil_scoring_labels_applied_total', 'Analyst labels applied to feature state.');
    this.balancesApplied = m.counter(
      'vigil_scoring_ledger_balances_applied_total',
      'Ledger balances (ledger.balances records) applied to the funds check.',
    );
    this.accountsApplied = m.counter(
      'vigil_scoring_accounts_applied_total',
      'Chart-of-accounts records (balance policies) applied to the funds check.',
    );
    this.shadowDecisions = m.counter(
      'vigil_scoring_shadow_decisions_total',
      'Challenger decisions recorded beside the champion (label agree: whether the two decisions are the same).',
    );
    this.shadowSeconds = m.histogram(
      'vigil_scoring_shadow_seconds',
      'Time to score one batch with the challenger (after the champion’s outputs are sent), seconds.',
      [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    );
    this.batchSeconds = m.histogram('vigil_scoring_batch_seconds', 'Time to process one tx.raw batch, seconds.');
    this.inferenceSeconds = m.histogram(
      'vigil_scoring_model_inference_seconds',
      'Model inference time per batch (scores and explanations), seconds.',
      [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    );
  }

  /**
   * Records the tx.raw log end per partition at start. A debit re-decided below it counts in flight whatever this
   * run decides (FundsGuard.reserve): the run before may have approved it, and the ledger books that first decision,
   * so a DECLINE now must not free its money until the ledger has settled it.
   */
  setReplayHorizon(endOffsets: readonly number[]): void {
    this.replayHorizon.clear();
    endOffsets.forEach((end, partition) => this.replayHorizon.set(partition, end));
  }

  /**
   * Remembers decisions read from tx.scored after the restored snapshot's `scoredEndOffsets` (call after
   * {@link restore}, before the first batch): a replayed transaction among them is not published again. The first
   * record of an id wins (an id's copies share its partition, in offset order). A record that does not decode is
   * left out (its transaction is then published again, as without this window); retriable decode trouble rejects.
   * `windowStart`: where the window was read from, per tx.scored partition (the restored `scoredEndOffsets`).
   */
  async rememberPublished(records: readonly BusRecord[], windowStart: readonly number[] = []): Promise<void> {
    this.windowStart = windowStart;
    for (const record of records) {
      let decided: ScoredTransaction;
      try {
        decided = await this.deps.codecs.scored.decode(record.value);
      } catch (error) {
        if (isRetriable(error)) throw error;
        continue;
      }
      const id = decided.transaction.transactionId;
      if (!this.publishedSinceSnapshot.has(id))
        this.publishedSinceSnapshot.set(id, { partition: record.partition, decided });
    }
  }

  /**
   * Puts other rules in force from the next batch on. A batch is scored synchronously with the rules in force when
   * it starts, so every decision of a batch names one version and no batch mixes two.
   */
  useRules(rules: RuleSet): void {
    this.rules = rules;
  }

  /** The rules decisions are made with now. */
  get rulesInForce(): RuleSet {
    return this.rules;
  }

  /**
   * Makes `model` the champion from the next batch on (a promotion). The model it replaces is closed once no batch
   * can use it any more.
   */
  useModel(model: ModelScorer): void {
    if (model === this.model) return;
    this.retired.push(this.model);
    this.model = model;
  }

  /** The model decisions are made with now. */
  get modelInForce(): ModelScorer {
    return this.model;
  }

  /**
   * Sets (or, with undefined, stops) the challenger from the next batch on. A challenger's own model replaced here is
   * closed once no batch can use it any more. Throws when the processor has no shadow codec to publish with.
   */
  useChallenger(challenger: Challenger | undefined): void {
    if (challenger !== undefined && this.deps.codecs.shadow === undefined)
      throw new VigilError('SHADOW_INVALID', 'this scoring processor has no shadow.decisions codec');
    const old = this.challenger?.model;
    if (old !== undefined && old !== challenger?.model && old !== this.model) this.retired.push(old);
    this.challenger = challenger;
  }

  /** Closes every model this processor holds (the champion, the challenger's, those replaced); call once, at stop. */
  closeModels(): void {
    const models = new Set([this.model, ...this.retired, ...(this.challenger?.model ? [this.challenger.model] : [])]);
    this.retired = [];
    for (const model of models) model.close();
  }

  /** The challenger scoring beside the champion now, if any. */
  get challengerInForce(): Challenger | undefined {
    return this.challenger;
  }

  /** Restores the engine and the offsets it reflects. */
  restore(snapshot: ScoringSnapshot): void {
    this.engine.restore(snapshot.engine);
    if (snapshot.funds !== undefined) this.funds.restore(snapshot.funds);
    this.restoreOffsets(snapshot.offsets);
  }

  /** Applies changes taken by {@link changes}, on top of the state they followed (after {@link restore}). */
  applyChanges(changes: ScoringChanges): void {
    this.engine.applyChanges(changes.engine);
    this.funds.restore(changes.funds);
    this.restoreOffsets(changes.offsets);
  }

  private restoreOffsets(offsets: readonly PartitionOffset[]): void {
    this.nextOffsets.clear();
    for (const { topic, partition, nextOffset } of offsets) this.nextOffsets.set(`${topic}:${partition}`, nextOffset);
  }

  /**
   * The whole state and offsets as they stand between batches; the base the next {@link changes} follow.
   * `scoredEndOffsets`: where tx.scored ends now, per partition (every decision this state reflects is below it); a
   * restart reads from there for what is already published.
   */
  snapshot(writtenAtMs: number, scoredEndOffsets?: readonly number[]): ScoringSnapshot {
    this.beforeSnapshot();
    return {
      format: 'vigil.scoring-snapshot.v1',
      writtenAtMs,
      offsets: this.offsets(),
      engine: this.engine.snapshot(),
      funds: this.funds.snapshot(),
      ...(scoredEndOffsets === undefined ? {} : { scoredEndOffsets: this.windowStartsFor(scoredEndOffsets) }),
    };
  }

  /**
   * What changed since the last {@link snapshot} or changes, as they stand between batches: costs in proportion to
   * the feature keys touched since. `scoredEndOffsets` as in {@link snapshot}.
   */
  changes(writtenAtMs: number, scoredEndOffsets?: readonly number[]): ScoringChanges {
    this.beforeSnapshot();
    return {
      format: 'vigil.scoring-changes.v1',
      writtenAtMs,
      offsets: this.offsets(),
      engine: this.engine.changes(),
      funds: this.funds.snapshot(),
      ...(scoredEndOffsets === undefined ? {} : { scoredEndOffsets: this.windowStartsFor(scoredEndOffsets) }),
    };
  }

  private beforeSnapshot(): void {
    this.recordsSinceSnapshot = 0;
    // Between batches, before the copy: idle keys leave memory and the snapshot together.
    this.engine.evictIdle();
  }

  private offsets(): PartitionOffset[] {
    return [...this.nextOffsets].map(([key, nextOffset]) => {
      const at = key.lastIndexOf(':');
      return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)), nextOffset };
    });
  }

  /** Where a restart's window starts per tx.scored partition: now's end, unless a remembered decision is pending. */
  private windowStartsFor(scoredEndOffsets: readonly number[]): number[] {
    const pending = new Set([...this.publishedSinceSnapshot.values()].map((p) => p.partition));
    return scoredEndOffsets.map((end, partition) =>
      pending.has(partition) ? Math.min(end, this.windowStart[partition] ?? 0) : end,
    );
  }

  /**
   * Forgets the remembered decisions of a tx.scored partition once its tx.raw partition is handled past the replay
   * horizon: nothing older is replayed there any more, so what is left is not this member's to replay.
   */
  private forgetPublishedPast(partition: number, nextOffset: number): void {
    if (this.publishedSinceSnapshot.size === 0 || nextOffset < (this.replayHorizon.get(partition) ?? 0)) return;
    for (const [id, { partition: p }] of this.publishedSinceSnapshot)
      if (p === partition) this.publishedSinceSnapshot.delete(id);
  }

  /** Records handled since the last snapshot was taken. */
  get unsnapshottedRecords(): number {
    return this.recordsSinceSnapshot;
  }

  async handle(batch: RecordBatch): Promise<void> {
    if (this.pending) await this.sendPending(this.pending);
    // Handled one at a time: no batch holds a model retired before this one started.
    for (const model of this.retired.splice(0))
      if (model !== this.model && model !== this.challenger?.model) model.close();
    // A batch may hold several partitions of its topic (the loop subscribes across partitions), each in offset order.
    const fresh = batch.records.filter((r) => r.offset >= (this.nextOffsets.get(`${batch.topic}:${r.partition}`) ?? 0));
    if (fresh.length < batch.records.length)
      this.skipped.inc({ topic: batch.topic }, batch.records.length - fresh.length);
    if (fresh.length === 0) return;
    const view: RecordBatch = { topic: batch.topic, partition: fresh[0]!.partition, records: fresh };
    if (batch.topic !== Topics.transactionsRaw) {
      await this.applyState(view);
      this.handledThrough(view);
      return;
    }
    const started = performance.now();
    const decoded = await decodeOrDeadLetter(view, this.deps.codecs.transactions, this.deps.deadLetters);
    const outputs = this.score(
      decoded.map((d) => d.value),
      decoded.map((d) => d.record.offset < (this.replayHorizon.get(d.record.partition) ?? 0)),
    );
    // From here the state reflects the batch: remember that before sending, so a failed send re-sends these
    // outputs rather than re-observing the records.
    this.handledThrough(view);
    await this.sendPending(outputs, started);
  }

  /** Moves each partition of `view` past its last record, as reflected in the state the next snapshot writes. */
  private handledThrough(view: RecordBatch): void {
    const lastOffsets = new Map<number, number>();
    for (const record of view.records) lastOffsets.set(record.partition, record.offset);
    for (const [partition, last] of lastOffsets) {
      this.nextOffsets.set(`${view.topic}:${partition}`, last + 1);
      if (view.topic === Topics.transactionsRaw) this.forgetPublishedPast(partition, last + 1);
    }
    this.recordsSinceSnapshot += view.records.length;
  }

  /**
   * Sends a batch's outputs, keeping them pending until they are out (a failed send re-sends them first when the bus
   * redelivers the batch); then, with the champion's decisions out, the challenger's — so the synchronous answer
   * never waits for the challenger.
   */
  private async sendPending(outputs: Pending, started?: number): Promise<void> {
    this.pending = outputs;
    await this.send(outputs);
    this.pending = undefined;
    if (started !== undefined) this.batchSeconds.observe((performance.now() - started) / 1000);
    if (outputs.shadowWork === undefined) return;
    const shadow = this.scoreShadow(outputs.shadowWork);
    this.pending = { scored: [], alerts: [], shadow };
    await this.send(this.pending);
    this.pending = undefined;
  }

  /** Applies a batch of labels (feature state), policies or ledger balances (the funds check). */
  private async applyState(view: RecordBatch): Promise<void> {
    const { codecs, deadLetters } = this.deps;
    if (view.topic === Topics.analystLabels) {
      const labels = await decodeOrDeadLetter(view, codecs.labels, deadLetters);
      for (const { value } of labels) this.engine.applyLabel(value);
      this.labelsApplied.inc({}, labels.length);
    } else if (view.topic === Topics.accounts) {
      const accounts = await decodeOrDeadLetter(view, codecs.accounts, deadLetters);
      for (const { value } of accounts) this.funds.setAccount(value);
      this.accountsApplied.inc({}, accounts.length);
    } else if (view.topic === Topics.ledgerBalances) {
      const balances = await decodeOrDeadLetter(view, codecs.balances, deadLetters);
      for (const { value } of balances) this.funds.applyBalance(value);
      this.balancesApplied.inc({}, balances.length);
    } else {
      // Only reachable through a wiring bug: fail loudly rather than decode foreign records.
      throw new VigilError('UNEXPECTED_TOPIC', `scoring does not consume ${view.topic}`);
    }
  }

  /**
   * Scores transactions in order (updating feature state) and encodes the outputs. `redecided[i]` says transaction
   * i may have been decided by an earlier run (see {@link setReplayHorizon}).
   */
  score(transactions: readonly Transaction[], redecided: readonly boolean[] = []): Pending {
    const n = transactions.length;
    const { thresholds, codecs, clock } = this.deps;
    const model = this.model;
    const rules = this.rules;
    const challenger = this.challenger;
    if (this.features.length < n * FEATURE_COUNT) this.features = new Float32Array(n * FEATURE_COUNT);
    const features = this.features;
    for (let i = 0; i < n; i++) this.engine.observeInto(transactions[i]!, features, i * FEATURE_COUNT);

    const inferenceStarted = performance.now();
    const scores = model.score(features, n);
    let inferenceMs = performance.now() - inferenceStarted;

    const fired: FiredRule[][] = [];
    const shortfalls: (FiredRule | undefined)[] = [];
    const decisions: ReturnType<typeof decide>[] = [];
    const alerted: number[] = [];
    for (let i = 0; i < n; i++) {
      const tx = transactions[i]!;
      const rulesFired = rules.evaluate(features, i * FEATURE_COUNT, tx, this.engine.reporting);
      // In the payer partition's order: what an earlier debit of this batch reserved is already counted.
      const shortfall = this.funds.check(tx);
      if (shortfall !== undefined) rulesFired.push(shortfall);
      shortfalls.push(shortfall);
      const outcome = decide(scores[i]!, rulesFired, thresholds);
      // A decision already published is the one the ledger books: reserve under it, as the first run did.
      const published = this.publishedSinceSnapshot.get(tx.transactionId)?.decided;
      if (published === undefined) this.funds.reserve(tx, outcome.decision, redecided[i] ?? false);
      else this.funds.reserve(tx, published.decision);
      fired.push(rulesFired);
      decisions.push(outcome);
      if (outcome.decision !== 'APPROVE') alerted.push(i);
    }

    // Model explanations only for REVIEW and DECLINE: COALITION_COUNT rows each, in one more inference.
    const reasonsFor = new Map<number, Reason[]>();
    const limit = this.deps.modelReasons ?? 3;
    if (alerted.length > 0 && limit > 0) {
      const rows = new Float32Array(alerted.length * FEATURE_COUNT);
      alerted.forEach((i, k) =>
        rows.set(features.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT), k * FEATURE_COUNT),
      );
      const explainStarted = performance.now();
      const explanation = model.explain(rows, alerted.length);
      inferenceMs += performance.now() - explainStarted;
      const reporting = this.engine.reporting;
      alerted.forEach((i, k) =>
        reasonsFor.set(i, modelReasons(rows, explanation, k, amountCurrencies(transactions[i]!, reporting), limit)),
      );
    }
    this.inferenceSeconds.observe(inferenceMs / 1000);

    const now = clock.nowMs();
    const scored: OutgoingRecord[] = [];
    const alerts: OutgoingRecord[] = [];
    const decidedNow: number[] = [];
    const championReasonCodes: string[][] = [];
    let notRepublished = 0;
    for (let i = 0; i < n; i++) {
      const tx = transactions[i]!;
      const published = this.publishedSinceSnapshot.get(tx.transactionId)?.decided;
      if (published !== undefined) {
        this.publishedSinceSnapshot.delete(tx.transactionId);
        notRepublished++;
        if (published.decision !== 'APPROVE')
          alerts.push({
            key: tx.payerAccountId,
            value: codecs.alerts.encode(alertOf(published)),
            timestampMs: published.scoredAtMs,
          });
        continue;
      }
      const { decision, risk } = decisions[i]!;
      const reasons = rankReasons(fired[i]!, reasonsFor.get(i) ?? []);
      const score = scores[i]!;
      // The same currencies the reasons were worded with, so the record and its reason texts cannot disagree.
      const currencies = amountCurrencies(tx, this.engine.reporting);
      const value: ScoredTransaction = {
        transaction: tx,
        decision,
        score,
        risk,
        reasons,
        rulesFired: fired[i]!.map((r) => r.code),
        features: {},
        featureValues: featureValues(features, i * FEATURE_COUNT),
        reportingCurrency: currencies.reporting,
        unconvertedCurrency: currencies.unconverted,
        modelVersion: model.version,
        rulesVersion: rules.version,
        scoredAtMs: now,
      };
      scored.push({
        key: tx.payerAccountId,
        value: codecs.scored.encode(value),
        timestampMs: now,
        headers: {
          [HeaderNames.scoredTransactionId]: tx.transactionId,
          [HeaderNames.scoredDecision]: decision,
          [HeaderNames.scoredScore]: String(score),
        },
      });
      this.decisions.inc({ decision });
      decidedNow.push(i);
      championReasonCodes.push(reasons.map((r) => r.code));
      if (decision === 'APPROVE') continue;
      alerts.push({ key: tx.payerAccountId, value: codecs.alerts.encode(alertOf(value)), timestampMs: now });
    }
    if (notRepublished > 0) this.notRepublished.inc({}, notRepublished);
    this.scoredCounter.inc({}, n);
    if (challenger === undefined || decidedNow.length === 0) return { scored, alerts };
    // Only the transactions decided now: a replayed one keeps the decision (and the shadow record) its first run made.
    const rows = new Float32Array(decidedNow.length * FEATURE_COUNT);
    const championScores = new Float32Array(decidedNow.length);
    decidedNow.forEach((i, k) => {
      rows.set(features.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT), k * FEATURE_COUNT);
      championScores[k] = scores[i]!;
    });
    const shadowWork: ShadowWork = {
      challenger,
      transactions: decidedNow.map((i) => transactions[i]!),
      features: rows,
      championScores,
      championRules: rules,
      championModelVersion: model.version,
      champion: decidedNow.map((i, k) => ({ outcome: decisions[i]!, reasonCodes: championReasonCodes[k]! })),
      shortfalls: decidedNow.map((i) => shortfalls[i]),
      scoredAtMs: now,
    };
    return { scored, alerts, shadowWork };
  }

  /**
   * The challenger's decisions for a batch the champion has decided, from the same feature rows (copied), as
   * `shadow.decisions` records. Reads nothing of the processor's state and writes none of it.
   */
  scoreShadow(work: ShadowWork): OutgoingRecord[] {
    const started = performance.now();
    const { challenger, transactions, features } = work;
    const codec = this.deps.codecs.shadow!;
    const n = transactions.length;
    const scores = challenger.model !== undefined ? challenger.model.score(features, n) : work.championScores;
    const rules = challenger.rules ?? work.championRules;
    const modelVersion = challenger.model?.version ?? work.championModelVersion;
    const records: OutgoingRecord[] = [];
    for (let i = 0; i < n; i++) {
      const tx = transactions[i]!;
      const fired = rules.evaluate(features, i * FEATURE_COUNT, tx, this.engine.reporting);
      const shortfall = work.shortfalls[i];
      if (shortfall !== undefined) fired.push(shortfall);
      const outcome = decide(scores[i]!, fired, this.deps.thresholds);
      const champion = work.champion[i]!;
      const value: ShadowDecision = {
        transactionId: tx.transactionId,
        eventTimeMs: tx.eventTimeMs,
        scoredAtMs: work.scoredAtMs,
        championDecision: champion.outcome.decision,
        championScore: work.championScores[i]!,
        championRisk: champion.outcome.risk,
        championReasonCodes: champion.reasonCodes,
        championModelVersion: work.championModelVersion,
        championRulesVersion: work.championRules.version,
        challengerDecision: outcome.decision,
        challengerScore: scores[i]!,
        challengerRisk: outcome.risk,
        challengerReasonCodes: rankReasons(fired, []).map((r) => r.code),
        challengerModelVersion: modelVersion,
        challengerRulesVersion: rules.version,
      };
      records.push({ key: tx.payerAccountId, value: codec.encode(value), timestampMs: work.scoredAtMs });
      this.shadowDecisions.inc({ agree: String(outcome.decision === champion.outcome.decision) });
    }
    this.shadowSeconds.observe((performance.now() - started) / 1000);
    return records;
  }

  private async send(outputs: Pending): Promise<void> {
    try {
      await Promise.all([
        this.sendTo(Topics.transactionsScored, outputs.scored),
        this.sendTo(Topics.fraudAlerts, outputs.alerts),
        this.sendTo(Topics.shadowDecisions, outputs.shadow ?? []),
      ]);
    } catch (error) {
      if (isRetriable(error)) throw error;
      // The broker refuses something for good (an output larger than the topic accepts): the outputs are already
      // reflected in feature state, so resending them whole would fail for ever. Send them one by one and
      // dead-letter those refused, with the reason. What the batch send had landed may go out twice; ledger-sink
      // and the alert feed handle a repeated record.
      await this.sendOneByOne(Topics.transactionsScored, outputs.scored);
      await this.sendOneByOne(Topics.fraudAlerts, outputs.alerts);
      await this.sendOneByOne(Topics.shadowDecisions, outputs.shadow ?? []);
    }
  }

  private async sendTo(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    if (records.length > 0) await this.deps.producer.send(topic, records);
  }

  private async sendOneByOne(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    for (const record of records) {
      try {
        await this.deps.producer.send(topic, [record]);
      } catch (error) {
        if (isRetriable(error)) throw error;
        await this.deps.deadLetters.send([{ key: record.key, originalBytes: record.value, error }]);
        this.deps.logger.error('an output was refused for good and dead-lettered; its decision is not on the topic', {
          topic,
          key: record.key,
          error: describeError(error),
        });
      }
    }
  }
}
