import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';

/**
 * One ClickHouse client for the process. `embedded:<dir>` runs the real ClickHouse engine in-process (chDB)
 * on a data directory; an http(s) URL talks to a ClickHouse server. Both answer through `@clickhouse/client`,
 * so the SQL and adapters are the same in the embedded default and in distributed mode.
 *
 * chDB binds one data directory per process: create one client and share it between stages.
 */
export function createClickHouseClient(target: string, database = 'default'): ClickHouseClient {
  // Int64 as JSON strings, so money read back is exact (parsed to bigint by the readers).
  const clickhouse_settings = { output_format_json_quote_64bit_integers: 1 } as const;
  if (target.startsWith('embedded:')) {
    const connection = createChdbConnection({ path: target.slice('embedded:'.length) });
    return createClient({ connection, clickhouse_settings } as Parameters<typeof createClient>[0]);
  }
  return createClient({ url: target, database, clickhouse_settings });
}
