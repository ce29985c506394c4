import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { ClickHouseTables } from '../../schemas/clickhouse.js';
import { applyAccessLogRetention } from './clickhouse-access-log.js';

const DAY_MS = 86_400_000;

describe('access-log retention (chDB)', () => {
  let dataDir: string;
  let clickhouse: ClickHouseClient;

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-access-retention-'));
    clickhouse = createClickHouseClient(`embedded:${join(dataDir, 'chdb')}`);
  });
  afterAll(async () => {
    await clickhouse.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Writes rows `ages` days old, merges (TTL applies at merges) and returns the ages still held, oldest first. */
  async function keptAfterMerge(ages: readonly number[]): Promise<number[]> {
    await clickhouse.command({ query: `TRUNCATE TABLE ${ClickHouseTables.accessLog}` });
    const now = Date.now();
    await clickhouse.insert({
      table: ClickHouseTables.accessLog,
      format: 'JSONEachRow',
      values: ages.map((age) => ({
        at: new Date(now - age * DAY_MS).toISOString().replace('T', ' ').replace('Z', ''),
        principal: 'compliance:0a1b2c3d',
        role: 'compliance',
        action: 'transaction.audit-trail',
        resource: `transaction/aged-${age}`,
        query_json: '{}',
      })),
    });
    await clickhouse.command({ query: `OPTIMIZE TABLE ${ClickHouseTables.accessLog} FINAL` });
    const rows = await (
      await clickhouse.query({
        query: `SELECT resource FROM ${ClickHouseTables.accessLog} ORDER BY at`,
        format: 'JSONEachRow',
      })
    ).json<{ resource: string }>();
    return rows.map((r) => Number(r.resource.slice('transaction/aged-'.length)));
  }

  it('creates the table and drops rows older than the retention, keeping every younger one', async () => {
    await applyAccessLogRetention(clickhouse, 400);
    expect(await keptAfterMerge([500, 401, 399, 366, 1])).toEqual([399, 366, 1]);
  }, 120_000);

  it('keeps everything with retention 0, removing an earlier TTL (the negative control of the drop above)', async () => {
    await applyAccessLogRetention(clickhouse, 400);
    await applyAccessLogRetention(clickhouse, 0);
    expect(await keptAfterMerge([500, 401, 1])).toEqual([500, 401, 1]);
    await applyAccessLogRetention(clickhouse, 0); // idempotent without a TTL
  }, 120_000);
});
