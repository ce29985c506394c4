import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { ClickHouseClient } from '@clickhouse/client';
import express from 'express';
import type { Principal, Role } from '../../platform/auth.js';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { silentLogger } from '../../platform/logger.js';
import { MetricsRegistry } from '../../platform/metrics.js';
import { ClickHouseTables } from '../../schemas/clickhouse.js';
import { accessRoutes } from '../http/access-routes.js';
import type { RouteContext } from '../http/context.js';
import { AccessLogWriter, applyAccessLogRetention } from './clickhouse-access-log.js';

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

describe('reading the access log (chDB)', () => {
  let dataDir: string;
  let clickhouse: ClickHouseClient;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-access-read-'));
    clickhouse = createClickHouseClient(`embedded:${join(dataDir, 'chdb')}`);
    await applyAccessLogRetention(clickhouse, 0);
  }, 120_000);
  afterAll(async () => {
    await clickhouse.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists the read itself however far the clock moves while its row is written', async () => {
    // A clock that moves 7 ms at every reading: what a loaded machine does between parsing a request and writing
    // its row. A default upper bound taken before the row is written would leave the read out of its own answer.
    let now = Date.UTC(2026, 11, 7, 12);
    const clock = { nowMs: () => (now += 7) };
    const metrics = new MetricsRegistry();
    const accessLog = new AccessLogWriter(
      clickhouse,
      clock,
      silentLogger,
      { batchSize: 100 },
      {
        written: metrics.counter('test_access_written_total', 'rows written'),
        failed: metrics.counter('test_access_failed_total', 'inserts failed'),
      },
    );
    const ctx = {
      clickhouse,
      clock,
      only:
        (role: Role): express.RequestHandler =>
        (_req, res, next) => {
          res.locals['principal'] = { id: 'user:compliance', role, name: 'compliance' };
          next();
        },
      audit: async (res: express.Response, action: string, resource: string, query: Record<string, unknown>) =>
        accessLog.record({ principal: res.locals['principal'] as Principal, action, resource, query }),
    } as unknown as RouteContext;
    const app = express().use(accessRoutes(ctx));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/audit/access`;
      const actions = async (): Promise<string[]> => {
        const body = (await (await fetch(url)).json()) as { entries: Array<{ action: string }> };
        return body.entries.map((e) => e.action);
      };
      expect(await actions()).toEqual(['audit.access-log']);
      expect(await actions()).toEqual(['audit.access-log', 'audit.access-log']);
    } finally {
      server.close();
      await accessLog.close();
    }
  }, 120_000);
});
