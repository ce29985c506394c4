import type { ClickHouseClient } from '@clickhouse/client';
import type { Clock } from '../../platform/clock.js';
import { ErrorCategory, VigilError, describeError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { Counter } from '../../platform/metrics.js';
import { type AccessLogRow, ClickHouseTables, clickhouseTableStatements } from '../../schemas/clickhouse.js';
import type { AccessLog, AccessRecord } from '../ports.js';

/**
 * Every read, search, export, label and account action and every live WebSocket session is itself audited
 * (PCI DSS 10.2.1, GDPR art. 30) in `access_log`, and the row is durable before the caller answers: `record`
 * resolves only once ClickHouse has acknowledged the insert holding it. A failed insert rejects with
 * ACCESS_LOG_UNAVAILABLE (503, retriable) so the request fails closed — nothing is shown that was not logged.
 *
 * Rows are group-committed: the first record starts an insert at once; records arriving while it runs wait and go
 * together in the next one (at most `batchSize` rows per insert). So a quiet server pays one round trip per
 * request and a busy one pays one per batch, never a timer's delay.
 */
export interface AccessLogOptions {
  /** Most rows one insert carries. */
  readonly batchSize: number;
}

/** ClickHouse's DateTime64 text form, 'YYYY-MM-DD hh:mm:ss.sss', in UTC. */
const clickhouseTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

interface Waiting {
  readonly row: AccessLogRow;
  readonly resolve: () => void;
  readonly reject: (error: VigilError) => void;
}

export class AccessLogWriter implements AccessLog {
  private waiting: Waiting[] = [];
  private inserting: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly clickhouse: ClickHouseClient,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: AccessLogOptions,
    private readonly counters: { readonly written: Counter; readonly failed: Counter },
  ) {}

  /**
   * Writes one access row; resolves once it is in ClickHouse. Rejects with ACCESS_LOG_UNAVAILABLE when the insert
   * fails or the writer is closed — the caller must then refuse the request.
   */
  record(access: AccessRecord): Promise<void> {
    if (this.closed)
      return Promise.reject(new VigilError('ACCESS_LOG_UNAVAILABLE', 'the access log is closed', { retriable: true }));
    const row: AccessLogRow = {
      at: clickhouseTime(this.clock.nowMs()),
      principal: access.principal.id,
      principal_name: access.principal.name ?? '',
      role: access.principal.role,
      action: access.action,
      resource: access.resource,
      query_json: JSON.stringify(access.query, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
    };
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ row, resolve, reject });
      this.inserting ??= this.drain().finally(() => (this.inserting = undefined));
    });
  }

  /** Refuses new records and waits for the inserts already under way. */
  async close(): Promise<void> {
    this.closed = true;
    await this.inserting;
  }

  private async drain(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.options.batchSize);
      try {
        await this.clickhouse.insert({
          table: ClickHouseTables.accessLog,
          values: batch.map((w) => w.row),
          format: 'JSONEachRow',
        });
        this.counters.written.inc({}, batch.length);
        for (const w of batch) w.resolve();
      } catch (error) {
        this.counters.failed.inc();
        this.logger.error('access log insert failed; the requests it covered are refused', {
          rows: batch.length,
          error: describeError(error),
        });
        const refused = new VigilError('ACCESS_LOG_UNAVAILABLE', 'the access log cannot be written; retry later', {
          category: ErrorCategory.unavailable,
          retriable: true,
          cause: error,
        });
        for (const w of batch) w.reject(refused);
      }
    }
  }
}

/**
 * Retention of the access log, enforced by ClickHouse: a TTL drops rows `days` after they were written (at merges,
 * so rows may outlive it by up to a merge interval, never go earlier); 0 keeps them forever. Creates the table if
 * ledger-sink has not yet (distributed mode starts stages in any order). Rejects when ClickHouse refuses.
 */
export async function applyAccessLogRetention(clickhouse: ClickHouseClient, days: number): Promise<void> {
  const create = clickhouseTableStatements().find((s) =>
    s.startsWith(`CREATE TABLE IF NOT EXISTS ${ClickHouseTables.accessLog}`),
  );
  if (create === undefined) throw new VigilError('INTERNAL', 'tables.sql has no access_log table');
  await clickhouse.command({ query: create });
  if (days > 0) {
    await clickhouse.command({
      query: `ALTER TABLE ${ClickHouseTables.accessLog} MODIFY TTL toDateTime(at) + toIntervalDay(${Math.trunc(days)})`,
    });
    return;
  }
  const rows = await (
    await clickhouse.query({
      query: `SELECT create_table_query AS q FROM system.tables WHERE database = currentDatabase() AND name = {name:String}`,
      query_params: { name: ClickHouseTables.accessLog },
      format: 'JSONEachRow',
    })
  ).json<{ q: string }>();
  if (/\bTTL\b/.test(rows[0]?.q ?? ''))
    await clickhouse.command({ query: `ALTER TABLE ${ClickHouseTables.accessLog} REMOVE TTL` });
}
