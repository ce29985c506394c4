import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { VigilError } from '../../platform/errors.js';
import type { RulesVersionView } from '../../schemas/api.js';
import { ClickHouseTables, type RulesVersionRow, type SelectedRow, epochMsColumn } from '../../schemas/clickhouse.js';
import { isoTime, selectRows } from './select.js';

/**
 * The archived rules document of one version; undefined when none is archived (labels from before content
 * versions). Throws RULES_ARCHIVE_CORRUPT when the stored text no longer hashes to its version: an archive that
 * was edited cannot re-derive a decision, and saying so beats serving other rules under the old name.
 */
export async function rulesVersion(
  clickhouse: ClickHouseClient,
  version: string,
): Promise<RulesVersionView | undefined> {
  const [row] = await selectRows<SelectedRow<RulesVersionRow, 'version' | 'label' | 'rules_json', 'first_loaded_at'>>(
    clickhouse,
    `SELECT version, label, rules_json, ${epochMsColumn('first_loaded_at')}
     FROM ${ClickHouseTables.rulesVersions} FINAL WHERE version = {version:String} LIMIT 1`,
    { version },
  );
  if (row === undefined) return undefined;
  if (createHash('sha256').update(row.rules_json, 'utf8').digest('hex') !== row.version)
    throw new VigilError(
      'RULES_ARCHIVE_CORRUPT',
      `the archived rules of version ${version} no longer match their hash`,
    );
  return {
    version: row.version,
    label: row.label,
    firstLoadedAt: isoTime(Number(row.first_loaded_at_ms)),
    rules: JSON.parse(row.rules_json) as unknown,
  };
}
