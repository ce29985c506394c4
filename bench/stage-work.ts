/**
 * The stages' own work on a transaction, in one thread with no I/O: the ceiling the pipeline is measured against
 * (`npm run bench`) and the unit of work of the cost-growth run (bench/cost-growth.bench.ts). Each step calls the
 * stage's own domain and app code, as the pipeline does, minus the log, ClickHouse and HTTP:
 *
 *  - ingest: validate + tokenise (HMAC) + fingerprint (SHA-256) + build the Transaction + Avro encode;
 *  - scoring: Avro decode + features + batched model inference + rules + decision + encode of the scored
 *    transaction and alerts (`ScoringProcessor.score`, the real model artefact and rules file);
 *  - ledger-sink: Avro decode + audit checks + postings + the `decisions` and `ledger_entries` rows serialised as
 *    JSONCompactEachRow, the format the ClickHouse store inserts (holds of REVIEWs are left out: a few % of rows).
 *
 * bench/ is a composition root: it may import stage modules (the stages never import it).
 */
import { HmacPanTokenizer, sha256Hasher } from '../ingest/adapters/crypto.js';
import { fingerprintOf, toTransaction } from '../ingest/domain/canonical.js';
import { validateTransactionRequest } from '../ingest/domain/validation.js';
import { loadIngestConfig } from '../ingest/config.js';
import { decisionRow, ledgerEntryRow } from '../ledger-sink/adapters/clickhouse-store.js';
import { auditProblems } from '../ledger-sink/domain/audit.js';
import { bookingOf, linksOf, postingsFor } from '../ledger-sink/domain/postings.js';
import { systemClock } from '../platform/clock.js';
import { silentLogger } from '../platform/logger.js';
import { MetricsRegistry } from '../platform/metrics.js';
import type { TransactionRequest } from '../schemas/api.js';
import { type Codec, createCodec } from '../schemas/codec.js';
import type { DeadLetterWriter } from '../schemas/dead-letter.js';
import type {
  Account,
  AnalystLabel,
  FraudAlert,
  LedgerBalance,
  ScoredTransaction,
  Transaction,
} from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { Topics } from '../schemas/topics.js';
import { loadRulesFile } from '../scoring/adapters/rules-file.js';
import { TfjsModelScorer } from '../scoring/adapters/tfjs-model.js';
import { ScoringProcessor } from '../scoring/app/scorer.js';
import { readScoringConfig } from '../scoring/config.js';

import type { CeilingStage } from './ceiling-stages.js';

/** CPU µs per stage so far, and the transactions that went through all three. */
export interface StageWorkTotals {
  readonly us: Readonly<Record<CeilingStage, number>>;
  readonly transactions: number;
  /** Bytes of the rows the ledger step serialised (what would go to ClickHouse). */
  readonly rowBytes: number;
}

const unused = (what: string) => (): never => {
  throw new Error(`the stage-work ceiling does no I/O, yet ${what} was called`);
};

/** The three stages' work, batch by batch, with a timer per stage. */
export class StageWork {
  private readonly us: Record<CeilingStage, number> = { ingest: 0, scoring: 0, 'ledger-sink': 0 };
  private transactions = 0;
  private rowBytes = 0;

  private constructor(
    private readonly ingestStep: (requests: readonly TransactionRequest[]) => Buffer[],
    private readonly scoringStep: (encoded: readonly Buffer[]) => Promise<Buffer[]>,
    private readonly ledgerStep: (scored: readonly Buffer[]) => Promise<number>,
    private readonly closeModel: () => void,
    /** Scoring's feature state: key counts and pool bytes, the state that grows with customers. */
    readonly stateStats: () => ReturnType<ScoringProcessor['engine']['stats']>,
  ) {}

  /** Loads the model artefact and rules file the scoring stage would (VIGIL_MODEL_DIR, VIGIL_RULES_FILE). */
  static async create(env: NodeJS.ProcessEnv = process.env): Promise<StageWork> {
    const registry = new EmbeddedSchemaRegistry();
    const codec = <T>(topic: Parameters<typeof createCodec>[1]): Promise<Codec<T>> => createCodec<T>(registry, topic);

    // ingest
    const limits = loadIngestConfig({
      ...env,
      VIGIL_TOKENIZATION_KEY: 'bench-tokenization-key-0123456789abcdef',
    }).limits;
    const tokenizer = new HmacPanTokenizer('bench-tokenization-key-0123456789abcdef');
    const transactions = await codec<Transaction>(Topics.transactionsRaw);
    const ingestStep = (requests: readonly TransactionRequest[]): Buffer[] => {
      const receivedAtMs = Date.now();
      const out: Buffer[] = [];
      for (const body of requests) {
        const outcome = validateTransactionRequest(body, { nowMs: receivedAtMs, limits, tokenizer });
        if (!outcome.ok) continue;
        const fingerprint = fingerprintOf(outcome, sha256Hasher);
        const tx = toTransaction(outcome.value, { fingerprint, source: 'BATCH', submittedBy: 'bench', receivedAtMs });
        out.push(transactions.encode(tx));
      }
      return out;
    };

    // scoring
    const scoringConfig = readScoringConfig(env);
    const { rules } = await loadRulesFile(scoringConfig.rulesFile);
    const model = await TfjsModelScorer.load(scoringConfig.modelDir);
    const scoredCodec = await codec<ScoredTransaction>(Topics.transactionsScored);
    const processor = new ScoringProcessor({
      producer: { send: unused('producer.send') },
      codecs: {
        transactions,
        labels: await codec<AnalystLabel>(Topics.analystLabels),
        accounts: await codec<Account>(Topics.accounts),
        balances: await codec<LedgerBalance>(Topics.ledgerBalances),
        scored: scoredCodec,
        alerts: await codec<FraudAlert>(Topics.fraudAlerts),
      },
      deadLetters: { send: unused('deadLetters.send') } as unknown as DeadLetterWriter,
      model,
      rules,
      thresholds: { review: scoringConfig.reviewThreshold, decline: scoringConfig.declineThreshold },
      clock: systemClock,
      metrics: new MetricsRegistry(),
      logger: silentLogger,
      modelReasons: scoringConfig.modelReasons,
    });
    const scoringStep = async (encoded: readonly Buffer[]): Promise<Buffer[]> => {
      const decoded: Transaction[] = [];
      for (const bytes of encoded) decoded.push(await transactions.decode(bytes));
      return processor.score(decoded).scored.map((r) => r.value);
    };

    // ledger-sink
    const ledgerStep = async (scored: readonly Buffer[]): Promise<number> => {
      const storedAtMs = Date.now();
      const decisions: string[] = [];
      const entries: string[] = [];
      for (const bytes of scored) {
        const value = await scoredCodec.decode(bytes);
        if (auditProblems(value).length > 0) continue;
        const tx = value.transaction;
        const books = bookingOf(value.decision, tx.kind) !== 'none';
        const links = linksOf(tx);
        for (const leg of books ? postingsFor(tx, storedAtMs) : [])
          entries.push(
            compactRow(ledgerEntryRow({ ...leg, ...links, fingerprint: tx.fingerprint, reversesEntryId: '' })),
          );
        decisions.push(compactRow(decisionRow({ scored: value, storedAtMs })));
      }
      return decisions.join('\n').length + entries.join('\n').length;
    };
    return new StageWork(
      ingestStep,
      scoringStep,
      ledgerStep,
      () => model.close(),
      () => processor.engine.stats(),
    );
  }

  /**
   * Runs one batch through the three stages (a batch of 500 is what ingest's batch route and the bus hand over).
   * Each stage is timed in CPU (user + system µs of this process: its one JavaScript thread and V8's helpers), not
   * wall time, so that a shared machine's other work does not count as the stages' cost.
   */
  async run(requests: readonly TransactionRequest[]): Promise<void> {
    let started = process.cpuUsage();
    const raw = this.ingestStep(requests);
    this.us.ingest += cpuSince(started);
    started = process.cpuUsage();
    const scored = await this.scoringStep(raw);
    this.us.scoring += cpuSince(started);
    started = process.cpuUsage();
    this.rowBytes += await this.ledgerStep(scored);
    this.us['ledger-sink'] += cpuSince(started);
    this.transactions += scored.length;
  }

  totals(): StageWorkTotals {
    return { us: { ...this.us }, transactions: this.transactions, rowBytes: this.rowBytes };
  }

  /** Releases the model. */
  close(): void {
    this.closeModel();
  }
}

/** User + system CPU µs of this process since `start`. */
function cpuSince(start: NodeJS.CpuUsage): number {
  const spent = process.cpuUsage(start);
  return spent.user + spent.system;
}

/** One JSONCompactEachRow line: the row's values in column order. */
function compactRow(row: object): string {
  return JSON.stringify(Object.values(row));
}
