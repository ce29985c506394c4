import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The ClickHouse DDL shared by ledger-sink (writer) and dashboards (reader), one statement per entry. */
export function clickhouseTableStatements(): string[] {
  const sql = readFileSync(fileURLToPath(new URL('./clickhouse/tables.sql', import.meta.url)), 'utf8');
  return sql
    .split(/^;\s*$/m)
    .map((statement) =>
      statement
        .split('\n')
        .filter((line) => !line.trimStart().startsWith('--'))
        .join('\n')
        .trim(),
    )
    .filter((statement) => statement !== '');
}

export const ClickHouseTables = {
  ledgerEntries: 'ledger_entries',
  decisions: 'decisions',
  ledgerConflicts: 'ledger_conflicts',
  analystLabels: 'analyst_labels',
  accessLog: 'access_log',
} as const;
