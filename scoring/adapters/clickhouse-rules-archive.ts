import type { ClickHouseClient } from '@clickhouse/client';
import { UnavailableError } from '../../platform/errors.js';
import { ClickHouseTables, type RulesVersionRow, clickhouseTableStatements } from '../../schemas/clickhouse.js';
import type { RulesArchive } from '../ports.js';

/**
 * The rules archive in ClickHouse's `rules_versions`, next to the decisions that name its versions: compliance
 * reads both through dashboards, in either deployment, and it is backed up with them. Scoring creates the table
 * itself (same DDL as ledger-sink's) because it may start first.
 */
export class ClickHouseRulesArchive implements RulesArchive {
  constructor(private readonly client: ClickHouseClient) {}

  async archive(entry: {
    version: string;
    label: string;
    canonicalDocument: string;
    loadedAtMs: number;
  }): Promise<void> {
    try {
      const ddl = clickhouseTableStatements().find((s) =>
        s.startsWith(`CREATE TABLE IF NOT EXISTS ${ClickHouseTables.rulesVersions}`),
      );
      if (ddl !== undefined) await this.client.command({ query: ddl });
      const found = await this.client.query({
        query: `SELECT count() AS n FROM ${ClickHouseTables.rulesVersions} WHERE version = {version:String}`,
        query_params: { version: entry.version },
        format: 'JSONEachRow',
      });
      const [row] = await found.json<{ n: string }>();
      if (Number(row?.n ?? 0) > 0) return;
      const value: RulesVersionRow = {
        version: entry.version,
        label: entry.label,
        rules_json: entry.canonicalDocument,
        first_loaded_at: new Date(entry.loadedAtMs).toISOString().replace('T', ' ').slice(0, 23),
      };
      await this.client.insert({ table: ClickHouseTables.rulesVersions, values: [value], format: 'JSONEachRow' });
    } catch (cause) {
      throw new UnavailableError(
        'RULES_ARCHIVE_UNAVAILABLE',
        'could not archive the rules version in ClickHouse',
        cause,
      );
    }
  }
}
