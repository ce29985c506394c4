import type { ClickHouseClient } from '@clickhouse/client';
import type { Principal } from '../../platform/auth.js';
import type { Clock } from '../../platform/clock.js';
import { describeError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { Counter } from '../../platform/metrics.js';
import { type AccessLogRow, ClickHouseTables } from '../../schemas/clickhouse.js';

/**
 * Every report, search and audit-trail read is itself audited (PCI DSS 10.2.1, GDPR art. 30) in `access_log`.
 * Rows are buffered and inserted in batches (every `flushIntervalMs`, when `batchSize` are waiting, and on
 * close) so reads never wait for the audit insert. A failed insert keeps its rows for the next attempt, up to
 * `maxBuffered`; beyond that the oldest rows are dropped and counted, so a long ClickHouse outage cannot
 * exhaust memory.
 */
export interface AccessRecord {
  readonly principal: Principal;
  /** What was done, e.g. `transaction.audit-trail`, `report.summary`. */
  readonly action: string;
  /** What it was done to, e.g. `transaction/tx-1`, `account/acc-9`. */
  readonly resource: string;
  /** The validated query (never secrets). */
  readonly query: Readonly<Record<string, unknown>>;
}

export interface AccessLogOptions {
  readonly flushIntervalMs: number;
  readonly batchSize: number;
  readonly maxBuffered?: number;
}

/** ClickHouse's DateTime64 text form, 'YYYY-MM-DD hh:mm:ss.sss', in UTC. */
const clickhouseTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

export class AccessLogWriter {
  private buffer: AccessLogRow[] = [];
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly maxBuffered: number;

  constructor(
    private readonly clickhouse: ClickHouseClient,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: AccessLogOptions,
    private readonly counters: { readonly written: Counter; readonly failed: Counter; readonly dropped: Counter },
  ) {
    this.maxBuffered = options.maxBuffered ?? Math.max(10_000, options.batchSize * 20);
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs);
    this.timer.unref();
  }

  record(access: AccessRecord): void {
    this.buffer.push({
      at: clickhouseTime(this.clock.nowMs()),
      principal: access.principal.id,
      role: access.principal.role,
      action: access.action,
      resource: access.resource,
      query_json: JSON.stringify(access.query, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
    });
    if (this.buffer.length > this.maxBuffered) {
      const excess = this.buffer.length - this.maxBuffered;
      this.buffer.splice(0, excess);
      this.counters.dropped.inc({}, excess);
    }
    if (this.buffer.length >= this.options.batchSize) void this.flush();
  }

  /** Inserts everything buffered; never rejects (failures are logged, counted and retried next time). */
  flush(): Promise<void> {
    this.flushing ??= this.flushOnce().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await this.flush();
  }

  get pending(): number {
    return this.buffer.length;
  }

  private async flushOnce(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer;
      this.buffer = [];
      try {
        await this.clickhouse.insert({ table: ClickHouseTables.accessLog, values: batch, format: 'JSONEachRow' });
        this.counters.written.inc({}, batch.length);
      } catch (error) {
        this.buffer = batch.concat(this.buffer);
        this.counters.failed.inc();
        this.logger.error('access log insert failed; rows kept for the next flush', {
          rows: batch.length,
          error: describeError(error),
        });
        return;
      }
    }
  }
}
