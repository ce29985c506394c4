import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClickHouseClient } from '../../platform/clickhouse.js';
import { clickhouseTableStatements } from '../../schemas/clickhouse.js';
import { auditSearchContract } from '../testing/audit-search.contract.js';
import { ClickHouseAuditSearch } from './clickhouse-audit-search.js';
// The search reads `decisions` as ledger-sink writes it: the contract's decisions go in through ledger-sink's real
// writer (never a re-typed copy of its row), so this test crosses the stage boundary on purpose.
// eslint-disable-next-line no-restricted-imports
import { ClickHouseLedgerStore } from '../../ledger-sink/adapters/clickhouse-store.js';

/** The audit-search contract against ClickHouse (chDB in-process, a fresh data directory): the embedded default. */

auditSearchContract('ClickHouse (chDB)', async (decisions, onCleanup) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-audit-search-'));
  onCleanup(() => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })));
  const clickhouse = createClickHouseClient(`embedded:${join(dataDir, 'chdb')}`);
  onCleanup(() => clickhouse.close());
  for (const statement of clickhouseTableStatements()) await clickhouse.command({ query: statement });
  await new ClickHouseLedgerStore(clickhouse).insertDecisions(
    decisions.map((scored) => ({ scored, storedAtMs: scored.scoredAtMs + 15 })),
  );
  return new ClickHouseAuditSearch(clickhouse);
});
