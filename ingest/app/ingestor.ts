import type { OutgoingRecord, Producer, RecordPosition } from '../../platform/bus.js';
import type { Clock } from '../../platform/clock.js';
import {
  ErrorCategory,
  type FieldProblem,
  UnavailableError,
  ValidationError,
  VigilError,
  describeError,
} from '../../platform/errors.js';
import type { ErrorCode } from '../../platform/error-codes.js';
import type { Logger } from '../../platform/logger.js';
import type { IngestResult } from '../../schemas/api.js';
import type { Codec } from '../../schemas/codec.js';
import type { DeadLetterWriter, PoisonItem } from '../../schemas/dead-letter.js';
import type { IngestSource, SourceDocument, Transaction } from '../../schemas/generated/types.js';
import { Topics } from '../../schemas/topics.js';
import { fingerprintOf, toTransaction } from '../domain/canonical.js';
import { planAttempts } from '../domain/idempotency.js';
import type {
  ContentHasher,
  IdempotencyRecord,
  IdempotencyStore,
  PanTokenizer,
  PersonalDataProtector,
} from '../ports.js';
import { redactForDeadLetter } from '../domain/redaction.js';
import { type ValidationLimits, validateTransactionRequest } from '../domain/validation.js';
import { KeyedLock } from '../../platform/keyed-lock.js';
import type { IngestMetrics } from './metrics.js';

/**
 * One item handed to ingest: a parsed JSON body (from a channel file, with the document it came in), or a piece of
 * input that did not parse (an NDJSON line; an item a channel file shows is bad, with its code and reason).
 */
export type IntakeItem =
  | { readonly kind: 'parsed'; readonly body: unknown; readonly sourceDocument?: SourceDocument }
  | {
      readonly kind: 'unparseable';
      readonly problems: readonly FieldProblem[];
      /** The dead letter's code and reason; MALFORMED_JSON "item is not valid JSON" unless said. */
      readonly code?: ErrorCode;
      readonly reason?: string;
    };

export interface IngestorDeps {
  readonly producer: Producer;
  readonly codec: Codec<Transaction>;
  readonly deadLetters: DeadLetterWriter;
  readonly store: IdempotencyStore;
  readonly tokenizer: PanTokenizer;
  readonly hasher: ContentHasher;
  /**
   * Minimises and seals personal fields before the log sees them; without one they are written as sent (a
   * deployment with no per-customer key store).
   */
  readonly personalData?: PersonalDataProtector;
  readonly clock: Clock;
  readonly limits: ValidationLimits;
  readonly metrics: IngestMetrics;
  readonly logger: Logger;
}

/** Same id, other content: what the single route answers with 409 and what the dead letter records. */
export class TransactionIdConflictError extends VigilError {
  constructor(transactionId: string, problems: readonly FieldProblem[] = []) {
    super('TRANSACTION_ID_CONFLICT', `transaction ${transactionId} was accepted before with different content`, {
      category: ErrorCategory.conflict,
      problems,
    });
  }
}

interface Candidate {
  readonly index: number;
  readonly transaction: Transaction;
  readonly body: unknown;
}

/**
 * The front door's application service: validate and tokenise every item, claim the ids from the idempotency store
 * under a per-id lock (the store says which were accepted before, by this process or another replica), append all
 * new transactions with one `producer.send` (acknowledged only once durable), dead-letter the refused items and
 * conflicts with redacted copies, then remember the accepted ids — or release them if the append failed.
 */
export class Ingestor {
  private readonly locks = new KeyedLock();
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(private readonly deps: IngestorDeps) {}

  /**
   * Per-item results in input order. `submittedBy` is recorded on every accepted transaction: the authenticated
   * principal's id (`Principal.id`, never the key) or an internal feed's name; it is not part of the fingerprint,
   * so the same content from another submitter is a duplicate of the first. Rejects (nothing acknowledged) with a retriable error when the log or the
   * dead-letter topic is unavailable; items accepted before such a failure are answered as duplicates on retry.
   */
  accept(items: readonly IntakeItem[], source: IngestSource, submittedBy: string | null): Promise<IngestResult[]> {
    if (this.closed) return Promise.reject(new UnavailableError('INGEST_CLOSED', 'ingest is shutting down'));
    const work = this.acceptNow(items, source, submittedBy);
    this.inFlight.add(work);
    const forget = (): void => void this.inFlight.delete(work);
    work.then(forget, forget);
    return work;
  }

  /** Stops taking new work and waits for what is in flight. */
  async drain(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
  }

  private async acceptNow(
    items: readonly IntakeItem[],
    source: IngestSource,
    submittedBy: string | null,
  ): Promise<IngestResult[]> {
    const { clock, metrics, logger } = this.deps;
    const receivedAtMs = clock.nowMs();
    const results: IngestResult[] = new Array<IngestResult>(items.length);
    const deadLetters: PoisonItem[] = [];
    const candidates: Candidate[] = [];

    items.forEach((item, index) => {
      if (item.kind === 'unparseable') {
        results[index] = { transactionId: null, status: 'rejected', problems: item.problems };
        // Nothing structured to redact, so no bytes are kept: the copy could hold a card number or a CVV.
        deadLetters.push({
          key: null,
          originalBytes: Buffer.alloc(0),
          error: new ValidationError(
            item.reason ?? 'item is not valid JSON',
            item.problems,
            item.code ?? 'MALFORMED_JSON',
          ),
        });
        return;
      }
      const outcome = validateTransactionRequest(item.body, {
        nowMs: receivedAtMs,
        limits: this.deps.limits,
        tokenizer: this.deps.tokenizer,
      });
      if (!outcome.ok) {
        results[index] = { transactionId: outcome.transactionId, status: 'rejected', problems: outcome.problems };
        deadLetters.push(
          this.redactedLetter(
            outcome.transactionId,
            item.body,
            new ValidationError('transaction failed validation', outcome.problems),
          ),
        );
        return;
      }
      // The document is content: the same id from another place in a file is a conflict, not a duplicate.
      const content =
        item.sourceDocument === undefined
          ? outcome
          : { ...outcome, value: { ...outcome.value, sourceDocument: item.sourceDocument } };
      const fingerprint = fingerprintOf(content, this.deps.hasher);
      candidates.push({
        index,
        body: item.body,
        transaction: toTransaction(content.value, { fingerprint, source, submittedBy, receivedAtMs }),
      });
    });
    const rejected = deadLetters.length;

    const release = await this.locks.acquire(candidates.map((c) => c.transaction.transactionId));
    let written: Candidate[] = [];
    let duplicates = 0;
    let conflicts = 0;
    try {
      const stored = await this.deps.store.claim(candidates.map((c) => c.transaction));
      const plan = planAttempts(
        candidates.map((c) => c.transaction),
        stored,
      );
      written = candidates.filter((_, i) => plan[i]!.verdict === 'new');
      plan.forEach((entry, i) => {
        if (entry.verdict !== 'conflict') return;
        const { transaction, body } = candidates[i]!;
        const at =
          entry.original.kind === 'stored'
            ? `${Topics.transactionsRaw}/${entry.original.record.partition}@${entry.original.record.offset}`
            : 'earlier in this batch';
        const problem = {
          path: '/transactionId',
          message: `already accepted (${at}) with fingerprint ${entry.originalFingerprint}; this attempt has fingerprint ${transaction.fingerprint}`,
        };
        deadLetters.push(
          this.redactedLetter(
            transaction.transactionId,
            body,
            new TransactionIdConflictError(transaction.transactionId, [problem]),
          ),
        );
        logger.warn('transaction id reused with different content', {
          transactionId: transaction.transactionId,
          source,
        });
      });

      const [appended, deadLettered] = await Promise.allSettled([
        this.append(written.map((c) => c.transaction)).catch(async (error: unknown) => {
          await this.release(written);
          throw error;
        }),
        this.deps.deadLetters.send(deadLetters),
      ]);
      if (appended.status === 'rejected')
        throw asUnavailable(appended.reason, 'LOG_APPEND_FAILED', 'could not append to the transaction log');
      const positions = appended.value;
      const records: IdempotencyRecord[] = written.map((c, i) => ({
        transactionId: c.transaction.transactionId,
        fingerprint: c.transaction.fingerprint,
        partition: positions[i]!.partition,
        offset: positions[i]!.offset,
      }));
      await this.journal(records);
      if (deadLettered.status === 'rejected')
        throw asUnavailable(
          deadLettered.reason,
          'DEAD_LETTER_FAILED',
          'could not record refused items on the dead-letter topic',
        );

      // Positions of the written candidates, by candidate index; duplicates point at their original's.
      const positionOf: Array<RecordPosition | undefined> = [];
      let next = 0;
      plan.forEach((entry, i) => {
        if (entry.verdict === 'new') positionOf[i] = positions[next++];
      });
      plan.forEach((entry, i) => {
        const { index, transaction } = candidates[i]!;
        const transactionId = transaction.transactionId;
        if (entry.verdict === 'conflict') {
          conflicts++;
          results[index] = {
            transactionId,
            status: 'conflict',
            problems: [{ path: '/transactionId', message: 'was accepted before with different content' }],
          };
          return;
        }
        const position =
          entry.verdict === 'new'
            ? positionOf[i]
            : entry.original.kind === 'stored'
              ? entry.original.record
              : positionOf[entry.original.index];
        if (position === undefined) throw new VigilError('INGEST_INVARIANT', 'an accepted item has no log position');
        if (entry.verdict === 'duplicate') duplicates++;
        results[index] = {
          transactionId,
          status: entry.verdict === 'new' ? 'accepted' : 'duplicate',
          partition: position.partition,
          offset: position.offset,
        };
      });
    } finally {
      release();
    }

    metrics.accepted.inc({ source }, written.length);
    metrics.duplicates.inc({ source }, duplicates);
    metrics.rejected.inc({ source }, rejected);
    metrics.conflicts.inc({ source }, conflicts);
    metrics.deadLetters.inc({}, deadLetters.length);
    logger.debug('ingested', {
      source,
      items: items.length,
      accepted: written.length,
      duplicates,
      rejected,
      conflicts,
    });
    return results;
  }

  private async append(transactions: readonly Transaction[]): Promise<RecordPosition[]> {
    if (transactions.length === 0) return [];
    const { personalData } = this.deps;
    // After the idempotency decision, which compares fingerprints of the content as sent.
    const toWrite = personalData ? await Promise.all(transactions.map((t) => personalData.protect(t))) : transactions;
    let records: OutgoingRecord[];
    try {
      records = toWrite.map((t) => ({
        key: t.payerAccountId,
        value: this.deps.codec.encode(t),
        timestampMs: t.receivedAtMs,
      }));
    } catch (cause) {
      // Validation guarantees schema-valid values; the codec's message quotes field values, so it stays in `cause`.
      throw new VigilError('TRANSACTION_ENCODE_FAILED', 'a validated transaction did not match the Avro schema', {
        cause,
      });
    }
    const started = performance.now();
    const positions = await this.deps.producer.send(Topics.transactionsRaw, records);
    this.deps.metrics.logAppendSeconds.observe((performance.now() - started) / 1000);
    if (positions.length !== records.length)
      throw new VigilError(
        'LOG_POSITIONS_MISMATCH',
        `log returned ${positions.length} positions for ${records.length} records`,
      );
    return positions;
  }

  /**
   * Gives back the claims of a failed append so the caller's retry is accepted (on any replica). The outcome of a
   * failed send may be unknown — the records may have landed — so a retry can put the id on the log twice with the
   * same fingerprint, which ledger-sink counts once. A failed release only delays the retry (the claim times out).
   */
  private async release(written: readonly Candidate[]): Promise<void> {
    if (written.length === 0) return;
    try {
      await this.deps.store.release(written.map((c) => c.transaction.transactionId));
    } catch (error) {
      this.deps.logger.warn('could not release idempotency claims after a failed append', {
        ids: written.length,
        error: describeError(error),
      });
    }
  }

  /** Journals accepted ids. A failure does not un-accept them (they are on the log); it is logged and counted. */
  private async journal(records: readonly IdempotencyRecord[]): Promise<void> {
    if (records.length === 0) return;
    try {
      await this.deps.store.remember(records);
    } catch (error) {
      this.deps.metrics.journalFailures.inc();
      this.deps.logger.error(
        'idempotency journal append failed; retries of these ids may be accepted again after a restart',
        { ids: records.length, error: describeError(error) },
      );
    }
  }

  private redactedLetter(transactionId: string | null, body: unknown, error: VigilError): PoisonItem {
    return { key: transactionId, originalBytes: Buffer.from(JSON.stringify(redactForDeadLetter(body)), 'utf8'), error };
  }
}

/** Vigil errors keep their category; anything else from the bus is an I/O failure, worth a retry. */
function asUnavailable(error: unknown, code: ErrorCode, message: string): VigilError {
  return error instanceof VigilError ? error : new UnavailableError(code, message, error);
}
