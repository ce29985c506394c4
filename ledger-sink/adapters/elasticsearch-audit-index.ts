import { type Client, errors, type estypes } from '@elastic/elasticsearch';
import { UnavailableError, describeError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { Counter, MetricsRegistry } from '../../platform/metrics.js';
import {
  type AuditDocument,
  auditDocument,
  auditIndexName,
  auditIndexTemplate,
} from '../../schemas/elasticsearch/audit.js';
import type { ScoredTransaction } from '../../schemas/generated/types.js';
import type { AuditIndex, AuditIndexOutcome, AuditIndexRejection } from '../ports.js';

/**
 * {@link AuditIndex} over Elasticsearch: `_bulk` with `op_type: create` and `_id` = transaction id into the
 * monthly index of the transaction's event time (schemas/elasticsearch/audit.ts).
 *
 * Per item: 201 created; 409 `version_conflict_engine_exception` means the document exists (a replay) and
 * counts as success; 429 and 5xx are retried; any other status is permanent (the document breaks the strict
 * mapping, an id is too long for a keyword, …) and is returned, never retried and never dropped silently.
 * Whole requests that fail transiently (connection refused, timeout, 429, 5xx) are retried the same way.
 * Backoff is exponential with jitter, bounded by `maxAttempts`; after that the call rejects with a retriable
 * UnavailableError so the batch is redelivered.
 *
 * The client should be built with `maxRetries: 0`: retrying here, per item, avoids resending what succeeded.
 */
export interface ElasticsearchAuditIndexOptions {
  /** Index prefix, e.g. `vigil-audit-v1`; documents go to `<prefix>-YYYY.MM`. */
  readonly indexPrefix: string;
  /** Attempts per call, first included (1 = no retry). */
  readonly maxAttempts: number;
  /** Delay before the first retry; doubles per attempt, with jitter. */
  readonly backoffMs: number;
  /** Upper bound of one delay. */
  readonly maxBackoffMs: number;
  /** Documents per `_bulk` request. */
  readonly bulkDocuments: number;
  /** Passed to `_bulk`; tests use `wait_for` so what was indexed is searchable when the call resolves. */
  readonly refresh?: boolean | 'wait_for';
  readonly nowMs: () => number;
  /** Injected for tests; defaults to a timer. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** In [0, 1); injected for tests. */
  readonly random?: () => number;
  /**
   * Negative control of the fault suite only (fault 9), never set in production: with
   * `'item-429-counts-as-indexed'` a per-item 429 is counted as created instead of retried — the bug the
   * suite's document-count oracle must catch.
   */
  readonly plantedBug?: 'item-429-counts-as-indexed';
}

interface Pending {
  readonly transactionId: string;
  readonly index: string;
  readonly document: AuditDocument;
}

/** Item statuses worth another attempt: overloaded (429) or a server-side failure. */
const transientStatus = (status: number): boolean => status === 429 || status >= 500;

function isTransientRequestError(error: unknown): boolean {
  if (error instanceof errors.ResponseError) return transientStatus(error.statusCode ?? 0);
  return (
    error instanceof errors.ConnectionError ||
    error instanceof errors.TimeoutError ||
    error instanceof errors.NoLivingConnectionsError
  );
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class ElasticsearchAuditIndex implements AuditIndex {
  private readonly retries: Counter;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly client: Client,
    private readonly options: ElasticsearchAuditIndexOptions,
    private readonly logger: Logger,
    metrics: MetricsRegistry,
  ) {
    this.retries = metrics.counter(
      'vigil_ledger_audit_index_retries_total',
      'Elasticsearch bulk attempts retried after a transient failure (connection, 429, 5xx).',
    );
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  async ensureTemplate(): Promise<void> {
    const template = auditIndexTemplate(this.options.indexPrefix);
    await this.withRetries('install the audit index template', () =>
      this.client.indices.putIndexTemplate({
        name: this.options.indexPrefix,
        index_patterns: template.index_patterns,
        priority: template.priority,
        version: template.version,
        _meta: template._meta,
        template: template.template,
      }),
    );
  }

  async index(decisions: readonly ScoredTransaction[]): Promise<AuditIndexOutcome> {
    const nowMs = this.options.nowMs();
    const byId = new Map<string, Pending>();
    for (const scored of decisions) {
      const tx = scored.transaction;
      // The first occurrence wins, as in ClickHouse: later ones in the batch are duplicates or conflicts.
      if (!byId.has(tx.transactionId))
        byId.set(tx.transactionId, {
          transactionId: tx.transactionId,
          index: auditIndexName(this.options.indexPrefix, tx.eventTimeMs),
          document: auditDocument(scored, nowMs),
        });
    }
    const all = [...byId.values()];
    let indexed = 0;
    let alreadyIndexed = 0;
    const rejected: AuditIndexRejection[] = [];
    for (let start = 0; start < all.length; start += this.options.bulkDocuments) {
      const outcome = await this.indexChunk(all.slice(start, start + this.options.bulkDocuments));
      indexed += outcome.indexed;
      alreadyIndexed += outcome.alreadyIndexed;
      rejected.push(...outcome.rejected);
    }
    return { indexed, alreadyIndexed, rejected };
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private async indexChunk(chunk: readonly Pending[]): Promise<AuditIndexOutcome> {
    let pending = chunk;
    let indexed = 0;
    let alreadyIndexed = 0;
    const rejected: AuditIndexRejection[] = [];
    let lastFailure = '';
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (attempt > 1) {
        if (attempt > this.options.maxAttempts)
          throw new UnavailableError(
            'AUDIT_INDEX_UNAVAILABLE',
            `Elasticsearch did not accept ${pending.length} audit documents after ${this.options.maxAttempts} attempts: ${lastFailure}`,
          );
        this.retries.inc();
        await this.sleep(this.delayMs(attempt - 1));
      }
      const operations: Array<estypes.BulkOperationContainer | AuditDocument> = [];
      for (const p of pending) operations.push({ create: { _index: p.index, _id: p.transactionId } }, p.document);
      let items: Array<estypes.BulkResponseItem | undefined>;
      try {
        const response = await this.client.bulk({ operations, refresh: this.options.refresh ?? false });
        items = response.items.map((item) => item.create);
      } catch (error) {
        if (!isTransientRequestError(error)) throw this.unavailable('index audit documents', error);
        lastFailure = describeError(error);
        continue;
      }
      const retry: Pending[] = [];
      pending.forEach((p, i) => {
        const item = items[i];
        const status = item?.status ?? 0;
        if (status === 201 || status === 200) indexed += 1;
        else if (status === 429 && this.options.plantedBug === 'item-429-counts-as-indexed') indexed += 1;
        else if (status === 409) alreadyIndexed += 1;
        else if (item === undefined || transientStatus(status)) {
          retry.push(p);
          lastFailure = `item ${p.transactionId}: ${status} ${item?.error?.type ?? 'no item in the response'}`;
        } else
          rejected.push({
            transactionId: p.transactionId,
            status,
            type: item.error?.type ?? 'unknown',
            reason: item.error?.reason ?? `status ${status}`,
          });
      });
      pending = retry;
    }
    if (rejected.length > 0)
      this.logger.warn('Elasticsearch rejected audit documents', {
        rejected: rejected.length,
        first: rejected.slice(0, 5).map((r) => ({ transactionId: r.transactionId, status: r.status, type: r.type })),
      });
    return { indexed, alreadyIndexed, rejected };
  }

  private async withRetries<T>(action: string, run: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (error) {
        if (!isTransientRequestError(error) || attempt >= this.options.maxAttempts)
          throw this.unavailable(action, error);
        this.retries.inc();
        await this.sleep(this.delayMs(attempt));
      }
    }
  }

  /** Exponential backoff with "equal jitter": half fixed, half random, so retries of many consumers spread out. */
  private delayMs(retry: number): number {
    const ceiling = Math.min(this.options.maxBackoffMs, this.options.backoffMs * 2 ** (retry - 1));
    return Math.round(ceiling / 2 + (ceiling / 2) * this.random());
  }

  /**
   * Every failure to reach or use the index fails the batch retriably: audit documents are never dropped.
   * A non-transient request failure (bad credentials, a request the cluster refuses as a whole) keeps failing
   * until an operator fixes it; `vigil_ledger_batch_failures_total` and the log say so.
   */
  private unavailable(action: string, cause: unknown): UnavailableError {
    return new UnavailableError(
      'AUDIT_INDEX_UNAVAILABLE',
      `Elasticsearch failed to ${action}: ${describeError(cause)}`,
      cause,
    );
  }
}
